// The para-virtualization hypervisor (lecture §5, Xen; the ABI is docs/paravirt-abi.md): the
// `-D PARAVIRT` build of the guest kernel runs at CPL 1 and asks for what it may not do itself.
// It owns
// - every event the CPU raises while the guest runs (its DeliveryHook): a `vmcall` from the
//   guest kernel is a hypercall (hypercalls.ts); a page fault is a hidden fault of the shadow
//   page tables (filled), a direct store to a page table in use (emulated), or the guest's own
//   (its address written to shared_info.cr2, reflected); the timer's interrupt becomes event
//   channel 0; anything else is the guest's, reflected through its trap table — except a user
//   `int 0x80` through the fast system-call gate, which the CPU takes itself through the real
//   IDT: no world switch at all;
// - the shared-info page: the virtual interrupt mask and pending bits the guest reads and
//   writes as plain memory (cli/sti are stores), read here at every entry and before every
//   return to the guest, when pending unmasked events are delivered by upcall;
// - the guest's memory, through the shadow page tables of the shared core: only guest RAM is
//   ever mapped, the guest's page tables are read-only to it and changed by validated
//   mmu_update entries, and the hypervisor's descriptor tables are readable by nobody but the
//   kernel and writable by nobody.
// Each entry is charged to the run: a world switch plus the hypervisor's work, with the modeled
// code footprint of the handler that ran fed to the I-cache model.

import { type ParavirtMetrics } from '../../../../../shared/results';
import {
  EVENT_VECTOR_BASE,
  FAST_TRAP_VECTOR,
  FEATURE_NATIVE_USER_IRET,
  hypercallByNumber,
  PARAVIRT_ABI_VERSION,
  SELECTORS,
  SHARED_INFO_ADDRESS,
  VMCALL_BYTES,
} from '../../../guest/paravirt-abi';
import { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS } from '../../../isa/decoder';
import { formsFor } from '../../../isa/table';
import { type IsaVariant, privilegeOn } from '../../../isa/types';
import { FLAG_IF } from '../../../machine/alu';
import {
  type Cpu,
  CR0_ET,
  CR0_PE,
  CR0_PG,
  type DeliveryHook,
  type DeliverySource,
  FLAG_IOPL,
  TripleFault,
} from '../../../machine/cpu';
import { CpuException, VECTOR, VECTOR_NAMES } from '../../../machine/exceptions';
import { SoftwareInterrupt } from '../../../machine/exec';
import { Interpreter } from '../../../machine/interpreter';
import { type Machine } from '../../../machine/machine';
import { type HandlerFootprint, type RunMeter } from '../../../metrics/meter';
import { handlerFootprints, HYPERVISOR_BYTES, shadowPool } from '../../hypervisor-memory';
import { reflectEvent } from '../../reflect';
import { type GuestPagingState, ShadowPageTables } from '../../shadow-paging/shadow-page-tables';
import { chargeNestedWork, ShadowWriteWindow } from '../../shadow-paging/write-window';
import { HYPERVISOR_CR0 } from '../../virtual-cpu';
import {
  GDT_LIMIT,
  GDT_LINEAR,
  HYPERVISOR_SLOT,
  HypervisorTables,
  IDT_LIMIT,
  REAL_IDT_LINEAR,
  TRAP_IDT_LINEAR,
  TSS_LIMIT,
  TSS_LINEAR,
  TSS_SELECTOR,
} from './descriptor-tables';
import { runHypercall } from './hypercalls';
import { SharedInfo } from './shared-info';

const HANDLERS = [
  ['dispatch', 512],
  ['hypercall', 2048],
  ['mmuUpdate', 2048],
  ['emulate', 2048],
  ['reflect', 1536],
  ['event', 1024],
  ['shadowFill', 2048],
  ['shadowSync', 1536],
  ['shadowSwitch', 1024],
] as const;
export type HandlerName = (typeof HANDLERS)[number][0];

/** One entry of the guest's trap table, as set_trap_table validated it. */
export interface TrapEntry {
  readonly vector: number;
  readonly dpl: number;
  readonly maskEvents: boolean;
  readonly address: number;
}

/** At most this many retries of one guest instruction before it is a livelock. */
const MAX_ATTEMPTS = 16;
/** The virtual PIT rate: the PIT's input clock (docs/paravirt-abi.md `system_time`). */
export const PIT_HZ = 1_193_182;

