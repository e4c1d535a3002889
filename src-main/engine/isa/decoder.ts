// The instruction decoder: bytes → a decoded instruction of the IA-32 subset, or the exact #UD
// (or #GP for an over-long instruction) reason. It owns prefix parsing, the ModRM/SIB/displacement
// and immediate layouts of 32-bit addressing, and the encoding-level validity rules (which
// control and segment registers exist, where LOCK is allowed). It holds no list of
// instructions: the opcode maps below are built from FORMS (table.ts) when the module loads.
//
// Layout facts: Intel SDM vol. 2, ch. 2 (instruction format, tables 2-2/2-3 for ModRM/SIB),
// appendix A (opcode map); LOCK: the LOCK page of vol. 2; MOV CR/MOV Sreg: their pages.

import { FORMS, PREFIX, SEGMENT_PREFIXES } from './table';
import type { InstructionForm, OperandSpec } from './types';

/**
 * Where the decoder reads instruction bytes. `byteAt` returns the byte (0–255) at `offset`, or a
 * negative number when the source ends there (the instruction is then "truncated"). The CPU's
 * source may instead throw (a typed page fault): the exception propagates out of `decode`.
 */
export interface ByteSource {
  byteAt(offset: number): number;
}

/** Segment register indices, in encoding order (es cs ss ds fs gs). */
export const SEG_ES = 0;
export const SEG_CS = 1;
export const SEG_SS = 2;
export const SEG_DS = 3;
export const SEG_FS = 4;
export const SEG_GS = 5;

/**
 * A 32-bit effective address: base + index·2^scale + disp, in `segment`.
 * Also produced for the moffs forms (A0–A3): base = index = -1, disp = the offset.
 */
export interface MemoryOperand {
  /** base register 0–7, or -1 (disp32 only) */
  readonly base: number;
  /** index register 0–7, or -1 (none; SIB index 100) */
  readonly index: number;
  /** log2 of the scale, as encoded in SIB.ss (meaningless when index = -1) */
  readonly scale: 0 | 1 | 2 | 3;
  /** displacement as a signed 32-bit integer */
  readonly disp: number;
  /** the effective segment register 0–5: the override, or the default (ss for base esp/ebp, else ds) */
  readonly segment: number;
  readonly segmentOverridden: boolean;
}

export interface DecodedPrefixes {
  readonly lock: boolean;
  /** the last of F2/F3 seen, 0 if none */
  readonly rep: 0 | 0xf2 | 0xf3;
  /** the last segment override seen (0–5), -1 if none */
  readonly segment: number;
  /** 0x66 was present (whether or not the form's operand size follows it) */
  readonly operandSize: boolean;
  /** number of prefix bytes, repeats included */
  readonly count: number;
}

export interface DecodedInstruction {
  readonly form: InstructionForm;
  /** total length in bytes, prefixes included (1–15) */
  readonly length: number;
  /** 16 if 0x66 is present and the form's operand size follows it, else 32 */
  readonly operandSize: 16 | 32;
  readonly prefixes: DecodedPrefixes;
  /** the ModRM byte, -1 if the form has none */
  readonly modrm: number;
  /** ModRM.reg (a register, sreg or CR number, or the /digit); for `opreg` forms opcode & 7; else -1 */
  readonly reg: number;
  /** ModRM.rm, -1 if no ModRM */
  readonly rm: number;
  /** the memory operand (ModRM mod != 3, or moffs); null for register-only forms */
  readonly mem: MemoryOperand | null;
  /**
   * The first immediate: imm8/imm16/imm32 zero-extended; simm8 and rel sign-extended to int32;
   * the moffs address (unsigned); the far pointer's offset. 0 if none.
   */
  readonly imm: number;
  /** The second immediate (enter's imm8) or the far pointer's selector; 0 if none. */
  readonly imm2: number;
  /**
   * A slot the executor fills with its handler for this very instruction, so that a decoded
   * instruction taken from the cache runs without looking its handler up again. Undefined
   * until the first execution; the decoder knows nothing of what goes in it.
   */
  exec: unknown;
}

