// Register names of the IA-32 subset, as the assembler reads them and the disassembler prints
// them: general registers by size, segment registers and control registers, with their
// encoding numbers (SDM vol. 2, table 2-2).

import { GPR16, GPR32, GPR8, SREGS } from './types';

export type RegisterClass = 'gpr' | 'sreg' | 'creg';

export interface RegisterInfo {
  readonly name: string;
  readonly class: RegisterClass;
  /** operand size in bits (segment registers 16, control registers 32) */
  readonly size: 8 | 16 | 32;
  /** the 3-bit encoding number */
  readonly index: number;
}

const registers = new Map<string, RegisterInfo>();
const add = (names: readonly string[], cls: RegisterClass, size: 8 | 16 | 32): void =>
  names.forEach((name, index) => registers.set(name, { name, class: cls, size, index }));
add(GPR32, 'gpr', 32);
add(GPR16, 'gpr', 16);
add(GPR8, 'gpr', 8);
add(SREGS, 'sreg', 16);
// All eight encodings are named so the assembler can write them; the decoder rejects CR1, CR5–7.
add(['cr0', 'cr1', 'cr2', 'cr3', 'cr4', 'cr5', 'cr6', 'cr7'], 'creg', 32);

/** The register called `name` (case-insensitive), or undefined. */
export function registerNamed(name: string): RegisterInfo | undefined {
  return registers.get(name.toLowerCase());
}

/** The name of general register `index` at `size` bits. */
export function gprName(index: number, size: 8 | 16 | 32): string {
  return (size === 32 ? GPR32 : size === 16 ? GPR16 : GPR8)[index]!;
}
