// ALU tests. The oracle is the real CPU this suite runs on: a small C program (built here with
// gcc) executes each instruction with GCC inline asm after loading the input flags with popf, and
// prints the result(s) and the flags (pushf). Thousands of seeded-random and edge-value cases of
// every operation at 8/16/32 bits are compared with `Alu`, with the flags the SDM calls undefined
// for that case masked (UNDEFINED below, the one table of them). Then hand-written classics, the
// condition codes, and lazy vs materialised flags over random instruction chains.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Alu,
  ARITH_FLAGS,
  FLAG_AF,
  FLAG_CF,
  FLAG_OF,
  FLAG_PF,
  FLAG_SF,
  FLAG_ZF,
} from '../../../src-main/engine/machine/alu';

// ---- the operations, and the flags the SDM leaves undefined ---------------------------------------

const OPS = [
  'add',
  'adc',
  'sub',
  'sbb',
  'and',
  'or',
  'xor',
  'cmp',
  'test',
  'inc',
  'dec',
  'neg',
  'shl',
  'shr',
  'sar',
  'rol',
  'ror',
  'rcl',
  'rcr',
  'shld',
  'shrd',
  'mul',
  'imul1',
  'imul2',
  'div',
  'idiv',
  'bt',
  'bts',
  'btr',
  'btc',
  'bsf',
  'bsr',
] as const;
type Op = (typeof OPS)[number];

/**
 * One case: `a` is the destination (div: the high half of the dividend), `b` the source (div:
 * the low half; bsf/bsr: the scanned source; bt*: the bit offset), `c` the count (div: the
 * divisor), `flags` the arithmetic flags loaded before the instruction.
 */
interface Case {
  op: Op;
  size: 8 | 16 | 32;
  a: number;
  b: number;
  c: number;
  flags: number;
}

interface Undefined {
  /** EFLAGS bits whose value after this case the SDM does not define */
  flags: number;
  /** the destination itself is undefined */
  result?: boolean;
}

const NONE: Undefined = { flags: 0 };
const ALL = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF;
const shiftUndefined = (c: Case): Undefined => {
  const n = c.c & 31;
  if (n === 0) return NONE; // "If the count is 0, the flags are not affected."
  let flags = FLAG_AF | (n === 1 ? 0 : FLAG_OF);
  if (c.op !== 'sar' && n >= c.size) flags |= FLAG_CF;
  return { flags };
};
const rotateUndefined = (c: Case): Undefined => ({
  flags: (c.c & 31) === 1 || (c.c & 31) === 0 ? 0 : FLAG_OF,
});
const doubleShiftUndefined = (c: Case): Undefined => {
  const n = c.c & 31;
  if (n === 0) return NONE;
  if (n > c.size) return { flags: ALL, result: true };
  return { flags: FLAG_AF | (n === 1 ? 0 : FLAG_OF) };
};
const BT_UNDEFINED: Undefined = { flags: FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF };

/** What Intel SDM vol. 2 (the instruction reference, "Flags Affected") leaves undefined. */
const UNDEFINED: Record<Op, { sdm: string; undef: (c: Case) => Undefined }> = {
  add: { sdm: 'ADD: OF SF ZF AF CF PF set according to the result', undef: () => NONE },
  adc: { sdm: 'ADC: OF SF ZF AF CF PF set according to the result', undef: () => NONE },
  sub: { sdm: 'SUB: OF SF ZF AF PF CF set according to the result', undef: () => NONE },
  sbb: { sdm: 'SBB: OF SF ZF AF PF CF set according to the result', undef: () => NONE },
  cmp: { sdm: 'CMP: CF OF SF ZF AF PF set according to the result', undef: () => NONE },
  neg: { sdm: 'NEG: CF = (source != 0); OF SF ZF AF PF per result', undef: () => NONE },
  inc: { sdm: 'INC: CF not affected; OF SF ZF AF PF per result', undef: () => NONE },
  dec: { sdm: 'DEC: CF not affected; OF SF ZF AF PF per result', undef: () => NONE },
  and: {
    sdm: 'AND: OF CF cleared; SF ZF PF per result; AF undefined',
    undef: () => ({ flags: FLAG_AF }),
  },
  or: {
    sdm: 'OR: OF CF cleared; SF ZF PF per result; AF undefined',
    undef: () => ({ flags: FLAG_AF }),
  },
  xor: {
    sdm: 'XOR: OF CF cleared; SF ZF PF per result; AF undefined',
    undef: () => ({ flags: FLAG_AF }),
  },
  test: {
    sdm: 'TEST: OF CF cleared; SF ZF PF per result; AF undefined',
    undef: () => ({ flags: FLAG_AF }),
  },
  shl: {
    sdm: 'SAL/SAR/SHL/SHR: count 0 no flags; AF undefined; OF only for 1-bit shifts; CF undefined for SHL/SHR with count >= size',
    undef: shiftUndefined,
  },
  shr: { sdm: 'SAL/SAR/SHL/SHR (see shl)', undef: shiftUndefined },
  sar: { sdm: 'SAL/SAR/SHL/SHR (see shl; CF defined for SAR at any count)', undef: shiftUndefined },
  rol: {
    sdm: 'RCL/RCR/ROL/ROR: only CF, OF affected; OF undefined unless the masked count is 1; count 0 no flags',
    undef: rotateUndefined,
  },
  ror: { sdm: 'RCL/RCR/ROL/ROR (see rol)', undef: rotateUndefined },
  rcl: { sdm: 'RCL/RCR/ROL/ROR (see rol)', undef: rotateUndefined },
  rcr: { sdm: 'RCL/RCR/ROL/ROR (see rol)', undef: rotateUndefined },
  shld: {
    sdm: 'SHLD/SHRD: count 0 no flags; AF undefined; OF undefined for counts > 1; count > size: result and flags undefined',
    undef: doubleShiftUndefined,
  },
  shrd: { sdm: 'SHLD/SHRD (see shld)', undef: doubleShiftUndefined },
  mul: {
    sdm: 'MUL: OF CF per upper half; SF ZF AF PF undefined',
    undef: () => ({ flags: FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF }),
  },
  imul1: {
    sdm: 'IMUL: OF CF per significance; SF ZF AF PF undefined',
    undef: () => ({ flags: FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF }),
  },
  imul2: {
    sdm: 'IMUL: OF CF per significance; SF ZF AF PF undefined',
    undef: () => ({ flags: FLAG_SF | FLAG_ZF | FLAG_AF | FLAG_PF }),
  },
  div: { sdm: 'DIV: CF OF SF ZF AF PF undefined', undef: () => ({ flags: ALL }) },
  idiv: { sdm: 'IDIV: CF OF SF ZF AF PF undefined', undef: () => ({ flags: ALL }) },
  bt: { sdm: 'BT: CF = bit; ZF unaffected; OF SF AF PF undefined', undef: () => BT_UNDEFINED },
  bts: { sdm: 'BTS: as BT', undef: () => BT_UNDEFINED },
  btr: { sdm: 'BTR: as BT', undef: () => BT_UNDEFINED },
  btc: { sdm: 'BTC: as BT', undef: () => BT_UNDEFINED },
  bsf: {
    sdm: 'BSF: ZF = (source == 0); CF OF SF AF PF undefined; destination undefined for a zero source',
    undef: () => ({ flags: FLAG_CF | FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF }),
  },
  bsr: {
    sdm: 'BSR: as BSF',
    undef: () => ({ flags: FLAG_CF | FLAG_OF | FLAG_SF | FLAG_AF | FLAG_PF }),
  },
};

