// Test helper: valid, realistic ResultsFile objects for the report tests, without running the
// engine. The numbers hang together the way the engine's do (cycles.total is the sum of the
// categories, each category the sum of its cost lines, hit rates and MPKI follow from the
// counts, hashes are the real SHA-256 of the output), and every file is parsed with
// ResultsFileSchema before it is returned, so this builder cannot drift from the contract.

import { createHash } from 'node:crypto';
import {
  type BinaryTranslationMetrics,
  COST_CATEGORIES,
  ResultsFileSchema,
  SCHEMA_VERSION,
  SPEC_DEFAULTS,
  type CostCategory,
  type CostLine,
  type Divergence,
  type EventEntry,
  type ParavirtMetrics,
  type ResultsFile,
  type RunResult,
} from '../../shared/results';

const sha256 = (bytes: string): string =>
  createHash('sha256').update(bytes, 'latin1').digest('hex');

export const SAMPLE_WORKLOAD = 'primes';
export const SAMPLE_OUTPUT = 'boot ok\nprimes below 1000: 168\nlargest: 997\ndone\n';
const KERNEL_BYTES = 'sample kernel image bytes';

export interface SampleRunParams {
  technique: string;
  /** name of the kernel file, or null for the bundled workload */
  kernelName: string | null;
  instructions: number;
  /** [kind, category, count, unitCycles] */
  costs: [string, CostCategory, number, number][];
  traps: Record<string, number>;
  guestEvents: Record<string, number>;
  worldSwitches: number;
  icacheMisses: number;
  outputText: string;
  status?: RunResult['status'];
  equivalent: boolean | null;
  firstDivergence?: Divergence | null;
  /** how many trap entries the event log holds */
  eventEntries?: number;
  /** the cause of the logged trap entries */
  eventCause?: string;
  /** what went through the para-API (para-virtualization runs only) */
  paravirt?: ParavirtMetrics | null;
  /** what the binary translator did (binary-translation runs only) */
  binaryTranslation?: BinaryTranslationMetrics | null;
}

const sum = (values: Record<string, number>): number =>
  Object.values(values).reduce((a, b) => a + b, 0);

/** Spread `total` over `slots` slots, deterministically and unevenly (a ramp). */
function spread(total: number, slots: number): number[] {
  const weights = Array.from({ length: slots }, (_, i) => i + 1);
  const w = weights.reduce((a, b) => a + b, 0);
  const parts = weights.map((x) => Math.floor((total * x) / w));
  parts[slots - 1]! += total - parts.reduce((a, b) => a + b, 0);
  return parts;
}

/** One run; parse the file it goes into with ResultsFileSchema (sampleResults does). */
export function sampleRun(p: SampleRunParams): RunResult {
  const costBreakdown: CostLine[] = p.costs.map(([kind, category, count, unitCycles]) => ({
    kind,
    category,
    count,
    unitCycles,
    cycles: count * unitCycles,
    source: `profile p4-2006: ${kind} (Intel optimization manual, table C-1)`,
  }));
  const cycles = Object.fromEntries(COST_CATEGORIES.map((c) => [c, 0])) as Record<
    CostCategory,
    number
  >;
  for (const line of costBreakdown) cycles[line.category] += line.cycles;
  const totalCycles = COST_CATEGORIES.reduce((a, c) => a + cycles[c], 0);
  const trapTotal = sum(p.traps);
  const eventTotal = sum(p.guestEvents);
  const slice = 100_000;
  const slotCount = Math.ceil(p.instructions / slice);
  const trapSlots = spread(trapTotal, slotCount);
  const eventSlots = spread(eventTotal, slotCount);
  const cycleSlots = spread(totalCycles, slotCount);
  const accesses = p.instructions;
  const entries: EventEntry[] = Array.from({ length: p.eventEntries ?? 0 }, (_, i) => ({
    instruction: 1_000 + i * 997,
    cycle: 3_000 + i * 4_111,
    eip: 0x00100040 + (i % 7) * 2,
    bytes: 'fa',
    disasm: 'cli',
    kind: 'trap',
    cause: p.eventCause ?? 'gp:cli',
    cost: 1_700,
  }));
  const kernelName = p.kernelName ?? `${SAMPLE_WORKLOAD}.elf`;
  const build = p.technique === 'paravirt' ? 'paravirt' : 'native';
  return {
    technique: p.technique,
    isa: 'classic',
    profile: 'p4-2006',
    workload: p.kernelName === null ? SAMPLE_WORKLOAD : null,
    kernel: { name: kernelName, sha256: sha256(KERNEL_BYTES + build), bytes: 12_288, build },
    cmdline: p.kernelName === null ? `workload=${SAMPLE_WORKLOAD} n=1000` : 'n=1000',
    seed: 0,
    schemaVersion: SCHEMA_VERSION,
    engineVersion: '0.1.0-test',
    status: p.status ?? 'completed',
    end: { reason: 'exit', exitCode: 0, eip: null, detail: 'isa-debug-exit 0' },
    guestInstructions: {
      total: p.instructions,
      kernel: Math.floor(p.instructions * 0.3),
      user: p.instructions - Math.floor(p.instructions * 0.3),
    },
    cycles: { total: totalCycles, ...cycles },
    costBreakdown,
    frequencyHz: 3_000_000_000,
    host: { wallMs: 84.5, mips: Math.round(p.instructions / 84.5 / 1000) },
    traps: { total: trapTotal, byCause: p.traps },
    guestEvents: { total: eventTotal, byCause: p.guestEvents },
    worldSwitches: { count: p.worldSwitches, cycles: cycles.worldSwitch },
    contextSwitches: { count: 24, cycles: 24 * 30 },
    icache: {
      accesses,
      misses: p.icacheMisses,
      hitRate: 1 - p.icacheMisses / accesses,
      mpki: p.icacheMisses / (p.instructions / 1000),
      footprintLines: 310,
      sizeBytes: 16_384,
      ways: 8,
      lineBytes: 64,
    },
    tlb: { lookups: accesses, misses: 410, hitRate: 1 - 410 / accesses, mpki: 0.34, entries: 64 },
    output: {
      bytes: Buffer.byteLength(p.outputText, 'latin1'),
      lines: p.outputText.split('\n').length - (p.outputText.endsWith('\n') ? 1 : 0),
    },
    outputHash: sha256(p.outputText),
    equivalent: p.equivalent,
    firstDivergence: p.firstDivergence ?? null,
    silentSensitive: null,
    culprit: null,
    paravirt: p.paravirt ?? null,
    binaryTranslation: p.binaryTranslation ?? null,
    outputText: p.outputText,
    outputTruncated: false,
    timeSeries: {
      sliceInstructions: slice,
      slots: Array.from({ length: slotCount }, (_, i) => ({
        instructions: Math.min((i + 1) * slice, p.instructions),
        cycles: cycleSlots[i]!,
        traps: trapSlots[i]!,
        guestEvents: eventSlots[i]!,
      })),
    },
    events: { limit: 5000, dropped: 0, entries },
  };
}

