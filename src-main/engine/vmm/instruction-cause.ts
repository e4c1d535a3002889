// How trap-and-emulate names an instruction in its results: the mnemonic, with the control
// register, segment register or I/O port that tells one trap cause from another
// (`mov cr3`, `out port 0x80`, `mov r/m, cs`, `iret`).

import { type DecodedInstruction } from '../isa/decoder';
import { SREGS } from '../isa/types';
import { type Cpu } from '../machine/cpu';
import { ioAccess } from '../machine/exec';

/** The trap's cause as the results show it: the mnemonic, with the port or register. */
export function trapCause(cpu: Cpu, insn: DecodedInstruction): string {
  const op = insn.form.op;
  switch (op) {
    case 'mov-to-cr':
      return `mov cr${insn.reg}`;
    case 'mov-from-cr':
      return `mov r32, cr${insn.reg}`;
    case 'mov-to-sreg':
      return `mov ${SREGS[insn.reg]}`;
    case 'mov-from-sreg':
      return `mov r/m, ${SREGS[insn.reg]}`;
    case 'push-sreg':
    case 'pop-sreg':
      return `${insn.form.mnemonic} ${insn.form.operands[0]!.reg}`;
    case 'in':
    case 'out':
    case 'ins':
    case 'outs':
      return `${op} port 0x${ioAccess(cpu, insn).port.toString(16)}`;
    default:
      return PLAIN_MNEMONIC[insn.form.mnemonic] ?? insn.form.mnemonic;
  }
}

const PLAIN_MNEMONIC: Readonly<Record<string, string>> = {
  iretd: 'iret',
  pushfd: 'pushf',
  popfd: 'popf',
};
