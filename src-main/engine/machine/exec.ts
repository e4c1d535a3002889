// What each instruction does: one handler per semantic `op` of the opcode table, bound to the
// table's forms at load (never a second instruction list). Handlers read and write operands
// through the form's operand specs, raise faults as typed CpuExceptions before changing any
// register (so a faulting instruction restarts cleanly), and leave EIP at the next
// instruction unless they transfer control.
//
// Authority: Intel SDM vol. 2 instruction pages; the CPL > 0 behaviour of popf/iret/pushf/
// sgdt/sidt/sldt/str/smsw/lar/lsl/verr/verw and segment-register reads is exactly the real
// one (MACHINE.md: the quirks the lecture is about), and the `strict` ISA's extra #GP is the
// table's privilege check, applied before the handler runs.

import {
  FLAG_AF,
  FLAG_CF,
  FLAG_DF,
  FLAG_IF,
  FLAG_OF,
  FLAG_PF,
  FLAG_SF,
  FLAG_TF,
  FLAG_ZF,
} from './alu';
import {
  CR0_PE,
  CR0_PG,
  CR0_TS,
  CR0_WP,
  type Cpu,
  descriptorDpl,
  descriptorPresent,
  FLAG_AC,
  FLAG_ID,
  FLAG_IOPL,
  FLAG_NT,
  FLAG_RF,
  isCode,
  isCodeOrData,
  isConforming,
  isReadable,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_SS,
} from './cpu';
import { CpuException, fault, gp, ud, VECTOR } from './exceptions';
import { type DecodedInstruction } from '../isa/decoder';
import { FORMS } from '../isa/table';
import { type InstructionForm, type OperandSpec, privilegeOn, type IsaVariant } from '../isa/types';

type D = DecodedInstruction;
export type Handler = (cpu: Cpu, i: D) => void;

const MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;
const mask = (size: number): number => MASK[size >>> 3]!;
const signExtend = (v: number, size: number): number =>
  size === 32 ? v | 0 : size === 16 ? (v << 16) >> 16 : (v << 24) >> 24;

function specSize(spec: OperandSpec, i: D): number {
  const s = spec.size;
  return s === 'v' ? i.operandSize : typeof s === 'number' ? s : i.operandSize;
}

/** Size of operand k of this instruction, in bits. */
export const sizeOf = (i: D, k: number): number => specSize(i.form.operands[k]!, i);

/** Linear address of the instruction's memory operand. */
export function linearAddress(cpu: Cpu, i: D): number {
  const m = i.mem!;
  let ea = m.disp;
  if (m.base >= 0) ea += cpu.regs[m.base]!;
  if (m.index >= 0) ea += cpu.regs[m.index]! << m.scale;
  return (cpu.segBase[m.segment]! + ea) >>> 0;
}

/** Effective address (offset, before the segment base): lea. */
function effectiveAddress(cpu: Cpu, i: D): number {
  const m = i.mem!;
  let ea = m.disp;
  if (m.base >= 0) ea += cpu.regs[m.base]!;
  if (m.index >= 0) ea += cpu.regs[m.index]! << m.scale;
  return ea >>> 0;
}

const FIXED_GPR: Record<string, number> = { al: 0, ax: 0, eAX: 0, cl: 1, dx: 2 };
const FIXED_SREG: Record<string, number> = { es: 0, cs: 1, ss: 2, ds: 3, fs: 4, gs: 5 };

/** Read operand k. */
export function get(cpu: Cpu, i: D, k: number): number {
  const spec = i.form.operands[k]!;
  const size = specSize(spec, i);
  switch (spec.kind) {
    case 'reg':
    case 'opreg':
      return cpu.getReg(i.reg, size);
    case 'rm':
    case 'rmreg':
    case 'mem':
    case 'moffs':
      return i.mem ? cpu.readSized(linearAddress(cpu, i), size) : cpu.getReg(i.rm, size);
    case 'imm':
      return (k > 0 && i.form.operands[0]!.kind === 'imm' ? i.imm2 : i.imm) & mask(size);
    case 'simm8':
    case 'rel':
      return i.imm & mask(size);
    case 'fixed':
      if (spec.reg! in FIXED_SREG) return cpu.segSel[FIXED_SREG[spec.reg!]!]!;
      return cpu.getReg(FIXED_GPR[spec.reg!]!, size);
    case 'one':
      return 1;
    case 'sreg':
      return cpu.segSel[i.reg]!;
    case 'creg':
      return readControlRegister(cpu, i.reg);
    case 'farptr':
      return i.imm;
  }
}

/** Write operand k. */
export function set(cpu: Cpu, i: D, k: number, value: number): void {
  const spec = i.form.operands[k]!;
  const size = specSize(spec, i);
  switch (spec.kind) {
    case 'reg':
    case 'opreg':
      cpu.setReg(i.reg, size, value);
      return;
    case 'rm':
    case 'rmreg':
    case 'mem':
    case 'moffs':
      if (i.mem) cpu.writeSized(linearAddress(cpu, i), size, value);
      else cpu.setReg(i.rm, size, value);
      return;
    case 'fixed':
      cpu.setReg(FIXED_GPR[spec.reg!]!, size, value);
      return;
    default:
      throw new Error(`operand kind ${spec.kind} of '${i.form.mnemonic}' is not writable`);
  }
}

/**
 * CR4 bits a write may set: VME, PVI, DE, PSE and PGE (accepted; global pages are flushed like
 * any other, which the SDM allows). Others raise #GP(0), as on a CPU without those features.
 */
const CR4_ACCEPTED = 0x01 | 0x02 | 0x08 | 0x10 | 0x80;

/** A 16-bit r/m source (selectors, the machine status word). */
function readRm16(cpu: Cpu, i: D): number {
  return i.mem ? cpu.read16(linearAddress(cpu, i)) : cpu.getReg(i.rm, 16);
}

function readControlRegister(cpu: Cpu, n: number): number {
  switch (n) {
    case 0:
      return cpu.visibleCr0;
    case 2:
      return cpu.cr2 >>> 0;
    case 3:
      return cpu.cr3 >>> 0;
    case 4:
      return cpu.visibleCr4;
  }
  throw ud(`mov from CR${n}: no such control register`);
}

/**
 * Read-modify-write on operand 0 in two steps with no closure (hot path): `rmwRead` reads the
 * destination and remembers where it is; `rmwWrite` stores the result there. A memory
 * destination faults on the read before anything changes.
 */
let rmwLinear = -1;
function rmwRead(cpu: Cpu, i: D, size: number): number {
  const kind = i.form.operands[0]!.kind;
  if (i.mem && (kind === 'rm' || kind === 'mem' || kind === 'moffs')) {
    rmwLinear = linearAddress(cpu, i);
    return cpu.readSized(rmwLinear, size);
  }
  rmwLinear = -1;
  return get(cpu, i, 0);
}
function rmwWrite(cpu: Cpu, i: D, size: number, value: number): void {
  if (rmwLinear >= 0) cpu.writeSized(rmwLinear, size, value);
  else set(cpu, i, 0, value);
}
function rmw(cpu: Cpu, i: D, op: (a: number) => number): void {
  const size = sizeOf(i, 0);
  const a = rmwRead(cpu, i, size);
  const lin = rmwLinear;
  const v = op(a);
  rmwLinear = lin;
  rmwWrite(cpu, i, size, v);
}

// ---- handlers ----------------------------------------------------------------------------------

const H: Record<string, Handler> = {};

H['nop'] = () => {};

H['mov'] = (cpu, i) => set(cpu, i, 0, get(cpu, i, 1));
H['mov-moffs'] = H['mov'];
H['movzx'] = (cpu, i) => set(cpu, i, 0, get(cpu, i, 1));
H['movsx'] = (cpu, i) =>
  set(cpu, i, 0, signExtend(get(cpu, i, 1), sizeOf(i, 1)) & mask(sizeOf(i, 0)));
H['lea'] = (cpu, i) => cpu.setReg(i.reg, i.operandSize, effectiveAddress(cpu, i));

