// The PC: RAM, the port bus with its devices (16550 UART, 8259A pair, 8254 PIT,
// isa-debug-exit, port 0x80), the CPU and its interpreter, wired as QEMU's `pc` machine wires
// them, and the run loop that interleaves CPU batches with device time. The engine API the
// later layers build on: createMachine, loadKernel (multiboot), run. No file I/O here: the
// caller passes bytes.

import { Cpu, SEG_CS, SEGMENT_NAMES, TripleFault } from './cpu';
import { PortBus } from './bus';
import { DebugExit } from './devices/debug-exit';
import { Pic8259 } from './devices/pic8259';
import { Pit8254 } from './devices/pit8254';
import { PostPort } from './devices/post-port';
import { Uart16550 } from './devices/uart16550';
import { type EndReason, type MachineControl, type ModeledClock } from './interfaces';
import { BatchEnd, Interpreter } from './interpreter';
import { PhysicalMemory } from './memory';
import { loadMultiboot, type MultibootEntryState } from './multiboot';
import { type IsaVariant } from '../isa/types';

export interface MachineOptions {
  /** the guest's RAM in bytes (default 64 MiB): what multiboot tells the kernel it has */
  readonly memoryBytes?: number;
  /**
   * Host-physical memory above the guest's RAM that only a hypervisor uses (its shadow page
   * tables and descriptor tables; TECHNIQUES.md: "outside every guest's physical range").
   */
  readonly hypervisorBytes?: number;
  readonly isa?: IsaVariant;
  /** modeled TLB entries (default 64) */
  readonly tlbEntries?: number;
  /** modeled CPU clock (default 1 GHz: one cycle per instruction until CPU profiles exist) */
  readonly frequencyHz?: number;
}

export interface RunLimits {
  /** stop with 'instruction-limit' after this many instructions */
  readonly maxInstructions: number;
  /** polled between batches; return true to stop with 'cancelled' */
  readonly shouldStop?: () => boolean;
}

export const DEFAULT_MEMORY = 64 * 1024 * 1024;
/** How long the CPU runs before the loop looks at devices and the budget again. */
const SLICE_CYCLES = 50_000;

export class Machine implements MachineControl, ModeledClock {
  readonly memory: PhysicalMemory;
  readonly bus = new PortBus();
  readonly cpu: Cpu;
  readonly interpreter: Interpreter;
  readonly pic: Pic8259;
  readonly pit: Pit8254;
  readonly uart: Uart16550;
  readonly debugExit: DebugExit;
  readonly post: PostPort;
  readonly frequencyHz: number;
  /** the guest's RAM: host-physical [0, guestMemoryBytes); a hypervisor's region follows */
  readonly guestMemoryBytes: number;
  private exitCode: number | undefined;
  private endReason: EndReason | undefined;

  constructor(options: MachineOptions = {}) {
    this.guestMemoryBytes = options.memoryBytes ?? DEFAULT_MEMORY;
    this.memory = new PhysicalMemory(this.guestMemoryBytes + (options.hypervisorBytes ?? 0));
    this.frequencyHz = options.frequencyHz ?? 1_000_000_000;
    this.pic = new Pic8259();
    this.pit = new Pit8254(this, this.pic.line(0));
    this.uart = new Uart16550(this.pic.line(4));
    this.debugExit = new DebugExit(this);
    this.post = new PostPort();
    for (const d of [this.pic, this.pit, this.uart, this.debugExit, this.post])
      this.bus.register(d);
    this.cpu = new Cpu(this.memory, this.bus, {
      isa: options.isa ?? 'classic',
      tlbEntries: options.tlbEntries ?? 64,
    });
    this.cpu.pic = this.pic;
    this.interpreter = new Interpreter(this.cpu);
  }

  get cycles(): number {
    return this.cpu.cycles;
  }

  requestExit(code: number): void {
    this.exitCode = code >>> 0;
    this.cpu.breakBatch = true;
  }

  /** A hypervisor ends the run (a virtual hlt with the virtual IF clear, a triple fault). */
  requestEnd(reason: EndReason): void {
    this.endReason ??= reason;
    this.cpu.breakBatch = true;
  }