export type DecodeResult =
  | { readonly ok: true; readonly insn: DecodedInstruction }
  | {
      readonly ok: false;
      /** 6 = #UD; 13 = #GP(0) (instruction longer than 15 bytes) */
      readonly vector: 6 | 13;
      readonly reason: string;
      /** bytes examined before the fault was certain (the whole instruction when it was read) */
      readonly length: number;
    };

/** Architectural maximum instruction length (SDM vol. 2, 2.3.11). */
export const MAX_INSTRUCTION_LENGTH = 15;

// ---- LOCK -----------------------------------------------------------------------------------
// The one place that says which operations accept LOCK (SDM vol. 2, LOCK): add or adc sbb and
// sub xor (alu sub-operations 0–6, not cmp), not neg inc dec, xchg xadd cmpxchg, bts btr btc
// (bt sub-operations 1–3, not bt). Only with a memory destination; otherwise #UD.
const LOCKABLE_OPS: ReadonlyMap<string, readonly number[] | 'any'> = new Map<
  string,
  readonly number[] | 'any'
>([
  ['alu', [0, 1, 2, 3, 4, 5, 6]],
  ['not', 'any'],
  ['neg', 'any'],
  ['inc', 'any'],
  ['dec', 'any'],
  ['xchg', 'any'],
  ['xadd', 'any'],
  ['cmpxchg', 'any'],
  ['bt', [1, 2, 3]],
]);

/** Whether LOCK may prefix this form (it then still needs a memory destination, ModRM mod != 3). */
export function acceptsLock(form: InstructionForm): boolean {
  const subs = LOCKABLE_OPS.get(form.op);
  if (subs === undefined) return false;
  if (subs !== 'any' && (form.sub === undefined || !subs.includes(form.sub))) return false;
  const dest = form.operands[0];
  return dest !== undefined && (dest.kind === 'rm' || dest.kind === 'mem');
}

/** Control registers that exist: CR0, CR2, CR3, CR4 (CR1 and CR5–7 raise #UD; SDM MOV—Control Registers). */
const VALID_CONTROL_REGISTERS = 0b0001_1101;

// ---- names of opcodes outside the subset, for #UD messages only -----------------------------
// (Not decode knowledge: these opcodes are never decoded; the names make the reasons readable.)
const OUTSIDE_PRIMARY: Readonly<Record<number, string>> = {
  0x27: 'daa',
  0x2f: 'das',
  0x37: 'aaa',
  0x3f: 'aas',
  0x9b: 'fwait',
  0xd4: 'aam',
  0xd5: 'aad',
  0xd6: 'salc',
  0xd7: 'xlatb',
  0xd8: 'x87 escape',
  0xd9: 'x87 escape',
  0xda: 'x87 escape',
  0xdb: 'x87 escape',
  0xdc: 'x87 escape',
  0xdd: 'x87 escape',
  0xde: 'x87 escape',
  0xdf: 'x87 escape',
  0xf1: 'int1',
};
const OUTSIDE_0F: Readonly<Record<number, string>> = {
  0x05: 'syscall',
  0x07: 'sysret',
  0x0d: 'prefetch',
  0x0f: '3DNow!',
  0x1f: 'nop r/m',
  0x33: 'rdpmc',
  0x34: 'sysenter',
  0x35: 'sysexit',
  0x38: 'three-byte opcode escape',
  0x3a: 'three-byte opcode escape',
  0x77: 'emms',
  0xaa: 'rsm',
  0xae: 'fxsave/fence group',
  0xb8: 'popcnt',
  0xb9: 'ud1',
  0xc7: 'cmpxchg8b group',
  0xff: 'ud0',
};

// ---- opcode maps, derived from FORMS ----------------------------------------------------------