H['mov-from-sreg'] = (cpu, i) => {
  const v = cpu.segSel[i.reg]!;
  // a register destination gets the selector zero-extended (32-bit operand size); memory gets 16 bits
  if (i.mem) cpu.write16(linearAddress(cpu, i), v);
  else cpu.setReg(i.rm, i.operandSize, v);
};
H['mov-to-sreg'] = (cpu, i) => {
  if (i.reg === SEG_CS) throw ud('mov to CS');
  const sel = readRm16(cpu, i);
  cpu.loadDataSegment(i.reg, sel);
};

H['mov-from-cr'] = (cpu, i) => cpu.setReg(i.rm, 32, readControlRegister(cpu, i.reg));
H['mov-to-cr'] = (cpu, i) => {
  const v = cpu.getReg(i.rm, 32);
  switch (i.reg) {
    case 0: {
      if (v & CR0_PG && !(v & CR0_PE)) throw gp('CR0: paging without protection', 0);
      // bits a hypervisor owns keep their value (a write that would change them exited)
      const owned = cpu.cr0GuestHostMask;
      const value = owned === 0 ? v : ((v & ~owned) | (cpu.cr0 & owned)) >>> 0;
      const changed = (cpu.cr0 ^ value) >>> 0;
      cpu.cr0 = (value | 0x10) >>> 0; // ET is hard-wired to 1 on this CPU, as on QEMU
      if (changed & (CR0_PG | CR0_WP | CR0_PE)) cpu.flushTlb();
      cpu.breakBatch = true;
      return;
    }
    case 2:
      cpu.cr2 = v;
      return;
    case 3:
      cpu.cr3 = v;
      cpu.cr3Loads++;
      cpu.flushTlb();
      return;
    case 4:
      if (v & ~CR4_ACCEPTED)
        throw gp(`CR4: bits 0x${(v & ~CR4_ACCEPTED).toString(16)} are reserved here`, 0);
      cpu.cr4 = ((v & ~cpu.cr4GuestHostMask) | (cpu.cr4 & cpu.cr4GuestHostMask)) >>> 0;
      cpu.flushTlb();
      return;
  }
  throw ud(`mov to CR${i.reg}: no such control register`);
};

H['xchg'] = (cpu, i) => {
  const size = i.operandSize;
  if (i.form.operands[1]!.kind === 'opreg') {
    // xchg eAX, r
    const a = cpu.getReg(0, size);
    cpu.setReg(0, size, cpu.getReg(i.reg, size));
    cpu.setReg(i.reg, size, a);
    return;
  }
  const width = sizeOf(i, 0);
  const r = cpu.getReg(i.reg, width);
  if (i.mem) {
    const lin = linearAddress(cpu, i);
    const m = cpu.readSized(lin, width);
    cpu.writeSized(lin, width, r);
    cpu.setReg(i.reg, width, m);
  } else {
    const m = cpu.getReg(i.rm, width);
    cpu.setReg(i.rm, width, r);
    cpu.setReg(i.reg, width, m);
  }
};
H['xadd'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  const src = cpu.getReg(i.reg, size);
  const dst = rmwRead(cpu, i, size);
  const sum = cpu.alu.add(dst, src, size);
  if (i.mem) {
    rmwWrite(cpu, i, size, sum);
    cpu.setReg(i.reg, size, dst);
  } else {
    // SDM XADD: SRC := DEST, then DEST := sum — with one register for both, the sum wins
    cpu.setReg(i.reg, size, dst);
    cpu.setReg(i.rm, size, sum);
  }
};
H['cmpxchg'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  const acc = cpu.getReg(0, size);
  const src = cpu.getReg(i.reg, size);
  let old = 0;
  rmw(cpu, i, (dst) => {
    old = dst;
    cpu.alu.sub(acc, dst, size);
    // the destination is always written (with its old value when unequal), as the SDM says
    return acc === dst ? src : dst;
  });
  if (acc !== old) cpu.setReg(0, size, old);
};
H['bswap'] = (cpu, i) => {
  const v = cpu.getReg(i.reg, 32);
  cpu.setReg(
    i.reg,
    32,
    ((v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24)) >>> 0,
  );
};

// ALU: add or adc sbb and sub xor cmp by `sub`
H['alu'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  const b = i.form.operands[1]!.kind === 'simm8' ? i.imm & mask(size) : get(cpu, i, 1);
  const alu = cpu.alu;
  const sub = i.form.sub!;
  const a = rmwRead(cpu, i, size);
  let r: number;
  switch (sub) {
    case 0:
      r = alu.add(a, b, size);
      break;
    case 1:
      r = alu.or(a, b, size);
      break;
    case 2:
      r = alu.adc(a, b, size);
      break;
    case 3:
      r = alu.sbb(a, b, size);
      break;
    case 4:
      r = alu.and(a, b, size);
      break;
    case 5:
      r = alu.sub(a, b, size);
      break;
    case 6:
      r = alu.xor(a, b, size);
      break;
    default:
      alu.sub(a, b, size); // cmp: flags only
      return;
  }
  rmwWrite(cpu, i, size, r);
};
H['test'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  cpu.alu.and(get(cpu, i, 0), get(cpu, i, 1), size);
};
H['inc'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  rmwWrite(cpu, i, size, cpu.alu.inc(rmwRead(cpu, i, size), size));
};
H['dec'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  rmwWrite(cpu, i, size, cpu.alu.dec(rmwRead(cpu, i, size), size));
};
H['not'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  rmwWrite(cpu, i, size, ~rmwRead(cpu, i, size) & mask(size));
};
H['neg'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  rmwWrite(cpu, i, size, cpu.alu.neg(rmwRead(cpu, i, size), size));
};

/** Store a one-operand mul/imul result in AX, DX:AX or EDX:EAX. */
function storeWide(cpu: Cpu, size: number): void {
  const { resultLo, resultHi } = cpu.alu;
  if (size === 8) cpu.setReg(0, 16, resultLo);
  else {
    cpu.setReg(0, size, resultLo);
    cpu.setReg(2, size, resultHi);
  }
}
H['mul'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  cpu.alu.mul(cpu.getReg(0, size), get(cpu, i, 0), size);
  storeWide(cpu, size);
};
H['imul'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  cpu.alu.imul1(cpu.getReg(0, size), get(cpu, i, 0), size);
  storeWide(cpu, size);
};
H['imul2'] = (cpu, i) => {
  const size = i.operandSize;
  cpu.setReg(i.reg, size, cpu.alu.imul(cpu.getReg(i.reg, size), get(cpu, i, 1), size));
};
H['imul3'] = (cpu, i) => {
  const size = i.operandSize;
  const src = i.form.operands.length === 3 ? get(cpu, i, 1) : cpu.getReg(i.reg, size);
  const imm = i.imm & mask(size);
  cpu.setReg(i.reg, size, cpu.alu.imul(src, imm, size));
};
function divide(cpu: Cpu, i: D, signed: boolean): void {
  const size = sizeOf(i, 0);
  const divisor = get(cpu, i, 0);
  const lo = size === 8 ? cpu.getReg(0, 16) : cpu.getReg(0, size);
  const hi = size === 8 ? 0 : cpu.getReg(2, size);
  const ok = signed ? cpu.alu.idiv(hi, lo, divisor, size) : cpu.alu.div(hi, lo, divisor, size);
  if (!ok) {
    throw fault(
      VECTOR.DE,
      divisor === 0 ? 'divide by zero' : 'quotient too large for the destination',
    );
  }
  const { quotient, remainder } = cpu.alu;
  if (size === 8) cpu.setReg(0, 16, (quotient & 0xff) | ((remainder & 0xff) << 8));
  else {
    cpu.setReg(0, size, quotient);
    cpu.setReg(2, size, remainder);
  }
}
H['div'] = (cpu, i) => divide(cpu, i, false);
H['idiv'] = (cpu, i) => divide(cpu, i, true);
H['cbw'] = (cpu, i) => {
  if (i.operandSize === 16) cpu.setReg(0, 16, signExtend(cpu.getReg(0, 8), 8) & 0xffff);
  else cpu.setReg(0, 32, signExtend(cpu.getReg(0, 16), 16) >>> 0);
};
H['cwd'] = (cpu, i) => {
  const size = i.operandSize;
  const negative = (cpu.getReg(0, size) >>> (size - 1)) & 1;
  cpu.setReg(2, size, negative ? mask(size) : 0);
};