/** Sizes each operation exists at (no 8-bit shld/shrd, two-operand imul, bt*, bsf/bsr). */
const SIZES: Record<Op, readonly (8 | 16 | 32)[]> = Object.fromEntries(
  OPS.map((op) => [
    op,
    ['shld', 'shrd', 'imul2', 'bt', 'bts', 'btr', 'btc', 'bsf', 'bsr'].includes(op)
      ? [16, 32]
      : [8, 16, 32],
  ]),
) as unknown as Record<Op, readonly (8 | 16 | 32)[]>;

// ---- the oracle: the real instructions through GCC inline asm ------------------------------------

const ORACLE_C = String.raw`
#include <stdint.h>
#include <stdio.h>
#include <string.h>
typedef uint8_t u8; typedef uint16_t u16; typedef uint32_t u32; typedef uint64_t u64;
typedef void (*fn_t)(u32 a, u32 b, u32 c, u64 *f, u32 *r1, u32 *r2);

/* Load the flags, run the instruction, read the flags (built with -mno-red-zone). */
#define SETF "pushq %[f]\n\tpopfq\n\t"
#define GETF "\n\tpushfq\n\tpopq %[f]"
#define SFX_u8 "b"
#define SFX_u16 "w"
#define SFX_u32 "l"

#define BIN(op, T) static void op##_##T(u32 a0, u32 b0, u32 c0, u64 *f, u32 *r1, u32 *r2) { \
  T a = (T)a0, b = (T)b0; u64 fl = *f; (void)c0; \
  __asm__ volatile(SETF #op SFX_##T " %[b], %[a]" GETF : [a] "+r"(a), [f] "+r"(fl) : [b] "r"(b) : "cc"); \
  *f = fl; *r1 = a; *r2 = 0; }
#define UN(op, T) static void op##_##T(u32 a0, u32 b0, u32 c0, u64 *f, u32 *r1, u32 *r2) { \
  T a = (T)a0; u64 fl = *f; (void)b0; (void)c0; \
  __asm__ volatile(SETF #op SFX_##T " %[a]" GETF : [a] "+r"(a), [f] "+r"(fl) : : "cc"); \
  *f = fl; *r1 = a; *r2 = 0; }
#define SHIFT(op, T) static void op##_##T(u32 a0, u32 b0, u32 c0, u64 *f, u32 *r1, u32 *r2) { \
  T a = (T)a0; u8 c = (u8)c0; u64 fl = *f; (void)b0; \
  __asm__ volatile(SETF #op SFX_##T " %[c], %[a]" GETF : [a] "+r"(a), [f] "+r"(fl) : [c] "c"(c) : "cc"); \
  *f = fl; *r1 = a; *r2 = 0; }
#define SHD(op, T) static void op##_##T(u32 a0, u32 b0, u32 c0, u64 *f, u32 *r1, u32 *r2) { \
  T a = (T)a0, b = (T)b0; u8 c = (u8)c0; u64 fl = *f; \
  __asm__ volatile(SETF #op SFX_##T " %[c], %[b], %[a]" GETF : [a] "+r"(a), [f] "+r"(fl) : [b] "r"(b), [c] "c"(c) : "cc"); \
  *f = fl; *r1 = a; *r2 = 0; }
/* one-operand mul/imul: lo in AL/AX/EAX, hi in AH/DX/EDX */
#define MUL1(name, insn, T) static void name##_##T(u32 a0, u32 b0, u32 c0, u64 *f, u32 *r1, u32 *r2) { \
  u32 ax = a0, dx = 0; T b = (T)b0; u64 fl = *f; (void)c0; \
  __asm__ volatile(SETF #insn SFX_##T " %[b]" GETF : "+a"(ax), "+d"(dx), [f] "+r"(fl) : [b] "r"(b) : "cc"); \
  *f = fl; \
  if (sizeof(T) == 1) { *r1 = ax & 0xff; *r2 = (ax >> 8) & 0xff; } else { *r1 = (T)ax; *r2 = (T)dx; } }
/* div/idiv: dividend a:b (AH:AL, DX:AX, EDX:EAX), divisor c; quotient, remainder */
#define DIV(op, T) static void op##_##T(u32 a0, u32 b0, u32 c0, u64 *f, u32 *r1, u32 *r2) { \
  u32 ax, dx; T c = (T)c0; u64 fl = *f; \
  if (sizeof(T) == 1) { ax = ((a0 & 0xff) << 8) | (b0 & 0xff); dx = 0; } else { ax = b0; dx = a0; } \
  __asm__ volatile(SETF #op SFX_##T " %[c]" GETF : "+a"(ax), "+d"(dx), [f] "+r"(fl) : [c] "r"(c) : "cc"); \
  *f = fl; \
  if (sizeof(T) == 1) { *r1 = ax & 0xff; *r2 = (ax >> 8) & 0xff; } else { *r1 = (T)ax; *r2 = (T)dx; } }

#define ALL3(M, op) M(op, u8) M(op, u16) M(op, u32)
#define ALL2(M, op) M(op, u16) M(op, u32)
ALL3(BIN, add) ALL3(BIN, adc) ALL3(BIN, sub) ALL3(BIN, sbb) ALL3(BIN, and) ALL3(BIN, or)
ALL3(BIN, xor) ALL3(BIN, cmp) ALL3(BIN, test)
ALL3(UN, inc) ALL3(UN, dec) ALL3(UN, neg)
ALL3(SHIFT, shl) ALL3(SHIFT, shr) ALL3(SHIFT, sar) ALL3(SHIFT, rol) ALL3(SHIFT, ror)
ALL3(SHIFT, rcl) ALL3(SHIFT, rcr)
ALL2(SHD, shld) ALL2(SHD, shrd)
MUL1(mul, mul, u8) MUL1(mul, mul, u16) MUL1(mul, mul, u32)
MUL1(imul1, imul, u8) MUL1(imul1, imul, u16) MUL1(imul1, imul, u32)
#define imul2_BIN(T) static void imul2_##T(u32 a0, u32 b0, u32 c0, u64 *f, u32 *r1, u32 *r2) { \
  T a = (T)a0, b = (T)b0; u64 fl = *f; (void)c0; \
  __asm__ volatile(SETF "imul" SFX_##T " %[b], %[a]" GETF : [a] "+r"(a), [f] "+r"(fl) : [b] "r"(b) : "cc"); \
  *f = fl; *r1 = a; *r2 = 0; }
imul2_BIN(u16) imul2_BIN(u32)
ALL3(DIV, div) ALL3(DIV, idiv)
ALL2(BIN, bt) ALL2(BIN, bts) ALL2(BIN, btr) ALL2(BIN, btc) ALL2(BIN, bsf) ALL2(BIN, bsr)

#define E3(op) { #op, 8, op##_u8 }, { #op, 16, op##_u16 }, { #op, 32, op##_u32 },
#define E2(op) { #op, 16, op##_u16 }, { #op, 32, op##_u32 },
static const struct { const char *name; unsigned size; fn_t fn; } TABLE[] = {
  E3(add) E3(adc) E3(sub) E3(sbb) E3(and) E3(or) E3(xor) E3(cmp) E3(test) E3(inc) E3(dec) E3(neg)
  E3(shl) E3(shr) E3(sar) E3(rol) E3(ror) E3(rcl) E3(rcr) E2(shld) E2(shrd)
  E3(mul) E3(imul1) E2(imul2) E3(div) E3(idiv) E2(bt) E2(bts) E2(btr) E2(btc) E2(bsf) E2(bsr)
};

int main(void) {
  char op[16];
  unsigned size, a, b, c, fl;
  while (scanf("%15s %u %x %x %x %x", op, &size, &a, &b, &c, &fl) == 6) {
    fn_t fn = 0;
    for (unsigned i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
      if (TABLE[i].size == size && !strcmp(TABLE[i].name, op)) fn = TABLE[i].fn;
    if (!fn) { fprintf(stderr, "unknown operation %s/%u\n", op, size); return 2; }
    u64 f = (fl & 0x8d5) | 2;
    u32 r1, r2;
    fn(a, b, c, &f, &r1, &r2);
    printf("%x %x %x\n", r1, r2, (u32)f & 0x8d5);
  }
  return 0;
}
`;

