// Test helper: generates a "fuzz kernel", a NASM source that runs a seeded random sequence of
// integer instructions and, after EACH one, prints all eight general registers and EFLAGS
// (masked to the flags the SDM defines at that point) on COM1, one line per instruction.
// Booted on QEMU and on our machine the two outputs must be identical, line for line.
//
// Rules that keep every printed bit architecturally defined (Intel SDM vol. 2, the "Flags
// Affected" section of each instruction; the table FLAG_EFFECTS below cites them):
// - the generator tracks which arithmetic flags are undefined at each point (an undefined
//   flag stays undefined until an instruction defines it), prints EFLAGS with those bits
//   cleared, and never lets an instruction read an undefined flag (adc/sbb/rcl/rcr read CF,
//   setcc/cmovcc their condition, lahf five flags): it emits a flag-defining instruction
//   first;
// - results the SDM leaves undefined are never produced: bsf/bsr get a nonzero source, 16-bit
//   shld/shrd counts stay <= 16, bswap only on 32-bit registers;
// - div/idiv never fault: the divisor is loaded first with a nonzero value (never -1 for idiv)
//   and the dividend made small (div: the high half below the divisor; idiv: cbw/cwd/cdq);
// - ESP is never an operand; push/pop come in pairs, so the stack stays balanced;
// - memory operands address a 16-byte scratch buffer only; after an instruction that writes
//   memory the line also shows the buffer (four dwords);
// - bt/bts/btr/btc on memory use an immediate bit offset only (a register offset can address
//   any byte of memory).
// Not generated: rdtsc, cpuid, string instructions, jumps.
//
// Output format, per instruction (after an initial line for the starting state):
//   EAX ECX EDX EBX ESP EBP ESI EDI EFLAGS [| M0 M1 M2 M3]   (upper-case hex, space separated)

export const CF = 0x001;
export const PF = 0x004;
export const AF = 0x010;
export const ZF = 0x040;
export const SF = 0x080;
export const OF = 0x800;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;

/** What an instruction does to the arithmetic flags: which it sets to defined values, which it
 *  leaves undefined, which it reads (all others are unaffected). */
export interface FlagEffect {
  readonly defines: number;
  readonly undefines: number;
  readonly reads: number;
}

const NONE: FlagEffect = { defines: 0, undefines: 0, reads: 0 };
const ALL_DEFINED: FlagEffect = { defines: ARITH_FLAGS, undefines: 0, reads: 0 };

/** The flag effects of the instructions whose effect does not depend on an operand value
 *  (Intel SDM vol. 2, "Flags Affected"). Shifts and rotates depend on the count: see
 *  shiftFlags. */
