// The page faults a shadow-paging hypervisor takes while its guest runs deprivileged, and what
// each one costs: one dispatcher for trap-and-emulate and binary translation (what differs,
// binary translation's traced code and its window, comes in through a policy). A fault the
// shadow explains (an entry not built yet) is hidden: the instruction restarts. One the
// guest's own tables explain is reflected to the guest. A write to a protected frame (a guest
// page table, translated code, a traced gate) is let through once, by the hypervisor running
// the instruction, and a write to unassigned memory is run into a discard page.

import { type DeliverySource } from '../../machine/cpu';
import { VECTOR } from '../../machine/exceptions';
import { type HandlerFootprint, type RunMeter } from '../../metrics/meter';
import { executeForGuest, type GuestExecution } from '../guest-instruction';

/** The hypervisor's handlers a shadow page fault runs. */
export type ShadowFaultHandler = 'shadowFill' | 'shadowSync' | 'emulate';

/** Work charged for a trap, kind by kind (kinds of count 0 are left out). */
export type TrapWork = readonly (readonly [string, number])[];

/**
 * A trap into the hypervisor: its world switch, the dispatcher's code and the handler's
 * through the I-cache, and the work it did.
 */
export function chargeTrap(
  meter: RunMeter,
  dispatch: HandlerFootprint,
  cause: string,
  handler: HandlerFootprint,
  work: TrapWork,
): void {
  meter.runHandler(dispatch);
  meter.trap(cause, [['vmm.worldSwitch', 1], ...work.filter(([, n]) => n > 0)], handler);
}

export interface ShadowFaultHost extends GuestExecution {
  trap(cause: string, handler: ShadowFaultHandler, work: TrapWork): void;
  reflect(vector: number, errorCode: number | undefined, source: DeliverySource): void;
}

/** What a technique adds to the common handling. */
export interface ShadowFaultPolicy {
  /** a true guest fault, before it is reflected (may refuse the guest instead) */
  beforeGuestFault?(linear: number, user: boolean): void;
  /** the cause of a write to a frame the technique traces (its `code` frames) */
  tracedWriteCause?(frame: number): string;
  /** a write to a guest page table or a traced frame is about to be let through */
  beforeProtectedWrite?(pageTable: boolean, traced: boolean): void;
}

/** Handle the #PF the CPU raised at `linear` with `errorCode` while the guest ran. */
export function handleShadowPageFault(
  host: ShadowFaultHost,
  linear: number,
  errorCode: number,
  policy: ShadowFaultPolicy = {},
): void {
  const cpu = host.machine.cpu;
  const write = (errorCode & 2) !== 0;
  const user = (errorCode & 4) !== 0;
  const r = host.shadow.resolve(linear, write, user, host.vcpu.paging);
  switch (r.kind) {
    case 'mapped':
      host.trap('#PF hidden', 'shadowFill', [['vmm.shadowFill', 1]]);
      // the attempt retired nothing: the instruction restarts (its exception stays charged)
      cpu.instructions--;
      return;
    case 'guest-fault':
      policy.beforeGuestFault?.(linear, user);
      host.trap('#PF true', 'shadowFill', [
        ['vmm.shadowFill', 1],
        ['vmm.reflect', 1],
      ]);
      host.vcpu.cr2 = linear;
      host.reflect(VECTOR.PF, r.errorCode, 'exception');
      return;
    case 'write-protected':
      if (r.code) {
        const cause = policy.tracedWriteCause?.(r.frame) ?? '#PF write to a traced page';
        host.trap(cause, 'shadowSync', [['vmm.emulate', 1]]);
      } else {
        host.trap(r.pageTable ? '#PF page-table write' : '#PF write (CR0.WP clear)', 'shadowSync', [
          ['vmm.emulate', 1],
          ['vmm.shadowSync', r.pageTable ? 1 : 0],
        ]);
      }
      policy.beforeProtectedWrite?.(r.pageTable, r.code);
      host.writes.openWrite(linear, r.frame, r.pageTable, r.code);
      executeForGuest(host, false);
      return;
    case 'unassigned-write':
      host.trap('#PF unassigned write', 'emulate', [['vmm.emulate', 1]]);
      host.writes.openDiscardedWrite(linear);
      executeForGuest(host, false);
      return;
  }
}