export class ParavirtHypervisor implements DeliveryHook {
  readonly cpu: Cpu;
  readonly shadow: ShadowPageTables;
  readonly writes: ShadowWriteWindow;
  readonly tables: HypervisorTables;
  readonly shared: SharedInfo;
  readonly handlers: Record<HandlerName, HandlerFootprint>;
  /** the guest's paging as it believes it to be: off until the first set_cr3 */
  paging: GuestPagingState = { cr0: (CR0_PE | CR0_ET) >>> 0, cr3: 0, cr4: 0 };
  /** the trap table, by vector */
  trapTable = new Map<number, TrapEntry>();
  /** whether stack_switch has named a kernel stack (a ring-3 transition needs one) */
  kernelStackSet = false;
  fastGate = false;
  /** the guest sits in `block` until an event can be delivered */
  blocked = false;
  timerPeriod = 0;
  readonly stats: ParavirtMetrics = {
    hypercalls: {},
    errors: {},
    mmuUpdate: { calls: 0, entries: 0, batchSizes: {}, flushes: 0 },
    upcalls: 0,
    eventsPendingWhileMasked: 0,
    directPageTableWrites: 0,
    shadowPrefilled: 0,
  };
  private readonly executor: Interpreter;
  private handling = false;

  constructor(
    readonly machine: Machine,
    readonly meter: RunMeter,
  ) {
    this.cpu = machine.cpu;
    const guestBytes = machine.guestMemoryBytes;
    if (machine.memory.size < guestBytes + HYPERVISOR_BYTES) {
      throw new Error('paravirt needs its hypervisor region above the guest RAM');
    }
    this.shadow = new ShadowPageTables(
      this.cpu,
      machine.memory,
      guestBytes,
      shadowPool(guestBytes),
    );
    this.shadow.reserveWindow(HYPERVISOR_SLOT, HypervisorTables.window());
    this.writes = new ShadowWriteWindow(this.cpu, this.shadow);
    this.tables = new HypervisorTables(machine.memory);
    this.shared = new SharedInfo(machine.memory, SHARED_INFO_ADDRESS);
    this.executor = new Interpreter(this.cpu);
    this.handlers = handlerFootprints('paravirt', guestBytes, HANDLERS);
  }

  /**
   * Take over a CPU in the multiboot entry state: the guest kernel at CPL 1 on the
   * hypervisor's flat selectors, its paging off (the shadow maps guest memory one to one), no
   * trap table, events masked, no timer (docs/paravirt-abi.md "Start state").
   */
  boot(): void {
    const cpu = this.cpu;
    this.tables.build();
    this.shared.reset(PARAVIRT_ABI_VERSION, machineFeatures(cpu.isa));
    cpu.gdtrBase = GDT_LINEAR;
    cpu.gdtrLimit = GDT_LIMIT;
    cpu.idtrBase = REAL_IDT_LINEAR;
    cpu.idtrLimit = IDT_LIMIT;
    cpu.ldtrSel = 0;
    cpu.ldtrBase = 0;
    cpu.ldtrLimit = 0;
    cpu.trSel = TSS_SELECTOR;
    cpu.trBase = TSS_LINEAR;
    cpu.trLimit = TSS_LIMIT;
    cpu.trType = 0x0b;
    cpu.cr0 = HYPERVISOR_CR0;
    cpu.cr4 = 0;
    cpu.cr3 = this.shadow.switchTo(this.paging);
    cpu.flushTlb();
    this.shadow.tlbFlushed();
    const flat = (code: boolean, dpl: number) => ({
      base: 0,
      limit: 0xffffffff,
      access: 0x80 | (dpl << 5) | 0x10 | (code ? 0x0b : 0x03),
      flags: 0xc,
    });
    cpu.loadSegmentCache(SEG_CS, SELECTORS.FLAT_KERNEL_CS, flat(true, 1));
    // data segments as a kernel that keeps DS = ES = FLAT_USER_DS wants them (usable from ring
    // 1, kept by every ring transition): loading them itself would be sensitive
    cpu.loadSegmentCache(SEG_SS, SELECTORS.FLAT_KERNEL_SS, flat(false, 1));
    for (const seg of [SEG_DS, SEG_ES, SEG_FS, SEG_GS]) {
      cpu.loadSegmentCache(seg, SELECTORS.FLAT_USER_DS, flat(false, 3));
    }
    cpu.cpl = 1;
    // the hypervisor always takes interrupts; the guest's mask is shared_info's
    cpu.systemFlags = ((cpu.systemFlags & ~FLAG_IOPL) | FLAG_IF) >>> 0;
    this.initPic();
    cpu.hook = this;
    // a fault while the CPU itself enters the fast system-call gate is the hypervisor's first
    cpu.deliveryFaultFilter = (e) => this.fastGateFault(e);
  }

