// Test helper: a bare CPU in flat 32-bit protected mode (no BIOS, no multiboot), with code
// assembled by our assembler at 0x1000 and a stack below 0x80000 — for per-instruction tests.
import { assemble } from '../../src-main/engine/asm/assembler';
import { Cpu, parseDescriptor, SEG_CS } from '../../src-main/engine/machine/cpu';
import { Interpreter } from '../../src-main/engine/machine/interpreter';
import { PhysicalMemory } from '../../src-main/engine/machine/memory';
import { type IsaVariant } from '../../src-main/engine/isa/types';

export const CODE = 0x1000;
export const GDT = 0x500;
export const STACK_TOP = 0x80000;

export interface BareRun {
  cpu: Cpu;
  memory: PhysicalMemory;
  ports: { port: number; size: number; value: number }[];
}

/** Flat GDT: 0x08 ring-0 code, 0x10 ring-0 data, 0x1b ring-3 code, 0x23 ring-3 data. */
export const FLAT_GDT: [number, number][] = [
  [0, 0],
  [0x0000ffff, 0x00cf9a00],
  [0x0000ffff, 0x00cf9200],
  [0x0000ffff, 0x00cffa00],
  [0x0000ffff, 0x00cff200],
];

export function bareCpu(source: string, options: { isa?: IsaVariant } = {}): BareRun {
  const memory = new PhysicalMemory(1 << 20);
  const ports: BareRun['ports'] = [];
  const cpu = new Cpu(
    memory,
    {
      read: () => 0xff,
      write: (port, size, value) => void ports.push({ port, size, value }),
    },
    { isa: options.isa ?? 'classic', tlbEntries: 64 },
  );
  FLAT_GDT.forEach(([lo, hi], i) => {
    memory.write32(GDT + i * 8, lo);
    memory.write32(GDT + i * 8 + 4, hi);
  });
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = FLAT_GDT.length * 8 - 1;
  for (let seg = 0; seg < 6; seg++) {
    const sel = seg === SEG_CS ? 0x08 : 0x10;
    const [lo, hi] = FLAT_GDT[sel >> 3]!;
    cpu.loadSegmentCache(seg, sel, parseDescriptor(lo, hi));
  }
  cpu.cr0 = 0x11;
  cpu.regs[4] = STACK_TOP;
  const image = assemble(`bits 32\norg ${CODE}\n${source}\nhlt\n`, { file: 'test.asm' }).bytes;
  memory.load(CODE, image);
  cpu.eip = CODE;
  return { cpu, memory, ports };
}

/** Run until hlt (or the budget); returns the interpreter's CPU. */
export function runToHalt(run: BareRun, budget = 100_000): Cpu {
  const interp = new Interpreter(run.cpu);
  while (!run.cpu.halted && run.cpu.instructions < budget) interp.runBatch(Infinity, budget);
  if (!run.cpu.halted)
    throw new Error(
      `did not halt within ${budget} instructions (EIP=0x${run.cpu.eip.toString(16)})`,
    );
  return run.cpu;
}

export function exec(source: string, options: { isa?: IsaVariant } = {}): Cpu {
  return runToHalt(bareCpu(source, options));
}

/** Switch the bare CPU to CPL 3 with the flat ring-3 segments (no transition: a test shortcut). */
export function enterRing3(run: BareRun): void {
  const cpu = run.cpu;
  for (let seg = 0; seg < 6; seg++) {
    const sel = seg === SEG_CS ? 0x1b : 0x23;
    const [lo, hi] = FLAT_GDT[sel >> 3]!;
    cpu.loadSegmentCache(seg, sel, parseDescriptor(lo, hi));
  }
  cpu.cpl = 3;
}

export interface Trap {
  vector: number;
  errorCode: number | undefined;
  eip: number;
}

/**
 * Run `source` and stop at the first exception or interrupt the CPU would deliver (caught by
 * the delivery hook, as a hypervisor technique would), or at hlt.
 */
export function firstTrap(
  source: string,
  options: { isa?: IsaVariant; ring3?: boolean } = {},
): { trap: Trap | undefined; cpu: Cpu } {
  const run = bareCpu(source, options);
  if (options.ring3) enterRing3(run);
  let trap: Trap | undefined;
  run.cpu.hook = {
    intercept(cpu, vector, errorCode) {
      trap = { vector, errorCode, eip: cpu.eip };
      cpu.halted = true;
      return true;
    },
  };
  const interp = new Interpreter(run.cpu);
  while (!run.cpu.halted && run.cpu.instructions < 100_000) interp.runBatch(Infinity, 100_000);
  return { trap, cpu: run.cpu };
}
