// The hardware-assisted hypervisor (VT-x style; TECHNIQUES.md `hardware-assisted`): the guest
// kernel runs at its own CPL 0 in VMX non-root operation (machine/vmx.ts) with its own IDT,
// GDT, TSS and interrupt flag, so system calls, cli/sti/popf and its own exceptions never
// leave the guest. What exits is what the control structure selects, and the exit handler
// here deals with each reason:
// - I/O (unconditional I/O exiting: the VM's devices are the hypervisor's), hlt, cpuid, rdmsr,
//   wrmsr, vmcall: the instruction is emulated by running it in root mode (vmcall, with no
//   para-virtual interface here, injects #UD as bare hardware raises it);
// - an external interrupt: exits, and is injected into the guest at the next entry;
// - with shadow paging (`ShadowPagingVmx`): mov to/from CR3 and invlpg, CR0/CR4 writes that
//   change the bits the hypervisor owns (PE, PG, WP; PSE, PGE), and #PF by the exception
//   bitmap — hidden faults fill the shadow, true ones are injected;
// - with nested paging (`NestedPagingVmx`): none of those; the guest owns CR0, CR3, CR4 and its
//   page faults, the CPU walks its tables through the hypervisor's nested table, and a write
//   to guest-physical memory beyond RAM is an EPT violation, emulated as a lost write.
// Each exit is charged as the hardware transition (exit, entry), the VMCS accesses of its
// handler (about ten vmreads per exit [AA06]; a vmwrite for the guest RIP, two for an
// injected event) and the handler's own work, with its modeled code through the I-cache.

import { type DecodedInstruction } from '../../../isa/decoder';
import {
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_PSE,
  type Cpu,
  type DeliveryHook,
  type DeliverySource,
} from '../../../machine/cpu';
import { CpuException, VECTOR } from '../../../machine/exceptions';
import { FORMS } from '../../../isa/table';
import { Interpreter } from '../../../machine/interpreter';
import { type Machine } from '../../../machine/machine';
import { ioAccess } from '../../../machine/exec';
import {
  defaultControls,
  EptViolation,
  EXITING_OPS,
  type InstructionExit,
  instructionExits,
  type VmExecutionControls,
  type VmxHost,
} from '../../../machine/vmx';
import { type HandlerFootprint, type RunMeter } from '../../../metrics/meter';
import { executeForGuest, loadGuestPaging } from '../../guest-instruction';
import { handlerFootprints, HYPERVISOR_BYTES, shadowPool } from '../../hypervisor-memory';
import { trapCause } from '../../instruction-cause';
import { reflectEvent } from '../../reflect';
import { handleShadowPageFault, type TrapWork } from '../../shadow-paging/shadow-fault';
import { ShadowPageTables } from '../../shadow-paging/shadow-page-tables';
import { chargeNestedWork, ShadowWriteWindow } from '../../shadow-paging/write-window';
import { GuestNotVirtualizable } from '../../technique';
import { VirtualCpu } from '../../virtual-cpu';
import { NestedPageTable } from './nested-page-table';

/** vmreads of one exit's handler: reason, qualification, guest RIP, instruction length and the
 *  guest registers it needs ([AA06]: "about ten reads per exit") */
export const VMREADS_PER_EXIT = 10;

const HANDLERS = [
  ['dispatch', 512],
  ['emulate', 1536],
  ['inject', 512],
  ['shadowFill', 2048],
  ['shadowSync', 1536],
  ['shadowSwitch', 1024],
] as const;
type HandlerName = (typeof HANDLERS)[number][0];

/** Instructions the hypervisor emulates by running them in root mode. */
const EMULATED = new Set(['in', 'out', 'ins', 'outs', 'hlt', 'cpuid', 'rdmsr', 'wrmsr']);
const IO = new Set(['in', 'out', 'ins', 'outs']);
/** CR0 bits the hypervisor owns under shadow paging: the shadow needs paging and WP on */
const SHADOW_CR0_OWNED = (CR0_PE | CR0_PG | CR0_WP) >>> 0;
const CR4_PGE = 1 << 7;
/** CR4 bits it owns: the shadow is built of 4 KiB pages, without global ones */
const SHADOW_CR4_OWNED = CR4_PSE | CR4_PGE;

