// The encoder: a mnemonic and structured operands → machine code, choosing among the opcode
// table's forms exactly as `nasm -f bin` does in 32-bit mode: the shortest encoding, ties
// broken by table order; sign-extended imm8 forms, short jumps and disp8 when the value is
// known to fit; never shortened when the value is relative to a label (NASM keeps those full
// size because they are relocatable); operand size from registers, explicit size keywords, or
// the default 32. Used by the assembler and, later, by the binary translator to emit
// compiled code fragments.

import { acceptsLock } from './decoder';
import { type RegisterInfo } from './registers';
import { FORMS, formsFor, SEGMENT_PREFIXES } from './table';
import { type InstructionForm, type OperandSpec } from './types';

export type DataSize = 8 | 16 | 32 | 64 | 80;

export interface RegisterOperand {
  readonly type: 'reg';
  readonly reg: RegisterInfo;
}

/** A number that may be unknown in an early pass, and may be relative to a label. */
export interface AsmValue {
  /** undefined: a forward reference not resolved yet in this pass */
  readonly value: number | undefined;
  /** relative to a label (relocatable): NASM never shortens encodings of such values */
  readonly relocatable: boolean;
}

export interface MemoryOperandSpec {
  readonly type: 'mem';
  /** byte/word/dword/… or `far` written before the brackets */
  readonly size?: DataSize | 'far';
  /** `far word [m]`: a 16-bit far pointer (m16:16) */
  readonly farSize?: 16 | 32;
  /** register numbers, or undefined */
  readonly base?: number;
  readonly index?: number;
  readonly scale: 1 | 2 | 4 | 8;
  readonly disp: AsmValue;
  /** `[byte …]` / `[dword …]`: forces the displacement size */
  readonly dispSize?: 8 | 32;
  /** segment register number of an override, or undefined */
  readonly segment?: number;
}

export interface ImmediateOperand {
  readonly type: 'imm';
  readonly value: AsmValue;
  /** size keyword written before it (`byte 5`, `dword label`) */
  readonly size?: DataSize;
  /** `strict`: the immediate field has exactly `size` */
  readonly strict?: boolean;
  /** `short`/`near` before a branch target */
  readonly distance?: 'short' | 'near';
}

export interface FarPointerOperand {
  readonly type: 'farptr';
  readonly selector: AsmValue;
  readonly offset: AsmValue;
  /** `word sel:off` (ptr16:16) or `dword sel:off` */
  readonly size?: 16 | 32;
}

export type AsmOperand = RegisterOperand | MemoryOperandSpec | ImmediateOperand | FarPointerOperand;

export interface EncodePrefixes {
  readonly lock?: boolean;
  readonly rep?: 0xf2 | 0xf3;
  /** o16/o32 written as a prefix */
  readonly operandSize?: 16 | 32;
  /** a segment-override prefix written as a word before the mnemonic (`fs movsb`) */
  readonly segment?: number;
}

export interface Encoding {
  readonly bytes: number[];
  readonly form: InstructionForm;
  readonly operandSize: 16 | 32;
}

export class EncodeError extends Error {
  constructor(
    message: string,
    /** 0-based index of the operand the error is about, when there is one */
    readonly operandIndex?: number,
  ) {
    super(message);
    this.name = 'EncodeError';
  }
}

/** An operand size's [min, max] as NASM accepts without complaint (signed or unsigned). */
function fits(value: number, bits: number): boolean {
  return value >= -(2 ** bits) / 2 && value < 2 ** bits;
}

/** Value wrapped to `bits` and read back as signed: does it survive as a sign-extended imm8? */
function fitsSigned8(value: number, bits: number): boolean {
  const mod = 2 ** bits;
  let v = ((value % mod) + mod) % mod;
  if (v >= mod / 2) v -= mod;
  return v >= -128 && v <= 127;
}