// Immediate layouts (what follows ModRM/SIB/displacement), one per immediate-like operand.
type Imm = number;
const IMM_U8 = 0;
const IMM_U16 = 1;
const IMM_U32 = 2;
/** unsigned, 16 or 32 bits by operand size */
const IMM_UV = 3;
const IMM_S8 = 4;
const IMM_REL8 = 5;
/** signed, 16 or 32 bits by operand size */
const IMM_RELV = 6;
const IMM_MOFFS = 7;
const IMM_FARPTR = 8;

interface Plan {
  readonly form: InstructionForm;
  /** immediates in encoding order */
  readonly imms: readonly Imm[];
  /** ModRM.mod is ignored: the rm field is always a register (mov to/from CR) */
  readonly modIgnored: boolean;
  readonly opreg: boolean;
  /** operand index of an sreg / creg operand in ModRM.reg, -1 if none */
  readonly sregAt: number;
  readonly cregAt: number;
  readonly lockable: boolean;
  /** how #UD messages name it */
  readonly name: string;
}

interface Entry {
  /** e.g. "FE" or "0F 01", for messages */
  readonly label: string;
  readonly hasModrm: boolean;
  /** the form of an opcode without ModRM */
  plain: Plan | undefined;
  /** by (ModRM.reg << 1) | (mod != 3 ? 1 : 0) */
  readonly slots: (Plan | undefined)[];
  /** forms with a fixed ModRM byte (vmcall), by ModRM byte */
  fixed: (Plan | undefined)[] | undefined;
  /** some form uses a /digit */
  grouped: boolean;
  /** plain was filled from an opreg range (a single-opcode form may replace it: nop over xchg) */
  plainFromRange: boolean;
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

function immOf(spec: OperandSpec): Imm | undefined {
  switch (spec.kind) {
    case 'imm':
      return spec.size === 8
        ? IMM_U8
        : spec.size === 16
          ? IMM_U16
          : spec.size === 32
            ? IMM_U32
            : IMM_UV;
    case 'simm8':
      return IMM_S8;
    case 'rel':
      return spec.size === 8 ? IMM_REL8 : IMM_RELV;
    case 'moffs':
      return IMM_MOFFS;
    case 'farptr':
      return IMM_FARPTR;
    default:
      return undefined;
  }
}

function makePlan(form: InstructionForm): Plan {
  const imms: Imm[] = [];
  for (const o of form.operands) {
    const i = immOf(o);
    if (i !== undefined) imms.push(i);
  }
  const only = form.operands.length === 1 ? form.operands[0] : undefined;
  return {
    form,
    imms,
    modIgnored: form.operands.some((o) => o.kind === 'creg'),
    opreg: form.operands.some((o) => o.kind === 'opreg'),
    sregAt: form.operands.findIndex((o) => o.kind === 'sreg'),
    cregAt: form.operands.findIndex((o) => o.kind === 'creg'),
    lockable: acceptsLock(form),
    name: only?.kind === 'mem' && only.size === 'far' ? `${form.mnemonic} far` : form.mnemonic,
  };
}

const PRIMARY: (Entry | undefined)[] = new Array<Entry | undefined>(256).fill(undefined);
const SECONDARY: (Entry | undefined)[] = new Array<Entry | undefined>(256).fill(undefined);

function entryFor(opcode: readonly number[], byte: number, hasModrm: boolean): Entry {
  const map = opcode.length === 2 ? SECONDARY : PRIMARY;
  let e = map[byte];
  if (e === undefined) {
    e = {
      label: opcode.length === 2 ? `0F ${hex2(byte)}` : hex2(byte),
      hasModrm,
      plain: undefined,
      slots: new Array<Plan | undefined>(16).fill(undefined),
      fixed: undefined,
      grouped: false,
      plainFromRange: false,
    };
    map[byte] = e;
  } else if (e.hasModrm !== hasModrm) {
    throw new Error(`opcode table: opcode ${e.label} has forms with and without ModRM`);
  }
  return e;
}

function claim(e: Entry, index: number, plan: Plan): void {
  const prior = e.slots[index];
  if (prior !== undefined && prior !== plan) {
    throw new Error(
      `opcode table: ${prior.form.mnemonic} (#${prior.form.id}) and ${plan.form.mnemonic} (#${plan.form.id}) both decode from ${e.label} /${index >> 1} ${index & 1 ? 'mem' : 'reg'}`,
    );
  }
  e.slots[index] = plan;
}

function buildMaps(): void {
  for (const form of FORMS) {
    if (!form.decodable) continue;
    const plan = makePlan(form);
    const two = form.opcode.length === 2;
    if (form.opcode.length < 1 || form.opcode.length > 2 || (two && form.opcode[0] !== 0x0f)) {
      throw new Error(`opcode table: unsupported opcode bytes for ${form.mnemonic} (#${form.id})`);
    }
    const last = form.opcode[form.opcode.length - 1] as number;
    if (!form.hasModrm) {
      const fill = plan.opreg ? 8 : 1;
      for (let r = 0; r < fill; r++) {
        const e = entryFor(form.opcode, last + r, false);
        if (e.plain === undefined || (e.plainFromRange && !plan.opreg)) {
          e.plain = plan;
          e.plainFromRange = plan.opreg;
        } else if (!(plan.opreg && !e.plainFromRange)) {
          throw new Error(
            `opcode table: ${e.plain.form.mnemonic} and ${form.mnemonic} both decode from ${e.label}`,
          );
        }
      }
      continue;
    }
    const e = entryFor(form.opcode, last, true);
    if (form.modrmByte !== undefined) {
      e.fixed ??= new Array<Plan | undefined>(256).fill(undefined);
      if (e.fixed[form.modrmByte] !== undefined) {
        throw new Error(`opcode table: two forms decode from ${e.label} ${hex2(form.modrmByte)}`);
      }
      e.fixed[form.modrmByte] = plan;
      continue;
    }
    // Which halves (register rm / memory rm) the form accepts.
    const rmOperand = form.operands.find(
      (o) => o.kind === 'rm' || o.kind === 'rmreg' || o.kind === 'mem',
    );
    const reg = plan.modIgnored || rmOperand === undefined || rmOperand.kind !== 'mem';
    const mem = plan.modIgnored || rmOperand === undefined || rmOperand.kind !== 'rmreg';
    const digits = form.ext !== undefined ? [form.ext] : [0, 1, 2, 3, 4, 5, 6, 7];
    if (form.ext !== undefined) e.grouped = true;
    for (const d of digits) {
      if (reg) claim(e, d << 1, plan);
      if (mem) claim(e, (d << 1) | 1, plan);
    }
  }
}
buildMaps();

// Prefix classes by byte: 0 = not a prefix.
const P_NONE = 0;
const P_OPSIZE = 1;
const P_ADDR = 2;
const P_LOCK = 3;
const P_REPNE = 4;
const P_REP = 5;
const P_SEG = 8; // + segment index
const PREFIX_CLASS = new Uint8Array(256);
PREFIX_CLASS[PREFIX.operandSize] = P_OPSIZE;
PREFIX_CLASS[PREFIX.addressSize] = P_ADDR;
PREFIX_CLASS[PREFIX.lock] = P_LOCK;
PREFIX_CLASS[PREFIX.repne] = P_REPNE;
PREFIX_CLASS[PREFIX.rep] = P_REP;
SEGMENT_PREFIXES.forEach((byte, seg) => {
  PREFIX_CLASS[byte] = P_SEG + seg;
});

// ---- decoding ---------------------------------------------------------------------------------

// Fetch state: decode() is not re-entrant (byteAt may throw, but never calls back into decode).
let source: ByteSource = { byteAt: () => -1 };
let start = 0;
let pos = 0;

/** Thrown by fetch() and caught in decode(); never escapes. */
const TRUNCATED: unique symbol = Symbol('truncated');
const TOO_LONG: unique symbol = Symbol('too long');

function fetch(): number {
  if (pos - start >= MAX_INSTRUCTION_LENGTH) throw TOO_LONG;
  const b = source.byteAt(pos);
  if (b < 0) throw TRUNCATED;
  pos++;
  return b;
}

function fetch16(): number {
  const lo = fetch();
  return lo | (fetch() << 8);
}

function fetch32(): number {
  const b0 = fetch();
  const b1 = fetch();
  const b2 = fetch();
  return b0 | (b1 << 8) | (b2 << 16) | (fetch() << 24);
}

function failure(vector: 6 | 13, reason: string): DecodeResult {
  return { ok: false, vector, reason, length: pos - start };
}

/** Decodes the instruction at `offset`. Never throws on bad bytes; only if `src.byteAt` throws. */
export function decode(src: ByteSource, offset: number): DecodeResult {
  source = src;
  start = offset;
  pos = offset;
  try {
    return decodeHere();
  } catch (e) {
    if (e === TRUNCATED) return failure(6, 'truncated instruction');
    if (e === TOO_LONG) return failure(13, 'instruction longer than 15 bytes');
    throw e;
  }
}

class ArraySource implements ByteSource {
  bytes: Uint8Array = new Uint8Array(0);
  byteAt(offset: number): number {
    return offset < this.bytes.length ? (this.bytes[offset] as number) : -1;
  }
}
const arraySource = new ArraySource();

/** decode() over a byte array; reading past its end gives "truncated instruction". */
export function decodeBytes(bytes: Uint8Array, offset = 0): DecodeResult {
  arraySource.bytes = bytes;
  return decode(arraySource, offset);
}

function decodeHere(): DecodeResult {
  let opsize = false;
  let lock = false;
  let rep: 0 | 0xf2 | 0xf3 = 0;
  let segment = -1;
  let count = 0;
  let b = fetch();
  for (;;) {
    const p = PREFIX_CLASS[b] as number;
    if (p === P_NONE) break;
    if (p === P_OPSIZE) opsize = true;
    else if (p === P_ADDR) {
      return failure(
        6,
        'address-size prefix 0x67 is not in the IA-32 subset (no 16-bit addressing)',
      );
    } else if (p === P_LOCK) lock = true;
    else if (p === P_REPNE) rep = 0xf2;
    else if (p === P_REP) rep = 0xf3;
    else segment = p - P_SEG;
    count++;
    b = fetch();
  }

  let entry: Entry | undefined;
  if (b === 0x0f) {
    const b2 = fetch();
    b = b2; // the opcode byte that carries +r
    entry = SECONDARY[b2];
    if (entry === undefined) {
      const name = OUTSIDE_0F[b2];
      return failure(
        6,
        `opcode 0F ${hex2(b2)}${name !== undefined ? ` (${name})` : ''} is not in the IA-32 subset`,
      );
    }
  } else {
    entry = PRIMARY[b];
    if (entry === undefined) {
      const name = OUTSIDE_PRIMARY[b];
      return failure(
        6,
        `opcode 0x${b.toString(16).padStart(2, '0')}${name !== undefined ? ` (${name})` : ''} is not in the IA-32 subset`,
      );
    }
  }

  let plan: Plan;
  let modrm = -1;
  let reg = -1;
  let rm = -1;
  let mem: MemoryOperand | null = null;
  if (entry.hasModrm) {
    modrm = fetch();
    const mod = modrm >> 6;
    reg = (modrm >> 3) & 7;
    rm = modrm & 7;
    const isMem = mod !== 3 ? 1 : 0;
    const found = entry.fixed?.[modrm] ?? entry.slots[(reg << 1) | isMem];
    if (found === undefined) {
      const other = entry.slots[(reg << 1) | (isMem ^ 1)];
      if (other !== undefined) {
        return failure(
          6,
          isMem
            ? `${other.name} requires a register operand (ModRM mod=${mod})`
            : `${other.name} requires a memory operand (ModRM mod=3)`,
        );
      }
      return failure(
        6,
        entry.grouped
          ? `${entry.label} /${reg} is undefined`
          : `${entry.label} ${hex2(modrm)} is undefined`,
      );
    }
    plan = found;
    if (isMem && !plan.modIgnored) mem = decodeMemory(mod, rm, segment);
  } else {
    plan = entry.plain as Plan;
    if (plan.opreg) reg = b & 7;
  }

  const form = plan.form;
  const operandSize: 16 | 32 = opsize && form.sizeFollowsPrefix ? 16 : 32;

  let imm = 0;
  let imm2 = 0;
  const imms = plan.imms;
  for (let i = 0; i < imms.length; i++) {
    let v: number;
    switch (imms[i]) {
      case IMM_U8:
        v = fetch();
        break;
      case IMM_U16:
        v = fetch16();
        break;
      case IMM_U32:
        v = fetch32() >>> 0;
        break;
      case IMM_UV:
        v = operandSize === 16 ? fetch16() : fetch32() >>> 0;
        break;
      case IMM_S8:
      case IMM_REL8:
        v = (fetch() << 24) >> 24;
        break;
      case IMM_RELV:
        v = operandSize === 16 ? (fetch16() << 16) >> 16 : fetch32();
        break;
      case IMM_MOFFS: {
        const disp = fetch32();
        v = disp >>> 0;
        mem = {
          base: -1,
          index: -1,
          scale: 0,
          disp,
          segment: segment >= 0 ? segment : SEG_DS,
          segmentOverridden: segment >= 0,
        };
        break;
      }
      case IMM_FARPTR:
      default: {
        // far pointer: offset (operand size), then the 16-bit selector
        v = operandSize === 16 ? fetch16() : fetch32() >>> 0;
        imm2 = fetch16();
        break;
      }
    }
    if (i === 0) imm = v;
    else imm2 = v;
  }

  // Encoding-level validity: registers that do not exist, loads that are not allowed, LOCK.
  if (plan.sregAt >= 0) {
    if (reg > 5) return failure(6, `segment register ${reg} does not exist (ModRM.reg=${reg})`);
    if (plan.sregAt === 0 && reg === SEG_CS) {
      return failure(6, `${form.mnemonic} to segment register CS is not allowed`);
    }
  }
  if (plan.cregAt >= 0 && ((VALID_CONTROL_REGISTERS >> reg) & 1) === 0) {
    return failure(
      6,
      `${form.mnemonic} ${plan.cregAt === 0 ? 'to' : 'from'} CR${reg}: no such control register`,
    );
  }
  if (lock) {
    if (!plan.lockable) {
      return failure(6, `lock prefix on an instruction that does not accept it (${form.mnemonic})`);
    }
    if (mem === null) {
      return failure(
        6,
        `lock prefix on ${form.mnemonic} with a register destination (ModRM mod=3)`,
      );
    }
  }

  return {
    ok: true,
    insn: {
      form,
      length: pos - start,
      operandSize,
      prefixes: { lock, rep, segment, operandSize: opsize, count },
      modrm,
      reg,
      rm,
      mem,
      imm,
      imm2,
      exec: undefined,
    },
  };
}

function decodeMemory(mod: number, rm: number, segment: number): MemoryOperand {
  let base = rm;
  let index = -1;
  let scale: 0 | 1 | 2 | 3 = 0;
  let disp = 0;
  if (rm === 4) {
    const sib = fetch();
    scale = (sib >> 6) as 0 | 1 | 2 | 3;
    const idx = (sib >> 3) & 7;
    if (idx !== 4) index = idx;
    base = sib & 7;
    if (base === 5 && mod === 0) {
      base = -1;
      disp = fetch32();
    }
  } else if (rm === 5 && mod === 0) {
    base = -1;
    disp = fetch32();
  }
  if (mod === 1) disp = (fetch() << 24) >> 24;
  else if (mod === 2) disp = fetch32();
  const overridden = segment >= 0;
  return {
    base,
    index,
    scale,
    disp,
    segment: overridden ? segment : base === 4 || base === 5 ? SEG_SS : SEG_DS,
    segmentOverridden: overridden,
  };
}