abstract class VmxHypervisor implements DeliveryHook, VmxHost {
  readonly cpu: Cpu;
  /** root-mode execution of one instruction (no exits): how exiting instructions are emulated */
  readonly executor: Interpreter;
  protected readonly handlers: Record<HandlerName, HandlerFootprint>;
  /** the VM-execution controls of the guest's control structure: what exits */
  readonly controls: VmExecutionControls = defaultControls();

  constructor(
    readonly machine: Machine,
    protected readonly meter: RunMeter,
    readonly technique: string,
  ) {
    this.cpu = machine.cpu;
    if (machine.memory.size < machine.guestMemoryBytes + HYPERVISOR_BYTES) {
      throw new Error(`${technique} needs its hypervisor region above the guest RAM`);
    }
    this.executor = new Interpreter(this.cpu);
    this.handlers = handlerFootprints(technique, machine.guestMemoryBytes, HANDLERS);
  }

  /** Enter non-root operation with the guest's boot state and the controls as set. */
  boot(): void {
    this.machine.interpreter.setExiting(
      FORMS.filter((f) => EXITING_OPS.has(f.op)).map((f) => f.id),
    );
    this.cpu.vmx = this;
    this.cpu.hook = this;
  }

  // ---- the exit handler ---------------------------------------------------------------------
  exits(insn: DecodedInstruction): boolean {
    return instructionExits(this.cpu, this.controls, insn);
  }

  instructionExit({ insn }: InstructionExit): void {
    const op = insn.form.op;
    const cpu = this.cpu;
    if (op === 'vmcall') {
      this.exit('vmcall', 'inject', [], 2);
      // no para-virtual interface: #UD, as the instruction raises outside VMX operation
      this.retireFaulting();
      this.inject(VECTOR.UD, undefined, 'exception');
    } else if (EMULATED.has(op)) {
      let detail: string | undefined;
      if (IO.has(op)) {
        const { port, bytes } = ioAccess(cpu, insn);
        const dir = op === 'in' || op === 'ins' ? 'in' : 'out';
        detail = `port 0x${port.toString(16)}, ${bytes} byte${bytes > 1 ? 's' : ''}, ${dir}${op === 'ins' || op === 'outs' ? ', string' : ''}${insn.prefixes.rep ? ', rep' : ''}`;
      } else if (op === 'cpuid') detail = `leaf 0x${cpu.regs[0]!.toString(16)}`;
      else if (op === 'rdmsr' || op === 'wrmsr') detail = `MSR 0x${cpu.regs[1]!.toString(16)}`;
      this.exit(IO.has(op) ? `io ${trapCause(cpu, insn)}` : op, 'emulate', [], 1, detail);
      this.emulate();
    } else {
      this.controlExit(insn);
    }
  }

  protected abstract controlExit(insn: DecodedInstruction): void;

  eptViolation(violation: EptViolation, duringDelivery: boolean): void {
    throw new GuestNotVirtualizable(
      `${this.technique}: ${violation.write ? 'a write to' : 'an access to'} guest-physical ` +
        `0x${violation.guestPhysical.toString(16)}${duringDelivery ? ' during an event delivery' : ''} ` +
        `at EIP=0x${this.cpu.insnStart.toString(16)}, which this hypervisor does not map`,
    );
  }

  /** Run the exiting instruction at `cpu.insnStart` in root mode, once (it is counted once);
   *  a fault it raises is the guest's. */
  protected abstract emulate(): void;

  /** an instruction that faults: counted as a faulting instruction, as the bare CPU counts it */
  protected retireFaulting(): void {
    this.cpu.retireFaulting();
    this.cpu.eip = this.cpu.insnStart;
  }

  // ---- events -------------------------------------------------------------------------------
  abstract intercept(
    cpu: Cpu,
    vector: number,
    errorCode: number | undefined,
    source: DeliverySource,
  ): boolean;

  /** Inject an event: the CPU delivers it through the guest's IDT at the next VM entry. */
  abstract inject(vector: number, errorCode: number | undefined, source: DeliverySource): void;

  /** External-interrupt exiting: the interrupt exits, then is injected (one vmwrite). */
  protected externalInterruptExit(vector: number): void {
    if (!this.controls.externalInterruptExiting) return;
    this.exit(
      `external-interrupt irq ${this.machine.pic.lastIrq}`,
      'inject',
      [],
      1,
      `vector 0x${vector.toString(16)}`,
    );
  }

