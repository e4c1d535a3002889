// The workbench's view of what a trap-and-emulate hypervisor cannot see on classic x86: the
// sensitive instructions that do not trap at CPL 1 (lecture §4.3–4.4: popf that silently keeps
// IF, pushf, sidt, smsw, str and reading CS revealing the real machine). The hypervisor is
// never told — this is a watch the workbench keeps beside it, so that a run that goes wrong
// can name the instruction that made it go wrong.
//
// Which forms are watched is derived from the opcode table, not listed here: exactly those
// the strict ISA makes trap and classic IA-32 does not check. The watch changes nothing about
// how they execute and costs no modeled cycle.

import { type SilentSensitive, type SilentEffect } from '../../../../../shared/results';
import { type DecodedInstruction } from '../../../isa/decoder';
import { formatInstruction } from '../../../isa/disasm';
import { FORMS } from '../../../isa/table';
import { privilegeOn } from '../../../isa/types';
import { FLAG_IF } from '../../../machine/alu';
import { type Cpu, SEG_CS } from '../../../machine/cpu';
import { type Interpreter } from '../../../machine/interpreter';
import { trapCause } from '../../instruction-cause';
import { HYPERVISOR_CR0, type VirtualCpu } from '../../virtual-cpu';

/** Effects kept (the rest are counted). */
export const SILENT_EFFECT_LIMIT = 1000;

/** Forms that trap on the strict ISA and run unchecked on classic: the silent ones. */
export function silentSensitiveForms(): number[] {
  return FORMS.filter(
    (f) => privilegeOn(f, 'classic') === 'none' && privilegeOn(f, 'strict') !== 'none',
  ).map((f) => f.id);
}

const hex = (n: number, digits = 1): string => '0x' + (n >>> 0).toString(16).padStart(digits, '0');

export class SilentSensitiveWatch {
  private executed = 0;
  private readonly byMnemonic = new Map<string, number>();
  /** by `eip|detail`: each instruction's effect once, with its first and last occurrence */
  private readonly effects = new Map<string, SilentEffect>();
  private effectsDropped = 0;

  constructor(
    private readonly cpu: Cpu,
    private readonly vcpu: VirtualCpu,
    /** how much serial output the guest has written so far (places an effect in the output) */
    private readonly outputBytes: () => number,
  ) {}

  install(interpreter: Interpreter): void {
    interpreter.watch(silentSensitiveForms(), (insn) => this.observe(insn));
  }

  private observe(insn: DecodedInstruction): void {
    const cpu = this.cpu;
    // only the deprivileged guest kernel: guest user code runs at its own CPL 3 as natively
    if (cpu.cpl !== 1 || this.vcpu.cpl !== 0) return;
    const op = insn.form.op;
    if (op === 'iret' || op === 'retf') {
      // to a lower RPL it faults and is emulated: not silent
      const size = insn.operandSize;
      if ((cpu.peek(size, size / 8) & 3) < cpu.cpl) return;
    }
    this.executed++;
    const name = trapCause(cpu, insn);
    this.byMnemonic.set(name, (this.byMnemonic.get(name) ?? 0) + 1);
    const detail = this.effect(insn);
    if (detail === undefined) return;
    const key = `${cpu.insnStart}|${detail}`;
    const seen = this.effects.get(key);
    if (seen) {
      seen.count++;
      seen.lastInstruction = cpu.instructions;
      return;
    }
    if (this.effects.size >= SILENT_EFFECT_LIMIT) {
      this.effectsDropped++;
      return;
    }
    this.effects.set(key, {
      instruction: cpu.instructions,
      outputBytes: this.outputBytes(),
      count: 1,
      lastInstruction: cpu.instructions,
      eip: cpu.insnStart,
      disasm: formatInstruction(insn, cpu.insnStart),
      mnemonic: name,
      detail,
    });
  }

  /** What the instruction does differently from the virtual CPU the guest believes in. */
  private effect(insn: DecodedInstruction): string | undefined {
    const cpu = this.cpu;
    const v = this.vcpu;
    const vif = v.interruptFlag ? 1 : 0;
    const size = insn.operandSize;
    switch (insn.form.op) {
      case 'popf': {
        const value = cpu.peek(size, 0);
        const want = value & FLAG_IF ? 1 : 0;
        if (want !== vif) {
          return `would have ${want ? 'set' : 'cleared'} IF; at CPL 1 the CPU keeps it, and the virtual IF stays ${vif}`;
        }
        const iopl = (value >>> 12) & 3;
        if (size === 32 && iopl !== v.iopl) {
          return `would have set IOPL ${iopl}; at CPL 1 the CPU keeps it (virtual IOPL stays ${v.iopl})`;
        }
        return undefined;
      }
      case 'iret': {
        const flags = cpu.peek(size, (2 * size) / 8);
        const want = flags & FLAG_IF ? 1 : 0;
        const cs = cpu.peek(size, size / 8) & 0xffff;
        if (want !== vif) {
          return `returns to ${hex(cs, 4)} directly and drops its IF=${want}: the virtual IF stays ${vif}`;
        }
        return undefined;
      }
      case 'pushf':
        if (vif !== 1) return `pushes IF=1 (the real flag); the virtual IF is 0`;
        if (v.iopl !== 0) return `pushes IOPL 0 (the real one); the virtual IOPL is ${v.iopl}`;
        return undefined;
      case 'mov-from-sreg':
      case 'push-sreg': {
        const reg = insn.form.op === 'mov-from-sreg' ? insn.reg : -1;
        const isCs = reg === SEG_CS || insn.form.operands[0]?.reg === 'cs';
        if (!isCs) return undefined;
        const real = cpu.segSel[SEG_CS]!;
        return `reads CS=${hex(real, 4)}: CPL 1, where the guest kernel expects ${hex(real & 0xfffc, 4)} (CPL 0)`;
      }
      case 'sidt':
        return `shows the hypervisor's IDT (${hex(cpu.idtrBase)}/${hex(cpu.idtrLimit, 4)}), not the guest's (${hex(v.idtrBase)}/${hex(v.idtrLimit, 4)})`;
      case 'str':
        return cpu.trSel !== v.trSel
          ? `shows TR=${hex(cpu.trSel, 4)}, not the guest's ${hex(v.trSel, 4)}`
          : undefined;
      case 'smsw':
        return (HYPERVISOR_CR0 & 0xffff) !== (v.cr0 & 0xffff)
          ? `shows the machine status word ${hex(HYPERVISOR_CR0 & 0xffff, 4)}, not the guest's ${hex(v.cr0 & 0xffff, 4)}`
          : undefined;
      default:
        // segment loads of non-ring-0 descriptors, sgdt/sldt (the guest's own tables here),
        // lar/lsl/verr/verw: counted, no effect the watch can judge
        return undefined;
    }
  }

  result(): SilentSensitive {
    return {
      executed: this.executed,
      byMnemonic: Object.fromEntries([...this.byMnemonic].sort((a, b) => b[1] - a[1])),
      effects: [...this.effects.values()].map((e) => ({ ...e })),
      effectsDropped: this.effectsDropped,
    };
  }
}