export const FLAG_EFFECTS: Readonly<Record<string, FlagEffect>> = {
  // ADD, SUB, CMP, NEG, XADD, CMPXCHG: "The OF, SF, ZF, AF, CF, and PF flags are set according
  // to the result."
  add: ALL_DEFINED,
  sub: ALL_DEFINED,
  cmp: ALL_DEFINED,
  neg: ALL_DEFINED,
  xadd: ALL_DEFINED,
  cmpxchg: ALL_DEFINED,
  // ADC, SBB: the same, and they read CF.
  adc: { defines: ARITH_FLAGS, undefines: 0, reads: CF },
  sbb: { defines: ARITH_FLAGS, undefines: 0, reads: CF },
  // AND, OR, XOR, TEST: "The OF and CF flags are cleared; the SF, ZF, and PF flags are set
  // according to the result. The state of the AF flag is undefined."
  and: { defines: OF | CF | SF | ZF | PF, undefines: AF, reads: 0 },
  or: { defines: OF | CF | SF | ZF | PF, undefines: AF, reads: 0 },
  xor: { defines: OF | CF | SF | ZF | PF, undefines: AF, reads: 0 },
  test: { defines: OF | CF | SF | ZF | PF, undefines: AF, reads: 0 },
  // INC, DEC: "The CF flag is not affected. The OF, SF, ZF, AF, and PF flags are set
  // according to the result."
  inc: { defines: OF | SF | ZF | AF | PF, undefines: 0, reads: 0 },
  dec: { defines: OF | SF | ZF | AF | PF, undefines: 0, reads: 0 },
  // MUL, IMUL (all forms): "The OF and CF flags are set ...; the SF, ZF, AF, and PF flags are
  // undefined."
  mul: { defines: OF | CF, undefines: SF | ZF | AF | PF, reads: 0 },
  imul: { defines: OF | CF, undefines: SF | ZF | AF | PF, reads: 0 },
  // DIV, IDIV: "The CF, OF, SF, ZF, AF, and PF flags are undefined."
  div: { defines: 0, undefines: ARITH_FLAGS, reads: 0 },
  idiv: { defines: 0, undefines: ARITH_FLAGS, reads: 0 },
  // BT, BTS, BTR, BTC: "The CF flag contains the value of the selected bit. The ZF flag is
  // unaffected. The OF, SF, AF, and PF flags are undefined."
  bt: { defines: CF, undefines: OF | SF | AF | PF, reads: 0 },
  bts: { defines: CF, undefines: OF | SF | AF | PF, reads: 0 },
  btr: { defines: CF, undefines: OF | SF | AF | PF, reads: 0 },
  btc: { defines: CF, undefines: OF | SF | AF | PF, reads: 0 },
  // BSF, BSR: "The ZF flag is set to 1 if the source operand is 0; otherwise, the ZF flag is
  // cleared. The CF, OF, SF, AF, and PF flags are undefined."
  bsf: { defines: ZF, undefines: CF | OF | SF | AF | PF, reads: 0 },
  bsr: { defines: ZF, undefines: CF | OF | SF | AF | PF, reads: 0 },
  // CLC, STC: CF cleared/set, others unaffected. CMC: CF complemented (it stays undefined if
  // it was, so it needs no defined input and changes nothing about definedness).
  clc: { defines: CF, undefines: 0, reads: 0 },
  stc: { defines: CF, undefines: 0, reads: 0 },
  cmc: NONE,
  // SAHF: "The SF, ZF, AF, PF, and CF flags are loaded with values from the AH register."
  sahf: { defines: SF | ZF | AF | PF | CF, undefines: 0, reads: 0 },
  // LAHF: AH <- SF:ZF:0:AF:0:PF:1:CF. Flags unaffected, but five are read.
  lahf: { defines: 0, undefines: 0, reads: SF | ZF | AF | PF | CF },
  // MOV, MOVZX, MOVSX, LEA, XCHG, BSWAP, NOT, CBW/CWDE/CWD/CDQ, PUSH, POP, SETcc, CMOVcc:
  // "None" (SETcc/CMOVcc read their condition's flags: see CONDITIONS).
  mov: NONE,
  movzx: NONE,
  movsx: NONE,
  lea: NONE,
  xchg: NONE,
  bswap: NONE,
  not: NONE,
  cbw: NONE,
  cwde: NONE,
  cwd: NONE,
  cdq: NONE,
  push: NONE,
  pop: NONE,
};

/** The flag effect of a shift or rotate by `count` (the count before masking; the CPU masks
 *  it to 5 bits) on a `size`-bit operand, Intel SDM vol. 2:
 *  SAL/SAR/SHL/SHR: "The CF flag contains the value of the last bit shifted out ...; it is
 *  undefined for SHL and SHR instructions where the count is greater than or equal to the size
 *  (in bits) of the destination operand. The OF flag is affected only for 1-bit shifts;
 *  otherwise, it is undefined. The SF, ZF, and PF flags are set according to the result. If
 *  the count is 0, the flags are not affected. For a non-zero count, the AF flag is undefined."
 *  RCL/RCR/ROL/ROR: "If the masked count is 0, the flags are not affected. If the masked count
 *  is 1, then the OF flag is affected, otherwise (masked count is greater than 1) the OF flag
 *  is undefined. The CF flag is affected when the masked count is nonzero. The SF, ZF, AF, and
 *  PF flags are always unaffected." (RCL/RCR also read CF.)
 *  SHLD/SHRD: "If the count is 1 or greater, the CF flag is filled with the last bit shifted
 *  out ... and the SF, ZF, and PF flags are set according to the value of the result. For a
 *  1-bit shift, the OF flag is set if a sign change occurred; otherwise, it is cleared. For
 *  shifts greater than 1 bit, the OF flag is undefined. If a shift occurs, the AF flag is
 *  undefined. If the count operand is 0, the flags are not affected. If the count is greater
 *  than the operand size, the flags are undefined." */