interface Candidate {
  form: InstructionForm;
  operandSize: 16 | 32;
  /** some operand or the mnemonic demanded 16 bits (otherwise a 16-bit reading is not taken) */
  forced16: boolean;
  /** the size an unsized memory operand takes in this form (for "operation size not specified") */
  memSize: number | string | undefined;
  /** an unsized memory operand took the operand-size attribute… */
  unsizedMemoryIsV: boolean;
  /** …and some other operand fixed that attribute (a register, a sized immediate) */
  sizeDetermined: boolean;
}

/** The concrete size of an operand spec under an operand-size attribute. */
function specSize(spec: OperandSpec, osz: 16 | 32): number | string {
  return spec.size === 'v' ? osz : spec.size;
}

function matchOperand(
  spec: OperandSpec,
  op: AsmOperand,
  osz: 16 | 32,
  cand: Candidate,
  hasNearMemoryForm: boolean,
): boolean {
  const size = specSize(spec, osz);
  switch (spec.kind) {
    case 'reg':
    case 'opreg':
    case 'rmreg':
      if (op.type !== 'reg' || op.reg.class !== 'gpr' || op.reg.size !== size) return false;
      if (spec.size === 'v') cand.sizeDetermined = true;
      if (size === 16 && spec.size === 'v') cand.forced16 = true;
      return true;
    case 'rm':
    case 'mem':
      if (op.type === 'reg') {
        if (spec.kind === 'mem' || op.reg.class !== 'gpr' || op.reg.size !== size) return false;
        if (spec.size === 'v') cand.sizeDetermined = true;
        if (size === 16 && spec.size === 'v') cand.forced16 = true;
        return true;
      }
      if (op.type !== 'mem') return false;
      if (op.size === undefined) {
        if (spec.size === 'far' && hasNearMemoryForm) return false;
        cand.memSize = size;
        if (spec.size === 'v') cand.unsizedMemoryIsV = true;
        return true;
      }
      if (op.size === 'far') {
        if (spec.size !== 'far') return false;
        if (op.farSize !== undefined && op.farSize !== osz) return false;
        if (op.farSize === 16) cand.forced16 = true;
        return true;
      }
      if (spec.size === 'none' || spec.size === 'desc') return true;
      if (spec.size === 'far') return false;
      if (op.size !== size) return false;
      if (spec.size === 'v') cand.sizeDetermined = true;
      if (size === 16 && spec.size === 'v') cand.forced16 = true;
      return true;
    case 'moffs':
      if (op.type !== 'mem' || op.base !== undefined || op.index !== undefined) return false;
      if (op.dispSize === 8) return false;
      if (op.size !== undefined && op.size !== size) return false;
      return true;
    case 'sreg':
      return op.type === 'reg' && op.reg.class === 'sreg';
    case 'creg':
      return op.type === 'reg' && op.reg.class === 'creg';
    case 'fixed': {
      if (op.type !== 'reg') return false;
      if (spec.reg === 'eAX') {
        if (op.reg.class !== 'gpr' || op.reg.index !== 0 || op.reg.size !== osz) return false;
        cand.sizeDetermined = true;
        if (osz === 16) cand.forced16 = true;
        return true;
      }
      return op.reg.name === spec.reg;
    }
    case 'one':
      return op.type === 'imm' && op.value.value === 1 && !op.value.relocatable && !op.strict;
    case 'imm':
    case 'simm8': {
      if (op.type !== 'imm' || op.distance) return false;
      const field = spec.kind === 'simm8' ? 8 : (size as number);
      if (op.size !== undefined) {
        if (op.strict && op.size !== field) return false;
        if (op.size !== field && op.size !== size) return false;
        if (op.size === size && spec.size === 'v') cand.sizeDetermined = true;
        if (op.size === 16 && spec.size === 'v') cand.forced16 = true;
      }
      const v = op.value.value;
      if (spec.kind === 'simm8') {
        if (op.value.relocatable) return false;
        return v === undefined || fitsSigned8(v, osz);
      }
      // The value's range never chooses between forms here; checkRanges reports it.
      return true;
    }
    case 'rel':
      if (op.type !== 'imm') return false;
      if (spec.size === 8) return op.size === undefined && op.distance !== 'near';
      if (op.size !== undefined && op.size !== osz) return false;
      if (op.size === 16) cand.forced16 = true;
      return op.distance !== 'short';
    case 'farptr':
      if (op.type !== 'farptr') return false;
      if (op.size !== undefined && op.size !== osz) return false;
      if (op.size === 16) cand.forced16 = true;
      return true;
  }
}