H['shift'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  const count = get(cpu, i, 1);
  const alu = cpu.alu;
  const a = rmwRead(cpu, i, size);
  let r: number;
  switch (i.form.sub) {
    case 0:
      r = alu.rol(a, count, size);
      break;
    case 1:
      r = alu.ror(a, count, size);
      break;
    case 2:
      r = alu.rcl(a, count, size);
      break;
    case 3:
      r = alu.rcr(a, count, size);
      break;
    case 4:
      r = alu.shl(a, count, size);
      break;
    case 5:
      r = alu.shr(a, count, size);
      break;
    default:
      r = alu.sar(a, count, size);
  }
  rmwWrite(cpu, i, size, r);
};
H['shld'] = (cpu, i) => {
  const size = i.operandSize;
  const count = i.form.operands[2]!.kind === 'imm' ? i.imm & 0xff : cpu.getReg(1, 8);
  const src = cpu.getReg(i.reg, size);
  rmw(cpu, i, (a) => cpu.alu.shld(a, src, count, size));
};
H['shrd'] = (cpu, i) => {
  const size = i.operandSize;
  const count = i.form.operands[2]!.kind === 'imm' ? i.imm & 0xff : cpu.getReg(1, 8);
  const src = cpu.getReg(i.reg, size);
  rmw(cpu, i, (a) => cpu.alu.shrd(a, src, count, size));
};
H['bt'] = (cpu, i) => {
  const size = i.operandSize;
  const immediate = i.form.operands[1]!.kind === 'imm';
  let bit = immediate ? i.imm & 0xff : cpu.getReg(i.reg, size);
  let lin = 0;
  if (i.mem) {
    // A register bit offset addresses memory beyond the operand (SDM BT: bit string).
    lin = linearAddress(cpu, i);
    if (!immediate) {
      const signed = signExtend(bit, size);
      lin = (lin + (Math.floor(signed / size) * size) / 8) >>> 0;
      bit = ((signed % size) + size) % size;
    } else bit &= size - 1;
  } else bit &= size - 1;
  const value = i.mem ? cpu.readSized(lin, size) : cpu.getReg(i.rm, size);
  const m = (1 << bit) >>> 0;
  let result = value;
  if (i.form.sub === 1) result = (value | m) >>> 0;
  else if (i.form.sub === 2) result = (value & ~m) >>> 0;
  else if (i.form.sub === 3) result = (value ^ m) >>> 0;
  if (i.form.sub !== 0) {
    if (i.mem) cpu.writeSized(lin, size, result);
    else cpu.setReg(i.rm, size, result);
  }
  cpu.alu.setCF((value & m) !== 0);
};
H['bsf'] = (cpu, i) => {
  const size = i.operandSize;
  const r = cpu.alu.bsf(get(cpu, i, 1), size);
  if (r >= 0) cpu.setReg(i.reg, size, r);
};
H['bsr'] = (cpu, i) => {
  const size = i.operandSize;
  const r = cpu.alu.bsr(get(cpu, i, 1), size);
  if (r >= 0) cpu.setReg(i.reg, size, r);
};
H['setcc'] = (cpu, i) => set(cpu, i, 0, cpu.alu.condition(i.form.cond!) ? 1 : 0);
H['cmovcc'] = (cpu, i) => {
  // the source is read (and may fault) whether or not the condition holds (SDM CMOVcc)
  const v = get(cpu, i, 1);
  if (cpu.alu.condition(i.form.cond!)) cpu.setReg(i.reg, i.operandSize, v);
};

// ---- stack ----------------------------------------------------------------------------------
H['push'] = (cpu, i) => cpu.push(i.operandSize, get(cpu, i, 0));
H['push-imm'] = (cpu, i) => cpu.push(i.operandSize, i.imm & mask(i.operandSize));
H['pop'] = (cpu, i) => {
  const size = i.operandSize;
  const v = cpu.peek(size, 0);
  if (i.form.operands[0]!.kind === 'opreg' || !i.mem) {
    cpu.regs[4] = (cpu.regs[4]! + size / 8) >>> 0;
    set(cpu, i, 0, v);
    return;
  }
  // pop [esp+x] addresses with the incremented ESP (SDM POP)
  const esp = cpu.regs[4]!;
  cpu.regs[4] = (esp + size / 8) >>> 0;
  try {
    set(cpu, i, 0, v);
  } catch (e) {
    cpu.regs[4] = esp;
    throw e;
  }
};
H['push-sreg'] = (cpu, i) => {
  const seg = FIXED_SREG[i.form.operands[0]!.reg!]!;
  // a 32-bit push of a segment register writes only the low 16 bits on this CPU family (QEMU too)
  if (i.operandSize === 32) {
    const esp = (cpu.regs[4]! - 4) >>> 0;
    cpu.write16((cpu.segBase[SEG_SS]! + esp) >>> 0, cpu.segSel[seg]!);
    cpu.regs[4] = esp;
  } else cpu.push(16, cpu.segSel[seg]!);
};
H['pop-sreg'] = (cpu, i) => {
  const seg = FIXED_SREG[i.form.operands[0]!.reg!]!;
  const sel = cpu.peek(16, 0);
  cpu.loadDataSegment(seg, sel);
  cpu.regs[4] = (cpu.regs[4]! + i.operandSize / 8) >>> 0;
};
H['pusha'] = (cpu, i) => {
  const size = i.operandSize;
  const esp = cpu.regs[4]!;
  const values = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => (r === 4 ? esp : cpu.regs[r]!) & mask(size));
  try {
    for (const v of values) cpu.push(size, v);
  } catch (e) {
    cpu.regs[4] = esp;
    throw e;
  }
};
H['popa'] = (cpu, i) => {
  const size = i.operandSize;
  const values = [7, 6, 5, 4, 3, 2, 1, 0].map((_, k) => cpu.peek(size, k * (size / 8)));
  [7, 6, 5, 4, 3, 2, 1, 0].forEach((r, k) => {
    if (r !== 4) cpu.setReg(r, size, values[k]!);
  });
  cpu.regs[4] = (cpu.regs[4]! + size) >>> 0;
};
H['pushf'] = (cpu, i) => {
  // pushf shows the real IF and IOPL at any CPL (the classic sensitive-unprivileged leak);
  // VM and RF are cleared in the image (SDM PUSHF).
  cpu.push(i.operandSize, cpu.eflags & ~0x30000 & mask(i.operandSize));
};
H['popf'] = (cpu, i) => {
  const size = i.operandSize;
  const v = cpu.peek(size, 0);
  cpu.regs[4] = (cpu.regs[4]! + size / 8) >>> 0;
  const before = cpu.systemFlags;
  cpu.setEflags(v, popfMask(cpu, size));
  if ((before ^ cpu.systemFlags) & (FLAG_IF | FLAG_TF)) cpu.breakBatch = true;
};
/**
 * Which EFLAGS bits popf/iret may change: IOPL only at CPL 0, IF only when CPL <= IOPL; the
 * others silently keep their value — no fault (the lecture's popf problem, SDM POPF table).
 */