export function shiftFlags(op: string, size: number, count: number): FlagEffect {
  const c = count & 31;
  if (c === 0) return NONE;
  const ofDefined = c === 1 ? OF : 0;
  switch (op) {
    case 'shl':
    case 'sal':
    case 'shr': {
      const cfDefined = c < size ? CF : 0;
      return {
        defines: cfDefined | ofDefined | SF | ZF | PF,
        undefines: (CF & ~cfDefined) | (OF & ~ofDefined) | AF,
        reads: 0,
      };
    }
    case 'sar':
      return {
        defines: CF | ofDefined | SF | ZF | PF,
        undefines: (OF & ~ofDefined) | AF,
        reads: 0,
      };
    case 'rol':
    case 'ror':
      return { defines: CF | ofDefined, undefines: OF & ~ofDefined, reads: 0 };
    case 'rcl':
    case 'rcr':
      return { defines: CF | ofDefined, undefines: OF & ~ofDefined, reads: CF };
    case 'shld':
    case 'shrd':
      if (c > size) return { defines: 0, undefines: ARITH_FLAGS, reads: 0 };
      return {
        defines: CF | ofDefined | SF | ZF | PF,
        undefines: (OF & ~ofDefined) | AF,
        reads: 0,
      };
    default:
      throw new Error(`not a shift: ${op}`);
  }
}

/** The condition codes and the flags each one reads (SDM vol. 1 appendix B). */
export const CONDITIONS: Readonly<Record<string, number>> = {
  o: OF,
  no: OF,
  b: CF,
  ae: CF,
  e: ZF,
  ne: ZF,
  be: CF | ZF,
  a: CF | ZF,
  s: SF,
  ns: SF,
  p: PF,
  np: PF,
  l: SF | OF,
  ge: SF | OF,
  le: ZF | SF | OF,
  g: ZF | SF | OF,
};

type Size = 8 | 16 | 32;

const REGS: Readonly<Record<Size, readonly string[]>> = {
  8: ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'],
  16: ['ax', 'cx', 'dx', 'bx', 'bp', 'si', 'di'], // never sp
  32: ['eax', 'ecx', 'edx', 'ebx', 'ebp', 'esi', 'edi'], // never esp
};
const SIZE_WORD: Readonly<Record<Size, string>> = { 8: 'byte', 16: 'word', 32: 'dword' };
const SCRATCH_BYTES = 16;

/** A seeded PRNG (mulberry32): the same seed gives the same kernel on every machine. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGE_VALUES = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe,
  0x55555555, 0xaaaaaaaa,
];

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

export interface FuzzProgram {
  /** the kernel source (NASM syntax; `%include "lib.inc"` from test/fixtures/kernels) */
  readonly source: string;
  /** the instructions, in order: output line i + 2 is the state after instructions[i]
   *  (line 1 is the header, line 2 the initial state) */
  readonly instructions: readonly string[];
}

class Generator {
  private readonly rand: () => number;
  /** the arithmetic flags whose value is undefined at this point */
  private undef = 0;
  private mask = 0xffffffff;
  readonly body: string[] = [];
  readonly instructions: string[] = [];

  /** `limit`: instructions past it are dropped, so a guarded sequence cut at the end leaves
   *  only its (harmless) guard instructions. */
  constructor(
    seed: number,
    private readonly limit: number,
  ) {
    this.rand = mulberry32(seed);
  }

  get full(): boolean {
    return this.instructions.length >= this.limit;
  }

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  /** a random value of `size` bits, often an edge value */
  value(size: Size): number {
    const bits = size === 32 ? 0xffffffff : (1 << size) - 1;
    const v = this.chance(0.3)
      ? this.pick(EDGE_VALUES)
      : Math.floor(this.rand() * 4294967296) >>> 0;
    return (v & bits) >>> 0;
  }
  size(): Size {
    return this.pick([8, 16, 32, 32] as const);
  }
  reg(size: Size, except: readonly string[] = []): string {
    return this.pick(REGS[size].filter((r) => !except.includes(r)));
  }
  mem(size: Size): string {
    return `${SIZE_WORD[size]} [scratch + ${this.int(SCRATCH_BYTES - size / 8 + 1)}]`;
  }