function pushLE(out: number[], value: number, bytes: number): void {
  let v = value;
  for (let i = 0; i < bytes; i++) {
    out.push(((v % 256) + 256) % 256);
    v = Math.floor(v / 256);
  }
}

/** ModRM (+SIB, +displacement) for a memory operand, with NASM's choices. */
function encodeMemory(mem: MemoryOperandSpec, regField: number, out: number[]): void {
  const disp = mem.disp.value ?? 0;
  const known = mem.disp.value !== undefined;
  const base = mem.base;
  const index = mem.index;
  if (index === 4) throw new EncodeError('esp cannot be an index register');
  const scaleBits = { 1: 0, 2: 1, 4: 2, 8: 3 }[mem.scale];
  if (base === undefined) {
    if (index === undefined) {
      out.push((regField << 3) | 5);
    } else {
      out.push((regField << 3) | 4, (scaleBits << 6) | (index << 3) | 5);
    }
    pushLE(out, disp, 4);
    return;
  }
  let mod: number;
  if (mem.dispSize === 32 || mem.disp.relocatable) mod = 2;
  else if (mem.dispSize === 8) mod = 1;
  else if (disp === 0 && base !== 5 && known) mod = 0;
  else if (!known || fitsSigned8(disp, 32)) mod = 1;
  else mod = 2;
  if (mod === 0 && !known) mod = 1;
  if (index === undefined && base !== 4) {
    out.push((mod << 6) | (regField << 3) | base);
  } else {
    out.push((mod << 6) | (regField << 3) | 4, (scaleBits << 6) | ((index ?? 4) << 3) | base);
  }
  if (mod === 1) pushLE(out, disp, 1);
  if (mod === 2) pushLE(out, disp, 4);
}

function immediateBytes(v: AsmValue, bytes: number, out: number[]): void {
  pushLE(out, v.value ?? 0, bytes);
}

/** Emit `form` with operand size `osz`. `address` is where the instruction starts. */
function emit(
  form: InstructionForm,
  osz: 16 | 32,
  ops: readonly AsmOperand[],
  address: number,
  prefixes: EncodePrefixes,
): number[] {
  const out: number[] = [];
  if (prefixes.lock) out.push(0xf0);
  if (prefixes.rep) out.push(prefixes.rep);
  const mem = ops.find((o): o is MemoryOperandSpec => o.type === 'mem');
  const segment = mem?.segment ?? prefixes.segment;
  if (segment !== undefined) out.push(SEGMENT_PREFIXES[segment]!);
  if (form.sizeFollowsPrefix && osz === 16) out.push(0x66);
  const opcode = [...form.opcode];
  let regField = form.ext ?? 0;
  let rmOperand: AsmOperand | undefined;
  form.operands.forEach((spec, i) => {
    const op = ops[i]!;
    if (spec.kind === 'opreg' && op.type === 'reg') opcode[opcode.length - 1]! += op.reg.index;
    if ((spec.kind === 'reg' || spec.kind === 'sreg' || spec.kind === 'creg') && op.type === 'reg')
      regField = op.reg.index;
    if (spec.kind === 'rm' || spec.kind === 'rmreg' || spec.kind === 'mem') rmOperand = op;
  });
  out.push(...opcode);
  if (form.modrmByte !== undefined) out.push(form.modrmByte);
  else if (form.hasModrm) {
    if (rmOperand?.type === 'reg') out.push(0xc0 | (regField << 3) | rmOperand.reg.index);
    else if (rmOperand?.type === 'mem') encodeMemory(rmOperand, regField, out);
    // `imul r, imm`: the one register is both ModRM.reg and ModRM.rm
    else out.push(0xc0 | (regField << 3) | regField);
  }
  form.operands.forEach((spec, i) => {
    const op = ops[i]!;
    const size = specSize(spec, osz);
    if (spec.kind === 'imm' && op.type === 'imm')
      immediateBytes(op.value, (size as number) / 8, out);
    if (spec.kind === 'simm8' && op.type === 'imm') immediateBytes(op.value, 1, out);
    if (spec.kind === 'moffs' && op.type === 'mem') pushLE(out, op.disp.value ?? 0, 4);
    if (spec.kind === 'farptr' && op.type === 'farptr') {
      pushLE(out, op.offset.value ?? 0, osz / 8);
      pushLE(out, op.selector.value ?? 0, 2);
    }
  });
  const relSpec = form.operands.findIndex((s) => s.kind === 'rel');
  if (relSpec >= 0) {
    const op = ops[relSpec] as ImmediateOperand;
    const width = form.operands[relSpec]!.size === 8 ? 1 : osz / 8;
    const end = address + out.length + width;
    const target = op.value.value;
    let rel = target === undefined ? 0 : target - end;
    if (width === 2) rel = ((rel % 65536) + 65536) % 65536;
    pushLE(out, rel, width);
  }
  return out;
}