function popfMask(cpu: Cpu, size: number): number {
  let m =
    FLAG_CF |
    FLAG_PF |
    FLAG_AF |
    FLAG_ZF |
    FLAG_SF |
    FLAG_TF |
    FLAG_DF |
    FLAG_OF |
    FLAG_NT |
    FLAG_AC |
    FLAG_ID;
  if (cpu.cpl === 0) m |= FLAG_IOPL;
  if (cpu.cpl <= cpu.iopl) m |= FLAG_IF;
  return size === 16 ? m & 0xffff : m;
}
H['lahf'] = (cpu) => cpu.setReg(4, 8, (cpu.eflags & 0xd5) | 2);
H['sahf'] = (cpu) => cpu.setEflags(cpu.getReg(4, 8), 0xd5);
H['enter'] = (cpu, i) => {
  const size = i.operandSize;
  const frame = i.imm & 0xffff;
  const level = i.imm2 & 0x1f;
  const esp0 = cpu.regs[4]!;
  const ebp0 = cpu.regs[5]!;
  try {
    cpu.push(size, ebp0 & mask(size));
    const frameTemp = cpu.regs[4]!;
    let ebp = ebp0;
    for (let n = 1; n < level; n++) {
      ebp = (ebp - size / 8) >>> 0;
      cpu.push(size, cpu.readSized((cpu.segBase[SEG_SS]! + ebp) >>> 0, size));
    }
    if (level > 0) cpu.push(size, frameTemp);
    cpu.regs[5] = frameTemp;
    cpu.regs[4] = (cpu.regs[4]! - frame) >>> 0;
  } catch (e) {
    cpu.regs[4] = esp0;
    cpu.regs[5] = ebp0;
    throw e;
  }
};
H['leave'] = (cpu, i) => {
  const size = i.operandSize;
  const ebp = cpu.regs[5]!;
  const v = cpu.readSized((cpu.segBase[SEG_SS]! + ebp) >>> 0, size);
  cpu.regs[4] = (ebp + size / 8) >>> 0;
  cpu.setReg(5, size, v);
};

// ---- control transfer -----------------------------------------------------------------------
function jumpTo(cpu: Cpu, i: D, target: number): void {
  cpu.eip = i.operandSize === 16 ? target & 0xffff : target >>> 0;
}
const relTarget = (cpu: Cpu, i: D): number => (cpu.eip + i.imm) >>> 0;

H['jmp'] = (cpu, i) => jumpTo(cpu, i, relTarget(cpu, i));
H['jmp-indirect'] = (cpu, i) => jumpTo(cpu, i, get(cpu, i, 0));
H['jcc'] = (cpu, i) => {
  if (cpu.alu.condition(i.form.cond!)) jumpTo(cpu, i, relTarget(cpu, i));
};
H['jecxz'] = (cpu, i) => {
  if (cpu.regs[1] === 0) jumpTo(cpu, i, relTarget(cpu, i));
};
H['loop'] = (cpu, i) => {
  const ecx = (cpu.regs[1]! - 1) >>> 0;
  cpu.regs[1] = ecx;
  if (ecx !== 0) jumpTo(cpu, i, relTarget(cpu, i));
};
H['loope'] = (cpu, i) => {
  const ecx = (cpu.regs[1]! - 1) >>> 0;
  cpu.regs[1] = ecx;
  if (ecx !== 0 && cpu.alu.zf()) jumpTo(cpu, i, relTarget(cpu, i));
};
H['loopne'] = (cpu, i) => {
  const ecx = (cpu.regs[1]! - 1) >>> 0;
  cpu.regs[1] = ecx;
  if (ecx !== 0 && !cpu.alu.zf()) jumpTo(cpu, i, relTarget(cpu, i));
};
H['call'] = (cpu, i) => {
  cpu.push(i.operandSize, cpu.eip & mask(i.operandSize));
  jumpTo(cpu, i, relTarget(cpu, i));
};
H['call-indirect'] = (cpu, i) => {
  const target = get(cpu, i, 0);
  cpu.push(i.operandSize, cpu.eip & mask(i.operandSize));
  jumpTo(cpu, i, target);
};
H['ret'] = (cpu, i) => {
  const size = i.operandSize;
  const target = cpu.peek(size, 0);
  const extra = i.form.operands.length === 1 ? i.imm & 0xffff : 0;
  cpu.regs[4] = (cpu.regs[4]! + size / 8 + extra) >>> 0;
  jumpTo(cpu, i, target);
};

/** Far pointer operand of jmp/call far: [offset, selector]. */
function farPointer(cpu: Cpu, i: D): [number, number] {
  if (i.form.operands[0]!.kind === 'farptr') return [i.imm >>> 0, i.imm2 & 0xffff];
  const lin = linearAddress(cpu, i);
  const size = i.operandSize;
  return [cpu.readSized(lin, size), cpu.read16((lin + size / 8) >>> 0)];
}

/** Target CS of a far jmp/call: same privilege only (no call gates in this subset). */
function farTarget(cpu: Cpu, selector: number, what: string): number {
  const d = cpu.codeDescriptor(selector, what);
  const dpl = descriptorDpl(d);
  const rpl = selector & 3;
  if (isConforming(d) ? dpl > cpu.cpl : rpl > cpu.cpl || dpl !== cpu.cpl) {
    throw gp(
      `${what} to 0x${selector.toString(16)}: privilege mismatch (CPL ${cpu.cpl}, RPL ${rpl}, DPL ${dpl})`,
      selector & 0xfffc,
    );
  }
  cpu.loadCodeSegment(selector, d, cpu.cpl);
  return dpl;
}

H['jmp-far'] = (cpu, i) => {
  const [offset, selector] = farPointer(cpu, i);
  farTarget(cpu, selector, 'far jmp');
  jumpTo(cpu, i, offset);
};
H['call-far'] = (cpu, i) => {
  const [offset, selector] = farPointer(cpu, i);
  const size = i.operandSize;
  const esp = cpu.regs[4]!;
  const cs = cpu.saveSegment(SEG_CS);
  const cpl = cpu.cpl;
  const ret = cpu.eip;
  farTarget(cpu, selector, 'far call');
  try {
    cpu.push(size, cs.selector);
    cpu.push(size, ret & mask(size));
  } catch (e) {
    cpu.regs[4] = esp;
    cpu.restoreSegment(SEG_CS, cs);
    cpu.cpl = cpl;
    throw e;
  }
  jumpTo(cpu, i, offset);
};
H['retf'] = (cpu, i) => {
  const size = i.operandSize;
  const offset = cpu.peek(size, 0);
  const selector = cpu.peek(size, size / 8) & 0xffff;
  const extra = i.form.operands.length === 1 ? i.imm & 0xffff : 0;
  const rpl = selector & 3;
  if (rpl < cpu.cpl)
    throw gp(`retf to 0x${selector.toString(16)}: RPL ${rpl} < CPL ${cpu.cpl}`, selector & 0xfffc);
  const d = cpu.codeDescriptor(selector, 'retf');
  const dpl = descriptorDpl(d);
  if (isConforming(d) ? dpl > rpl : dpl !== rpl) {
    throw gp(
      `retf to 0x${selector.toString(16)}: DPL ${dpl} does not match RPL ${rpl}`,
      selector & 0xfffc,
    );
  }
  if (rpl === cpu.cpl) {
    cpu.loadCodeSegment(selector, d, rpl);
    cpu.regs[4] = (cpu.regs[4]! + (2 * size) / 8 + extra) >>> 0;
    jumpTo(cpu, i, offset);
    return;
  }
  // return to an outer privilege level: pop SS:ESP too
  const base = (2 * size) / 8 + extra;
  const newEsp = cpu.peek(size, base);
  const newSs = cpu.peek(size, base + size / 8) & 0xffff;
  outerReturn(cpu, selector, d, rpl, newSs, (newEsp + extra) >>> 0, offset, size);
};

/** The common tail of retf/iret to an outer privilege level (SDM RET, IRET). */
function outerReturn(
  cpu: Cpu,
  cs: number,
  csDesc: ReturnType<Cpu['readDescriptor']>,
  rpl: number,
  ss: number,
  esp: number,
  eip: number,
  size: number,
): void {
  if ((ss & 0xfffc) === 0) throw gp('return to outer level with a null SS', 0);
  if ((ss & 3) !== rpl)
    throw gp(`return SS 0x${ss.toString(16)} RPL differs from CS RPL ${rpl}`, ss & 0xfffc);
  const ssDesc = cpu.readDescriptor(ss);
  if (descriptorDpl(ssDesc) !== rpl || (ssDesc.access & 0x1a) !== 0x12) {
    throw gp(
      `return SS 0x${ss.toString(16)} is not a writable data segment at DPL ${rpl}`,
      ss & 0xfffc,
    );
  }
  if (!descriptorPresent(ssDesc))
    throw fault(VECTOR.SS, `return SS 0x${ss.toString(16)} not present`, ss & 0xfffc);
  cpu.loadCodeSegment(cs, csDesc, rpl);
  cpu.markAccessed(ss, ssDesc);
  cpu.loadSegmentCache(SEG_SS, ss, ssDesc);
  cpu.regs[4] = esp;
  cpu.eip = size === 16 ? eip & 0xffff : eip >>> 0;
  // Data segment registers the new CPL may not use are nulled (SDM IRET/RET).
  for (const seg of [SEG_ES, SEG_DS, 4, 5]) {
    const access = cpu.segAccess[seg]!;
    const dataOrNonConforming = (access & 0x1c) !== 0x1c;
    if (access & 0x10 && dataOrNonConforming && ((access >>> 5) & 3) < rpl)
      cpu.loadNullSegment(seg, 0);
  }
}