  // ---- accounting ---------------------------------------------------------------------------
  /** One VM exit and the entry back: its transitions, VMCS accesses and the handler's work. */
  protected exit(
    cause: string,
    handler: HandlerName,
    work: TrapWork,
    vmwrites: number,
    qualification?: string,
  ): void {
    this.meter.runHandler(this.handlers.dispatch);
    this.meter.trap(
      `exit:${cause}`,
      [
        ['vmx.exit', 1],
        ['vmx.vmread', VMREADS_PER_EXIT],
        ['vmx.vmwrite', vmwrites],
        ...work.filter(([, n]) => n > 0),
        ['vmx.entry', 1],
      ],
      this.handlers[handler],
      qualification,
    );
  }
}

/** `hardware-assisted`: VT-x with shadow page tables from the shared core. */
export class ShadowPagingVmx extends VmxHypervisor {
  /** the guest's paging registers and CR2 (the shadow core's view of the guest) */
  readonly vcpu: VirtualCpu;
  readonly shadow: ShadowPageTables;
  readonly writes: ShadowWriteWindow;

  constructor(machine: Machine, meter: RunMeter) {
    super(machine, meter, 'hardware-assisted');
    const guestBytes = machine.guestMemoryBytes;
    // the VirtualCpu holds only what the shadow core reads: the guest's CR0, CR3, CR4 and CR2
    // (everything else of the guest's state is the CPU's own in non-root operation)
    this.vcpu = new VirtualCpu(this.cpu, { idtrBase: 0, idtrLimit: 0 });
    this.shadow = new ShadowPageTables(
      this.cpu,
      machine.memory,
      guestBytes,
      shadowPool(guestBytes),
    );
    this.writes = new ShadowWriteWindow(this.cpu, this.shadow);
  }

  override boot(): void {
    const cpu = this.cpu;
    const vcpu = this.vcpu;
    const controls = this.controls;
    controls.cr3LoadExiting = true;
    controls.cr3StoreExiting = true;
    controls.invlpgExiting = true;
    controls.exceptionBitmap = 1 << VECTOR.PF;
    vcpu.cr0 = cpu.cr0;
    vcpu.cr3 = cpu.cr3;
    vcpu.cr4 = cpu.cr4;
    vcpu.cr2 = cpu.cr2;
    cpu.cr0GuestHostMask = SHADOW_CR0_OWNED;
    cpu.cr4GuestHostMask = SHADOW_CR4_OWNED;
    this.loadGuestControl();
    loadGuestPaging(cpu, this.shadow, vcpu);
    super.boot();
  }

  /** The real CR0/CR4 for the guest's: the owned bits forced as the shadow needs them. */
  private loadGuestControl(): void {
    const cpu = this.cpu;
    const vcpu = this.vcpu;
    if (!(vcpu.cr0 & CR0_PE)) {
      throw new GuestNotVirtualizable(
        `${this.technique}: the guest cleared CR0.PE at EIP=0x${cpu.insnStart.toString(16)}; real mode needs an unrestricted guest, which this VMX does not model`,
      );
    }
    cpu.cr0ReadShadow = vcpu.cr0;
    cpu.cr0 = (vcpu.cr0 | SHADOW_CR0_OWNED) >>> 0;
    cpu.cr4ReadShadow = vcpu.cr4;
    cpu.cr4 = (vcpu.cr4 & ~SHADOW_CR4_OWNED) >>> 0;
  }