  /** Emit one instruction and the dump after it. */
  emit(text: string, effect: FlagEffect, writesMemory = false): void {
    if (this.full) return;
    if ((effect.reads & this.undef) !== 0) {
      throw new Error(`generator bug: '${text}' reads an undefined flag`);
    }
    this.undef = ((this.undef & ~effect.defines) | effect.undefines) & ARITH_FLAGS;
    this.body.push(`    ${text}`);
    const mask = ~this.undef >>> 0;
    if (mask !== this.mask) {
      this.body.push(`    mov dword [fmask], ${hex(mask)}`);
      this.mask = mask;
    }
    this.body.push(writesMemory ? '    call dump_mem' : '    call dump');
    this.instructions.push(text);
  }

  /** Make `flags` defined (if they are not) with a random add/sub/cmp/neg. */
  define(flags: number): void {
    if ((flags & this.undef) === 0) return;
    const size = this.size();
    const op = this.pick(['add', 'sub', 'cmp', 'cmp', 'neg'] as const);
    if (op === 'neg') this.emit(`neg ${this.reg(size)}`, FLAG_EFFECTS.neg!);
    else if (this.chance(0.5))
      this.emit(`${op} ${this.reg(size)}, ${hex(this.value(size))}`, FLAG_EFFECTS[op]!);
    else this.emit(`${op} ${this.reg(size)}, ${this.reg(size)}`, FLAG_EFFECTS[op]!);
  }

  /** One random instruction (or a short guarded sequence). */
  step(): void {
    const kind = this.pick(KINDS);
    kind(this);
  }
}

type Kind = (g: Generator) => void;

/** r/m destination: a register or (sometimes) the scratch buffer */
function rmDest(g: Generator, size: Size, memChance = 0.25): { text: string; isMem: boolean } {
  return g.chance(memChance)
    ? { text: g.mem(size), isMem: true }
    : { text: g.reg(size), isMem: false };
}

const mov: Kind = (g) => {
  const size = g.size();
  switch (g.int(4)) {
    case 0:
      g.emit(`mov ${g.reg(size)}, ${hex(g.value(size))}`, NONE);
      break;
    case 1:
      g.emit(`mov ${g.reg(size)}, ${g.reg(size)}`, NONE);
      break;
    case 2:
      g.emit(`mov ${g.reg(size)}, ${g.mem(size)}`, NONE);
      break;
    default:
      if (g.chance(0.5)) g.emit(`mov ${g.mem(size)}, ${g.reg(size)}`, NONE, true);
      else g.emit(`mov ${g.mem(size)}, ${hex(g.value(size))}`, NONE, true);
  }
};

const alu: Kind = (g) => {
  const op = g.pick(['add', 'adc', 'sub', 'sbb', 'cmp', 'and', 'or', 'xor', 'test'] as const);
  const effect = FLAG_EFFECTS[op]!;
  g.define(effect.reads);
  const size = g.size();
  const writes = op !== 'cmp' && op !== 'test';
  switch (g.int(5)) {
    case 0:
      g.emit(`${op} ${g.reg(size)}, ${g.reg(size)}`, effect);
      break;
    case 1:
      g.emit(`${op} ${g.reg(size)}, ${hex(g.value(size))}`, effect);
      break;
    case 2:
      // test has only the r/m, r encoding: memory first
      if (op === 'test') g.emit(`test ${g.mem(size)}, ${g.reg(size)}`, effect);
      else g.emit(`${op} ${g.reg(size)}, ${g.mem(size)}`, effect);
      break;
    case 3:
      g.emit(`${op} ${g.mem(size)}, ${g.reg(size)}`, effect, writes);
      break;
    default:
      g.emit(`${op} ${g.mem(size)}, ${hex(g.value(size))}`, effect, writes);
  }
};

const unary: Kind = (g) => {
  const op = g.pick(['inc', 'dec', 'neg', 'not'] as const);
  const size = g.size();
  const dest = rmDest(g, size);
  g.emit(`${op} ${dest.text}`, FLAG_EFFECTS[op]!, dest.isMem);
};

const multiply: Kind = (g) => {
  const form = g.int(4);
  if (form <= 1) {
    const op = form === 0 ? 'mul' : 'imul';
    const size = g.size();
    const src = g.chance(0.25) ? g.mem(size) : g.reg(size);
    g.emit(`${op} ${src}`, FLAG_EFFECTS[op]!);
    return;
  }
  const size = g.pick([16, 32] as const);
  const src = g.chance(0.25) ? g.mem(size) : g.reg(size);
  if (form === 2) g.emit(`imul ${g.reg(size)}, ${src}`, FLAG_EFFECTS.imul!);
  else g.emit(`imul ${g.reg(size)}, ${src}, ${hex(g.value(size))}`, FLAG_EFFECTS.imul!);
};