  /** The PIC is the hypervisor's: IRQ 0 at vector 0x20, masked until set_timer. */
  private initPic(): void {
    const bus = this.machine.bus;
    for (const [port, value] of [
      [0x20, 0x11],
      [0x21, 0x20],
      [0x21, 0x04],
      [0x21, 0x01],
      [0xa0, 0x11],
      [0xa1, 0x28],
      [0xa1, 0x02],
      [0xa1, 0x01],
      [0x21, 0xff],
      [0xa1, 0xff],
    ] as const) {
      bus.write(port, 1, value);
    }
  }

  /** Start (period > 0) or stop the periodic timer: the PIT's channel 0 in mode 2. */
  setTimer(period: number): void {
    const bus = this.machine.bus;
    this.timerPeriod = period;
    if (period === 0) {
      bus.write(0x21, 1, 0xff);
      return;
    }
    bus.write(0x43, 1, 0x34);
    bus.write(0x40, 1, period & 0xff);
    bus.write(0x40, 1, (period >>> 8) & 0xff);
    bus.write(0x21, 1, 0xfe);
  }

  // ---- the entry ----------------------------------------------------------------------------
  intercept(cpu: Cpu, vector: number, errorCode: number | undefined, source: DeliverySource) {
    if (source === 'software' && vector === FAST_TRAP_VECTOR && this.fastGate && cpu.cpl === 3) {
      // the fast system-call gate: the CPU enters the guest kernel itself (no world switch)
      return false;
    }
    if (this.handling) throw new Error('paravirt: a trap while handling a trap');
    this.handling = true;
    try {
      this.shared.publishTime(this.systemTime());
      if (source === 'external') {
        this.externalInterrupt();
      } else if (source === 'software') {
        this.trap(`int 0x${vector.toString(16)}`, 'reflect', [['vmm.reflect', 1]]);
        this.reflect(vector, undefined, 'software');
      } else if (vector === VECTOR.UD && cpu.cpl === 1 && this.atVmcall()) {
        runHypercall(this);
      } else if (vector === VECTOR.PF) {
        this.pageFault(cpu.cr2, errorCode ?? 0);
      } else {
        // the guest's own exception (a forgotten cli or out is #GP: the para-API is the
        // whole interface, nothing sensitive is emulated)
        this.trap(`${VECTOR_NAMES[vector] ?? `vector ${vector}`} reflect`, 'reflect', [
          ['vmm.reflect', 1],
        ]);
        this.reflect(vector, errorCode, 'exception');
      }
      this.deliverPendingEvents();
    } finally {
      this.handling = false;
    }
    return true;
  }

  /** PIT input-clock ticks since boot, from the modeled clock (as the PIT counts them). */
  systemTime(): bigint {
    return (BigInt(this.cpu.cycles) * BigInt(PIT_HZ)) / BigInt(this.machine.frequencyHz);
  }

  private atVmcall(): boolean {
    const cpu = this.cpu;
    try {
      return VMCALL_BYTES.every((b, i) => cpu.byteAt((cpu.insnStart + i) >>> 0) === b);
    } catch {
      return false;
    }
  }

  private externalInterrupt(): void {
    const irq = this.machine.pic.lastIrq;
    this.machine.bus.write(irq >= 8 ? 0xa0 : 0x20, 1, 0x20);
    if (irq >= 8) this.machine.bus.write(0x20, 1, 0x20);
    this.trap(`irq ${irq}`, 'event', [['vmm.reflect', 1]]);
    if (irq === 0 && this.timerPeriod > 0) {
      if (this.shared.raise(0) && this.shared.mask !== 0) this.stats.eventsPendingWhileMasked++;
    }
  }

  // ---- events -------------------------------------------------------------------------------
  /**
   * Before every return to the guest: deliver the lowest pending unmasked event channel by
   * upcall, as its own CPU would take an interrupt (docs/paravirt-abi.md "Event delivery").
   * A guest still blocked with nothing deliverable goes back to idling.
   */
  deliverPendingEvents(): void {
    const channel = this.shared.deliverable();
    if (channel < 0) {
      if (this.blocked) this.cpu.halted = true;
      return;
    }
    this.blocked = false;
    this.cpu.halted = false;
    this.shared.acknowledge(channel);
    this.stats.upcalls++;
    this.reflect(EVENT_VECTOR_BASE + channel, undefined, 'external');
  }

