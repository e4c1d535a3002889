// The fetch–decode–execute loop: runs the CPU in batches up to the next device event or
// instruction budget, applies the table's privilege check (per ISA variant) before each
// handler, counts instructions and modeled cycles, and turns faults, software interrupts and
// pending hardware interrupts into deliveries. A fault restarts its instruction; a trap or
// software interrupt returns after it.

import { type Cpu, TripleFault } from './cpu';
import { CpuException, gp, VECTOR } from './exceptions';
import { FLAG_TF } from './alu';
import { type DecodedInstruction } from '../isa/decoder';
import { type Handler, handlerFor, privilegeTable, SoftwareInterrupt } from './exec';
import { EptViolation, InstructionExit } from './vmx';

/** Sees a watched instruction just before it executes (Interpreter.watch). */
export type InstructionWatcher = (insn: DecodedInstruction) => void;

/** privilege-table mark of a watched form (0 none, 1 cpl0, 2 iopl are the table's checks) */
const WATCHED = 3;
/** privilege-table bit of a form that exits in VMX non-root operation (after its check) */
const EXITING = 4;

/** What stopped a batch. */
export const enum BatchEnd {
  /** the batch's cycle or instruction bound was reached (or an instruction asked to re-check) */
  Bound = 0,
  /** the CPU halted (hlt) */
  Halted = 1,
}

export class Interpreter {
  private readonly privilege: Uint8Array;
  private watcher: InstructionWatcher | undefined;

  /** `privilege`: the check per form id (default: the opcode table's, for the CPU's ISA). */
  constructor(
    readonly cpu: Cpu,
    privilege?: Uint8Array,
  ) {
    this.privilege = privilege ?? privilegeTable(cpu.isa);
  }

  /**
   * Execute exactly the instruction at CS:EIP, throwing its fault (CpuException) or software
   * interrupt instead of delivering it. A hypervisor uses this to run one guest instruction
   * under conditions it set up (a page-table write let through once, then protected again).
   */
  executeOne(): void {
    this.executeUntil(Infinity, this.cpu.instructions + 1);
  }

  /**
   * Call `watcher` before each of these forms executes at CPL > 0 (forms with no privilege
   * check only: what they do is unchanged). The workbench uses it to see sensitive
   * instructions that do not trap on classic x86 — what the hypervisor itself cannot see.
   */
  watch(formIds: Iterable<number>, watcher: InstructionWatcher): void {
    for (const id of formIds) {
      if (this.privilege[id] !== 0) throw new Error(`form ${id} has a privilege check`);
      this.privilege[id] = WATCHED;
    }
    this.watcher = watcher;
  }

  /**
   * VMX non-root operation (vmx.ts): these forms exit to `cpu.vmx` when it says so, after the
   * form's own privilege check (SDM 25.1.1: those faults have priority over the exit).
   */
  setExiting(formIds: Iterable<number>): void {
    for (const id of formIds) {
      if (this.privilege[id] === WATCHED) throw new Error(`form ${id} is watched`);
      this.privilege[id]! |= EXITING;
    }
  }