let workDir = '';
let oraclePath = '';

function findCompiler(): string | undefined {
  return ['gcc', 'cc'].find((cc) => spawnSync(cc, ['--version']).status === 0);
}

function buildOracle(): void {
  const cc = findCompiler();
  if (cc === undefined) {
    throw new Error(
      'the ALU tests run the real instructions through a C program: install gcc (apt-get install gcc) so that `gcc` is on PATH',
    );
  }
  if (process.arch !== 'x64' && process.arch !== 'ia32') {
    throw new Error(
      `the ALU oracle needs an x86 host to execute the real instructions, not ${process.arch}`,
    );
  }
  workDir = mkdtempSync(join(tmpdir(), 'vmwb-alu-'));
  const src = join(workDir, 'alu-oracle.c');
  oraclePath = join(workDir, 'alu-oracle');
  writeFileSync(src, ORACLE_C);
  const r = spawnSync(cc, ['-O1', '-mno-red-zone', '-o', oraclePath, src], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building the ALU oracle with ${cc} failed:\n${r.stderr}`);
}

interface Outcome {
  r1: number;
  r2: number;
  flags: number;
}

function runOracle(cases: readonly Case[]): Outcome[] {
  const hex = (v: number): string => (v >>> 0).toString(16);
  const input = cases
    .map((c) => `${c.op} ${c.size} ${hex(c.a)} ${hex(c.b)} ${hex(c.c)} ${hex(c.flags)}\n`)
    .join('');
  const r = spawnSync(oraclePath, [], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0)
    throw new Error(`ALU oracle failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== cases.length)
    throw new Error(`oracle answered ${lines.length} of ${cases.length} cases`);
  return lines.map((line) => {
    const [r1, r2, flags] = line.split(' ').map((s) => parseInt(s, 16));
    return { r1: r1!, r2: r2!, flags: flags! };
  });
}