export interface SampleOptions {
  /** run a kernel file of this name instead of the bundled workload (hostile names welcome) */
  kernelName?: string;
  /** what the native run printed (the other runs print the same, except binary-translation) */
  outputText?: string;
  /** leave the native run out (no baseline: no overhead chart, nothing to compare with) */
  withoutNative?: boolean;
  /** add a fourth run, `paravirt`, with para-API metrics (SAMPLE_PARAVIRT) */
  withParavirt?: boolean;
  /** the `binary-translation` run as a working translator reports it: equivalent, with its
   *  metrics (SAMPLE_BINARY_TRANSLATION) and the translation and callout costs they imply */
  withBinaryTranslation?: boolean;
}

/**
 * The para-API metrics of the sample's `paravirt` run, consistent in themselves: mmu_update's
 * batch sizes add up to its calls and, weighted, to its entries; every hypercall of `errors`
 * is counted in `hypercalls` too.
 */
export const SAMPLE_PARAVIRT: ParavirtMetrics = {
  hypercalls: {
    console_write: 4,
    iret: 65,
    mmu_update: 14,
    set_cr3: 20,
    set_trap_table: 1,
    stack_switch: 24,
    unknown: 1,
    yield: 3,
  },
  errors: { 'mmu_update:EPERM': 1, 'unknown:ENOSYS': 1 },
  mmuUpdate: {
    calls: 14,
    // 10 × 1 + 3 × 16 + 1 × 64 = 122 entries asked for; the refused call applied none of its 1
    entries: 121,
    batchSizes: { '1': 10, '16': 3, '64': 1 },
    flushes: 2,
  },
  upcalls: 25,
  eventsPendingWhileMasked: 6,
  directPageTableWrites: 0,
  shadowPrefilled: 15_360,
};

/**
 * The binary translator's metrics of the sample's `binary-translation` run, consistent in
 * themselves and with the run: ident + controlFlow + inline + callout = guestInstructions (a
 * kernel of a few thousand instructions, about 7 per unit, 12 at most), one `translate`
 * callout per unit, the emulated I/O and iret as often as trap-and-emulate traps on them, a
 * `emulate:mov-to-cr` per context switch, a `pending-interrupt` per timer interrupt.
 */
export const SAMPLE_BINARY_TRANSLATION: BinaryTranslationMetrics = {
  units: 486,
  guestInstructions: 3_412,
  ident: 2_795,
  controlFlow: 452,
  inline: 118,
  callout: 47,
  fragmentBytes: 16_873,
  cacheBytes: 262_144,
  chainsPatched: 391,
  fallThroughsElided: 38,
  callouts: {
    translate: 486,
    'lookup:ret': 2_140,
    'lookup:indirect': 312,
    'emulate:out': 300,
    'emulate:iret': 65,
    'pending-interrupt': 25,
    'emulate:mov-to-cr': 24,
    'emulate:hlt': 3,
  },
  invalidations: 6,
  retranslations: 3,
  flushes: 0,
};

/**
 * An experiment with three runs: `native`; `trap-and-emulate`, trapping on every sensitive
 * instruction and equivalent; `binary-translation`, whose output diverges on its second line
 * and which has no translator metrics (withBinaryTranslation: equivalent, with them).
 */
