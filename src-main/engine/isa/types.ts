// The vocabulary of the opcode table: operand kinds, sizes, privilege checks, control-flow kinds
// and cost classes. The table (table.ts) is written in these terms, and the decoder, executor,
// disassembler, encoder and Popek–Goldberg classifier read nothing else about an instruction.

/** Where an operand comes from in the encoding. */
export type OperandKind =
  /** general register in ModRM.reg */
  | 'reg'
  /** register or memory in ModRM.rm */
  | 'rm'
  /** ModRM.rm restricted to a register (mod = 3) */
  | 'rmreg'
  /** ModRM.rm restricted to memory (mod != 3) */
  | 'mem'
  /** general register in the low three bits of the last opcode byte (the "+r" forms) */
  | 'opreg'
  /** immediate of the operand's size */
  | 'imm'
  /** 8-bit immediate sign-extended to the operand size */
  | 'simm8'
  /** relative branch displacement (8-bit, or of the operand size) */
  | 'rel'
  /** absolute 32-bit memory offset with no ModRM (A0–A3) */
  | 'moffs'
  /** segment register in ModRM.reg */
  | 'sreg'
  /** control register in ModRM.reg (mod is ignored: always a register) */
  | 'creg'
  /** an implied register named by `reg` (al, ax, eax, cl, dx, cs, …) */
  | 'fixed'
  /** the constant 1 of the shift-by-one forms */
  | 'one'
  /** a far pointer immediate ptr16:16 / ptr16:32 (EA, 9A) */
  | 'farptr';

/**
 * Operand size. `v` is the operand-size attribute: 32 bits, or 16 under a 0x66 prefix.
 * For memory-only operands: `far` is m16:16/m16:32 (also follows the 0x66 prefix), `desc` is the
 * 6-byte pseudo-descriptor of lgdt/lidt/sgdt/sidt, `none` an address whose size does not matter
 * (lea, invlpg, bound).
 */
export type OperandSize = 8 | 16 | 32 | 'v' | 'far' | 'desc' | 'none';

export type GeneralRegister32 = 'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi';
export type SegmentRegister = 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs';
export type FixedRegister = 'al' | 'ax' | 'eAX' | 'cl' | 'dx' | SegmentRegister;

export interface OperandSpec {
  readonly kind: OperandKind;
  readonly size: OperandSize;
  /** for kind `fixed`: the register. `eAX` means ax or eax by operand size. */
  readonly reg?: FixedRegister;
}

/**
 * The check the executor performs before the instruction has any effect.
 * - `none`: runs at any CPL.
 * - `cpl0`: #GP(0) unless CPL = 0 (Intel's "privileged instruction").
 * - `iopl`: #GP(0) unless CPL <= IOPL (cli, sti).
 * - `io`: CPL <= IOPL, else the TSS I/O permission bitmap decides (in, out, ins, outs).
 */
export type PrivilegeCheck = 'none' | 'cpl0' | 'iopl' | 'io';

/** How an instruction leaves the straight line: read by translation units and the tracer. */
export type FlowKind =
  | 'none'
  /** jmp rel: unconditional direct branch */
  | 'jump'
  /** jcc, loop, jecxz: conditional direct branch */
  | 'branch'
  /** call rel */
  | 'call'
  /** jmp r/m */
  | 'jump-indirect'
  /** call r/m */
  | 'call-indirect'
  /** ret, ret imm16 */
  | 'return'
  /** far jmp/call/ret: change CS */
  | 'far'
  /** iret */
  | 'iret'
  /** int n, int3, into, bound, ud2: raise an exception or software interrupt */
  | 'interrupt'
  /** hlt */
  | 'halt';

/**
 * Cost class: the base-cycle category an instruction is charged under. CPU profiles (the cost
 * model) map a class to cycles; `BASE_CYCLES` below is the machine's default profile-free clock
 * (MACHINE.md: one cycle per instruction until profiles exist).
 */
export type CostClass =
  | 'alu'
  | 'mul'
  | 'div'
  | 'branch'
  | 'memory'
  | 'string'
  | 'stack'
  | 'io'
  | 'system'
  | 'serializing';

/** Semantic operation: the executor dispatches on it (the same op has several encodings). */
export type SemanticOp = string;