// ---- running a case on the Alu ---------------------------------------------------------------------

/**
 * Executes `c` on `alu`, first loading `c.flags` unless `load` is false (then the flags are
 * whatever the previous operation left, lazily); `ok` is false when div/idiv report #DE.
 */
function runAlu(alu: Alu, c: Case, load = true): Outcome & { ok: boolean } {
  const { a, b, size } = c;
  if (load) alu.setArithFlags(c.flags);
  let r1 = 0;
  let r2 = 0;
  let ok = true;
  switch (c.op) {
    case 'add':
      r1 = alu.add(a, b, size);
      break;
    case 'adc':
      r1 = alu.adc(a, b, size);
      break;
    case 'sub':
      r1 = alu.sub(a, b, size);
      break;
    case 'sbb':
      r1 = alu.sbb(a, b, size);
      break;
    case 'and':
      r1 = alu.and(a, b, size);
      break;
    case 'or':
      r1 = alu.or(a, b, size);
      break;
    case 'xor':
      r1 = alu.xor(a, b, size);
      break;
    case 'cmp':
      alu.sub(a, b, size);
      r1 = a;
      break;
    case 'test':
      alu.and(a, b, size);
      r1 = a;
      break;
    case 'inc':
      r1 = alu.inc(a, size);
      break;
    case 'dec':
      r1 = alu.dec(a, size);
      break;
    case 'neg':
      r1 = alu.neg(a, size);
      break;
    case 'shl':
      r1 = alu.shl(a, c.c, size);
      break;
    case 'shr':
      r1 = alu.shr(a, c.c, size);
      break;
    case 'sar':
      r1 = alu.sar(a, c.c, size);
      break;
    case 'rol':
      r1 = alu.rol(a, c.c, size);
      break;
    case 'ror':
      r1 = alu.ror(a, c.c, size);
      break;
    case 'rcl':
      r1 = alu.rcl(a, c.c, size);
      break;
    case 'rcr':
      r1 = alu.rcr(a, c.c, size);
      break;
    case 'shld':
      r1 = alu.shld(a, b, c.c, size);
      break;
    case 'shrd':
      r1 = alu.shrd(a, b, c.c, size);
      break;
    case 'mul':
    case 'imul1':
      if (c.op === 'mul') alu.mul(a, b, size);
      else alu.imul1(a, b, size);
      // 8-bit: resultLo is all of AX; the oracle prints AL and AH
      r1 = size === 8 ? alu.resultLo & 0xff : alu.resultLo;
      r2 = alu.resultHi;
      if (size === 8 && alu.resultLo !== ((r2 << 8) | r1)) r2 = -1;
      break;
    case 'imul2':
      r1 = alu.imul(a, b, size);
      break;
    case 'div':
    case 'idiv': {
      // 8-bit: the dividend AX is passed whole as `lo` (hi = 0), as the CPU does; a is AH, b AL
      const hi = size === 8 ? 0 : a;
      const lo = size === 8 ? (a << 8) | b : b;
      ok = c.op === 'div' ? alu.div(hi, lo, c.c, size) : alu.idiv(hi, lo, c.c, size);
      r1 = alu.quotient;
      r2 = alu.remainder;
      break;
    }
    case 'bt':
      alu.bt(a, b, size);
      r1 = a;
      break;
    case 'bts':
      r1 = alu.bts(a, b, size);
      break;
    case 'btr':
      r1 = alu.btr(a, b, size);
      break;
    case 'btc':
      r1 = alu.btc(a, b, size);
      break;
    case 'bsf':
    case 'bsr': {
      const i = c.op === 'bsf' ? alu.bsf(b, size) : alu.bsr(b, size);
      r1 = i < 0 ? a : i;
      break;
    }
  }
  return { r1, r2, flags: alu.arithFlags(), ok };
}

// ---- case generation (seeded) ----------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const maskOf = (size: number): number => (size === 32 ? 0xffffffff : (1 << size) - 1);

function edgeValues(size: number): number[] {
  const m = maskOf(size);
  const raw = [
    0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff,
    0x80000000, 0xffffffff, 0xfffffffe, 0x55555555, 0xaaaaaaaa, 0x12345678,
  ];
  return [...new Set(raw.map((v) => (v & m) >>> 0))];
}