/** div/idiv, guarded: a nonzero divisor (not -1 for idiv) and a dividend whose quotient fits. */
const divide: Kind = (g) => {
  const signed = g.chance(0.5);
  const size = g.size();
  const bits = size === 32 ? 0xffffffff : (1 << size) - 1;
  let divisor: number;
  do {
    divisor = g.value(size);
  } while (divisor === 0 || (signed && divisor === bits));
  const divisorRegs: Record<Size, readonly string[]> = {
    8: ['bl', 'cl', 'dl', 'bh', 'ch', 'dh'],
    16: ['bx', 'cx', 'si', 'di', 'bp'],
    32: ['ebx', 'ecx', 'esi', 'edi', 'ebp'],
  };
  let operand: string;
  if (g.chance(0.25)) {
    operand = g.mem(size);
    g.emit(`mov ${operand}, ${hex(divisor)}`, NONE, true);
  } else {
    operand = g.pick(divisorRegs[size]);
    g.emit(`mov ${operand}, ${hex(divisor)}`, NONE);
  }
  if (signed) {
    g.emit(size === 8 ? 'cbw' : size === 16 ? 'cwd' : 'cdq', NONE);
  } else {
    // the high half of the dividend below the divisor: the quotient fits
    const high = size === 8 ? 'ah' : size === 16 ? 'dx' : 'edx';
    const k = Math.floor(g.int(1 << 30) % divisor) >>> 0;
    g.emit(`mov ${high}, ${hex(k)}`, NONE);
  }
  g.emit(`${signed ? 'idiv' : 'div'} ${operand}`, FLAG_EFFECTS[signed ? 'idiv' : 'div']!);
};

