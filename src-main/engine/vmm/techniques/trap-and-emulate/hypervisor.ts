// The trap-and-emulate hypervisor (lecture §4): it owns the CPU's event delivery while a guest
// runs deprivileged, and decides for every trap what it is —
// - a privileged or IOPL-sensitive instruction, a ring-0 segment load, an iret to the guest
//   kernel: emulated against the VirtualCpu (cli → virtual IF = 0, mov cr3 → switch shadows,
//   in/out → the VM's devices, hlt → idle until the next virtual interrupt…);
// - a page fault: hidden (fill the shadow), a write to a guest page table (let it through once,
//   resync), or true (reflect it into the guest);
// - an interrupt, a system call (int n) or an exception of the guest's own: reflected through
//   the guest's IDT, as its own CPU would have delivered it, when its virtual IF allows.
// Emulation runs the real executor with the virtual state loaded (VirtualCpu.enter), so the
// guest's own privilege rules — its CPL, its IOPL, its TSS I/O bitmap — decide what a trapped
// instruction does, and a fault it raises there is the guest's, reflected to it.
//
// Each trap is charged to the run: a world switch plus the hypervisor's work, with the modeled
// code footprint of the handler that ran fed to the I-cache model.

import { type DecodedInstruction } from '../../../isa/decoder';
import { type IsaVariant } from '../../../isa/types';
import { type Cpu, type DeliveryHook, type DeliverySource } from '../../../machine/cpu';
import { CpuException, VECTOR, VECTOR_NAMES } from '../../../machine/exceptions';
import { type InterruptController } from '../../../machine/interfaces';
import { Interpreter } from '../../../machine/interpreter';
import { type Machine } from '../../../machine/machine';
import { type HandlerFootprint, type RunMeter } from '../../../metrics/meter';
import { handlerFootprints, HYPERVISOR_BYTES, shadowPool } from '../../hypervisor-memory';
import { trapCause } from '../../instruction-cause';
import { reflectEvent } from '../../reflect';
import { ShadowPageTables } from '../../shadow-paging/shadow-page-tables';
import { chargeNestedWork, ShadowWriteWindow } from '../../shadow-paging/write-window';
import { SilentSensitiveWatch } from './silent-sensitive';
import { VirtualCpu } from '../../virtual-cpu';
import { executeForGuest } from '../../guest-instruction';
import {
  chargeTrap,
  handleShadowPageFault,
  type ShadowFaultHost,
  type TrapWork,
} from '../../shadow-paging/shadow-fault';

const HANDLERS = [
  ['dispatch', 512],
  ['emulate', 3072],
  ['reflect', 1536],
  ['shadowFill', 2048],
  ['shadowSync', 1536],
  ['shadowSwitch', 1024],
] as const;
type HandlerName = (typeof HANDLERS)[number][0];

export class TrapAndEmulateHypervisor implements DeliveryHook, ShadowFaultHost {
  readonly technique = 'trap-and-emulate';
  readonly vcpu: VirtualCpu;
  readonly shadow: ShadowPageTables;
  readonly watch: SilentSensitiveWatch | undefined;
  private readonly cpu: Cpu;
  /** executes one guest instruction with the ISA's own privilege checks */
  readonly executor: Interpreter;
  private readonly handlers: Record<HandlerName, HandlerFootprint>;
  readonly writes: ShadowWriteWindow;
  private handling = false;

  constructor(
    readonly machine: Machine,
    private readonly meter: RunMeter,
    isa: IsaVariant,
  ) {
    this.cpu = machine.cpu;
    const guestBytes = machine.guestMemoryBytes;
    if (machine.memory.size < guestBytes + HYPERVISOR_BYTES) {
      throw new Error('trap-and-emulate needs its hypervisor region above the guest RAM');
    }
    // page 0 of the region is the hypervisor's IDT (the CPU never reads it: every event is
    // intercepted first), then the shadow pool, then the handlers' modeled text
    this.vcpu = new VirtualCpu(this.cpu, { idtrBase: guestBytes, idtrLimit: 0x7ff });
    this.shadow = new ShadowPageTables(
      this.cpu,
      machine.memory,
      guestBytes,
      shadowPool(guestBytes),
    );
    this.writes = new ShadowWriteWindow(this.cpu, this.shadow);
    this.executor = new Interpreter(this.cpu);
    this.handlers = handlerFootprints('trap-and-emulate', guestBytes, HANDLERS);
    this.watch =
      isa === 'classic'
        ? new SilentSensitiveWatch(this.cpu, this.vcpu, () => machine.uart.outputLength)
        : undefined;
  }