/** A prefix an instruction accepts with meaning: `rep` (movs, stos, lods, ins, outs) or `repcc` (cmps, scas). */
export type RepeatKind = 'rep' | 'repcc';

export interface InstructionForm {
  /** Position in FORMS; stable within one build. */
  readonly id: number;
  /** NASM mnemonic used by the assembler and printed by the disassembler. */
  readonly mnemonic: string;
  /** Other NASM spellings the assembler accepts for the same form (je for jz, sal for shl…). */
  readonly aliases: readonly string[];
  /** Mnemonics that select this form at one operand size only (cwd/cdq, pushaw/pushad…). */
  readonly sizedMnemonics?: Readonly<Partial<Record<16 | 32, string>>>;
  /** Opcode bytes, including 0x0F for two-byte opcodes; for `opreg` forms the base (+0). */
  readonly opcode: readonly number[];
  /** ModRM.reg opcode extension ("/digit"), when the form has one. */
  readonly ext?: number;
  /** The whole ModRM byte is fixed (vmcall is 0F 01 C1). */
  readonly modrmByte?: number;
  readonly hasModrm: boolean;
  readonly operands: readonly OperandSpec[];
  /** Whether 0x66 changes the operand size of this form (it has a `v`-sized operand or is a sized string/stack op). */
  readonly sizeFollowsPrefix: boolean;
  readonly op: SemanticOp;
  /** Condition code 0–15 for jcc, setcc, cmovcc. */
  readonly cond?: number;
  /** ALU/shift sub-operation index taken from the opcode (add=0 … cmp=7; rol=0 … sar=7). */
  readonly sub?: number;
  /** Privilege check on classic IA-32. */
  readonly privilege: PrivilegeCheck;
  /** Privilege check on the `strict` ISA variant, where it differs (every sensitive instruction traps). */
  readonly strictPrivilege?: PrivilegeCheck;
  readonly flow: FlowKind;
  readonly cost: CostClass;
  readonly repeat?: RepeatKind;
  /** The assembler may emit this encoding (false for decode-only aliases such as 82 /n). */
  readonly encodable: boolean;
  /** Operand sizes NASM assembles this form at, when not both (jcc rel16 exists, but NASM has no syntax for it). */
  readonly encodableSizes?: readonly (16 | 32)[];
  /** The decoder maps bytes to this form (false for assembler-only operand orders such as `xchg r, r/m`). */
  readonly decodable: boolean;
}

export type IsaVariant = 'classic' | 'strict';

export const ISA_VARIANTS: readonly IsaVariant[] = ['classic', 'strict'];

/** The privilege check a form performs on the given ISA variant. */
export function privilegeOn(form: InstructionForm, isa: IsaVariant): PrivilegeCheck {
  return isa === 'strict' && form.strictPrivilege !== undefined
    ? form.strictPrivilege
    : form.privilege;
}

/** Default cycles per cost class before CPU profiles: one per instruction (MACHINE.md, PIT note). */
export const BASE_CYCLES: Readonly<Record<CostClass, number>> = {
  alu: 1,
  mul: 1,
  div: 1,
  branch: 1,
  memory: 1,
  string: 1,
  stack: 1,
  io: 1,
  system: 1,
  serializing: 1,
};

export const GPR32: readonly GeneralRegister32[] = [
  'eax',
  'ecx',
  'edx',
  'ebx',
  'esp',
  'ebp',
  'esi',
  'edi',
];
export const GPR16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'] as const;
export const GPR8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'] as const;
export const SREGS: readonly SegmentRegister[] = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
/** Control registers that exist (CR1 and CR5–7 raise #UD). */
export const CREGS = ['cr0', 'cr1', 'cr2', 'cr3', 'cr4'] as const;

/** Condition codes in encoding order, with NASM's canonical name first. */
export const CONDITIONS: readonly (readonly string[])[] = [
  ['o'],
  ['no'],
  ['c', 'b', 'nae'],
  ['nc', 'ae', 'nb'],
  ['z', 'e'],
  ['nz', 'ne'],
  ['na', 'be'],
  ['a', 'nbe'],
  ['s'],
  ['ns'],
  ['pe', 'p'],
  ['po', 'np'],
  ['l', 'nge'],
  ['nl', 'ge'],
  ['ng', 'le'],
  ['g', 'nle'],
];