  protected controlExit(insn: DecodedInstruction): void {
    const cpu = this.cpu;
    const vcpu = this.vcpu;
    if (insn.form.op === 'invlpg') {
      this.exit('invlpg', 'emulate', [], 1, 'linear address of the operand');
      this.emulate();
      return;
    }
    if (insn.form.op === 'mov-from-cr') {
      // CR3-store exiting: the guest reads its own directory, not the shadow
      this.exit('mov r32, cr3', 'emulate', [], 1, `CR3 → r${insn.rm}`);
      this.emulate();
      cpu.setReg(insn.rm, 32, vcpu.cr3);
      return;
    }
    // a CR write: executed against the guest's own CR0/CR4 (what it may write, what it
    // changes), then the guest's new values kept and the real ones derived from them
    const reg = insn.reg;
    this.exit(
      `mov cr${reg}`,
      reg === 3 ? 'shadowSwitch' : 'emulate',
      reg === 3 ? [['vmm.shadowSwitch', 1]] : [],
      reg === 3 ? 2 : 3,
      `CR${reg} ← 0x${cpu.getReg(insn.rm, 32).toString(16)}`,
    );
    const before = { cr0: vcpu.cr0, cr4: vcpu.cr4 };
    cpu.cr0GuestHostMask = 0;
    cpu.cr4GuestHostMask = 0;
    cpu.cr0 = (vcpu.cr0 | CR0_PG) >>> 0;
    cpu.cr4 = vcpu.cr4;
    let done = false;
    try {
      cpu.eip = cpu.insnStart;
      this.executor.executeOne();
      done = true;
    } catch (e) {
      if (!(e instanceof CpuException)) throw e;
      this.retireFaulting();
      vcpu.cr0 = before.cr0;
      vcpu.cr4 = before.cr4;
      this.restoreControl();
      this.inject(e.vector, e.errorCode, 'exception');
    }
    if (!done) return;
    if (reg === 0) vcpu.cr0 = cpu.cr0;
    if (reg === 4) vcpu.cr4 = cpu.cr4;
    if (reg === 3) vcpu.cr3 = cpu.cr3;
    this.restoreControl();
    if (reg === 4 && (before.cr4 ^ vcpu.cr4) & CR4_PSE) this.shadow.dropAll();
    const pagingChanged =
      reg === 3 || reg === 4 || ((before.cr0 ^ vcpu.cr0) & (CR0_PG | CR0_WP | CR0_PE)) !== 0;
    if (pagingChanged) loadGuestPaging(cpu, this.shadow, vcpu);
  }

  private restoreControl(): void {
    this.cpu.cr0GuestHostMask = SHADOW_CR0_OWNED;
    this.cpu.cr4GuestHostMask = SHADOW_CR4_OWNED;
    this.loadGuestControl();
  }

  protected emulate(): void {
    const cpu = this.cpu;
    cpu.eip = cpu.insnStart;
    // executeForGuest takes one instruction off for the trapped attempt it expects: an exit
    // counted none
    cpu.instructions++;
    executeForGuest(this, false);
  }

  // ---- events -------------------------------------------------------------------------------
  intercept(
    _cpu: Cpu,
    vector: number,
    errorCode: number | undefined,
    source: DeliverySource,
  ): boolean {
    if (
      source === 'exception' &&
      vector === VECTOR.PF &&
      this.controls.exceptionBitmap & (1 << VECTOR.PF)
    ) {
      // the exception bitmap's #PF: the CPU wrote CR2, which the guest must not see for a
      // fault that is the hypervisor's (exit qualification), so the guest's value goes back
      const cpu = this.cpu;
      const linear = cpu.cr2;
      cpu.cr2 = cpu.cr2BeforeFault;
      this.vcpu.cr2 = cpu.cr2;
      this.faultQualification = `linear 0x${linear.toString(16)}, error code 0x${(errorCode ?? 0).toString(16)}`;
      handleShadowPageFault(this, linear, errorCode ?? 0);
      this.faultQualification = undefined;
      return true;
    }
    if (source === 'external') this.externalInterruptExit(vector);
    // the guest's own event, delivered through its IDT by the CPU (no exit for it)
    this.inject(vector, errorCode, source);
    return true;
  }

  inject(vector: number, errorCode: number | undefined, source: DeliverySource): void {
    const cpu = this.cpu;
    if (source === 'exception' && vector === VECTOR.PF) cpu.cr2 = this.vcpu.cr2;
    reflectEvent(cpu, this.writes, vector, errorCode, source, (e) => this.resolveDeliveryFault(e));
  }

  /** ShadowFaultHost: a true page fault is injected. */
  reflect(vector: number, errorCode: number | undefined, source: DeliverySource): void {
    this.inject(vector, errorCode, source);
  }

  /**
   * A fault while the CPU delivers an event (the guest's stack not in the shadow yet) exits
   * with the event pending (IDT-vectoring information); resolved, the event is re-injected.
   */
  private resolveDeliveryFault(e: CpuException): boolean {
    return this.resolveNested(e, this.cpu.cr2BeforeFault, true);
  }

  /** A page fault met while an instruction is emulated (part of that exit's work) or an
   *  event delivered (an exit of its own): the shadow's business, or the guest's? */
  resolveNested(e: CpuException, savedCr2: number, ownExit = false): boolean {
    const linear = this.cpu.cr2;
    const work = this.writes.resolveNested(e, savedCr2, this.vcpu.paging);
    if (work === undefined) return false;
    if (ownExit) {
      this.exit(
        '#PF hidden (event delivery)',
        'shadowFill',
        [],
        1,
        `linear 0x${linear.toString(16)}, IDT-vectoring: the event is re-injected`,
      );
    }
    chargeNestedWork(this.meter, work, this.handlers.shadowFill);
    return true;
  }