function edgeCounts(size: number): number[] {
  return [
    ...new Set([0, 1, 2, 3, 7, 8, 9, 15, 16, 17, size - 1, size, size + 1, 31, 32, 33, 63, 255]),
  ];
}

function generateCases(): Case[] {
  const rnd = mulberry32(0x1a2b3c4d);
  const cases: Case[] = [];
  const flagChoices = [0, ARITH_FLAGS, FLAG_CF, ARITH_FLAGS & ~FLAG_CF];
  const randomFlags = (): number => rnd() & ARITH_FLAGS;
  /** uniformly random, or a value with few bits / near a power of two (where carries happen) */
  const randomValue = (size: number): number => {
    const m = maskOf(size);
    switch (rnd() % 4) {
      case 0:
        return (rnd() & m) >>> 0;
      case 1:
        return ((1 << (rnd() % size)) - (rnd() % 3) + 1) & m;
      case 2:
        return (rnd() & rnd() & m) >>> 0;
      default:
        return ((rnd() | rnd()) & m) >>> 0;
    }
  };
  const push = (
    op: Op,
    size: 8 | 16 | 32,
    a: number,
    b: number,
    c: number,
    flags: number,
  ): void => {
    const m = maskOf(size);
    cases.push({ op, size, a: (a & m) >>> 0, b: (b & m) >>> 0, c: c >>> 0, flags });
  };

  for (const op of OPS) {
    for (const size of SIZES[op]) {
      const edges = edgeValues(size);
      const m = maskOf(size);
      switch (op) {
        case 'shl':
        case 'shr':
        case 'sar':
        case 'rol':
        case 'ror':
        case 'rcl':
        case 'rcr':
        case 'shld':
        case 'shrd':
          for (const a of edges) {
            for (const count of edgeCounts(size)) {
              for (const f of [flagChoices[0]!, flagChoices[1]!])
                push(op, size, a, ~a ^ 0x5a5a5a5a, count, f);
            }
          }
          for (let i = 0; i < 400; i++) {
            const count = rnd() % 4 === 0 ? rnd() & 0xff : rnd() % (size + 2);
            push(op, size, randomValue(size), randomValue(size), count, randomFlags());
          }
          break;
        case 'div':
        case 'idiv':
          // a:b / c; faulting cases are kept (the Alu must report them) but not sent to the CPU.
          for (const hi of [0, 1, m, m >>> 1, (m >>> 1) + 1]) {
            for (const lo of edges) {
              for (const d of edges) push(op, size, hi, lo, d, randomFlags());
            }
          }
          for (let i = 0; i < 600; i++) {
            const d = randomValue(size) || 1;
            let hi: number;
            if (op === 'div') hi = rnd() % 2 ? rnd() % d : rnd() & m;
            else hi = rnd() % 2 ? (rnd() % 2 ? 0 : m) : rnd() % 4 ? rnd() & (m >>> 4) : rnd() & m;
            push(op, size, hi, randomValue(size), rnd() % 8 === 0 ? 0 : d, randomFlags());
          }
          break;
        case 'bt':
        case 'bts':
        case 'btr':
        case 'btc':
          for (const a of edges) {
            for (const bit of [0, 1, 7, 8, 15, 16, 31, 32, 33, 255])
              push(op, size, a, bit, 0, randomFlags());
          }
          for (let i = 0; i < 300; i++)
            push(op, size, randomValue(size), rnd() & m, 0, randomFlags());
          break;
        case 'bsf':
        case 'bsr':
          for (const b of edges) {
            for (const f of flagChoices) push(op, size, 0x1234abcd, b, 0, f);
          }
          for (let i = 0; i < 300; i++) {
            push(op, size, rnd(), rnd() % 8 === 0 ? 0 : randomValue(size), 0, randomFlags());
          }
          break;
        default:
          for (const a of edges) {
            for (const b of edges) {
              push(op, size, a, b, 0, flagChoices[(a ^ b) & 3]!);
              push(op, size, a, b, 0, flagChoices[((a ^ b) + 1) & 3]!);
            }
          }
          for (let i = 0; i < 400; i++)
            push(op, size, randomValue(size), randomValue(size), 0, randomFlags());
      }
    }
  }
  return cases;
}

/** Does the real CPU raise #DE for this div/idiv? (BigInt reference, independent of the Alu) */
function divideFaults(c: Case): boolean {
  const size = BigInt(c.size);
  const sext = (v: bigint, bits: bigint): bigint => BigInt.asIntN(Number(bits), v);
  let n = (BigInt(c.a) << size) | BigInt(c.b);
  let d = BigInt(c.c);
  if (d === 0n) return true;
  if (c.op === 'idiv') {
    n = sext(n, 2n * size);
    d = sext(d, size);
    const q = n / d; // BigInt division truncates toward zero, like idiv
    return q < -(1n << (size - 1n)) || q >= 1n << (size - 1n);
  }
  return n / d >= 1n << size;
}

const FLAG_NAMES: readonly (readonly [number, string])[] = [
  [FLAG_OF, 'OF'],
  [FLAG_SF, 'SF'],
  [FLAG_ZF, 'ZF'],
  [FLAG_AF, 'AF'],
  [FLAG_PF, 'PF'],
  [FLAG_CF, 'CF'],
];
const flagNames = (f: number): string =>
  FLAG_NAMES.filter(([bit]) => f & bit)
    .map(([, name]) => name)
    .join(' ') || '-';