H['iret'] = (cpu, i) => {
  const size = i.operandSize;
  if (cpu.systemFlags & FLAG_NT) throw gp('iret with NT set: task switches are not supported', 0);
  const eip = cpu.peek(size, 0);
  const cs = cpu.peek(size, size / 8) & 0xffff;
  const flags = cpu.peek(size, (2 * size) / 8);
  const rpl = cs & 3;
  if (rpl < cpu.cpl)
    throw gp(`iret to 0x${cs.toString(16)}: RPL ${rpl} < CPL ${cpu.cpl}`, cs & 0xfffc);
  const d = cpu.codeDescriptor(cs, 'iret');
  const dpl = descriptorDpl(d);
  if (isConforming(d) ? dpl > rpl : dpl !== rpl) {
    throw gp(`iret to 0x${cs.toString(16)}: DPL ${dpl} does not match RPL ${rpl}`, cs & 0xfffc);
  }
  // The flags image is judged by the CPL *before* the return (SDM IRET): at CPL > 0 IOPL
  // is kept, and IF is kept unless CPL <= IOPL — silently.
  const m = popfMask(cpu, size) | FLAG_RF;
  // a change of IF or TF must end the batch, so the interpreter looks at interrupts again
  if ((flags ^ cpu.systemFlags) & m & (FLAG_IF | FLAG_TF)) cpu.breakBatch = true;
  if (rpl === cpu.cpl) {
    cpu.loadCodeSegment(cs, d, rpl);
    cpu.regs[4] = (cpu.regs[4]! + (3 * size) / 8) >>> 0;
    cpu.eip = size === 16 ? eip & 0xffff : eip >>> 0;
    cpu.setEflags(flags, m);
    return;
  }
  const esp = cpu.peek(size, (3 * size) / 8);
  const ss = cpu.peek(size, (4 * size) / 8) & 0xffff;
  cpu.setEflags(flags, m);
  outerReturn(cpu, cs, d, rpl, ss, esp, eip, size);
};

H['int3'] = () => {
  throw new SoftwareInterrupt(VECTOR.BP);
};
H['int'] = (_cpu, i) => {
  throw new SoftwareInterrupt(i.imm & 0xff);
};
H['into'] = (cpu) => {
  if (cpu.alu.of()) throw new SoftwareInterrupt(VECTOR.OF);
};
H['bound'] = (cpu, i) => {
  const size = i.operandSize;
  const lin = linearAddress(cpu, i);
  const lower = signExtend(cpu.readSized(lin, size), size);
  const upper = signExtend(cpu.readSized((lin + size / 8) >>> 0, size), size);
  const index = signExtend(cpu.getReg(i.reg, size), size);
  if (index < lower || index > upper)
    throw fault(VECTOR.BR, `bound: ${index} outside [${lower}, ${upper}]`);
};
H['ud2'] = () => {
  throw ud('ud2');
};

/**
 * A software interrupt (int n, int3, into): delivered as a trap with the gate DPL check, the
 * return address being the next instruction.
 */
export class SoftwareInterrupt {
  constructor(readonly vector: number) {}
}

// ---- flags ----------------------------------------------------------------------------------
H['clc'] = (cpu) => cpu.alu.setCF(false);
H['stc'] = (cpu) => cpu.alu.setCF(true);
H['cmc'] = (cpu) => cpu.alu.setCF(!cpu.alu.cf());
H['cld'] = (cpu) => void (cpu.systemFlags &= ~FLAG_DF);
H['std'] = (cpu) => void (cpu.systemFlags |= FLAG_DF);
H['cli'] = (cpu) => void (cpu.systemFlags &= ~FLAG_IF);
H['sti'] = (cpu) => {
  if (!(cpu.systemFlags & FLAG_IF)) cpu.interruptShadow = true;
  cpu.systemFlags |= FLAG_IF;
  cpu.breakBatch = true;
};

// ---- string instructions (one iteration per step; rep re-executes until ECX = 0) -----------
const REP_CHUNK = 1024;

function stringOp(cpu: Cpu, i: D, body: () => boolean | void): void {
  if (!i.prefixes.rep) {
    body();
    return;
  }
  // Each iteration updates ECX/ESI/EDI before the next, so a fault restarts exactly there;
  // after a chunk EIP stays on the instruction to give interrupts and budgets their turn.
  for (let n = 0; n < REP_CHUNK; n++) {
    if (cpu.regs[1] === 0) return;
    const more = body();
    cpu.regs[1] = (cpu.regs[1]! - 1) >>> 0;
    if (n > 0) retireIteration(cpu, i.form.id, 1, cpu.cpl === 3);
    if (cpu.regs[1] === 0 || more === false) return;
  }
  cpu.eip = cpu.insnStart;
}
const stringSize = (i: D): number => (i.form.sizedMnemonics ? i.operandSize : 8);
const delta = (cpu: Cpu, size: number): number =>
  cpu.systemFlags & FLAG_DF ? -(size / 8) : size / 8;
const srcSeg = (i: D): number => (i.prefixes.segment >= 0 ? i.prefixes.segment : SEG_DS);

H['movs'] = (cpu, i) => {
  const size = stringSize(i);
  stringOp(cpu, i, () => {
    const v = cpu.readSized((cpu.segBase[srcSeg(i)]! + cpu.regs[6]!) >>> 0, size);
    cpu.writeSized((cpu.segBase[SEG_ES]! + cpu.regs[7]!) >>> 0, size, v);
    const d = delta(cpu, size);
    cpu.regs[6] = (cpu.regs[6]! + d) >>> 0;
    cpu.regs[7] = (cpu.regs[7]! + d) >>> 0;
  });
};
H['stos'] = (cpu, i) => {
  const size = stringSize(i);
  if (size === 32 && i.prefixes.rep && !(cpu.systemFlags & FLAG_DF)) {
    repStosdForward(cpu, i);
    return;
  }
  stringOp(cpu, i, () => {
    cpu.writeSized((cpu.segBase[SEG_ES]! + cpu.regs[7]!) >>> 0, size, cpu.getReg(0, size));
    cpu.regs[7] = (cpu.regs[7]! + delta(cpu, size)) >>> 0;
  });
};
/**
 * `rep stosd` upwards, as stringOp runs it iteration by iteration, with the iterations that
 * follow a store on the same page done at once: each of them would translate through the TLB
 * entry the first store left valid and dirty (a hit that only counts a lookup) and store to
 * plain RAM, so the memory, the registers and every counter end exactly as the iterations one
 * by one leave them. A page holding decoded code, memory beyond RAM or a store that crosses a
 * page goes one iteration at a time.
 */
