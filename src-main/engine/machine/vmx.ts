// VMX non-root operation of the simulated CPU (Intel SDM vol. 3C, chapters 24–28, reduced to
// what a 32-bit guest of this machine meets): the guest runs at its own CPL 0 while a control
// structure chosen by a hypervisor decides which instructions exit to it (after the
// instruction's own privilege checks, which have priority: SDM 25.1.1), which bits of CR0 and
// CR4 the hypervisor owns (reads of them see the read shadow, writes that would change them
// exit: SDM 25.3), and, with nested paging, the second table every guest-physical address is
// translated through (SDM 28.3: EPT). Exceptions and interrupts reach the hypervisor through
// the CPU's DeliveryHook, as the exception bitmap and external-interrupt exiting say.

import { type DecodedInstruction } from '../isa/decoder';

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