/** The condition cc from EFLAGS bits (the SDM's table), to check Alu.condition against. */
function conditionFromFlags(f: number, cc: number): boolean {
  const cf = (f & FLAG_CF) !== 0;
  const zf = (f & FLAG_ZF) !== 0;
  const sf = (f & FLAG_SF) !== 0;
  const of = (f & FLAG_OF) !== 0;
  const pf = (f & FLAG_PF) !== 0;
  const base = [of, cf, zf, cf || zf, sf, pf, sf !== of, zf || sf !== of][cc >> 1]!;
  return cc & 1 ? !base : base;
}
/** Flags each condition reads. */
const CONDITION_FLAGS = [
  FLAG_OF,
  FLAG_CF,
  FLAG_ZF,
  FLAG_CF | FLAG_ZF,
  FLAG_SF,
  FLAG_PF,
  FLAG_SF | FLAG_OF,
  FLAG_ZF | FLAG_SF | FLAG_OF,
];

// ---- the oracle comparison -------------------------------------------------------------------------

describe('Alu against the real CPU', () => {
  const cases = generateCases();
  const onCpu = cases.filter((c) => !((c.op === 'div' || c.op === 'idiv') && divideFaults(c)));
  let outcomes: Outcome[] = [];

  beforeAll(() => {
    buildOracle();
    outcomes = runOracle(onCpu);
  });
  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('has thousands of cases of every operation and size', () => {
    expect(onCpu.length).toBeGreaterThan(20000);
    for (const op of OPS) {
      for (const size of SIZES[op]) {
        expect(
          onCpu.filter((c) => c.op === op && c.size === size).length,
          `${op}/${size}`,
        ).toBeGreaterThan(100);
      }
    }
  });

  it('gives the CPU results and flags (SDM-undefined flags masked) for every case', () => {
    const alu = new Alu();
    const failures: string[] = [];
    const perOp = new Map<Op, number>();
    onCpu.forEach((c, i) => {
      const want = outcomes[i]!;
      const got = runAlu(alu, c);
      const undef = UNDEFINED[c.op].undef(c);
      const defined = ARITH_FLAGS & ~undef.flags;
      const resultOk = undef.result === true || (got.r1 === want.r1 && got.r2 === want.r2);
      const bad = !got.ok || !resultOk || (got.flags & defined) !== (want.flags & defined);
      // The lazy getters and condition() must agree with the materialised flags.
      let lazyBad = '';
      const f = got.flags;
      const getters: [boolean, number, string][] = [
        [alu.cf(), FLAG_CF, 'cf'],
        [alu.pf(), FLAG_PF, 'pf'],
        [alu.af(), FLAG_AF, 'af'],
        [alu.zf(), FLAG_ZF, 'zf'],
        [alu.sf(), FLAG_SF, 'sf'],
        [alu.of(), FLAG_OF, 'of'],
      ];
      for (const [v, bit, name] of getters) if (v !== ((f & bit) !== 0)) lazyBad += ` ${name}()`;
      for (let cc = 0; cc < 16; cc++) {
        if (alu.condition(cc) !== conditionFromFlags(f, cc)) lazyBad += ` condition(${cc})`;
        // and against the CPU itself wherever the condition reads only defined flags
        if (
          (CONDITION_FLAGS[cc >> 1]! & ~defined) === 0 &&
          alu.condition(cc) !== conditionFromFlags(want.flags, cc)
        ) {
          lazyBad += ` condition(${cc}) vs CPU`;
        }
      }
      if (bad || lazyBad) {
        perOp.set(c.op, (perOp.get(c.op) ?? 0) + 1);
        if (failures.length < 25) {
          const h = (v: number): string => '0x' + (v >>> 0).toString(16);
          failures.push(
            `${c.op}${c.size} a=${h(c.a)} b=${h(c.b)} c=${h(c.c)} in=[${flagNames(c.flags)}]: ` +
              `cpu ${h(want.r1)},${h(want.r2)} [${flagNames(want.flags)}] alu ${h(got.r1)},${h(got.r2)} ` +
              `[${flagNames(got.flags)}]${got.ok ? '' : ' #DE'} (undefined: [${flagNames(undef.flags)}]${undef.result ? ' result' : ''})${lazyBad}`,
          );
        }
      }
    });
    expect({ failures, perOp: Object.fromEntries(perOp) }).toEqual({ failures: [], perOp: {} });
  });

  it('reports #DE exactly where the CPU would fault', () => {
    const alu = new Alu();
    const faulting = cases.filter((c) => (c.op === 'div' || c.op === 'idiv') && divideFaults(c));
    expect(faulting.length).toBeGreaterThan(200);
    expect(faulting.some((c) => c.c === 0)).toBe(true);
    expect(faulting.some((c) => c.c !== 0)).toBe(true);
    const wrong = faulting
      .filter((c) => runAlu(alu, c).ok)
      .map((c) => `${c.op}${c.size} ${c.a}:${c.b}/${c.c}`);
    expect(wrong).toEqual([]);
  });
});

// ---- hand-written classics -------------------------------------------------------------------------

