// The integer ALU of the IA-32 CPU: the six arithmetic flags of EFLAGS (CF PF AF ZF SF OF) with
// lazy evaluation, and every integer arithmetic, logic, shift, rotate, multiply, divide and bit
// operation of the machine's instruction subset at 8, 16 and 32 bits. The CPU owns the other
// EFLAGS bits (TF IF DF IOPL NT RF AC ID) and the registers; this module owns only the numbers.
//
// Authority: Intel SDM vol. 2 (the instruction pages cited at each operation) and vol. 1 §3.4.3
// (EFLAGS). Where the SDM calls a flag or a result "undefined", we do what QEMU's TCG does
// (qemu-system-i386 7.2, target/i386/tcg/translate.c and cc_helper_template.h), so a guest that
// peeks at undefined flags behaves as it does under QEMU; each such choice is commented.
//
// Lazy flags (the technique of QEMU's CC_OP and Bochs' lazy flags): an operation records what
// it did (a kind, the operand size, its operands and result) in a few number fields, and a flag
// is computed from those only when something reads it. Most flags are overwritten before anyone
// reads them, and a Jcc after cmp reads one or two. The hot path allocates nothing, creates no
// closures and keeps every field a small integer (Smi) so V8 keeps the object monomorphic:
// the recorded values are stored as int32 (`| 0`), results handed back are uint32 (`>>> 0`).
//
// Conventions of the API:
// - `size` is 8, 16 or 32 (bits). Only the low `size` bits of an operand are used; 32-bit
//   operands may be given as uint32 or int32. Results are unsigned values of that size.
// - Shift and rotate counts are the raw count operand (CL or imm8): the ALU masks them to 5 bits
//   as the CPU does (SDM SAL/SAR/SHL/SHR, ROL/ROR/RCL/RCR, SHLD, SHRD: "masked to 5 bits"), and
//   a masked count of 0 changes neither the operand nor any flag.
// - Operations with two results (mul, imul1, div, idiv) leave them in public fields
//   (`resultLo`/`resultHi`, `quotient`/`remainder`) instead of allocating. The 8-bit forms
//   work on AX as a whole: mul/imul1 leave the 16-bit product (AX) in `resultLo`, and div/idiv
//   take the dividend AX as `lo` (see there).
// - cmp is `sub` with the result ignored, test is `and`, cmpxchg compares with `sub`, xadd is
//   `add`, not changes no flags (the CPU does it without the ALU).

export const FLAG_CF = 0x1;
export const FLAG_PF = 0x4;
export const FLAG_AF = 0x10;
export const FLAG_ZF = 0x40;
export const FLAG_SF = 0x80;
export const FLAG_TF = 0x100;
export const FLAG_IF = 0x200;
export const FLAG_DF = 0x400;
export const FLAG_OF = 0x800;
/** The six status flags this module owns (FLAG_IOPL, FLAG_NT, FLAG_RF... live in cpu.ts). */
export const ARITH_FLAGS = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF;

/** Jcc/SETcc/CMOVcc condition numbers (the low nibble of the opcode, SDM vol. 2 Appendix B). */
export const CC_O = 0;
export const CC_NO = 1;
export const CC_B = 2;
export const CC_AE = 3;
export const CC_E = 4;
export const CC_NE = 5;
export const CC_BE = 6;
export const CC_A = 7;
export const CC_S = 8;
export const CC_NS = 9;
export const CC_P = 10;
export const CC_NP = 11;
export const CC_L = 12;
export const CC_GE = 13;
export const CC_LE = 14;
export const CC_G = 15;

// ---- lazy kinds: what the last flag-writing operation was ---------------------------------------
// Each kind says how to derive the flags from the recorded fields `a`, `b`, `res`, `cfx` and the
// sign-bit position `sh` (size - 1). ZF, SF and PF always come from `res` except for K_EFLAGS.