export function sampleResults(options: SampleOptions = {}): ResultsFile {
  const kernelName = options.kernelName ?? null;
  const output = options.outputText ?? SAMPLE_OUTPUT;
  const guestEvents = { pf: 12, 'int:0x80': 40, 'irq:0': 25 };
  const baseCosts: [string, CostCategory, number, number][] = [
    ['insn.alu', 'guest', 900_000, 1],
    ['insn.mem', 'guest', 300_000, 2],
    ['mmu.walk', 'pageWalk', 410, 40],
    ['icache.miss', 'cacheMiss', 1_240, 25],
    ['hlt.idle', 'idle', 3, 1_000],
  ];
  const lines = output.split('\n');
  const diverged = [...lines];
  diverged[1] = `${diverged[1] ?? ''}!`;
  const bt = options.withBinaryTranslation ? SAMPLE_BINARY_TRANSLATION : null;
  const runs: RunResult[] = [];
  if (!options.withoutNative) {
    runs.push(
      sampleRun({
        technique: 'native',
        kernelName,
        instructions: 1_200_000,
        costs: [...baseCosts, ['event.pagefault', 'guest', 12, 150]],
        traps: {},
        guestEvents,
        worldSwitches: 0,
        icacheMisses: 1_240,
        outputText: output,
        equivalent: true,
      }),
    );
  }
  const compared = !options.withoutNative;
  runs.push(
    sampleRun({
      technique: 'trap-and-emulate',
      kernelName,
      instructions: 1_200_000,
      costs: [
        ...baseCosts,
        ['trap.gp', 'hypervisor', 120, 900],
        ['trap.pf', 'hypervisor', 12, 2_400],
        ['trap.io', 'hypervisor', 300, 700],
        ['trap.irq', 'hypervisor', 65, 500],
        ['vmexit', 'worldSwitch', 497, 1_700],
      ],
      traps: {
        'gp:cli': 50,
        'gp:sti': 50,
        'gp:mov-cr3': 20,
        'pf:hidden': 12,
        'io:0x3f8': 300,
        'irq:0': 25,
        'int:0x80': 40,
      },
      guestEvents,
      worldSwitches: 497,
      icacheMisses: 2_010,
      outputText: output,
      equivalent: compared ? true : null,
      eventEntries: 60,
    }),
    sampleRun({
      technique: 'binary-translation',
      kernelName,
      instructions: 1_150_000,
      costs: [
        ...baseCosts,
        // the translator costs about 2,300 cycles per guest instruction (TECHNIQUES.md)
        bt
          ? ['bt.translate', 'translation', bt.guestInstructions, 2_300]
          : ['bt.translate', 'translation', 4_000, 60],
        ['bt.callout', 'hypervisor', bt ? sum(bt.callouts) : 140, 300],
        ['vmexit', 'worldSwitch', 37, 1_700],
      ],
      traps: { 'pf:hidden': 12, 'irq:0': 25 },
      guestEvents: bt ? guestEvents : { ...guestEvents, de: 1 },
      worldSwitches: 37,
      icacheMisses: 3_300,
      outputText: bt ? output : diverged.join('\n'),
      equivalent: compared ? bt !== null : null,
      firstDivergence:
        compared && !bt
          ? { line: 2, expected: lines[1] ?? null, actual: diverged[1] ?? null }
          : null,
      eventEntries: 5,
      eventCause: 'pf:hidden',
      binaryTranslation: bt,
    }),
  );
  if (options.withParavirt) {
    const hypercalls = SAMPLE_PARAVIRT.hypercalls;
    runs.push(
      sampleRun({
        technique: 'paravirt',
        kernelName,
        instructions: 1_180_000,
        costs: [
          ...baseCosts,
          ['hypercall', 'hypervisor', sum(hypercalls), 400],
          ['pf.true', 'hypervisor', 12, 1_100],
          ['vmexit', 'worldSwitch', sum(hypercalls) + 12, 1_700],
        ],
        traps: {
          ...Object.fromEntries(
            Object.entries(hypercalls).map(([name, n]) => [`hypercall:${name}`, n]),
          ),
          'pf:true': 12,
        },
        guestEvents,
        worldSwitches: sum(hypercalls) + 12,
        icacheMisses: 1_600,
        outputText: output,
        equivalent: compared ? true : null,
        eventEntries: 8,
        eventCause: 'hypercall:mmu_update',
        paravirt: SAMPLE_PARAVIRT,
      }),
    );
  }
  const file: ResultsFile = {
    schemaVersion: SCHEMA_VERSION,
    spec: {
      ...SPEC_DEFAULTS,
      kernel:
        kernelName === null
          ? { kind: 'workload', workload: SAMPLE_WORKLOAD }
          : { kind: 'file', name: kernelName, sha256: sha256(`${KERNEL_BYTES}native`) },
      techniques: runs.map((r) => r.technique),
      append: 'n=1000',
    },
    runs,
  };
  return ResultsFileSchema.parse(file);
}