describe('Alu classic cases', () => {
  const flagsOf = (alu: Alu): string => flagNames(alu.arithFlags());

  it('0x7f + 1 overflows into the sign with a half carry', () => {
    const alu = new Alu();
    expect(alu.add(0x7f, 1, 8)).toBe(0x80);
    expect(flagsOf(alu)).toBe('OF SF AF');
    expect(alu.add(0xffffffff, 1, 32)).toBe(0);
    expect(flagsOf(alu)).toBe('ZF AF PF CF');
    expect(alu.add(0x7fffffff, 1, 32)).toBe(0x80000000);
    expect(alu.of() && alu.sf() && !alu.cf()).toBe(true);
  });

  it('sub borrows and cmp drives the conditions', () => {
    const alu = new Alu();
    expect(alu.sub(1, 2, 16)).toBe(0xffff);
    expect(flagsOf(alu)).toBe('SF AF PF CF');
    alu.sub(3, 5, 32); // cmp 3, 5
    expect([alu.condition(2), alu.condition(12), alu.condition(7), alu.condition(15)]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    alu.sub(0x80, 0x01, 8); // cmp -128, 1: signed less, unsigned above
    expect([alu.condition(12), alu.condition(7), alu.of()]).toEqual([true, true, true]);
    alu.sub(5, 5, 8);
    expect([alu.condition(4), alu.condition(6), alu.condition(13), alu.condition(14)]).toEqual([
      true,
      true,
      true,
      true,
    ]);
  });

  it('adc and sbb use the carry, also when it is still lazy', () => {
    const alu = new Alu();
    alu.add(0xffffffff, 1, 32); // CF = 1
    expect(alu.adc(0, 0, 32)).toBe(1);
    expect(alu.cf()).toBe(false);
    alu.setArithFlags(FLAG_CF);
    expect(alu.adc(0xff, 0, 8)).toBe(0);
    expect(flagsOf(alu)).toBe('ZF AF PF CF');
    alu.sub(0, 1, 32); // borrow
    expect(alu.sbb(0, 0, 32)).toBe(0xffffffff);
    expect(alu.cf()).toBe(true);
    // 64-bit add in two halves: 0x00000001_ffffffff + 1
    const lo = alu.add(0xffffffff, 1, 32);
    const hi = alu.adc(1, 0, 32);
    expect([hi, lo]).toEqual([2, 0]);
  });

  it('inc and dec keep CF', () => {
    const alu = new Alu();
    alu.sub(0, 1, 8); // CF = 1
    expect(alu.inc(0xff, 8)).toBe(0);
    expect(flagsOf(alu)).toBe('ZF AF PF CF');
    alu.setArithFlags(0);
    expect(alu.dec(0x80, 8)).toBe(0x7f);
    expect(flagsOf(alu)).toBe('OF AF');
  });

  it('neg sets CF unless the operand is 0', () => {
    const alu = new Alu();
    expect(alu.neg(0, 32)).toBe(0);
    expect(alu.cf()).toBe(false);
    expect(alu.neg(0x80000000, 32)).toBe(0x80000000);
    expect(alu.cf() && alu.of()).toBe(true);
  });

  it('rotates through carry', () => {
    const alu = new Alu();
    alu.setArithFlags(FLAG_CF | FLAG_ZF);
    expect(alu.rcl(0x80, 1, 8)).toBe(0x01); // old CF comes in, bit 7 goes to CF
    expect(alu.cf()).toBe(true);
    expect(alu.of()).toBe(true); // MSB(0x01) xor CF
    expect(alu.zf()).toBe(true); // untouched
    expect(alu.rcl(0x01, 9, 8)).toBe(0x01); // 9 mod 9 = 0: nothing changes
    expect(alu.rcr(0x01, 1, 16)).toBe(0x8000);
    expect(alu.cf()).toBe(true);
    expect(alu.rcl(0x12345678, 0, 32)).toBe(0x12345678);
    alu.setArithFlags(0);
    expect(alu.rcl(0x80000000, 1, 32)).toBe(0);
    expect(flagsOf(alu)).toBe('OF CF');
  });

  it('shld and shrd', () => {
    const alu = new Alu();
    expect(alu.shld(0x12345678, 0x9abcdef0, 8, 32)).toBe(0x3456789a);
    expect(alu.cf()).toBe(false); // bit 24 of 0x12345678
    expect(alu.shld(0x8000, 0xffff, 1, 16)).toBe(0x0001);
    expect(flagsOf(alu)).toBe('OF CF');
    expect(alu.shrd(0x12345678, 0x9abcdef0, 4, 32)).toBe(0x01234567);
    expect(alu.cf()).toBe(true);
    alu.setArithFlags(FLAG_SF);
    expect(alu.shrd(0x1234, 0xffff, 0, 16)).toBe(0x1234);
    expect(flagsOf(alu)).toBe('SF'); // count 0 touches nothing
  });

  it('shifts: CF is the last bit out, count masked to 5 bits', () => {
    const alu = new Alu();
    expect(alu.shl(0x81, 1, 8)).toBe(0x02);
    expect(flagsOf(alu)).toBe('OF CF');
    expect(alu.sar(0x80, 7, 8)).toBe(0xff);
    expect(alu.cf()).toBe(false);
    expect(alu.sar(0x80, 8, 8)).toBe(0xff);
    expect(alu.cf()).toBe(true);
    alu.setArithFlags(FLAG_CF);
    expect(alu.shl(5, 32, 32)).toBe(5); // 32 & 31 = 0
    expect(alu.cf()).toBe(true);
  });

  it('multiplies 32 × 32 into 64 bits exactly', () => {
    const alu = new Alu();
    alu.mul(0xffffffff, 0xffffffff, 32);
    expect([alu.resultHi, alu.resultLo]).toEqual([0xfffffffe, 0x00000001]);
    expect(alu.cf() && alu.of()).toBe(true);
    alu.imul1(0xffffffff, 0xffffffff, 32); // -1 × -1
    expect([alu.resultHi, alu.resultLo]).toEqual([0, 1]);
    expect(alu.cf()).toBe(false);
    expect(alu.imul(0x10000, 0x10000, 32)).toBe(0);
    expect(alu.of()).toBe(true);
    alu.mul(0x80, 2, 8);
    expect([alu.resultHi, alu.resultLo]).toEqual([1, 0x100]); // resultLo is AX for 8 bits
    alu.imul1(0x80, 0x7f, 8); // -128 × 127 = -16256 = 0xc080
    expect([alu.resultHi, alu.resultLo, alu.cf()]).toEqual([0xc0, 0xc080, true]);
    expect(alu.imul(0xfffe, 0x7fff, 16)).toBe(0x0002); // -2 × 32767 = 0xffff0002
    expect(alu.of()).toBe(true);
  });

  it('divides, and reports #DE', () => {
    const alu = new Alu();
    expect(alu.div(0x1, 0x00000000, 0x10, 32)).toBe(true); // 2^32 / 16
    expect([alu.quotient, alu.remainder]).toEqual([0x10000000, 0]);
    expect(alu.div(0x10, 0, 0x10, 32)).toBe(false); // quotient 2^32
    expect(alu.div(0, 5, 0, 8)).toBe(false);
    expect(alu.div(0, 0x0107, 2, 8)).toBe(true); // AX = 263 as lo
    expect([alu.quotient, alu.remainder]).toEqual([131, 1]);
    expect(alu.div(0x01, 0x07, 2, 8)).toBe(true); // or AH, AL
    expect([alu.quotient, alu.remainder]).toEqual([131, 1]);
    expect(alu.div(0, 0x0200, 2, 8)).toBe(false); // 256 does not fit AL
    expect(alu.idiv(0xffffffff, 0xfffffff9, 2, 32)).toBe(true); // -7 / 2
    expect([alu.quotient, alu.remainder]).toEqual([0xfffffffd, 0xffffffff]);
    expect(alu.idiv(0, 0xff80, 0xff, 8)).toBe(false); // -128 / -1 = 128: does not fit
    expect(alu.idiv(0, 0xff00, 0x02, 8)).toBe(true); // -256 / 2 = -128 fits
    expect([alu.quotient, alu.remainder]).toEqual([0x80, 0]);
    expect(alu.idiv(0x80000000 >>> 0, 0, 0xffffffff, 32)).toBe(false);
  });

  it('bsf and bsr set ZF for a zero source and leave the destination to the caller', () => {
    const alu = new Alu();
    expect(alu.bsf(0, 32)).toBe(-1);
    expect(alu.zf()).toBe(true);
    expect(alu.bsf(0x80000000, 32)).toBe(31);
    expect(alu.bsr(0x00010001, 32)).toBe(16);
    expect(alu.zf()).toBe(false);
    expect(alu.bsf(0x10000, 16)).toBe(-1); // only the low 16 bits are the source
  });

  it('bt family sets CF only', () => {
    const alu = new Alu();
    alu.setArithFlags(FLAG_ZF | FLAG_SF);
    expect(alu.bts(0, 33, 32)).toBe(2);
    expect(flagsOf(alu)).toBe('SF ZF');
    expect(alu.btr(0xffff, 15, 16)).toBe(0x7fff);
    expect(flagsOf(alu)).toBe('SF ZF CF');
    expect(alu.btc(0xffff, 16, 16)).toBe(0xfffe);
    alu.bt(0, 3, 32);
    expect(alu.cf()).toBe(false);
  });

  it('setCF and setArithFlags', () => {
    const alu = new Alu();
    alu.add(0x7f, 1, 8);
    alu.setCF(true);
    expect(flagsOf(alu)).toBe('OF SF AF CF');
    alu.setArithFlags(0xffffffff);
    expect(alu.arithFlags()).toBe(ARITH_FLAGS);
  });
});

// ---- lazy and materialised flags agree over instruction chains --------------------------------------

describe('Alu lazy flags over chains', () => {
  it('a chain read lazily equals the same chain with the flags materialised after each step', () => {
    const rnd = mulberry32(0xc0ffee);
    const lazy = new Alu();
    const eager = new Alu();
    const chainOps = OPS.filter((op) => op !== 'div' && op !== 'idiv');
    const mismatches: string[] = [];
    lazy.setArithFlags(0);
    eager.setArithFlags(0);
    for (let i = 0; i < 50000 && mismatches.length < 10; i++) {
      const op = chainOps[rnd() % chainOps.length]!;
      const sizes = SIZES[op];
      const size = sizes[rnd() % sizes.length]!;
      const m = maskOf(size);
      const a = (rnd() & m) >>> 0;
      const b = rnd() % 3 === 0 ? a : (rnd() & m) >>> 0; // equal operands: ZF, no borrow
      const c: Case = { op, size, a, b, c: rnd() % 40, flags: eager.arithFlags() };
      const x = runAlu(lazy, c, false); // reads whatever lazy state the last step left
      const y = runAlu(eager, c, true); // starts from materialised flags
      let bad = x.r1 !== y.r1 || x.r2 !== y.r2 || x.flags !== y.flags;
      for (let cc = 0; cc < 16; cc++) bad ||= lazy.condition(cc) !== eager.condition(cc);
      if (bad)
        mismatches.push(`${i}: ${JSON.stringify(c)} ${JSON.stringify(x)} ${JSON.stringify(y)}`);
    }
    expect(mismatches).toEqual([]);
  });
});