/** Flags are materialised in `flags` (after popf/sahf/rotates/bt/clc... and at reset). */
const K_EFLAGS = 0;
/** add, adc (and xadd): res = a + b (+ carry in); CF and OF from the carry formulas. */
const K_ADD = 1;
/** sub, sbb, cmp, neg (0 - a): res = a - b (- borrow in). */
const K_SUB = 2;
/** and, or, xor, test, and bsf/bsr on their source: CF = OF = 0, AF = 0. */
const K_LOGIC = 3;
/** inc: as add with b = 1, but CF is the one before the instruction, kept in `cfx`. */
const K_INC = 4;
/** dec: as sub with b = 1, CF kept in `cfx`. */
const K_DEC = 5;
/** shl/sal and shld: `a` is the value shifted left by count - 1, so CF is its sign bit. */
const K_SHL = 6;
/** shr, sar and shrd: `a` is the value shifted right by count - 1, so CF is its bit 0. */
const K_SAR = 7;
/** mul and imul (all forms): CF = OF = `cfx` (1 when the result did not fit). */
const K_MUL = 8;

/** Mask of the low `size` bits as an int32 (-1 for 32). */
function maskOf(size: number): number {
  return (-1 >>> (32 - size)) | 0;
}

/** 1 when the low byte of `v` has an even number of set bits (PF, SDM vol. 1 §3.4.3.1). */
function parity(v: number): number {
  // 0x6996 is the 16-entry table "nibble has odd parity"; fold the byte into one nibble.
  return ((0x6996 >>> ((v ^ (v >>> 4)) & 0xf)) & 1) ^ 1;
}

export class Alu {
  // ---- lazy state (see the K_* kinds) ----
  private kind = K_EFLAGS;
  /** sign-bit position of the recorded operation: size - 1 */
  private sh = 31;
  private a = 0;
  private b = 0;
  private res = 0;
  /** the saved CF (K_INC, K_DEC) or the overflow bit (K_MUL) */
  private cfx = 0;
  /** materialised arithmetic flags (K_EFLAGS) */
  private flags = 0;

  // ---- second results of mul / imul1 / div / idiv (uint32 values of the operand size) ----
  /**
   * mul/imul1: what goes to the accumulator: AX (the whole 16-bit product) for 8-bit operands,
   * AX or EAX (the low half) for 16/32-bit ones.
   */
  resultLo = 0;
  /** mul/imul1: the high half of the product: AH, DX or EDX. */
  resultHi = 0;
  /** div/idiv: quotient (AL, AX or EAX) when they returned true */
  quotient = 0;
  /** div/idiv: remainder (AH, DX or EDX) when they returned true */
  remainder = 0;

  // ---- reading and writing the flags ------------------------------------------------------------

  /** All six arithmetic flags as EFLAGS bits (materialises the lazy state, does not change it). */
  arithFlags(): number {
    if (this.kind === K_EFLAGS) return this.flags;
    const res = this.res;
    return (
      this.cfBit() |
      (parity(res) << 2) |
      this.afBits() |
      (res === 0 ? FLAG_ZF : 0) |
      (((res >>> this.sh) & 1) << 7) |
      (this.ofBit() << 11)
    );
  }

  /** Replace the arithmetic flags (popf, sahf, iret...): bits outside ARITH_FLAGS are ignored. */
  setArithFlags(bits: number): void {
    this.flags = bits & ARITH_FLAGS;
    this.kind = K_EFLAGS;
  }

  cf(): boolean {
    return this.cfBit() !== 0;
  }
  pf(): boolean {
    return this.kind === K_EFLAGS ? (this.flags & FLAG_PF) !== 0 : parity(this.res) !== 0;
  }
  af(): boolean {
    return this.afBits() !== 0;
  }
  zf(): boolean {
    return this.kind === K_EFLAGS ? (this.flags & FLAG_ZF) !== 0 : this.res === 0;
  }
  sf(): boolean {
    return this.sfBit() !== 0;
  }
  of(): boolean {
    return this.ofBit() !== 0;
  }