/** The relative displacement a rel8 form would need, or undefined when the target is unknown. */
function rel8Fits(
  form: InstructionForm,
  ops: readonly AsmOperand[],
  address: number,
  length: number,
): boolean {
  const i = form.operands.findIndex((s) => s.kind === 'rel');
  if (i < 0 || form.operands[i]!.size !== 8) return true;
  const target = (ops[i] as ImmediateOperand).value.value;
  if (target === undefined) return true;
  const rel = target - (address + length);
  return rel >= -128 && rel <= 127;
}

/**
 * Encode one instruction. Throws EncodeError with NASM's meaning when no form matches
 * ("invalid combination of opcode and operands", "operation size not specified", …).
 * Unknown values (forward references in an early pass) are taken as fitting the short forms,
 * so that repeated passes converge on NASM's result.
 */
export function encode(
  mnemonic: string,
  ops: readonly AsmOperand[],
  address: number,
  prefixes: EncodePrefixes = {},
  /**
   * false in an assembler pass before the last: label values may still be stale, so a short
   * branch that does not reach yet is sized anyway instead of being an error.
   */
  final = true,
): Encoding {
  const name = mnemonic.toLowerCase();
  const all = formsFor(name).filter((f) => f.encodable);
  if (all.length === 0) throw new EncodeError(`unknown instruction '${mnemonic}'`);
  const hasNearMemoryForm = all.some((f) =>
    f.operands.some((s) => (s.kind === 'rm' || s.kind === 'mem') && s.size !== 'far'),
  );
  const candidates: Candidate[] = [];
  for (const form of all) {
    if (form.operands.length !== ops.length) continue;
    const sized = form.sizedMnemonics;
    const sizes: (16 | 32)[] = form.sizeFollowsPrefix ? [32, 16] : [32];
    for (const osz of sizes) {
      if (form.encodableSizes && !form.encodableSizes.includes(osz)) continue;
      // An explicit o16/o32 prefix overrides the size a sized mnemonic implies (NASM warns).
      if (sized && sized[16] !== sized[32] && !prefixes.operandSize) {
        if (name === sized[16] && osz !== 16) continue;
        if (name === sized[32] && osz !== 32) continue;
      }
      if (prefixes.operandSize && form.sizeFollowsPrefix && prefixes.operandSize !== osz) continue;
      const cand: Candidate = {
        form,
        operandSize: osz,
        forced16: prefixes.operandSize === 16 || (!prefixes.operandSize && name === sized?.[16]),
        memSize: undefined,
        unsizedMemoryIsV: false,
        sizeDetermined: prefixes.operandSize !== undefined,
      };
      if (
        form.operands.every((spec, i) => matchOperand(spec, ops[i]!, osz, cand, hasNearMemoryForm))
      ) {
        if (osz === 16 && !cand.forced16) continue;
        candidates.push(cand);
      }
    }
  }
  if (candidates.length === 0) {
    const arity = all.some((f) => f.operands.length === ops.length);
    if (!arity) {
      const counts = [...new Set(all.map((f) => f.operands.length))].sort().join(' or ');
      throw new EncodeError(`'${mnemonic}' takes ${counts} operand(s), not ${ops.length}`);
    }
    const rel = all.find((f) => f.operands.some((s) => s.kind === 'rel'));
    if (rel && ops.length === 1 && ops[0]!.type === 'imm') {
      throw new EncodeError(
        `'${mnemonic}' target out of range or distance keyword does not fit`,
        0,
      );
    }
    throw new EncodeError(describeMismatch(mnemonic, ops));
  }
  const memSizes = new Set(candidates.map((c) => c.memSize).filter((s) => s !== undefined));
  if (memSizes.size > 1) throw new EncodeError('operation size not specified');
  // An unsized memory operand takes the default operand size only as a near jump/call target.
  const undetermined = (c: Candidate): boolean =>
    c.unsizedMemoryIsV &&
    !c.sizeDetermined &&
    c.form.flow !== 'jump-indirect' &&
    c.form.flow !== 'call-indirect';
  if (candidates.every(undetermined)) throw new EncodeError('operation size not specified');

  let best: Encoding | undefined;
  let outOfRange: Encoding | undefined;
  for (const cand of candidates) {
    if (undetermined(cand)) continue;
    const bytes = emit(cand.form, cand.operandSize, ops, address, prefixes);
    if (!rel8Fits(cand.form, ops, address, bytes.length)) {
      if (!outOfRange) outOfRange = { bytes, form: cand.form, operandSize: cand.operandSize };
      continue;
    }
    if (!best || bytes.length < best.bytes.length) {
      best = { bytes, form: cand.form, operandSize: cand.operandSize };
    }
  }
  if (!best && !final) best = outOfRange;
  if (!best) {
    throw new EncodeError(`short jump target out of range (more than 127 bytes away)`, 0);
  }
  checkRanges(best, ops, mnemonic);
  if (prefixes.lock && !lockAllowed(best.form, ops)) {
    throw new EncodeError(`'lock' is not allowed on '${mnemonic}' with these operands`);
  }
  if (
    prefixes.segment !== undefined &&
    ops.some((o) => o.type === 'mem' && o.segment !== undefined)
  ) {
    throw new EncodeError('two segment overrides on one instruction');
  }
  return best;
}

