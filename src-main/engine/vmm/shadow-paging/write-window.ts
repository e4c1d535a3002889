// What a shadow-paging hypervisor does with the faults of one guest instruction it runs or one
// event it delivers on the guest's behalf (trap-and-emulate, para-virtualization, and later
// hardware assistance with shadow paging all do both): a write to a write-protected guest
// page table is let through once and the shadow resynchronised afterwards; a write to memory
// beyond the guest's RAM lands in a page wiped afterwards; a hidden fault is filled. The window
// of shadow entries opened for one instruction closes when it is done.

import { type Cpu } from '../../machine/cpu';
import { CpuException, VECTOR } from '../../machine/exceptions';
import { type HandlerFootprint, type RunMeter } from '../../metrics/meter';
import { type GuestPagingState, type ShadowPageTables } from './shadow-page-tables';

/** What resolving a nested fault cost the hypervisor, for its meter. */
export type NestedFaultWork = 'shadowFill' | 'shadowSync' | 'writeOnce' | 'unassignedWrite';

export class ShadowWriteWindow {
  /** the shadow entries opened for one emulated write, closed when it is done */
  private open: { close: () => void; frame: number; pageTable: boolean; code: boolean }[] = [];
  /** told, once the write is done, of each frame of translated code it was let into (a binary
   *  translator compares what it translated from there with what is there now) */
  onCodeWritten: ((frame: number) => void) | undefined;

  constructor(
    private readonly cpu: Cpu,
    readonly shadow: ShadowPageTables,
  ) {}

  /** Let one write to a write-protected guest page through (resynchronised on close). */
  openWrite(linear: number, frame: number, pageTable: boolean, code = false): void {
    this.open.push({ close: this.shadow.allowWriteOnce(linear), frame, pageTable, code });
  }

  /** A write to memory beyond the guest's RAM: let it land in the wiped discard page. */
  openDiscardedWrite(linear: number): void {
    this.open.push({
      close: this.shadow.allowDiscardedWrite(linear),
      frame: -1,
      pageTable: false,
      code: false,
    });
  }

  /** Close every opened entry, then resynchronise the guest page tables written through them;
   *  returns the frames of those page tables. */
  close(): number[] {
    const open = this.open;
    if (open.length === 0) return [];
    this.open = [];
    for (const w of open) w.close();
    const synced: number[] = [];
    for (const w of open) if (w.code) this.onCodeWritten?.(w.frame);
    for (const w of open) {
      if (!w.pageTable) continue;
      this.shadow.sync(w.frame);
      synced.push(w.frame);
    }
    return synced;
  }

  /**
   * A page fault met while the hypervisor itself runs a guest instruction or delivers an
   * event: fix what is the hypervisor's business and say what it took (the fault's CR2 is put
   * back to `savedCr2`: the guest never saw it), or undefined when it is the guest's own.
   */
  resolveNested(
    e: CpuException,
    savedCr2: number,
    paging: GuestPagingState,
  ): NestedFaultWork | undefined {
    if (e.vector !== VECTOR.PF) return undefined;
    const cpu = this.cpu;
    const linear = cpu.cr2;
    const code = e.errorCode ?? 0;
    const r = this.shadow.resolve(linear, (code & 2) !== 0, (code & 4) !== 0, paging);
    switch (r.kind) {
      case 'mapped':
        cpu.cr2 = savedCr2;
        return 'shadowFill';
      case 'write-protected':
        // the hypervisor's own frames are never written for the guest, not even by the
        // hypervisor on its behalf (a reflected frame pushed on a stack pointed at them):
        // that is the guest's fault, as the same store by the guest itself would be
        if (this.shadow.isPinned(r.frame)) return undefined;
        cpu.cr2 = savedCr2;
        this.openWrite(linear, r.frame, r.pageTable, r.code);
        return r.pageTable ? 'shadowSync' : 'writeOnce';
      case 'guest-fault':
        return undefined;
      case 'unassigned-write':
        cpu.cr2 = savedCr2;
        this.openDiscardedWrite(linear);
        return 'unassignedWrite';
    }
  }
}

/** Charge what resolving a nested fault took: a filled entry runs the fill handler. */
export function chargeNestedWork(
  meter: RunMeter,
  work: NestedFaultWork,
  shadowFill: HandlerFootprint,
): void {
  switch (work) {
    case 'shadowFill':
      meter.charge('vmm.shadowFill');
      meter.runHandler(shadowFill);
      return;
    case 'shadowSync':
      meter.charge('vmm.shadowSync');
      return;
    case 'writeOnce':
      return;
    case 'unassignedWrite':
      meter.charge('vmm.emulate');
      return;
  }
}
