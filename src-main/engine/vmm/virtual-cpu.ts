// The VirtualCpu of trap-and-emulate: the guest's privileged state as the guest believes it to
// be — virtual CPL, IF, IOPL, CR0–CR4, IDTR and TR — kept by the hypervisor while the real CPU
// runs the guest deprivileged (its kernel at CPL 1, its user code at CPL 3) with the
// hypervisor's own values in those registers (lecture §2: "we set a flag, which we may call
// Virtual Interrupt Flag"). GDTR and LDTR are the guest's own: the guest runs on its own
// descriptor tables, and every load of a ring-0 descriptor faults at CPL 1 and is emulated.
//
// `enter` loads the virtual state into the CPU for the moment the hypervisor executes an
// instruction or delivers an event on the guest's behalf; `leave` keeps what that changed and
// puts the real state back. Paging stays the hypervisor's throughout (real CR3 = the shadow
// directory, CR0.PG and CR0.WP forced on), so nothing done in between escapes the shadow.

import { FLAG_IF } from '../machine/alu';
import { CR0_ET, CR0_PE, CR0_PG, CR0_WP, type Cpu, FLAG_IOPL, SEG_CS } from '../machine/cpu';

const CR0_MP = 1 << 1;
const CR0_NE = 1 << 5;
/**
 * The real CR0 while a guest runs: protected mode with paging (the shadow tables), WP so that
 * read-only shadow entries bind the guest kernel too, and MP/NE as any 32-bit OS sets them —
 * the hypervisor is that OS here. smsw at CPL 1 shows its low half.
 */
export const HYPERVISOR_CR0 = (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG) >>> 0;

/** The hypervisor's own descriptor registers (what sidt and str show a deprivileged guest). */
export interface HypervisorRegisters {
  readonly idtrBase: number;
  readonly idtrLimit: number;
}

export class VirtualCpu {
  /** virtual CPL: 0 while the guest kernel runs (at real CPL 1), 3 in guest user code */
  cpl = 0;
  interruptFlag = false;
  iopl = 0;
  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  idtrBase = 0;
  idtrLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  trType = 0;
  private entered = false;
  /** the shadow directory in the real CR3 while entered (a guest mov cr3 writes over it) */
  private realCr3 = 0;

  constructor(
    private readonly cpu: Cpu,
    readonly hypervisor: HypervisorRegisters,
  ) {}

  /** Take the CPU's state (the guest as booted) as the virtual state; the CPU goes real. */
  adopt(): void {
    const cpu = this.cpu;
    this.cr0 = cpu.cr0;
    this.cr3 = cpu.cr3;
    this.cr4 = cpu.cr4;
    this.keepFromCpu();
    this.loadReal();
  }

  /** What executing or delivering for the guest may change (CR0/3/4 are the caller's). */
  private keepFromCpu(): void {
    const cpu = this.cpu;
    this.cpl = cpu.cpl;
    this.interruptFlag = cpu.interruptsEnabled;
    this.iopl = cpu.iopl;
    this.cr2 = cpu.cr2;
    this.idtrBase = cpu.idtrBase;
    this.idtrLimit = cpu.idtrLimit;
    this.trSel = cpu.trSel;
    this.trBase = cpu.trBase;
    this.trLimit = cpu.trLimit;
    this.trType = cpu.trType;
  }

  /** The real CPL the guest runs at for a virtual CPL: ring compression, 0 → 1. */
  static realCpl(virtualCpl: number): number {
    return virtualCpl === 0 ? 1 : virtualCpl;
  }

  /**
   * The virtual CPL, as the hypervisor finds the CPU on a trap. The CPU can leave ring 1
   * without a trap (an iret or retf to user code on classic x86), never enter it.
   */
  syncFromCpu(): void {
    // in ring 1 the virtual CPL is what the hypervisor last set (0, or 1 for a guest that
    // uses ring 1 itself): every way into ring 1 goes through the hypervisor
    if (this.cpu.cpl !== 1) this.cpl = this.cpu.cpl;
  }

  /** The guest's paging registers, for the shadow page tables. */
  get paging(): { cr0: number; cr3: number; cr4: number } {
    return { cr0: this.cr0, cr3: this.cr3, cr4: this.cr4 };
  }

  /** Load the virtual privileged state into the CPU (paging stays the hypervisor's). */
  enter(): void {
    if (this.entered) throw new Error('virtual CPU state entered twice');
    this.entered = true;
    const cpu = this.cpu;
    this.realCr3 = cpu.cr3;
    cpu.cpl = this.cpl;
    cpu.segSel[SEG_CS] = (cpu.segSel[SEG_CS]! & 0xfffc) | this.cpl;
    cpu.systemFlags =
      ((cpu.systemFlags & ~(FLAG_IF | FLAG_IOPL)) |
        (this.interruptFlag ? FLAG_IF : 0) |
        (this.iopl << 12)) >>>
      0;
    cpu.cr0 = (this.cr0 | CR0_PG | CR0_WP) >>> 0;
    cpu.cr2 = this.cr2;
    cpu.idtrBase = this.idtrBase;
    cpu.idtrLimit = this.idtrLimit;
    cpu.trSel = this.trSel;
    cpu.trBase = this.trBase;
    cpu.trLimit = this.trLimit;
    cpu.trType = this.trType;
  }

  /** Keep what the guest's instruction or event changed; put the real state back. */
  leave(): void {
    if (!this.entered) throw new Error('virtual CPU state left without entering');
    this.entered = false;
    this.keepFromCpu();
    this.loadReal();
    // the guest's CR3 write, if any, was captured by the hypervisor before leaving
    this.cpu.cr3 = this.realCr3;
  }

  get isEntered(): boolean {
    return this.entered;
  }

  /** The CPU's CR0 while entered: the guest's, with PG and WP forced on for the shadow. */
  get enteredCr0(): number {
    return (this.cr0 | CR0_PG | CR0_WP) >>> 0;
  }

  private loadReal(): void {
    const cpu = this.cpu;
    const real = VirtualCpu.realCpl(this.cpl);
    cpu.cpl = real;
    cpu.segSel[SEG_CS] = (cpu.segSel[SEG_CS]! & 0xfffc) | real;
    // the hypervisor always takes interrupts; the guest's IF and IOPL are virtual
    cpu.systemFlags = ((cpu.systemFlags & ~(FLAG_IF | FLAG_IOPL)) | FLAG_IF) >>> 0;
    cpu.cr0 = HYPERVISOR_CR0;
    cpu.cr4 = 0;
    cpu.idtrBase = this.hypervisor.idtrBase;
    cpu.idtrLimit = this.hypervisor.idtrLimit;
    // no task register: the hypervisor needs no TSS (it takes every event itself), so every
    // I/O permission check at CPL > 0 fails and port I/O traps
    cpu.trSel = 0;
    cpu.trBase = 0;
    cpu.trLimit = 0;
    cpu.trType = 0;
  }
}