function repStosdForward(cpu: Cpu, i: D): void {
  const id = i.form.id;
  const value = cpu.regs[0]!;
  const mem = cpu.memory;
  const counted = (cpu.cr0 & CR0_PG) !== 0 || cpu.nested !== undefined;
  const user = cpu.cpl === 3;
  for (let n = 0; n < REP_CHUNK;) {
    if (cpu.regs[1] === 0) return;
    const linear = (cpu.segBase[SEG_ES]! + cpu.regs[7]!) >>> 0;
    cpu.write32(linear, value);
    cpu.regs[1] = (cpu.regs[1]! - 1) >>> 0;
    cpu.regs[7] = (cpu.regs[7]! + 4) >>> 0;
    if (n > 0) retireIteration(cpu, id, 1, user);
    n++;
    if (cpu.regs[1] === 0) return;
    // the rest of this page, within the chunk and the count
    const offset = linear & 0xfff;
    if ((offset & 3) !== 0 || offset > 0xffc) continue;
    const next = (cpu.segBase[SEG_ES]! + cpu.regs[7]!) >>> 0;
    if (next >>> 12 !== linear >>> 12) continue;
    const phys = cpu.peekTlbWrite(linear, user);
    if (phys === undefined) continue;
    const page = phys >>> 12;
    if (phys + 4096 - offset > mem.size || mem.codePages[page]) continue;
    const k = Math.min((0x1000 - offset - 4) >>> 2, cpu.regs[1]!, REP_CHUNK - n);
    if (k <= 0) continue;
    const at = phys + 4;
    if (value === 0) mem.bytes.fill(0, at, at + 4 * k);
    else fillWords(mem.bytes, at, value, k);
    if (counted) cpu.tlbLookups += k;
    cpu.regs[1] = (cpu.regs[1]! - k) >>> 0;
    cpu.regs[7] = (cpu.regs[7]! + 4 * k) >>> 0;
    retireIteration(cpu, id, k, user);
    n += k;
    if (cpu.regs[1] === 0) return;
  }
  cpu.eip = cpu.insnStart;
}

/** Store `count` little-endian copies of `value` from `at` (within one page of RAM). */
function fillWords(bytes: Uint8Array, at: number, value: number, count: number): void {
  const b0 = value & 0xff;
  const b1 = (value >>> 8) & 0xff;
  const b2 = (value >>> 16) & 0xff;
  const b3 = value >>> 24;
  for (let j = 0, p = at; j < count; j++, p += 4) {
    bytes[p] = b0;
    bytes[p + 1] = b1;
    bytes[p + 2] = b2;
    bytes[p + 3] = b3;
  }
}

/** `count` iterations of a rep instruction after its first: each counts and is charged as an
 *  instruction executed (the interpreter counts the first). */
function retireIteration(cpu: Cpu, id: number, count: number, user: boolean): void {
  cpu.instructions += count;
  if (user) cpu.userInstructions += count;
  cpu.formCounts[id]! += count;
  cpu.cycles += cpu.formCycles[id]! * count;
}

H['lods'] = (cpu, i) => {
  const size = stringSize(i);
  stringOp(cpu, i, () => {
    cpu.setReg(0, size, cpu.readSized((cpu.segBase[srcSeg(i)]! + cpu.regs[6]!) >>> 0, size));
    cpu.regs[6] = (cpu.regs[6]! + delta(cpu, size)) >>> 0;
  });
};
H['cmps'] = (cpu, i) => {
  const size = stringSize(i);
  stringOp(cpu, i, () => {
    const a = cpu.readSized((cpu.segBase[srcSeg(i)]! + cpu.regs[6]!) >>> 0, size);
    const b = cpu.readSized((cpu.segBase[SEG_ES]! + cpu.regs[7]!) >>> 0, size);
    cpu.alu.sub(a, b, size);
    const d = delta(cpu, size);
    cpu.regs[6] = (cpu.regs[6]! + d) >>> 0;
    cpu.regs[7] = (cpu.regs[7]! + d) >>> 0;
    return i.prefixes.rep === 0xf3 ? cpu.alu.zf() : !cpu.alu.zf();
  });
};
H['scas'] = (cpu, i) => {
  const size = stringSize(i);
  stringOp(cpu, i, () => {
    const b = cpu.readSized((cpu.segBase[SEG_ES]! + cpu.regs[7]!) >>> 0, size);
    cpu.alu.sub(cpu.getReg(0, size), b, size);
    cpu.regs[7] = (cpu.regs[7]! + delta(cpu, size)) >>> 0;
    return i.prefixes.rep === 0xf3 ? cpu.alu.zf() : !cpu.alu.zf();
  });
};

// ---- port I/O -------------------------------------------------------------------------------
function port(cpu: Cpu, i: D, k: number): number {
  return i.form.operands[k]!.kind === 'imm' ? i.imm & 0xff : cpu.getReg(2, 16);
}
/** The port and width in bytes an in/out/ins/outs accesses (an I/O exit's qualification). */
export function ioAccess(cpu: Cpu, i: D): { port: number; bytes: number } {
  switch (i.form.op) {
    case 'in':
      return { port: port(cpu, i, 1), bytes: sizeOf(i, 0) / 8 };
    case 'out':
      return { port: port(cpu, i, 0), bytes: sizeOf(i, 1) / 8 };
    default:
      return { port: cpu.getReg(2, 16), bytes: stringSize(i) / 8 };
  }
}
H['in'] = (cpu, i) => {
  const size = sizeOf(i, 0);
  const p = port(cpu, i, 1);
  cpu.checkIoPermission(p, size / 8);
  cpu.setReg(0, size, cpu.io.read(p, (size / 8) as 1 | 2 | 4) & mask(size));
};
H['out'] = (cpu, i) => {
  const size = sizeOf(i, 1);
  const p = port(cpu, i, 0);
  cpu.checkIoPermission(p, size / 8);
  cpu.io.write(p, (size / 8) as 1 | 2 | 4, cpu.getReg(0, size));
  cpu.breakBatch = true; // a device may have raised or acknowledged an interrupt
};
H['ins'] = (cpu, i) => {
  const size = stringSize(i);
  const p = cpu.getReg(2, 16);
  cpu.checkIoPermission(p, size / 8);
  stringOp(cpu, i, () => {
    const lin = (cpu.segBase[SEG_ES]! + cpu.regs[7]!) >>> 0;
    cpu.translate(lin, true, cpu.cpl === 3); // the write must be possible before the port is read
    cpu.writeSized(lin, size, cpu.io.read(p, (size / 8) as 1 | 2 | 4));
    cpu.regs[7] = (cpu.regs[7]! + delta(cpu, size)) >>> 0;
  });
};
H['outs'] = (cpu, i) => {
  const size = stringSize(i);
  const p = cpu.getReg(2, 16);
  cpu.checkIoPermission(p, size / 8);
  stringOp(cpu, i, () => {
    cpu.io.write(
      p,
      (size / 8) as 1 | 2 | 4,
      cpu.readSized((cpu.segBase[srcSeg(i)]! + cpu.regs[6]!) >>> 0, size),
    );
    cpu.regs[6] = (cpu.regs[6]! + delta(cpu, size)) >>> 0;
  });
  cpu.breakBatch = true;
};

// ---- segment loads through far pointers ------------------------------------------------------
const LFP_SEGMENT: Record<string, number> = {
  les: SEG_ES,
  lds: SEG_DS,
  lss: SEG_SS,
  lfs: 4,
  lgs: 5,
};
H['load-far-pointer'] = (cpu, i) => {
  const lin = linearAddress(cpu, i);
  const size = i.operandSize;
  const offset = cpu.readSized(lin, size);
  const selector = cpu.read16((lin + size / 8) >>> 0);
  cpu.loadDataSegment(LFP_SEGMENT[i.form.mnemonic]!, selector);
  cpu.setReg(i.reg, size, offset);
};

// ---- system instructions --------------------------------------------------------------------
/** sldt/str/smsw: register destination gets operand-size bits, memory 16 bits. */
function storeSystemWord(cpu: Cpu, i: D, value: number): void {
  if (i.mem) cpu.write16(linearAddress(cpu, i), value & 0xffff);
  else cpu.setReg(i.rm, i.operandSize, value & mask(i.operandSize));
}
H['sldt'] = (cpu, i) => storeSystemWord(cpu, i, cpu.ldtrSel);
H['str'] = (cpu, i) => storeSystemWord(cpu, i, cpu.trSel);
H['smsw'] = (cpu, i) => {
  // a 32-bit register destination receives all of CR0 on this CPU family (SDM SMSW note)
  if (!i.mem && i.operandSize === 32) cpu.setReg(i.rm, 32, cpu.visibleCr0);
  else storeSystemWord(cpu, i, cpu.visibleCr0);
};
H['lmsw'] = (cpu, i) => {
  const v = readRm16(cpu, i);
  // lmsw sets PE but can never clear it; only MP, EM, TS, PE are affected
  setCr0KeepingOwned(cpu, (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & 1));
};
H['clts'] = (cpu) => setCr0KeepingOwned(cpu, cpu.cr0 & ~CR0_TS);
/** A CR0 write by lmsw or clts: bits a hypervisor owns keep their value (SDM 25.3). */
function setCr0KeepingOwned(cpu: Cpu, value: number): void {
  const owned = cpu.cr0GuestHostMask;
  cpu.cr0 = ((value & ~owned) | (cpu.cr0 & owned)) >>> 0;
}
/**
 * sgdt/sidt store a 6-byte pseudo-descriptor (limit, base); with a 16-bit operand size only 24
 * bits of the base are stored (SDM SGDT). The last byte is checked for writing first, so a
 * fault leaves memory untouched.
 */
