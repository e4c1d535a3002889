// Executing one guest instruction on the guest's behalf, as a hypervisor that runs its guest
// deprivileged does it (trap-and-emulate after a trap, binary translation from a callout, and
// either of them to let one write through to a protected page): the real executor runs the
// instruction — with the virtual privileged state loaded when it is a sensitive one, so that
// the guest's own CPL, IOPL and TSS decide what it does — hidden faults on the way are fixed
// and the instruction restarted, and a fault that is the guest's is reflected to it. What a
// control-register access changed is kept in the VirtualCpu, and a change of the guest's
// paging loads the matching shadow.

import { type DecodedInstruction } from '../isa/decoder';
import { type Cpu, CR0_PE, CR0_PG, CR0_WP, type DeliverySource } from '../machine/cpu';
import { CpuException, VECTOR } from '../machine/exceptions';
import { SoftwareInterrupt } from '../machine/exec';
import { type Interpreter } from '../machine/interpreter';
import { type Machine } from '../machine/machine';
import { type ShadowPageTables } from './shadow-paging/shadow-page-tables';
import { type ShadowWriteWindow } from './shadow-paging/write-window';
import { GuestNotVirtualizable } from './technique';
import { type VirtualCpu } from './virtual-cpu';

/** At most this many retries of one guest instruction (hidden faults on its way) before it is
 *  called a livelock rather than looped on forever. */
export const MAX_ATTEMPTS = 16;

/** What executing an instruction for the guest needs from its hypervisor. */
export interface GuestExecution {
  readonly machine: Machine;
  readonly vcpu: VirtualCpu;
  readonly shadow: ShadowPageTables;
  readonly writes: ShadowWriteWindow;
  /** runs exactly one instruction with the ISA's own privilege checks */
  readonly executor: Interpreter;
  /** the technique, for messages */
  readonly technique: string;
  /** a page fault met on the way: the hypervisor's to fix (true) or the guest's */
  resolveNested(e: CpuException, savedCr2: number): boolean;
  /** deliver an event into the guest, as its CPU would */
  reflect(vector: number, errorCode: number | undefined, source: DeliverySource): void;
}

/**
 * Execute the instruction at `cpu.insnStart` for the guest: with the virtual privileged state
 * loaded (`virtual`), or as it is with a shadow entry opened for its write. It is counted once.
 */
export function executeForGuest(
  h: GuestExecution,
  virtual: boolean,
  insn?: DecodedInstruction,
): void {
  const cpu = h.machine.cpu;
  const vcpu = h.vcpu;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    cpu.eip = cpu.insnStart;
    const savedCr2 = virtual ? vcpu.cr2 : cpu.cr2;
    let thrown: unknown;
    if (virtual) {
      vcpu.enter();
      // a CR0 write is judged against the guest's own CR0 (what it changes, whether the TLB
      // is flushed); PG stays on so the instruction is still fetched through the shadow
      if (insn?.form.op === 'mov-to-cr') cpu.cr0 = (vcpu.cr0 | CR0_PG) >>> 0;
    }
    try {
      h.executor.executeOne();
    } catch (e) {
      thrown = e;
    }
    let linear = 0;
    if (thrown instanceof CpuException && thrown.vector === VECTOR.PF) linear = cpu.cr2;
    let pagingChanged = false;
    if (virtual) {
      if (thrown === undefined && insn) pagingChanged = captureControl(cpu, vcpu, h.shadow, insn);
      if (thrown instanceof CpuException && thrown.vector === VECTOR.PF) cpu.cr2 = savedCr2;
      vcpu.leave();
    }
    h.writes.close();
    if (thrown === undefined) {
      if (pagingChanged) loadGuestPaging(cpu, h.shadow, vcpu);
      // the trapped attempt (or the callout) and the execution counted it twice
      cpu.instructions--;
      if (virtual && cpu.halted && !vcpu.interruptFlag) {
        // hlt with the virtual IF clear: nothing can ever wake this virtual CPU
        h.machine.requestEnd({ kind: 'halted', eip: cpu.eip });
      }
      return;
    }
    if (thrown instanceof CpuException) {
      if (thrown.vector === VECTOR.PF) {
        cpu.cr2 = linear;
        if (h.resolveNested(thrown, virtual ? vcpu.cr2 : savedCr2)) continue;
        vcpu.cr2 = linear;
      }
      cpu.eip = cpu.insnStart;
      h.reflect(thrown.vector, thrown.errorCode, 'exception');
      return;
    }
    if (thrown instanceof SoftwareInterrupt) {
      h.reflect(thrown.vector, undefined, 'software');
      return;
    }
    throw thrown;
  }
  throw new GuestNotVirtualizable(
    `${h.technique}: the instruction at EIP=0x${cpu.insnStart.toString(16)} kept faulting ` +
      `(${MAX_ATTEMPTS} attempts): it writes one page through two mappings, which this hypervisor cannot emulate`,
  );
}

/**
 * After an emulated control-register access: keep what the guest wrote (the CPU held the
 * guest's values only while entered) and give reads the guest's values. Returns whether the
 * guest's paging changed.
 */
export function captureControl(
  cpu: Cpu,
  vcpu: VirtualCpu,
  shadow: ShadowPageTables,
  insn: DecodedInstruction,
): boolean {
  switch (insn.form.op) {
    case 'mov-to-cr':
      if (insn.reg === 0) {
        const changed = (vcpu.cr0 ^ cpu.cr0) >>> 0;
        vcpu.cr0 = cpu.cr0;
        return (changed & (CR0_PG | CR0_WP | CR0_PE)) !== 0;
      }
      if (insn.reg === 3) {
        vcpu.cr3 = cpu.cr3;
        return true;
      }
      if (insn.reg === 4) {
        const pse = ((vcpu.cr4 ^ cpu.cr4) & 0x10) !== 0;
        vcpu.cr4 = cpu.cr4;
        if (pse) shadow.dropAll();
        return true;
      }
      return false;
    case 'mov-from-cr': {
      const value = insn.reg === 0 ? vcpu.cr0 : insn.reg === 3 ? vcpu.cr3 : vcpu.cr4;
      if (insn.reg !== 2) cpu.setReg(insn.rm, 32, value);
      return false;
    }
    case 'lmsw':
    case 'clts':
      vcpu.cr0 = ((vcpu.cr0 & ~0xffff) | (cpu.cr0 & 0xffff)) >>> 0;
      return false;
    default:
      return false;
  }
}

/** The guest changed CR0.PG/WP/PE, CR3 or CR4: load the matching shadow (a TLB flush). */
export function loadGuestPaging(cpu: Cpu, shadow: ShadowPageTables, vcpu: VirtualCpu): void {
  cpu.cr3 = shadow.switchTo(vcpu.paging);
  cpu.flushTlb();
  shadow.tlbFlushed();
}