  /** The serial output so far (what the guest wrote to COM1). */
  serialOutput(): Uint8Array {
    return this.uart.output();
  }

  /** Load a multiboot kernel and put the CPU in QEMU's entry state. */
  loadKernel(image: Uint8Array, cmdline: string): MultibootEntryState {
    const entry = loadMultiboot(this.memory, image, {
      cmdline,
      memoryBytes: this.guestMemoryBytes,
    });
    applyEntryState(this.cpu, entry);
    return entry;
  }

  run(limits: RunLimits): EndReason {
    const cpu = this.cpu;
    try {
      for (;;) {
        if (this.exitCode !== undefined) return { kind: 'exit', code: this.exitCode };
        if (this.endReason !== undefined) return this.endReason;
        if (cpu.instructions >= limits.maxInstructions) return { kind: 'instruction-limit' };
        if (limits.shouldStop?.()) return { kind: 'cancelled' };
        const next = this.pit.nextEventAt();
        if (cpu.halted) {
          // cpu.pic, not this.pic: a hypervisor puts its virtual interrupt window in between
          if (cpu.interruptsEnabled && cpu.pic!.hasInterrupt()) {
            cpu.halted = false;
            continue;
          }
          // HLT with interrupts off, or with no device that can ever interrupt (the PIT is the
          // only timed source; masked at the PIC it cannot wake the CPU): stopped for good.
          if (!cpu.interruptsEnabled || next === Infinity || this.pic.isMasked(0)) {
            return { kind: 'halted', eip: cpu.eip };
          }
          // idle until the next device event (modeled time passes, no instructions run)
          if (next > cpu.cycles) {
            cpu.idleCycles += next - cpu.cycles;
            cpu.cycles = next;
          }
          this.pit.advanceTo(cpu.cycles);
          continue;
        }
        const bound = Math.min(next, cpu.cycles + SLICE_CYCLES);
        const end = this.interpreter.runBatch(
          bound <= cpu.cycles ? cpu.cycles + 1 : bound,
          limits.maxInstructions,
        );
        this.pit.advanceTo(cpu.cycles);
        if (end === BatchEnd.Halted) continue;
      }
    } catch (e) {
      if (e instanceof TripleFault) return { kind: 'triple-fault', eip: e.eip, detail: e.detail };
      throw e;
    }
  }

  /** CS:EIP as text, for diagnostics. */
  where(): string {
    return `${this.cpu.segSel[SEG_CS]!.toString(16).padStart(4, '0')}:${this.cpu.eip.toString(16).padStart(8, '0')}`;
  }
}

export function createMachine(options: MachineOptions = {}): Machine {
  return new Machine(options);
}

/** Put the CPU in the state QEMU's multiboot loader leaves it in (MACHINE.md "Boot"). */
export function applyEntryState(cpu: Cpu, s: MultibootEntryState): void {
  cpu.regs.set([s.eax, s.ecx, s.edx, s.ebx, s.esp, s.ebp, s.esi, s.edi]);
  cpu.eip = s.eip;
  cpu.setEflags(s.eflags, 0xffffffff);
  cpu.cr0 = s.cr0;
  cpu.cr2 = 0;
  cpu.cr3 = 0;
  cpu.cr4 = 0;
  cpu.gdtrBase = s.gdtr.base;
  cpu.gdtrLimit = s.gdtr.limit;
  cpu.idtrBase = s.idtr.base;
  cpu.idtrLimit = s.idtr.limit;
  SEGMENT_NAMES.forEach((name, index) =>
    cpu.loadSegmentCache(index, s.segments[name].selector, s.segments[name]),
  );
  cpu.ldtrSel = s.ldtr.selector;
  cpu.ldtrBase = s.ldtr.base;
  cpu.ldtrLimit = s.ldtr.limit;
  cpu.trSel = s.tr.selector;
  cpu.trBase = s.tr.base;
  cpu.trLimit = s.tr.limit;
  cpu.trType = s.tr.access & 0xf;
  cpu.cpl = 0;
  cpu.halted = false;
}