const shift: Kind = (g) => {
  const op = g.pick(['shl', 'sal', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr'] as const);
  const size = g.size();
  const dest = rmDest(g, size);
  const form = g.int(3); // by 1, by imm8, by CL
  const count = form === 0 ? 1 : g.chance(0.5) ? g.int(size + 2) : g.int(256);
  const effect = shiftFlags(op, size, count);
  g.define(effect.reads);
  if (form === 2) g.emit(`mov cl, ${count}`, NONE); // (CL may be the destination too)
  const countText = form === 0 ? '1' : form === 1 ? String(count) : 'cl';
  g.emit(`${op} ${dest.text}, ${countText}`, effect, dest.isMem);
};

const doubleShift: Kind = (g) => {
  const op = g.pick(['shld', 'shrd'] as const);
  const size = g.pick([16, 32] as const);
  const dest = rmDest(g, size);
  const src = g.reg(size);
  // 16-bit: counts above 16 give undefined results; the CPU masks the count to 5 bits first
  let count = size === 16 ? g.int(17) : g.int(32);
  if (g.chance(0.2)) count += 32 * (1 + g.int(7));
  if (g.chance(0.5)) {
    g.emit(`${op} ${dest.text}, ${src}, ${count}`, shiftFlags(op, size, count), dest.isMem);
  } else {
    g.emit(`mov cl, ${count}`, NONE);
    g.emit(`${op} ${dest.text}, ${src}, cl`, shiftFlags(op, size, count), dest.isMem);
  }
};

const bitTest: Kind = (g) => {
  const op = g.pick(['bt', 'bts', 'btr', 'btc'] as const);
  const size = g.pick([16, 32] as const);
  if (g.chance(0.3)) {
    // memory: immediate bit offset only (masked to the operand size by the CPU)
    g.emit(`${op} ${g.mem(size)}, ${g.int(256)}`, FLAG_EFFECTS[op]!, op !== 'bt');
  } else if (g.chance(0.5)) {
    g.emit(`${op} ${g.reg(size)}, ${g.int(256)}`, FLAG_EFFECTS[op]!);
  } else {
    g.emit(`${op} ${g.reg(size)}, ${g.reg(size)}`, FLAG_EFFECTS[op]!);
  }
};

const bitScan: Kind = (g) => {
  const op = g.pick(['bsf', 'bsr'] as const);
  const size = g.pick([16, 32] as const);
  let v: number;
  do v = g.value(size);
  while (v === 0);
  const dst = g.reg(size);
  if (g.chance(0.3)) {
    const m = g.mem(size);
    g.emit(`mov ${m}, ${hex(v)}`, NONE, true);
    g.emit(`${op} ${dst}, ${m}`, FLAG_EFFECTS[op]!);
  } else {
    const src = g.reg(size);
    g.emit(`mov ${src}, ${hex(v)}`, NONE);
    g.emit(`${op} ${dst}, ${src}`, FLAG_EFFECTS[op]!);
  }
};

const conditional: Kind = (g) => {
  const cc = g.pick(Object.keys(CONDITIONS));
  const reads = CONDITIONS[cc]!;
  g.define(reads);
  const effect: FlagEffect = { defines: 0, undefines: 0, reads };
  if (g.chance(0.5)) {
    const dest = rmDest(g, 8);
    g.emit(`set${cc} ${dest.text}`, effect, dest.isMem);
  } else {
    const size = g.pick([16, 32] as const);
    const src = g.chance(0.3) ? g.mem(size) : g.reg(size);
    g.emit(`cmov${cc} ${g.reg(size)}, ${src}`, effect);
  }
};

const exchange: Kind = (g) => {
  const op = g.pick(['xchg', 'xadd', 'cmpxchg'] as const);
  const size = g.size();
  const dest = rmDest(g, size, 0.35);
  g.emit(`${op} ${dest.text}, ${g.reg(size)}`, FLAG_EFFECTS[op]!, dest.isMem);
};

const misc: Kind = (g) => {
  switch (g.int(7)) {
    case 0:
      g.emit(`bswap ${g.reg(32)}`, NONE);
      break;
    case 1: {
      const size = g.pick([16, 32] as const);
      const srcSize = size === 16 ? 8 : g.pick([8, 16] as const);
      const src = g.chance(0.3) ? g.mem(srcSize) : g.reg(srcSize);
      g.emit(`${g.pick(['movzx', 'movsx'])} ${g.reg(size)}, ${src}`, NONE);
      break;
    }
    case 2: {
      const base = g.reg(32);
      const index = g.reg(32);
      const scale = g.pick([1, 2, 4, 8]);
      const disp = (g.value(32) | 0) >> g.int(24);
      const sign = disp < 0 ? '-' : '+';
      g.emit(
        `lea ${g.reg(g.pick([16, 32] as const))}, [${base} + ${index}*${scale} ${sign} ${hex(Math.abs(disp))}]`,
        NONE,
      );
      break;
    }
    case 3:
      g.emit(g.pick(['cbw', 'cwde', 'cwd', 'cdq']), NONE);
      break;
    case 4: {
      const op = g.pick(['clc', 'stc', 'cmc', 'sahf'] as const);
      g.emit(op, FLAG_EFFECTS[op]!);
      break;
    }
    case 5:
      g.define(FLAG_EFFECTS.lahf!.reads);
      g.emit('lahf', FLAG_EFFECTS.lahf!);
      break;
    default:
      stackPair(g);
  }
};

/** push then pop: ESP goes down and comes back. */
function stackPair(g: Generator): void {
  switch (g.int(4)) {
    case 0:
      g.emit(`push ${g.reg(32)}`, NONE);
      g.emit(`pop ${g.reg(32)}`, NONE);
      break;
    case 1:
      g.emit(`push dword ${hex(g.value(32))}`, NONE);
      g.emit(`pop ${g.reg(32)}`, NONE);
      break;
    case 2:
      g.emit(`push ${g.reg(16)}`, NONE);
      g.emit(`pop ${g.reg(16)}`, NONE);
      break;
    default:
      g.emit(`push ${g.mem(32)}`, NONE);
      g.emit(`pop ${g.mem(32)}`, NONE, true);
  }
}

const KINDS: readonly Kind[] = [
  mov,
  alu,
  alu,
  alu,
  unary,
  multiply,
  divide,
  shift,
  shift,
  doubleShift,
  bitTest,
  bitScan,
  conditional,
  exchange,
  misc,
  misc,
];

/** The kernel source and its instruction list for `seed`, exactly `count` instructions. */
export function generateFuzzProgram(seed: number, count: number): FuzzProgram {
  const g = new Generator(seed, count);
  while (!g.full) g.step();
  const body = g.body;
  const initial = REGS[32].map((r) => `    mov ${r}, ${hex(g.value(32))}`);
  const flags = (g.value(32) & ARITH_FLAGS) | 0x2;
  const scratch = Array.from({ length: SCRATCH_BYTES }, () => hex(g.value(8)));
  const source = [
    `; fuzz.asm: generated by test/helpers/fuzz-kernel.ts (seed ${seed}, ${count} instructions).`,
    ';',
    '; A random sequence of integer instructions; after each one `dump` prints EAX ECX EDX EBX',
    '; ESP EBP ESI EDI and EFLAGS masked to the flags defined at that point (fmask), and, after',
    '; an instruction that wrote the scratch buffer, the buffer. See fuzz-kernel.ts for the rules',
    '; that keep every printed bit defined by the SDM.',
    '',
    '%include "lib.inc"',
    '',
    'main:',
    `    PRINTLN 'fuzz seed=${seed} count=${count}'`,
    ...initial,
    `    push dword ${hex(flags)}`,
    '    popfd                          ; known arithmetic flags, IF=0',
    '    call dump_mem                  ; the initial state',
    ...body,
    "    PRINTLN 'fuzz done'",
    '    EXIT EXIT_OK',
    '',
    DUMP_ROUTINE,
    '    align 4',
    'fmask:      dd 0xffffffff',
    `scratch:    db ${scratch.join(', ')}`,
    '',
    '    GDT_BEGIN',
    '    GDT_END',
    '',
    '    align 4',
    'tss:',
    '    TSS32',
    'tss_end:',
    '',
    '    IMAGE_END',
    'bss_end     equ LIB_BSS_END',
    '',
  ].join('\n');
  return { source, instructions: g.instructions };
}

/** The kernel source for `seed`: `count` random instructions, each followed by a dump. */
export function generateFuzzKernel(seed: number, count: number): string {
  return generateFuzzProgram(seed, count).source;
}

const DUMP_ROUTINE = `; dump / dump_mem: one line with the registers as they were at the call, EFLAGS & fmask, and
; (dump_mem) the 16-byte scratch buffer. Every register and EFLAGS are restored.
dump_mem:
    pushfd
    pushad
    mov ebx, 1
    jmp dump_common
dump:
    pushfd
    pushad
    xor ebx, ebx
dump_common:
    mov ebp, esp                    ; [ebp] EDI ESI EBP ESP EBX EDX ECX EAX, [ebp + 32] EFLAGS
    mov edi, line_buf
    mov eax, [ebp + 28]             ; EAX
    call hex_to_buf
    mov eax, [ebp + 24]             ; ECX
    call hex_to_buf
    mov eax, [ebp + 20]             ; EDX
    call hex_to_buf
    mov eax, [ebp + 16]             ; EBX
    call hex_to_buf
    mov eax, [ebp + 12]             ; ESP as pushad saw it, + 8 (pushfd and the call)
    add eax, 8
    call hex_to_buf
    mov eax, [ebp + 8]              ; EBP
    call hex_to_buf
    mov eax, [ebp + 4]              ; ESI
    call hex_to_buf
    mov eax, [ebp]                  ; EDI
    call hex_to_buf
    mov eax, [ebp + 32]             ; EFLAGS, the undefined arithmetic flags cleared
    and eax, [fmask]
    call hex_to_buf
    test ebx, ebx
    jz .line_done
    mov byte [edi], '|'
    mov byte [edi + 1], ' '
    add edi, 2
    mov eax, [scratch]
    call hex_to_buf
    mov eax, [scratch + 4]
    call hex_to_buf
    mov eax, [scratch + 8]
    call hex_to_buf
    mov eax, [scratch + 12]
    call hex_to_buf
.line_done:
    mov byte [edi - 1], 10          ; the last space becomes the newline
    mov esi, line_buf
.out:
    mov al, [esi]
    call putc
    inc esi
    cmp esi, edi
    jb .out
    popad
    popfd
    ret

; hex_to_buf: EAX as 8 hex digits and a space at EDI; EDI advances.
hex_to_buf:
    mov ecx, 8
.digit:
    rol eax, 4
    mov edx, eax
    and edx, 0x0F
    mov dl, [hex_digits + edx]
    mov [edi], dl
    inc edi
    loop .digit
    mov byte [edi], ' '
    inc edi
    ret

hex_digits: db '0123456789ABCDEF'
line_buf:   times 128 db 0
`;