function storePseudoDescriptor(cpu: Cpu, i: D, limit: number, base: number): void {
  const lin = linearAddress(cpu, i);
  cpu.translate((lin + 5) >>> 0, true, cpu.cpl === 3);
  cpu.write16(lin, limit);
  cpu.write32((lin + 2) >>> 0, i.operandSize === 16 ? base & 0xffffff : base);
}
/** lgdt/lidt: the pseudo-descriptor's limit and base (24 bits with a 16-bit operand size). */
function loadPseudoDescriptor(cpu: Cpu, i: D): { limit: number; base: number } {
  const lin = linearAddress(cpu, i);
  const limit = cpu.read16(lin);
  const base = cpu.read32((lin + 2) >>> 0);
  return { limit, base: i.operandSize === 16 ? base & 0xffffff : base };
}
H['sgdt'] = (cpu, i) => storePseudoDescriptor(cpu, i, cpu.gdtrLimit, cpu.gdtrBase);
H['sidt'] = (cpu, i) => storePseudoDescriptor(cpu, i, cpu.idtrLimit, cpu.idtrBase);
H['lgdt'] = (cpu, i) => {
  const { limit, base } = loadPseudoDescriptor(cpu, i);
  cpu.gdtrLimit = limit;
  cpu.gdtrBase = base;
};
H['lidt'] = (cpu, i) => {
  const { limit, base } = loadPseudoDescriptor(cpu, i);
  cpu.idtrLimit = limit;
  cpu.idtrBase = base;
};
H['lldt'] = (cpu, i) => {
  const sel = readRm16(cpu, i);
  if ((sel & 0xfffc) === 0) {
    cpu.ldtrSel = sel;
    cpu.ldtrBase = 0;
    cpu.ldtrLimit = 0;
    return;
  }
  if (sel & 4) throw gp('lldt: selector points into the LDT', sel & 0xfffc);
  const d = cpu.readDescriptor(sel);
  if ((d.access & 0x1f) !== 0x02)
    throw gp(`lldt: 0x${sel.toString(16)} is not an LDT descriptor`, sel & 0xfffc);
  if (!descriptorPresent(d))
    throw fault(VECTOR.NP, `lldt: LDT 0x${sel.toString(16)} not present`, sel & 0xfffc);
  cpu.ldtrSel = sel;
  cpu.ldtrBase = d.base;
  cpu.ldtrLimit = d.limit;
};
H['ltr'] = (cpu, i) => {
  const sel = readRm16(cpu, i);
  if ((sel & 0xfffc) === 0) throw gp('ltr: null selector', 0);
  if (sel & 4) throw gp('ltr: selector points into the LDT', sel & 0xfffc);
  const d = cpu.readDescriptor(sel);
  const type = d.access & 0x1f;
  if (type !== 0x09 && type !== 0x01)
    throw gp(`ltr: 0x${sel.toString(16)} is not an available TSS`, sel & 0xfffc);
  if (!descriptorPresent(d))
    throw fault(VECTOR.NP, `ltr: TSS 0x${sel.toString(16)} not present`, sel & 0xfffc);
  // mark the TSS busy in the GDT (SDM LTR)
  cpu.systemWrite8(cpu.gdtrBase + (sel & 0xfff8) + 5, d.access | 2);
  cpu.trSel = sel;
  cpu.trBase = d.base;
  cpu.trLimit = d.limit;
  cpu.trType = type | 2;
};

/** lar/lsl/verr/verw: ZF tells whether the descriptor is visible at CPL and RPL (SDM LAR). */
function visibleDescriptor(
  cpu: Cpu,
  sel: number,
  accept: (access: number) => boolean,
): ReturnType<Cpu['readDescriptor']> | undefined {
  if ((sel & 0xfffc) === 0) return undefined;
  let d;
  try {
    d = cpu.readDescriptor(sel);
  } catch (e) {
    // beyond the table's limit: not visible (ZF=0). A page fault reading the table is raised
    // (SDM LAR/LSL/VERR/VERW: #PF), so paging — or a hypervisor's shadow — can resolve it.
    if (e instanceof CpuException && e.vector !== VECTOR.PF) return undefined;
    throw e;
  }
  if (!accept(d.access)) return undefined;
  const conformingCode = (d.access & 0x1c) === 0x1c;
  if (!conformingCode && (descriptorDpl(d) < cpu.cpl || descriptorDpl(d) < (sel & 3)))
    return undefined;
  return d;
}
function setZF(cpu: Cpu, on: boolean): void {
  cpu.setEflags(on ? FLAG_ZF : 0, FLAG_ZF);
}
const LAR_TYPES = new Set([1, 2, 3, 4, 5, 9, 11, 12]);
const LSL_TYPES = new Set([1, 2, 3, 9, 11]);
H['lar'] = (cpu, i) => {
  const sel = readRm16(cpu, i);
  const d = visibleDescriptor(cpu, sel, (a) => (a & 0x10) !== 0 || LAR_TYPES.has(a & 0xf));
  setZF(cpu, d !== undefined);
  if (d)
    cpu.setReg(
      i.reg,
      i.operandSize,
      ((d.access << 8) | (d.flags << 20)) & (i.operandSize === 16 ? 0xff00 : 0x00f0ff00),
    );
};
H['lsl'] = (cpu, i) => {
  const sel = readRm16(cpu, i);
  const d = visibleDescriptor(cpu, sel, (a) => (a & 0x10) !== 0 || LSL_TYPES.has(a & 0xf));
  setZF(cpu, d !== undefined);
  if (d) cpu.setReg(i.reg, i.operandSize, d.limit & mask(i.operandSize));
};
H['verr'] = (cpu, i) => {
  const sel = readRm16(cpu, i);
  const d = visibleDescriptor(cpu, sel, (a) => (a & 0x10) !== 0);
  setZF(cpu, d !== undefined && isCodeOrData(d) && isReadable(d));
};
H['verw'] = (cpu, i) => {
  const sel = readRm16(cpu, i);
  const d = visibleDescriptor(cpu, sel, (a) => (a & 0x10) !== 0);
  setZF(cpu, d !== undefined && !isCode(d) && (d.access & 2) !== 0);
};
H['arpl'] = (cpu, i) => {
  const src = cpu.getReg(i.reg, 16);
  let adjusted = false;
  rmw(cpu, i, (dst) => {
    if ((dst & 3) < (src & 3)) {
      adjusted = true;
      return (dst & ~3) | (src & 3);
    }
    return dst;
  });
  setZF(cpu, adjusted);
};
H['invlpg'] = (cpu, i) => cpu.invalidatePage(linearAddress(cpu, i));
H['invd'] = () => {};
H['wbinvd'] = () => {};
H['vmcall'] = () => {
  // #UD outside VMX non-root operation, as on a CPU without VMX; hypervisor techniques
  // intercept the #UD (the para-virtual hypercall).
  throw ud('vmcall outside VMX non-root operation');
};
H['hlt'] = (cpu) => {
  cpu.halted = true;
  cpu.breakBatch = true;
};
H['cpuid'] = (cpu) => {
  const leaf = cpu.regs[0]!;
  const [a, b, c, d] = cpuidLeaf(leaf);
  cpu.regs[0] = a;
  cpu.regs[3] = b;
  cpu.regs[1] = c;
  cpu.regs[2] = d;
};
/** CPUID: "GenuineIntel", family 6, with only the features this machine implements (TSC, MSR, PSE, CMOV). */
function cpuidLeaf(leaf: number): [number, number, number, number] {
  const str = (s: string): number =>
    [...s].reduce((v, ch, k) => v | (ch.charCodeAt(0) << (8 * k)), 0) >>> 0;
  if (leaf === 0) return [1, str('Genu'), str('ntel'), str('ineI')];
  if (leaf === 1) return [0x00000663, 0, 0, (1 << 3) | (1 << 4) | (1 << 5) | (1 << 15)];
  return [0, 0, 0, 0];
}
H['rdtsc'] = (cpu) => {
  const tsc = cpu.cycles;
  cpu.regs[0] = tsc % 0x100000000;
  cpu.regs[2] = Math.floor(tsc / 0x100000000);
};
const KNOWN_MSRS = new Set([0x10, 0x174, 0x175, 0x176, 0x1b]);
H['rdmsr'] = (cpu) => {
  const msr = cpu.regs[1]!;
  if (!KNOWN_MSRS.has(msr)) throw gp(`rdmsr: MSR 0x${msr.toString(16)} is not implemented`, 0);
  const v =
    msr === 0x10 ? BigInt(cpu.cycles) : (cpu.msrs.get(msr) ?? (msr === 0x1b ? 0xfee00900n : 0n));
  cpu.regs[0] = Number(v & 0xffffffffn);
  cpu.regs[2] = Number((v >> 32n) & 0xffffffffn);
};
H['wrmsr'] = (cpu) => {
  const msr = cpu.regs[1]!;
  if (!KNOWN_MSRS.has(msr) || msr === 0x10)
    throw gp(`wrmsr: MSR 0x${msr.toString(16)} is not writable here`, 0);
  cpu.msrs.set(msr, (BigInt(cpu.regs[2]!) << 32n) | BigInt(cpu.regs[0]!));
};