  /** Set or clear CF keeping the other flags (clc, stc, cmc; the bt family). */
  setCF(v: boolean): void {
    this.flags = (this.arithFlags() & ~FLAG_CF) | (v ? FLAG_CF : 0);
    this.kind = K_EFLAGS;
  }

  /**
   * The Jcc/SETcc/CMOVcc condition `cc` (0..15 in encoding order: o no b ae e ne be a s ns p np
   * l ge le g; SDM vol. 2 Appendix B "Condition Tests"). Odd numbers are the negations.
   */
  condition(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0:
        r = this.ofBit() !== 0;
        break;
      case 1:
        r = this.cfBit() !== 0;
        break;
      case 2:
        r = this.zf();
        break;
      case 3:
        r = this.cfBit() !== 0 || this.zf();
        break;
      case 4:
        r = this.sfBit() !== 0;
        break;
      case 5:
        r = this.pf();
        break;
      case 6:
        r = this.sfBit() !== this.ofBit();
        break;
      default:
        r = this.zf() || this.sfBit() !== this.ofBit();
        break;
    }
    return (cc & 1) === 0 ? r : !r;
  }

  // ---- lazy evaluation ------------------------------------------------------------------------

  private cfBit(): number {
    const a = this.a;
    const b = this.b;
    const res = this.res;
    switch (this.kind) {
      case K_ADD:
        // Carry out of the sign bit: majority of a, b and the carry into it; valid with or
        // without a carry in, so add and adc share the kind.
        return (((a & b) | ((a | b) & ~res)) >>> this.sh) & 1;
      case K_SUB:
        // Borrow out of the sign bit; valid with or without a borrow in (sub and sbb).
        return (((~a & b) | ((~a | b) & res)) >>> this.sh) & 1;
      case K_LOGIC:
        return 0;
      case K_INC:
      case K_DEC:
      case K_MUL:
        return this.cfx;
      case K_SHL:
        return (a >>> this.sh) & 1;
      case K_SAR:
        return a & 1;
      default:
        return this.flags & FLAG_CF;
    }
  }

  private ofBit(): number {
    const a = this.a;
    const b = this.b;
    const res = this.res;
    switch (this.kind) {
      case K_ADD:
      case K_INC:
        // Both operands have the same sign and the result has the other one.
        return (((a ^ res) & (b ^ res)) >>> this.sh) & 1;
      case K_SUB:
      case K_DEC:
        // The operands have different signs and the result has the subtrahend's sign.
        return (((a ^ b) & (a ^ res)) >>> this.sh) & 1;
      case K_LOGIC:
        return 0;
      case K_SHL:
      case K_SAR:
        // SDM: for 1-bit shifts OF = MSB(result) XOR CF (shl), MSB(original) (shr), 0 (sar);
        // all three are MSB(value shifted by count-1) XOR MSB(result). For larger counts OF is
        // undefined and QEMU (compute_all_shl/sar) applies the same formula: so do we.
        return ((a ^ res) >>> this.sh) & 1;
      case K_MUL:
        return this.cfx;
      default:
        return (this.flags >>> 11) & 1;
    }
  }

  /** AF as its EFLAGS bit (0 or 0x10). */
  private afBits(): number {
    switch (this.kind) {
      case K_ADD:
      case K_SUB:
      case K_INC:
      case K_DEC:
        // Carry or borrow out of bit 3 shows in bit 4 of a ^ b ^ res.
        return (this.a ^ this.b ^ this.res) & FLAG_AF;
      case K_EFLAGS:
        return this.flags & FLAG_AF;
      default:
        // Logic ops, shifts, mul/imul, bsf/bsr: AF is undefined (SDM); QEMU's compute_all_logic,
        // _shl, _sar and _mul all return AF = 0.
        return 0;
    }
  }

  private sfBit(): number {
    return this.kind === K_EFLAGS ? (this.flags >>> 7) & 1 : (this.res >>> this.sh) & 1;
  }

  // ---- add and subtract (SDM vol. 2: ADD, ADC, SUB, SBB, CMP, NEG, INC, DEC) -------------------

  add(a: number, b: number, size: number): number {
    const res = (a + b) & maskOf(size);
    this.kind = K_ADD;
    this.sh = size - 1;
    this.a = a | 0;
    this.b = b | 0;
    this.res = res;
    return res >>> 0;
  }

  /** a + b + CF. */
  adc(a: number, b: number, size: number): number {
    const res = (a + b + this.cfBit()) & maskOf(size);
    this.kind = K_ADD;
    this.sh = size - 1;
    this.a = a | 0;
    this.b = b | 0;
    this.res = res;
    return res >>> 0;
  }

  /** a - b; also cmp (result ignored). */
  sub(a: number, b: number, size: number): number {
    const res = (a - b) & maskOf(size);
    this.kind = K_SUB;
    this.sh = size - 1;
    this.a = a | 0;
    this.b = b | 0;
    this.res = res;
    return res >>> 0;
  }

  /** a - b - CF. */
  sbb(a: number, b: number, size: number): number {
    const res = (a - b - this.cfBit()) & maskOf(size);
    this.kind = K_SUB;
    this.sh = size - 1;
    this.a = a | 0;
    this.b = b | 0;
    this.res = res;
    return res >>> 0;
  }

  /** 0 - a: SDM NEG sets CF = (source != 0), which is exactly the borrow of 0 - a. */
  neg(a: number, size: number): number {
    return this.sub(0, a, size);
  }

  /** a + 1, CF unchanged (SDM INC). */
  inc(a: number, size: number): number {
    const cf = this.cfBit();
    const res = (a + 1) & maskOf(size);
    this.kind = K_INC;
    this.sh = size - 1;
    this.a = a | 0;
    this.b = 1;
    this.res = res;
    this.cfx = cf;
    return res >>> 0;
  }

  /** a - 1, CF unchanged (SDM DEC). */
  dec(a: number, size: number): number {
    const cf = this.cfBit();
    const res = (a - 1) & maskOf(size);
    this.kind = K_DEC;
    this.sh = size - 1;
    this.a = a | 0;
    this.b = 1;
    this.res = res;
    this.cfx = cf;
    return res >>> 0;
  }

  // ---- logic (SDM AND, OR, XOR, TEST: CF = OF = 0; SF ZF PF from the result; AF undefined) -----
  // AF: QEMU's compute_all_logic gives 0.

  /** a & b; also test (result ignored). */
  and(a: number, b: number, size: number): number {
    return this.logic(a & b, size);
  }
  or(a: number, b: number, size: number): number {
    return this.logic(a | b, size);
  }
  xor(a: number, b: number, size: number): number {
    return this.logic(a ^ b, size);
  }

  private logic(v: number, size: number): number {
    const res = v & maskOf(size);
    this.kind = K_LOGIC;
    this.sh = size - 1;
    this.res = res;
    return res >>> 0;
  }

  // ---- shifts (SDM SAL/SAR/SHL/SHR) ------------------------------------------------------------
  // CF = last bit shifted out; OF see ofBit(); SF ZF PF from the result; AF undefined (QEMU: 0).
  // CF for shl/shr with count >= size is undefined: we shift the zero-extended value in 32 bits
  // as QEMU does, so it is the bit that would have been shifted out (0 beyond the operand).

  shl(a: number, count: number, size: number): number {
    const mask = maskOf(size);
    count &= 31;
    if (count === 0) return (a & mask) >>> 0;
    const t = (a & mask) << (count - 1);
    const res = (t << 1) & mask;
    this.kind = K_SHL;
    this.sh = size - 1;
    this.a = t;
    this.res = res;
    return res >>> 0;
  }

  shr(a: number, count: number, size: number): number {
    const mask = maskOf(size);
    count &= 31;
    if (count === 0) return (a & mask) >>> 0;
    const t = (a & mask) >>> (count - 1);
    const res = t >>> 1;
    this.kind = K_SAR;
    this.sh = size - 1;
    this.a = t | 0;
    this.res = res | 0;
    return res;
  }

  sar(a: number, count: number, size: number): number {
    const mask = maskOf(size);
    count &= 31;
    if (count === 0) return (a & mask) >>> 0;
    const ext = 32 - size;
    // Sign-extend to 32 bits, then shift (as QEMU does): counts >= size fill with the sign, and
    // CF is the sign as the SDM's loop gives.
    const t = ((a << ext) >> ext) >> (count - 1);
    const res = (t >> 1) & mask;
    this.kind = K_SAR;
    this.sh = size - 1;
    this.a = t;
    this.res = res;
    return res >>> 0;
  }

  // ---- rotates (SDM RCL/RCR/ROL/ROR) -----------------------------------------------------------
  // Only CF and OF change (so the flags are materialised, as QEMU does with CC_OP_ADCOX / helpers).
  // OF is defined for a masked count of 1 only; for other counts we apply the same formula, as
  // QEMU does. With a masked count of 0 nothing changes.

  rol(a: number, count: number, size: number): number {
    const mask = maskOf(size);
    const v = a & mask;
    count &= 31;
    if (count === 0) return v >>> 0;
    // A count that is a multiple of the size leaves the value but still sets the flags (SDM:
    // "IF (COUNT & COUNTMASK) != 0 THEN CF <- LSB(DEST)").
    const r = count & (size - 1);
    const res = r === 0 ? v : ((v << r) | (v >>> (size - r))) & mask;
    const cf = res & 1;
    const of = ((res >>> (size - 1)) & 1) ^ cf;
    this.setCfOf(cf, of);
    return res >>> 0;
  }

  ror(a: number, count: number, size: number): number {
    const mask = maskOf(size);
    const v = a & mask;
    count &= 31;
    if (count === 0) return v >>> 0;
    const r = count & (size - 1);
    const res = r === 0 ? v : ((v >>> r) | (v << (size - r))) & mask;
    // SDM ROR: CF <- MSB(DEST); OF <- MSB(DEST) XOR MSB-1(DEST).
    const cf = (res >>> (size - 1)) & 1;
    const of = cf ^ ((res >>> (size - 2)) & 1);
    this.setCfOf(cf, of);
    return res >>> 0;
  }

  /** Rotate left through CF: a size+1 bit rotation (count mod 9 or 17 for 8/16 bits). */
  rcl(a: number, count: number, size: number): number {
    const mask = maskOf(size);
    const v = a & mask;
    count &= 31;
    const n = size === 32 ? count : count % (size + 1);
    // SDM: tempCOUNT = 0 rotates nothing, so CF is kept; OF is then undefined (count != 1) and
    // QEMU's helper_rcl leaves it too.
    if (n === 0) return v >>> 0;
    const cin = this.cfBit();
    // QEMU helper_rcl's formula (cc_helper_template.h).
    let res = (v << n) | (cin << (n - 1));
    if (n > 1) res |= v >>> (size + 1 - n);
    res &= mask;
    const cf = (v >>> (size - n)) & 1;
    // SDM: OF = MSB(DEST) XOR CF after a 1-bit rotate, i.e. MSB(old) XOR MSB(new).
    const of = ((v ^ res) >>> (size - 1)) & 1;
    this.setCfOf(cf, of);
    return res >>> 0;
  }

  /** Rotate right through CF. */
  rcr(a: number, count: number, size: number): number {
    const mask = maskOf(size);
    const v = a & mask;
    count &= 31;
    const n = size === 32 ? count : count % (size + 1);
    if (n === 0) return v >>> 0;
    const cin = this.cfBit();
    // QEMU helper_rcr's formula.
    let res = (v >>> n) | (cin << (size - n));
    if (n > 1) res |= v << (size + 1 - n);
    res &= mask;
    const cf = (v >>> (n - 1)) & 1;
    // SDM: OF = MSB(DEST) XOR CF before a 1-bit rotate, i.e. MSB(old) XOR MSB(new).
    const of = ((v ^ res) >>> (size - 1)) & 1;
    this.setCfOf(cf, of);
    return res >>> 0;
  }

  private setCfOf(cf: number, of: number): void {
    this.flags = (this.arithFlags() & ~(FLAG_CF | FLAG_OF)) | cf | (of << 11);
    this.kind = K_EFLAGS;
  }

  // ---- double shifts (SDM SHLD, SHRD; size 16 or 32) ---------------------------------------------
  // Flags as for shl / shr: CF = last bit out of `dst`, OF by the 1-bit formula for every count
  // (QEMU gen_shift_flags), AF = 0. A 16-bit count of 17..31 gives an undefined result and flags;
  // we do what QEMU does ("Intel behaviour": the 48-bit dst:src:dst is shifted).

  /** dst shifted left, filled from the high bits of src. */
  shld(dst: number, src: number, count: number, size: number): number {
    const mask = maskOf(size);
    const d = dst & mask;
    count &= 31;
    if (count === 0) return d >>> 0;
    let t: number;
    let res: number;
    if (size === 32) {
      t = d << (count - 1);
      res = (d << count) | (src >>> (32 - count));
    } else {
      // QEMU gen_shiftd_rm_T1, MO_16: T1 = src:dst as 32 bits.
      const sd = d | ((src & 0xffff) << 16);
      t = (d << (count - 1)) | (sd >>> (33 - count));
      res = ((d << count) | (sd >>> (32 - count))) & 0xffff;
    }
    this.kind = K_SHL;
    this.sh = size - 1;
    this.a = t;
    this.res = res;
    return res >>> 0;
  }

  /** dst shifted right, filled from the low bits of src. */
  shrd(dst: number, src: number, count: number, size: number): number {
    const mask = maskOf(size);
    const d = dst & mask;
    count &= 31;
    if (count === 0) return d >>> 0;
    let t: number;
    let res: number;
    if (size === 32) {
      t = d >>> (count - 1);
      res = (d >>> count) | (src << (32 - count));
    } else {
      // QEMU gen_shiftd_rm_T1, MO_16: the shifted value is src:dst, refilled from dst.
      const sd = d | ((src & 0xffff) << 16);
      t = sd >>> (count - 1);
      res = ((sd >>> count) | (d << (32 - count))) & 0xffff;
    }
    this.kind = K_SAR;
    this.sh = size - 1;
    this.a = t | 0;
    this.res = res | 0;
    return res >>> 0;
  }

  // ---- multiply (SDM MUL, IMUL) ------------------------------------------------------------------
  // CF = OF = 1 when the high half is significant. SF ZF AF PF are undefined; QEMU's
  // compute_all_mul takes SF ZF PF from the low half of the result and sets AF = 0: so do we.

  /** Unsigned a * b into `resultLo` (AX / AX / EAX) and `resultHi` (AH / DX / EDX). */
  mul(a: number, b: number, size: number): void {
    let lo: number;
    let hi: number;
    if (size === 32) {
      this.mul32(a >>> 0, b >>> 0);
      lo = this.resultLo;
      hi = this.resultHi;
    } else {
      const mask = maskOf(size);
      const p = (a & mask) * (b & mask);
      lo = p & mask;
      hi = p >>> size;
      this.resultLo = size === 8 ? p : lo;
      this.resultHi = hi;
    }
    this.kind = K_MUL;
    this.sh = size - 1;
    this.res = lo | 0;
    this.cfx = hi !== 0 ? 1 : 0;
  }

  /** Signed one-operand imul: `resultLo` / `resultHi` as for mul. */
  imul1(a: number, b: number, size: number): void {
    this.imulInto(a, b, size);
  }

  /** Two- and three-operand imul: the product truncated to `size` bits (flags as imul1). */
  imul(a: number, b: number, size: number): number {
    return this.imulInto(a, b, size);
  }

  /** Signed a * b: sets resultLo/resultHi and the flags, returns the truncated product. */
  private imulInto(a: number, b: number, size: number): number {
    let lo: number;
    let overflow: boolean;
    if (size === 32) {
      this.mul32(a >>> 0, b >>> 0);
      lo = this.resultLo;
      // Signed high half from the unsigned one: subtract b·2^32 if a < 0 and a·2^32 if b < 0.
      const hi = (this.resultHi - ((a | 0) < 0 ? b >>> 0 : 0) - ((b | 0) < 0 ? a >>> 0 : 0)) >>> 0;
      this.resultHi = hi;
      overflow = (hi | 0) !== (lo | 0) >> 31;
    } else {
      const ext = 32 - size;
      const p = ((a << ext) >> ext) * ((b << ext) >> ext);
      const mask = maskOf(size);
      lo = p & mask;
      this.resultLo = size === 8 ? p & 0xffff : lo;
      this.resultHi = (p >> size) & mask;
      overflow = (lo << ext) >> ext !== p;
    }
    this.kind = K_MUL;
    this.sh = size - 1;
    this.res = lo | 0;
    this.cfx = overflow ? 1 : 0;
    return lo >>> 0;
  }

  /** Exact 32×32→64 unsigned product into resultLo/resultHi (16-bit limbs stay below 2^53). */
  private mul32(a: number, b: number): void {
    const aL = a & 0xffff;
    const aH = a >>> 16;
    const bL = b & 0xffff;
    const bH = b >>> 16;
    const ll = aL * bL;
    const lh = aL * bH;
    const hl = aH * bL;
    const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
    this.resultLo = ((mid << 16) | (ll & 0xffff)) >>> 0;
    this.resultHi = (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
  }

  // ---- divide (SDM DIV, IDIV) -------------------------------------------------------------------
  // The dividend is hi:lo: DX:AX or EDX:EAX, and for 8-bit operands AX, given as `lo` with `hi`
  // 0 (or hi = AH, lo = AL: the 16-bit dividend is (hi << 8 | lo) & 0xffff either way). Results
  // in `quotient` (AL, AX, EAX) and `remainder` (AH, DX, EDX). All six flags are undefined;
  // QEMU's helper_div*/idiv* leave them unchanged, and so do we.

  /** Unsigned hi:lo / divisor. false means #DE (divisor 0 or quotient too large). */
  div(hi: number, lo: number, divisor: number, size: number): boolean {
    const mask = maskOf(size);
    if (size === 32) {
      const h = hi >>> 0;
      const l = lo >>> 0;
      const d = divisor >>> 0;
      if (d === 0 || h >= d) return false;
      this.divu64(h, l, d);
      return true;
    }
    const d = divisor & mask;
    if (d === 0) return false;
    const n = size === 8 ? ((hi << 8) | lo) & 0xffff : (hi & 0xffff) * 0x10000 + (lo & 0xffff);
    const q = Math.floor(n / d);
    if (q > mask) return false;
    this.quotient = q;
    this.remainder = n - q * d;
    return true;
  }

  /** Signed hi:lo / divisor (quotient truncated toward 0, remainder has the dividend's sign). */
  idiv(hi: number, lo: number, divisor: number, size: number): boolean {
    if (size === 32) {
      const dv = divisor | 0;
      if (dv === 0) return false;
      let h = hi | 0;
      let l = lo >>> 0;
      const neg = h < 0;
      if (neg) {
        // Two's-complement negation of the 64-bit dividend.
        l = -l >>> 0;
        h = ~h + (l === 0 ? 1 : 0);
      }
      const dm = Math.abs(dv);
      if (h >>> 0 >= dm) return false;
      this.divu64(h >>> 0, l, dm);
      const q = this.quotient;
      const qneg = neg !== dv < 0;
      if (q > (qneg ? 0x80000000 : 0x7fffffff)) return false;
      if (qneg) this.quotient = -q >>> 0;
      if (neg) this.remainder = -this.remainder >>> 0;
      return true;
    }
    const mask = maskOf(size);
    const ext = 32 - size;
    const d = (divisor << ext) >> ext;
    if (d === 0) return false;
    // the sign-extended dividend
    const n = size === 8 ? (((hi << 8) | lo) << 16) >> 16 : (hi << 16) | (lo & 0xffff);
    const q = Math.trunc(n / d);
    const limit = 1 << (size - 1);
    if (q >= limit || q < -limit) return false;
    this.quotient = q & mask;
    this.remainder = (n - q * d) & mask;
    return true;
  }

  /**
   * h:l / d for h < d (so the quotient fits 32 bits), by two 16-bit long-division steps whose
   * partial dividends stay below 2^48, where doubles are exact.
   */
  private divu64(h: number, l: number, d: number): void {
    if (h === 0) {
      const q = Math.floor(l / d);
      this.quotient = q;
      this.remainder = l - q * d;
      return;
    }
    const n1 = h * 0x10000 + (l >>> 16);
    const q1 = Math.floor(n1 / d);
    const n0 = (n1 - q1 * d) * 0x10000 + (l & 0xffff);
    const q0 = Math.floor(n0 / d);
    this.quotient = q1 * 0x10000 + q0;
    this.remainder = n0 - q0 * d;
  }

  // ---- bit test and scan (SDM BT, BTS, BTR, BTC, BSF, BSR; size 16 or 32) ------------------------
  // BT*: CF = the selected bit, ZF unaffected, OF SF AF PF undefined: we keep them, as QEMU's
  // generic path does (its fast path after arithmetic instead leaves AF = 0 and an OF derived
  // from the previous result). `bit` is taken modulo the operand size, as for a register
  // operand; for a memory bit string the caller has already moved the address.

  /** CF = bit `bit` of `value`. */
  bt(value: number, bit: number, size: number): void {
    this.setCF(((value >>> (bit & (size - 1))) & 1) !== 0);
  }

  /** bt, then returns the value with the bit set. */
  bts(value: number, bit: number, size: number): number {
    const m = 1 << (bit & (size - 1));
    this.setCF((value & m) !== 0);
    return ((value | m) & maskOf(size)) >>> 0;
  }

  /** bt, then returns the value with the bit cleared. */
  btr(value: number, bit: number, size: number): number {
    const m = 1 << (bit & (size - 1));
    this.setCF((value & m) !== 0);
    return (value & ~m & maskOf(size)) >>> 0;
  }

  /** bt, then returns the value with the bit complemented. */
  btc(value: number, bit: number, size: number): number {
    const m = 1 << (bit & (size - 1));
    this.setCF((value & m) !== 0);
    return ((value ^ m) & maskOf(size)) >>> 0;
  }

  // BSF/BSR: ZF = (source == 0); the destination is undefined for a zero source, and real CPUs
  // (and QEMU) leave it unchanged: we return -1 and the CPU does not write it. CF OF SF AF PF
  // are undefined; QEMU sets CC_OP_LOGIC on the source (CF = OF = AF = 0, SF and PF from the
  // source): so do we.

  /** Index of the lowest set bit of `src`, or -1 (ZF = 1) when it is 0. */
  bsf(src: number, size: number): number {
    const s = src & maskOf(size);
    this.kind = K_LOGIC;
    this.sh = size - 1;
    this.res = s;
    return s === 0 ? -1 : 31 - Math.clz32(s & -s);
  }

  /** Index of the highest set bit of `src`, or -1 (ZF = 1) when it is 0. */
  bsr(src: number, size: number): number {
    const s = src & maskOf(size);
    this.kind = K_LOGIC;
    this.sh = size - 1;
    this.res = s;
    return s === 0 ? -1 : 31 - Math.clz32(s);
  }
}