  /**
   * Run until `cycles` reaches `cycleBound` or `instructions` reaches `instructionBound`,
   * the CPU halts, or an instruction breaks the batch (so interrupts are checked promptly).
   * Throws TripleFault when the machine shuts down.
   */
  runBatch(cycleBound: number, instructionBound: number): BatchEnd {
    const cpu = this.cpu;
    cpu.breakBatch = false;
    // Interrupts are looked at when a batch starts: every instruction that can open the
    // interrupt window or change what is pending (sti, popf, iret, out to the PIC…) ends its
    // batch, and device events end batches by bounding them.
    let checkInterrupts = true;
    while (cpu.cycles < cycleBound && cpu.instructions < instructionBound) {
      if (cpu.halted) return BatchEnd.Halted;
      let limit = instructionBound;
      if (checkInterrupts) {
        checkInterrupts = false;
        if (cpu.interruptShadow) {
          // the shadow covers exactly the instruction after sti / mov ss: look again after it
          cpu.interruptShadow = false;
          checkInterrupts = true;
          limit = Math.min(instructionBound, cpu.instructions + 1);
        } else if (cpu.pic && cpu.interruptsEnabled && cpu.pic.hasInterrupt()) {
          const vector = cpu.pic.acknowledge();
          cpu.insnStart = cpu.eip;
          this.deliver(vector, undefined, 'external');
          return BatchEnd.Bound;
        }
      }
      // TF: single-step. Each instruction that starts with TF set is followed by a #DB trap
      // (SDM 17.3.1.4); the instruction that sets TF does not trap itself.
      const singleStep = (cpu.systemFlags & FLAG_TF) !== 0;
      if (singleStep) limit = Math.min(limit, cpu.instructions + 1);
      try {
        // the straight-line part of the batch: no try/catch inside, so it optimises well
        this.executeUntil(cycleBound, limit);
        if (singleStep && !cpu.halted) {
          this.deliver(VECTOR.DB, undefined, 'exception');
          return BatchEnd.Bound;
        }
      } catch (e) {
        if (e instanceof InstructionExit || e instanceof EptViolation) {
          // a VM exit: the instruction did not retire; the hypervisor emulates or restarts it
          cpu.eip = cpu.insnStart;
          this.exit(e);
          if (cpu.breakBatch) {
            cpu.breakBatch = false;
            return cpu.halted ? BatchEnd.Halted : BatchEnd.Bound;
          }
          continue;
        }
        cpu.retireFaulting();
        if (e instanceof CpuException) {
          cpu.eip = cpu.insnStart; // a fault restarts its instruction
          this.deliver(e.vector, e.errorCode, 'exception');
        } else if (e instanceof SoftwareInterrupt) {
          this.deliver(e.vector, undefined, 'software');
        } else {
          throw e;
        }
      }
      if (cpu.breakBatch) {
        cpu.breakBatch = false;
        return cpu.halted ? BatchEnd.Halted : BatchEnd.Bound;
      }
    }
    return cpu.halted ? BatchEnd.Halted : BatchEnd.Bound;
  }

  /**
   * Execute instructions until a bound, or until one sets `breakBatch`. Faults propagate to
   * runBatch with `insnStart` naming the faulting instruction.
   */
  private executeUntil(cycleBound: number, instructionBound: number): void {
    const cpu = this.cpu;
    const privilege = this.privilege;
    const formCycles = cpu.formCycles;
    const formCounts = cpu.formCounts;
    while (cpu.cycles < cycleBound && cpu.instructions < instructionBound) {
      const start = cpu.eip;
      cpu.insnStart = start;
      const insn = cpu.fetch();
      cpu.eip = (start + insn.length) >>> 0;
      const p = privilege[insn.form.id]!;
      if (p !== 0) {
        if (p === WATCHED) {
          if (cpu.cpl !== 0) this.watcher!(insn);
        } else {
          const check = p & 3;
          if (check !== 0 && (check === 1 ? cpu.cpl !== 0 : cpu.cpl > cpu.iopl)) {
            throw gp(
              `'${insn.form.mnemonic}' at CPL ${cpu.cpl}${check === 2 ? ` with IOPL ${cpu.iopl}` : ''}`,
              0,
            );
          }
          if (p & EXITING && cpu.vmx!.exits(insn)) throw new InstructionExit(insn);
        }
      }
      let handler = insn.exec as Handler | undefined;
      if (handler === undefined) handler = insn.exec = handlerFor(insn);
      handler(cpu, insn);
      const id = insn.form.id;
      formCounts[id]!++;
      cpu.cycles += formCycles[id]!;
      cpu.instructions++;
      if (cpu.cpl === 3) cpu.userInstructions++;
      if (cpu.breakBatch) return;
    }
  }

  private exit(e: InstructionExit | EptViolation, duringDelivery = false): void {
    const vmx = this.cpu.vmx;
    if (!vmx) throw new Error('a VM exit outside VMX non-root operation');
    if (e instanceof InstructionExit) vmx.instructionExit(e);
    else vmx.eptViolation(e, duringDelivery);
  }

  private deliver(
    vector: number,
    errorCode: number | undefined,
    source: 'exception' | 'software' | 'external',
  ): void {
    const cpu = this.cpu;
    try {
      cpu.deliver(vector, errorCode, source);
    } catch (e) {
      if (e instanceof TripleFault) throw e;
      if (e instanceof EptViolation) {
        // the delivery itself touched guest-physical memory the nested table forbids
        this.exit(e, true);
        return;
      }
      if (e instanceof CpuException) {
        // only reached if escalation itself failed to classify: treat as shutdown
        throw new TripleFault(cpu.insnStart, e.toString());
      }
      throw e;
    }
  }
}