// ---- binding to the table ---------------------------------------------------------------------

/**
 * Privilege checks, precomputed per form id for one ISA variant: 0 none, 1 cpl0, 2 iopl. The
 * Popek–Goldberg classifier passes a test copy of the table to see its verdict follow a change.
 */
export function privilegeTable(
  isa: IsaVariant,
  forms: readonly InstructionForm[] = FORMS,
): Uint8Array {
  const t = new Uint8Array(forms.length);
  for (const f of forms) {
    const p = privilegeOn(f, isa);
    t[f.id] = p === 'cpl0' ? 1 : p === 'iopl' ? 2 : 0;
  }
  return t;
}

function missing(form: InstructionForm): Handler {
  return () => {
    throw ud(`'${form.mnemonic}' (op ${form.op}) is decoded but has no executor`);
  };
}

/** Handler per form id, derived from the table's `op` names. */
export const HANDLERS: readonly Handler[] = FORMS.map((f) => H[f.op] ?? missing(f));

/** ops of the table with no handler (a test keeps this empty) */
export const UNHANDLED_OPS: readonly string[] = [
  ...new Set(FORMS.filter((f) => !H[f.op]).map((f) => f.op)),
];

// ---- specialised handlers -------------------------------------------------------------------
// The interpreter runs most of its time in a handful of forms (register moves, ALU on
// registers, conditional branches, push/pop, call/ret). For those, a decoded instruction gets
// a handler with its registers and immediates bound as constants; everything else uses the
// op's generic handler. Same semantics, fewer operand-kind decisions per execution.

const ALU_REG: readonly ((cpu: Cpu, a: number, b: number) => number)[] = [
  (cpu, a, b) => cpu.alu.add(a, b, 32),
  (cpu, a, b) => cpu.alu.or(a, b, 32),
  (cpu, a, b) => cpu.alu.adc(a, b, 32),
  (cpu, a, b) => cpu.alu.sbb(a, b, 32),
  (cpu, a, b) => cpu.alu.and(a, b, 32),
  (cpu, a, b) => cpu.alu.sub(a, b, 32),
  (cpu, a, b) => cpu.alu.xor(a, b, 32),
];

/** The handler to run `i` with: specialised when the form is a hot one, else the op's. */
export function handlerFor(i: D): Handler {
  const f = i.form;
  const generic = HANDLERS[f.id]!;
  if (i.mem !== null || i.operandSize !== 32 || i.prefixes.count !== 0) return generic;
  const k0 = f.operands[0]?.kind;
  const k1 = f.operands[1]?.kind;
  const s0 = f.operands[0]?.size;
  const regPair = f.operands.length === 2 && s0 === 'v' && f.operands[1]!.size === 'v';
  switch (f.op) {
    case 'mov': {
      if (regPair && k0 === 'rm' && k1 === 'reg') {
        const d = i.rm;
        const s = i.reg;
        return (cpu) => void (cpu.regs[d] = cpu.regs[s]!);
      }
      if (regPair && k0 === 'reg' && k1 === 'rm') {
        const d = i.reg;
        const s = i.rm;
        return (cpu) => void (cpu.regs[d] = cpu.regs[s]!);
      }
      if (k0 === 'opreg' && k1 === 'imm' && s0 === 'v') {
        const d = i.reg;
        const v = i.imm >>> 0;
        return (cpu) => void (cpu.regs[d] = v);
      }
      return generic;
    }
    case 'alu': {
      const sub = f.sub!;
      let d: number;
      let s = -1;
      let imm = 0;
      if (regPair && k0 === 'rm' && k1 === 'reg') {
        d = i.rm;
        s = i.reg;
      } else if (regPair && k0 === 'reg' && k1 === 'rm') {
        d = i.reg;
        s = i.rm;
      } else if (k0 === 'rm' && s0 === 'v' && (k1 === 'simm8' || k1 === 'imm')) {
        d = i.rm;
        imm = i.imm >>> 0;
      } else return generic;
      if (sub === 7) {
        return s >= 0
          ? (cpu) => void cpu.alu.sub(cpu.regs[d]!, cpu.regs[s]!, 32)
          : (cpu) => void cpu.alu.sub(cpu.regs[d]!, imm, 32);
      }
      const op = ALU_REG[sub]!;
      return s >= 0
        ? (cpu) => void (cpu.regs[d] = op(cpu, cpu.regs[d]!, cpu.regs[s]!))
        : (cpu) => void (cpu.regs[d] = op(cpu, cpu.regs[d]!, imm));
    }
    case 'test':
      if (regPair && k0 === 'rm' && k1 === 'reg') {
        const a = i.rm;
        const b = i.reg;
        return (cpu) => void cpu.alu.and(cpu.regs[a]!, cpu.regs[b]!, 32);
      }
      return generic;
    case 'inc':
    case 'dec':
      if (k0 === 'opreg') {
        const r = i.reg;
        return f.op === 'inc'
          ? (cpu) => void (cpu.regs[r] = cpu.alu.inc(cpu.regs[r]!, 32))
          : (cpu) => void (cpu.regs[r] = cpu.alu.dec(cpu.regs[r]!, 32));
      }
      return generic;
    case 'jcc': {
      const cc = f.cond!;
      const rel = i.imm;
      return (cpu) => {
        if (cpu.alu.condition(cc)) cpu.eip = (cpu.eip + rel) >>> 0;
      };
    }
    case 'jmp': {
      const rel = i.imm;
      return (cpu) => void (cpu.eip = (cpu.eip + rel) >>> 0);
    }
    case 'push':
      if (k0 === 'opreg') {
        const r = i.reg;
        return (cpu) => cpu.push(32, cpu.regs[r]!);
      }
      return generic;
    case 'pop':
      if (k0 === 'opreg') {
        const r = i.reg;
        return (cpu) => {
          const v = cpu.peek(32, 0);
          cpu.regs[4] = (cpu.regs[4]! + 4) >>> 0;
          cpu.regs[r] = v;
        };
      }
      return generic;
    case 'call': {
      const rel = i.imm;
      return (cpu) => {
        cpu.push(32, cpu.eip);
        cpu.eip = (cpu.eip + rel) >>> 0;
      };
    }
    case 'ret':
      if (f.operands.length === 0) {
        return (cpu) => {
          const target = cpu.peek(32, 0);
          cpu.regs[4] = (cpu.regs[4]! + 4) >>> 0;
          cpu.eip = target;
        };
      }
      return generic;
  }
  return generic;
}