  /** the qualification of the #PF exit being handled (its linear address and error code) */
  private faultQualification: string | undefined;

  /** ShadowFaultHost: a shadow page fault's exit. */
  trap(cause: string, handler: 'shadowFill' | 'shadowSync' | 'emulate', work: TrapWork): void {
    // event injection is the CPU's at entry: the hypervisor's part is two vmwrites, not a
    // frame built in software
    const injects = work.some(([kind]) => kind === 'vmm.reflect');
    const rest = work.filter(([kind]) => kind !== 'vmm.reflect');
    this.exit(
      cause,
      handler,
      rest,
      injects ? 2 : handler === 'shadowFill' ? 0 : 1,
      this.faultQualification,
    );
  }
}

/** `hardware-assisted-npt`: VT-x with nested paging (EPT). */
export class NestedPagingVmx extends VmxHypervisor {
  readonly nested: NestedPageTable;

  constructor(machine: Machine, meter: RunMeter) {
    super(machine, meter, 'hardware-assisted-npt');
    const guestBytes = machine.guestMemoryBytes;
    const pool = shadowPool(guestBytes);
    this.nested = new NestedPageTable(machine.memory, guestBytes, pool.first, pool.count);
  }

  override boot(): void {
    const cpu = this.cpu;
    cpu.nested = { root: this.nested.root };
    cpu.flushTlb();
    super.boot();
  }

  protected controlExit(insn: DecodedInstruction): void {
    throw new Error(`${this.technique}: '${insn.form.mnemonic}' does not exit with nested paging`);
  }

  protected emulate(): void {
    const violation = this.executeOnce();
    if (violation) this.eptViolation(violation, false);
  }

  /** Run the instruction at `cpu.insnStart` once; a guest fault it raises is injected, an EPT
   *  violation (the instruction not retired) is returned. */
  private executeOnce(): EptViolation | undefined {
    const cpu = this.cpu;
    cpu.eip = cpu.insnStart;
    try {
      this.executor.executeOne();
    } catch (e) {
      if (e instanceof EptViolation) return e;
      if (!(e instanceof CpuException)) throw e;
      this.retireFaulting();
      this.inject(e.vector, e.errorCode, 'exception');
    }
    return undefined;
  }

  /**
   * A write to guest-physical memory beyond RAM (the nested table maps it read-only to all
   * ones): the EPT violation exits and the hypervisor runs the instruction with the page
   * pointed at a discard page, so the write is lost as natively. Outside an instruction (an
   * event's frame pushed there) it is refused with the address.
   */
  override eptViolation(violation: EptViolation, duringDelivery: boolean): void {
    const cpu = this.cpu;
    if (duringDelivery || !violation.write || !this.nested.isUnassigned(violation.guestPhysical)) {
      super.eptViolation(violation, duringDelivery);
      return;
    }
    this.exit(
      'ept-violation write',
      'emulate',
      [['vmm.emulate', 1]],
      1,
      `guest-physical 0x${violation.guestPhysical.toString(16)} (unassigned), write`,
    );
    const undo: (() => void)[] = [];
    try {
      let pending: EptViolation | undefined = violation;
      for (let attempt = 0; pending; attempt++) {
        if (!pending.write || !this.nested.isUnassigned(pending.guestPhysical)) {
          super.eptViolation(pending, false); // refuses the guest
          return;
        }
        if (attempt === 4) {
          throw new GuestNotVirtualizable(
            `${this.technique}: the instruction at EIP=0x${cpu.insnStart.toString(16)} writes more unassigned pages than it can`,
          );
        }
        undo.push(this.nested.discardWritesTo(pending.guestPhysical));
        cpu.flushTlb();
        pending = this.executeOnce();
      }
    } finally {
      for (const u of undo.reverse()) u();
      cpu.flushTlb();
    }
  }

  intercept(
    _cpu: Cpu,
    vector: number,
    _errorCode: number | undefined,
    source: DeliverySource,
  ): boolean {
    // the guest's exceptions, page faults included, and its system calls never exit
    if (source === 'external') this.externalInterruptExit(vector);
    return false;
  }

  inject(vector: number, errorCode: number | undefined, source: DeliverySource): void {
    this.cpu.deliverDirect(vector, errorCode, source);
  }
}