  /** Take over a CPU in the guest's boot state: virtualize it and install the hypervisor. */
  boot(): void {
    const cpu = this.cpu;
    this.vcpu.adopt();
    cpu.cr3 = this.shadow.switchTo(this.vcpu.paging);
    cpu.flushTlb();
    this.shadow.tlbFlushed();
    cpu.hook = this;
    const pic = this.machine.pic;
    const vcpu = this.vcpu;
    // the virtual interrupt window: the VM's PIC interrupts the guest only when its virtual
    // IF is set (the real IF stays on: the hypervisor always takes interrupts)
    const window: InterruptController = {
      hasInterrupt: () => vcpu.interruptFlag && pic.hasInterrupt(),
      acknowledge: () => pic.acknowledge(),
    };
    cpu.pic = window;
    this.watch?.install(this.machine.interpreter);
  }

  // ---- the trap entry -------------------------------------------------------------------------
  intercept(_cpu: Cpu, vector: number, errorCode: number | undefined, source: DeliverySource) {
    if (this.handling) throw new Error('trap-and-emulate: a trap while handling a trap');
    this.handling = true;
    try {
      this.vcpu.syncFromCpu();
      if (source === 'external') {
        this.trap(`irq ${this.machine.pic.lastIrq}`, 'reflect', [['vmm.reflect', 1]]);
        this.reflect(vector, undefined, 'external');
      } else if (source === 'software') {
        this.trap(`int 0x${vector.toString(16)}`, 'reflect', [['vmm.reflect', 1]]);
        this.reflect(vector, undefined, 'software');
      } else if (vector === VECTOR.PF) {
        this.pageFault(this.cpu.cr2, errorCode ?? 0);
      } else if (vector === VECTOR.GP) {
        this.emulate();
      } else {
        // the guest's own exception (#DE, #UD, #DB…): deprivileging causes none of these
        this.trap(`${exceptionName(vector)} reflect`, 'reflect', [['vmm.reflect', 1]]);
        this.reflect(vector, errorCode, 'exception');
      }
    } finally {
      this.handling = false;
    }
    return true;
  }

  // ---- page faults ------------------------------------------------------------------------------
  private pageFault(linear: number, errorCode: number): void {
    handleShadowPageFault(this, linear, errorCode);
  }

  /**
   * A page fault met while the hypervisor itself runs a guest instruction or delivers an
   * event: fix what is the hypervisor's business and say so (true), or leave it to the guest.
   */
  resolveNested(e: CpuException, savedCr2: number): boolean {
    const work = this.writes.resolveNested(e, savedCr2, this.vcpu.paging);
    if (work === undefined) return false;
    chargeNestedWork(this.meter, work, this.handlers.shadowFill);
    return true;
  }

  // ---- instruction emulation -------------------------------------------------------------------
  /** A #GP at CPL 1 or 3: run the instruction against the virtual CPU. */
  private emulate(): void {
    const insn = this.instructionAtFault();
    const charges: [string, number][] = [['vmm.emulate', 1]];
    if (insn?.form.op === 'mov-to-cr' && insn.reg === 3) charges.push(['vmm.shadowSwitch', 1]);
    this.trap(insn ? trapCause(this.cpu, insn) : '#GP', 'emulate', charges);
    executeForGuest(this, true, insn);
  }

  private instructionAtFault(): DecodedInstruction | undefined {
    const cpu = this.cpu;
    cpu.eip = cpu.insnStart;
    try {
      return cpu.fetch();
    } catch {
      return undefined;
    }
  }

  // ---- reflecting events into the guest --------------------------------------------------------
  /** Deliver an event through the guest's IDT, with the guest's CPL, stack and IF rules. */
  reflect(vector: number, errorCode: number | undefined, source: DeliverySource): void {
    const cpu = this.cpu;
    const vcpu = this.vcpu;
    vcpu.enter();
    const savedCr2 = vcpu.cr2;
    try {
      reflectEvent(cpu, this.writes, vector, errorCode, source, (e) =>
        this.resolveNested(e, savedCr2),
      );
    } finally {
      vcpu.leave();
    }
  }

  // ---- accounting ---------------------------------------------------------------------------
  trap(cause: string, handler: HandlerName, work: TrapWork): void {
    chargeTrap(this.meter, this.handlers.dispatch, cause, this.handlers[handler], work);
  }
}

function exceptionName(vector: number): string {
  return VECTOR_NAMES[vector] ?? `vector ${vector}`;
}
