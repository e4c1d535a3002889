// VMX non-root operation of the simulated CPU (Intel SDM vol. 3C, chapters 24–28, reduced to
// what a 32-bit guest of this machine meets): the guest runs at its own CPL 0 while a control
// structure chosen by a hypervisor decides which instructions exit to it (after the
// instruction's own privilege checks, which have priority: SDM 25.1.1), which bits of CR0 and
// CR4 the hypervisor owns (reads of them see the read shadow, writes that would change them
// exit: SDM 25.3), and, with nested paging, the second table every guest-physical address is
// translated through (SDM 28.3: EPT). Exceptions and interrupts reach the hypervisor through
// the CPU's DeliveryHook, as the exception bitmap and external-interrupt exiting say.

import { type DecodedInstruction } from '../isa/decoder';
import { type Cpu } from './cpu';
import { ioAccess } from './exec';

/** An instruction that exits to the hypervisor instead of executing (a typed value, thrown by
 *  the executor and caught by the batch loop, as faults are). */
export class InstructionExit {
  constructor(readonly insn: DecodedInstruction) {}
}

/** A guest-physical access the nested page table does not allow (SDM 28.3.3.2). */
export class EptViolation {
  constructor(
    /** the guest-physical address */
    readonly guestPhysical: number,
    readonly write: boolean,
  ) {}
}

/** The hypervisor side of non-root operation: its control structure and its exit handler. */
export interface VmxHost {
  /** does this instance of an exiting form exit (which CR, which value)? */
  exits(insn: DecodedInstruction): boolean;
  /** handle an instruction exit; `cpu.insnStart` names the instruction, not retired */
  instructionExit(exit: InstructionExit): void;
  /** handle an EPT violation; the instruction at `cpu.insnStart` did not retire (or the event
   *  being delivered was not, `duringDelivery`) */
  eptViolation(violation: EptViolation, duringDelivery: boolean): void;
}

/**
 * Nested paging: the hypervisor's 2-level table from guest-physical to host-physical memory
 * (4 KiB pages; the root is a page directory in the hypervisor's own memory). Every entry the
 * CPU reads of it is one memory reference of a two-dimensional walk.
 */
export interface NestedPaging {
  /** host-physical address of the nested page directory */
  readonly root: number;
}

/**
 * The VM-execution controls of the control structure (SDM 24.6), as far as this machine
 * needs them: which instructions and events exit. cpuid, vmcall, rdmsr and wrmsr exit
 * unconditionally (no MSR bitmap), as VT-x makes them.
 */
export interface VmExecutionControls {
  /** I/O bitmaps A and B (SDM 24.6.4): one bit per port, set = an access to it exits */
  readonly ioBitmap: Uint8Array;
  hltExiting: boolean;
  cr3LoadExiting: boolean;
  cr3StoreExiting: boolean;
  invlpgExiting: boolean;
  externalInterruptExiting: boolean;
  /** one bit per exception vector: set = the exception exits instead of going to the guest */
  exceptionBitmap: number;
}

/** Controls that exit on every port, hlt and external interrupt, and on nothing else yet. */
export function defaultControls(): VmExecutionControls {
  return {
    ioBitmap: new Uint8Array(65536 / 8).fill(0xff),
    hltExiting: true,
    cr3LoadExiting: false,
    cr3StoreExiting: false,
    invlpgExiting: false,
    externalInterruptExiting: true,
    exceptionBitmap: 0,
  };
}

/** The forms that can exit under some controls (the interpreter marks them once). */
export const EXITING_OPS: ReadonlySet<string> = new Set([
  'in',
  'out',
  'ins',
  'outs',
  'hlt',
  'cpuid',
  'rdmsr',
  'wrmsr',
  'vmcall',
  'mov-to-cr',
  'mov-from-cr',
  'invlpg',
]);

/**
 * Does this instruction exit under these controls (SDM 25.1.3)? CR0/CR4 writes exit when they
 * would change a bit the hypervisor owns (the CPU's guest/host masks against the read shadows).
 */
export function instructionExits(
  cpu: Cpu,
  controls: VmExecutionControls,
  insn: DecodedInstruction,
): boolean {
  switch (insn.form.op) {
    case 'cpuid':
    case 'rdmsr':
    case 'wrmsr':
    case 'vmcall':
      return true;
    case 'hlt':
      return controls.hltExiting;
    case 'invlpg':
      return controls.invlpgExiting;
    case 'in':
    case 'out':
    case 'ins':
    case 'outs': {
      const { port, bytes } = ioAccess(cpu, insn);
      for (let p = port; p < port + bytes; p++) {
        // a port beyond 0xffff wraps and exits (SDM 25.1.3)
        if (p > 0xffff || controls.ioBitmap[p >>> 3]! & (1 << (p & 7))) return true;
      }
      return false;
    }
    case 'mov-from-cr':
      return insn.reg === 3 && controls.cr3StoreExiting;
    case 'mov-to-cr': {
      const v = cpu.getReg(insn.rm, 32);
      if (insn.reg === 0) return ((v ^ cpu.cr0ReadShadow) & cpu.cr0GuestHostMask) !== 0;
      if (insn.reg === 4) return ((v ^ cpu.cr4ReadShadow) & cpu.cr4GuestHostMask) !== 0;
      return insn.reg === 3 && controls.cr3LoadExiting;
    }
    default:
      return false;
  }
}