  // ---- page faults ----------------------------------------------------------------------------
  private pageFault(linear: number, errorCode: number): void {
    const write = (errorCode & 2) !== 0;
    const user = (errorCode & 4) !== 0;
    const r = this.shadow.resolve(linear, write, user, this.paging);
    switch (r.kind) {
      case 'mapped': {
        // the whole guest table at once (Xen validates a page table when it is first used,
        // and the CPU then walks it itself): one fault per table, not one per page
        const prefilled = this.shadow.fillTable(linear, this.paging);
        this.stats.shadowPrefilled += prefilled;
        this.trap('#PF hidden', 'shadowFill', [
          ['vmm.shadowFill', 1],
          ['vmm.shadowPrefill', prefilled],
        ]);
        this.cpu.instructions--;
        return;
      }
      case 'guest-fault':
        this.trap('#PF true', 'shadowFill', [
          ['vmm.shadowFill', 1],
          ['vmm.reflect', 1],
        ]);
        this.reflectPageFault(linear, r.errorCode);
        return;
      case 'write-protected':
        if (this.shadow.isPinned(r.frame)) {
          // the hypervisor's own tables: the write is refused, as a fault of the guest's
          this.trap('#PF true', 'shadowFill', [
            ['vmm.shadowFill', 1],
            ['vmm.reflect', 1],
          ]);
          this.reflectPageFault(linear, 1 | 2 | (user ? 4 : 0));
          return;
        }
        if (r.pageTable && !this.shadow.releaseStale(r.frame)) {
          // a page table of a cached address space only (the guest freed it and reuses the
          // frame): no longer shadowed, the page is mapped writable and the store restarted
          this.trap('#PF hidden', 'shadowFill', [['vmm.shadowFill', 1]]);
          this.shadow.resolve(linear, true, user, this.paging);
          this.cpu.invalidatePage(linear);
          this.cpu.instructions--;
          return;
        }
        if (r.pageTable) this.stats.directPageTableWrites++;
        this.trap(r.pageTable ? '#PF page-table write' : '#PF write (CR0.WP clear)', 'shadowSync', [
          ['vmm.emulate', 1],
          ['vmm.shadowSync', r.pageTable ? 1 : 0],
        ]);
        this.writes.openWrite(linear, r.frame, r.pageTable);
        this.executeOnce();
        return;
      case 'unassigned-write':
        this.trap('#PF unassigned write', 'emulate', [['vmm.emulate', 1]]);
        this.writes.openDiscardedWrite(linear);
        this.executeOnce();
        return;
    }
  }

  /** A page fault of the guest's own: its address in shared_info.cr2, then its handler. */
  private reflectPageFault(linear: number, errorCode: number): void {
    this.shared.cr2 = linear;
    this.reflect(VECTOR.PF, errorCode, 'exception');
  }