/**
 * LOCK needs a memory operand and a form the CPU accepts it on (the decoder's list); an
 * assembler-only operand order (`xchg reg, [mem]`) is judged by its decodable twin.
 */
function lockAllowed(form: InstructionForm, ops: readonly AsmOperand[]): boolean {
  if (!ops.some((o) => o.type === 'mem')) return false;
  const twin = form.decodable
    ? form
    : FORMS.find(
        (f) =>
          f.decodable &&
          f.ext === form.ext &&
          f.opcode.length === form.opcode.length &&
          f.opcode.every((b, i) => b === form.opcode[i]),
      );
  return twin !== undefined && acceptsLock(twin);
}

function checkRanges(enc: Encoding, ops: readonly AsmOperand[], mnemonic: string): void {
  enc.form.operands.forEach((spec, i) => {
    const op = ops[i]!;
    if (op.type !== 'imm' || op.value.value === undefined) return;
    if (spec.kind === 'imm') {
      const bits = specSize(spec, enc.operandSize) as number;
      if (!fits(op.value.value, bits)) {
        throw new EncodeError(
          `immediate ${op.value.value} out of range for a ${bits}-bit operand of '${mnemonic}'`,
          i,
        );
      }
    }
  });
}

function describeMismatch(mnemonic: string, ops: readonly AsmOperand[]): string {
  const shape = ops
    .map((o) =>
      o.type === 'reg'
        ? o.reg.name
        : o.type === 'mem'
          ? `${o.size ? (o.size === 'far' ? 'far ' : `${o.size}-bit `) : ''}memory`
          : o.type === 'farptr'
            ? 'far pointer'
            : `${o.size ? `${o.size}-bit ` : ''}immediate`,
    )
    .join(', ');
  return `invalid combination of opcode and operands: '${mnemonic}' does not take (${shape})`;
}