  /** Run the faulting guest instruction once with the entries the window opened, fixing
   *  hidden faults on the way; a fault of the guest's own is reflected to it. */
  private executeOnce(): void {
    const cpu = this.cpu;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      cpu.eip = cpu.insnStart;
      const savedCr2 = cpu.cr2;
      let thrown: unknown;
      try {
        this.executor.executeOne();
      } catch (e) {
        thrown = e;
      }
      this.writes.close();
      if (thrown === undefined) {
        this.cpu.instructions--;
        return;
      }
      if (thrown instanceof CpuException) {
        if (thrown.vector === VECTOR.PF) {
          const linear = cpu.cr2;
          if (this.resolveNested(thrown, savedCr2)) continue;
          cpu.eip = cpu.insnStart;
          this.reflectPageFault(linear, thrown.errorCode ?? 0);
          return;
        }
        cpu.eip = cpu.insnStart;
        this.reflect(thrown.vector, thrown.errorCode, 'exception');
        return;
      }
      if (thrown instanceof SoftwareInterrupt) {
        this.reflect(thrown.vector, undefined, 'software');
        return;
      }
      throw thrown;
    }
    this.crash(`the instruction at EIP=0x${cpu.insnStart.toString(16)} kept faulting`);
  }

  /** A fault the hypervisor's own work met in guest memory: fixed (true) or the guest's. */
  resolveNested(e: CpuException, savedCr2: number): boolean {
    const work = this.writes.resolveNested(e, savedCr2, this.paging);
    if (work === undefined) return false;
    chargeNestedWork(this.meter, work, this.handlers.shadowFill);
    return true;
  }

  /** A fault while the CPU enters the fast gate: a hidden fault on the kernel stack is filled
   *  (a world switch like any); anything else is a guest crash. */
  private fastGateFault(e: CpuException): boolean {
    const savedCr2 = this.cpu.cr2;
    if (e.vector === VECTOR.PF) {
      const work = this.writes.resolveNested(e, savedCr2, this.paging);
      this.writes.close();
      if (work !== undefined) {
        this.trap('#PF hidden', 'shadowFill', [['vmm.shadowFill', 1]]);
        return true;
      }
    }
    this.crash(`the fast system-call gate could not enter the kernel: ${e.toString()}`);
  }

  // ---- reflection -----------------------------------------------------------------------------
  /**
   * Deliver an event through the guest's trap table, as its CPU would through an IDT: the CPU
   * does the delivery through the trap table rendered as gates (its DPL checks, its stack
   * switch to the stack_switch stack, its frame); the hypervisor adds what a real gate cannot
   * do — the saved EFLAGS.IF is the inverse of the event mask, and the entry masks events.
   */
  reflect(vector: number, errorCode: number | undefined, source: DeliverySource): void {
    const cpu = this.cpu;
    const entry = this.trapTable.get(vector);
    if (!entry) {
      this.crash(
        `no trap-table handler for ${source === 'external' ? 'event vector' : 'vector'} ${vector}` +
          (VECTOR_NAMES[vector] ? ` (${VECTOR_NAMES[vector]})` : ''),
      );
    }
    if (source === 'software' && entry.dpl < cpu.cpl) {
      // int n to an entry the caller may not use: #GP with the IDT error code, as natively
      this.reflect(VECTOR.GP, vector * 8 + 2, 'exception');
      return;
    }
    if (cpu.cpl === 3 && !this.kernelStackSet) {
      this.crash('a transition from ring 3 before stack_switch named a kernel stack');
    }
    const wasMasked = this.shared.mask !== 0;
    cpu.idtrBase = TRAP_IDT_LINEAR;
    const savedCr2 = cpu.cr2;
    try {
      reflectEvent(cpu, this.writes, vector, errorCode, source, (e) =>
        this.resolveNested(e, savedCr2),
      );
    } finally {
      cpu.idtrBase = REAL_IDT_LINEAR;
    }
    const flagsAt = (cpu.regs[4]! + (errorCode !== undefined ? 12 : 8)) >>> 0;
    this.patchSavedFlags(flagsAt, !wasMasked);
    if (entry.maskEvents || source === 'external') this.shared.mask = 1;
  }

  private patchSavedFlags(linear: number, interruptsOn: boolean): void {
    const cpu = this.cpu;
    for (let attempt = 0; attempt < 4; attempt++) {
      const savedCr2 = cpu.cr2;
      try {
        const flags = cpu.read32(linear);
        cpu.write32(linear, interruptsOn ? flags | FLAG_IF : flags & ~FLAG_IF);
        this.writes.close();
        return;
      } catch (e) {
        if (!(e instanceof CpuException) || !this.resolveNested(e, savedCr2)) {
          this.writes.close();
          this.crash(`the event frame at 0x${linear.toString(16)} cannot be written`);
        }
      }
    }
  }

  /** The guest did something the ABI says ends it ("a guest crash"): a named end. */
  crash(why: string): never {
    throw new TripleFault(this.cpu.insnStart, `para-virtual guest crash: ${why}`);
  }

  // ---- paging -------------------------------------------------------------------------------
  /** Load the shadow of the guest's paging state into the real CR3 (a TLB flush). */
  switchPaging(next: GuestPagingState): void {
    this.paging = next;
    this.cpu.cr3 = this.shadow.switchTo(next);
    this.cpu.flushTlb();
    this.shadow.tlbFlushed();
  }

  get pagingOn(): boolean {
    return (this.paging.cr0 & CR0_PG) !== 0;
  }

  // ---- accounting ---------------------------------------------------------------------------
  trap(cause: string, handler: HandlerName, work: readonly (readonly [string, number])[]): void {
    this.meter.runHandler(this.handlers.dispatch);
    this.meter.trap(
      cause,
      [['vmm.worldSwitch', 1], ...work.filter(([, n]) => n > 0)],
      this.handlers[handler],
    );
  }

  /** The hypercall's number, for the results (an unknown number is `unknown`). */
  static hypercallName(n: number): string {
    return hypercallByNumber(n)?.name ?? 'unknown';
  }
}

/**
 * The shared-info feature bits of a machine with ISA variant `isa`, read from the opcode
 * table: a real iret from CPL 1 to user code is allowed where iretd is not a CPL-0 instruction.
 */
export function machineFeatures(isa: IsaVariant): number {
  const iret = formsFor('iretd');
  return iret.every((f) => privilegeOn(f, isa) !== 'cpl0') ? FEATURE_NATIVE_USER_IRET : 0;
}
