// runExperiment: the one entry point that runs a guest under a technique and reports a
// RunResult (used by the worker threads, the CLI and the tests). It builds the machine for the
// CPU profile, lets the technique boot the kernel, runs it in time-series slices under the
// instruction budget, the host-time watchdog and the cancel signal, reports progress, and
// assembles every metric from the run meter and the CPU's counters. Deterministic: the host
// clock is injected and only feeds host-time fields, progress and the watchdog.

import {
  type ExperimentSpec,
  type RunEnd,
  type RunResult,
  SCHEMA_VERSION,
} from '../../shared/results';
import { type TranslationCacheDump } from '../../shared/translation-cache-dump';
import { type EndReason } from './machine/interfaces';
import { createMachine } from './machine/machine';
import { multibootCommandLine } from './machine/multiboot';
import { RunMeter } from './metrics/meter';
import { requireProfile } from './metrics/profiles';
import { sha256Hex } from './metrics/sha256';
import {
  type CancelSignal,
  type HostClock,
  PROGRESS_INTERVAL_MS,
  type RunProgress,
  type RunSpec,
} from './run-spec';
import { ENGINE_VERSION } from './version';
import { requireTechnique, type TechniqueSession } from './vmm';
import { GuestNotVirtualizable } from './vmm/technique';

export { SCHEMA_VERSION };

/** Serial output kept as text in a result (the hash covers all of it). */
export const OUTPUT_TEXT_LIMIT = 256 * 1024;

/** A clock that never moves: for callers with no use for host time (wallMs is then 0). */
export const FROZEN_CLOCK: HostClock = { now: () => 0 };

/** The words after the kernel path on the multiboot command line. */
export function kernelArguments(spec: ExperimentSpec): string {
  const words = spec.kernel.kind === 'workload' ? [`workload=${spec.kernel.workload}`] : [];
  if (spec.append.trim() !== '') words.push(spec.append.trim());
  // the para-virtual guest kernel reads it (one entry per mmu_update); the others ignore it
  if (!spec.mmuBatch) words.push('mmu_batch=0');
  return words.join(' ');
}

export interface RunHooks {
  /** the guest's serial output as it appears (at least once per time-series slice) */
  readonly onOutput?: (chunk: Uint8Array) => void;
  /** a binary-translation run's translation cache when the run ends (`--tc-dump`) */
  readonly onTranslationCache?: (dump: TranslationCacheDump) => void;
}

/** How often (in polls between CPU batches) the host clock is read at most. */
const CLOCK_POLL_EVERY = 16;

/**
 * Run one technique on one kernel. Never throws for anything the guest does: a bad image, a
 * triple fault or a guest that loops forever all end in a RunResult saying so. Engine bugs
 * surface as a `failed` result with the error.
 */
export function runExperiment(
  spec: RunSpec,
  onProgress: (p: RunProgress) => void,
  signal?: CancelSignal,
  clock: HostClock = FROZEN_CLOCK,
  hooks: RunHooks = {},
): RunResult {
  const exp = spec.experiment;
  const started = clock.now();
  let meter: RunMeter | undefined;
  let machine: ReturnType<typeof createMachine> | undefined;
  try {
    const technique = requireTechnique(spec.technique);
    const profile = requireProfile(exp.profile);
    machine = createMachine({
      memoryBytes: exp.memoryBytes,
      hypervisorBytes: technique.hypervisorMemoryBytes ?? 0,
      isa: exp.isa,
      tlbEntries: profile.tlbEntries,
      frequencyHz: profile.frequencyHz,
    });
    meter = new RunMeter(machine, profile, {
      eventLimit: exp.eventLimit,
      sliceInstructions: exp.sliceInstructions,
    });
    const cmdline = multibootCommandLine(spec.kernelPath, kernelArguments(exp));
    let session: TechniqueSession;
    try {
      session = technique.boot({
        machine,
        kernel: spec.kernel,
        cmdline,
        isa: exp.isa,
        profile,
        meter,
      });
    } catch (e) {
      return failedRunResult(spec, `kernel '${spec.kernel.name}': ${errorText(e)}`);
    }
    const cpu = machine.cpu;
    let stopReason: 'cancelled' | 'watchdog' | undefined;
    let polls = 0;
    let nextProgress = started + PROGRESS_INTERVAL_MS;
    const progress = (now: number): void => {
      const wallMs = now - started;
      onProgress({
        technique: spec.technique,
        instructions: cpu.instructions,
        traps: meter!.trapCount,
        guestEvents: meter!.guestEventCount,
        cycles: cpu.cycles,
        wallMs,
        mips: wallMs > 0 ? cpu.instructions / (wallMs * 1000) : 0,
      });
    };
    const shouldStop = (): boolean => {
      if (signal?.aborted) {
        stopReason = 'cancelled';
        return true;
      }
      if (++polls % CLOCK_POLL_EVERY !== 0) return false;
      const now = clock.now();
      if (now - started >= exp.timeoutMs) {
        stopReason = 'watchdog';
        return true;
      }
      if (now >= nextProgress) {
        progress(now);
        nextProgress = now + PROGRESS_INTERVAL_MS;
      }
      return false;
    };
    let end: EndReason;
    let streamed = 0;
    for (;;) {
      const sliceEnd = (Math.floor(cpu.instructions / meter.slice) + 1) * meter.slice;
      end = session.run({
        maxInstructions: Math.min(exp.maxInstructions, sliceEnd),
        shouldStop,
      });
      if (hooks.onOutput) {
        const chunk = machine.uart.outputSince(streamed);
        if (chunk.length > 0) {
          streamed += chunk.length;
          hooks.onOutput(chunk);
        }
      }
      if (end.kind === 'instruction-limit' && cpu.instructions < exp.maxInstructions) {
        if (cpu.instructions >= sliceEnd) meter.sample();
        continue;
      }
      break;
    }
    meter.sample();
    if (hooks.onTranslationCache && session.translationCache) {
      hooks.onTranslationCache(session.translationCache());
    }
    const finished = clock.now();
    progress(finished);
    return {
      ...assembleResult(spec, machine, meter, runEnd(end, stopReason, exp), finished - started),
      silentSensitive: session.silentSensitive?.() ?? null,
      paravirt: session.paravirt?.() ?? null,
      binaryTranslation: session.binaryTranslation?.() ?? null,
    };
  } catch (e) {
    if (e instanceof GuestNotVirtualizable) return failedRunResult(spec, e.message);
    return failedRunResult(spec, `internal error in the engine: ${errorText(e)}`);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function runEnd(
  end: EndReason,
  stopReason: 'cancelled' | 'watchdog' | undefined,
  exp: ExperimentSpec,
): RunEnd {
  switch (end.kind) {
    case 'exit':
      return {
        reason: 'exit',
        exitCode: end.code,
        eip: null,
        detail: `the guest wrote ${end.code} (0x${end.code.toString(16)}) to isa-debug-exit`,
      };
    case 'instruction-limit':
      return {
        reason: 'instruction-limit',
        exitCode: null,
        eip: null,
        detail: `the instruction budget (${exp.maxInstructions}) ran out`,
      };
    case 'halted':
      return {
        reason: 'halted',
        exitCode: null,
        eip: end.eip,
        detail: 'the machine halted with nothing left to wake it',
      };
    case 'triple-fault':
      return { reason: 'triple-fault', exitCode: null, eip: end.eip, detail: end.detail };
    case 'cancelled':
      return stopReason === 'watchdog'
        ? {
            reason: 'watchdog',
            exitCode: null,
            eip: null,
            detail: `the watchdog stopped the run after ${exp.timeoutMs} ms of host time`,
          }
        : { reason: 'cancelled', exitCode: null, eip: null, detail: 'cancelled' };
  }
}

function statusOf(end: RunEnd): RunResult['status'] {
  switch (end.reason) {
    case 'exit':
    case 'halted':
    case 'triple-fault':
      return 'completed';
    case 'error':
      return 'failed';
    default:
      return 'did-not-finish';
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return s;
}

function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b === 10) n++;
  return bytes.length > 0 && bytes[bytes.length - 1] !== 10 ? n + 1 : n;
}

function ratio(part: number, whole: number): number {
  return whole > 0 ? part / whole : 0;
}

function identity(
  spec: RunSpec,
): Pick<
  RunResult,
  | 'technique'
  | 'isa'
  | 'profile'
  | 'workload'
  | 'kernel'
  | 'cmdline'
  | 'seed'
  | 'schemaVersion'
  | 'engineVersion'
> {
  const exp = spec.experiment;
  return {
    technique: spec.technique,
    isa: exp.isa,
    profile: exp.profile,
    workload: exp.kernel.kind === 'workload' ? exp.kernel.workload : null,
    kernel: {
      name: spec.kernel.name,
      sha256: sha256Hex(spec.kernel.image),
      bytes: spec.kernel.image.length,
      build: spec.kernel.build,
    },
    cmdline: multibootCommandLine(spec.kernelPath, kernelArguments(exp)),
    seed: exp.seed,
    schemaVersion: SCHEMA_VERSION,
    engineVersion: ENGINE_VERSION,
  };
}

function assembleResult(
  spec: RunSpec,
  machine: ReturnType<typeof createMachine>,
  meter: RunMeter,
  end: RunEnd,
  wallMs: number,
): RunResult {
  const cpu = machine.cpu;
  const breakdown = meter.costBreakdown();
  const byCategory = RunMeter.cyclesByCategory(breakdown);
  const total = breakdown.reduce((s, l) => s + l.cycles, 0);
  if (total !== cpu.cycles) {
    // every cycle on the clock must come from a counted event: anything else is an engine bug
    throw new Error(`cost breakdown sums to ${total} cycles, the clock says ${cpu.cycles}`);
  }
  const instructions = cpu.instructions;
  const kilo = instructions / 1000;
  const output = machine.serialOutput();
  const text = latin1(output.subarray(0, OUTPUT_TEXT_LIMIT));
  const cr3Loads = cpu.cr3Loads + meter.virtualCr3Loads;
  const icache = meter.icache;
  return {
    ...identity(spec),
    status: statusOf(end),
    end,
    guestInstructions: {
      total: instructions,
      kernel: instructions - cpu.userInstructions,
      user: cpu.userInstructions,
    },
    cycles: { total, ...byCategory },
    costBreakdown: breakdown,
    frequencyHz: meter.profile.frequencyHz,
    host: { wallMs, mips: wallMs > 0 ? instructions / (wallMs * 1000) : 0 },
    traps: {
      total: meter.trapCount,
      byCause: Object.fromEntries(sortedEntries(meter.trapsByCause)),
    },
    guestEvents: {
      total: meter.guestEventCount,
      byCause: Object.fromEntries(sortedEntries(meter.guestEventsByCause)),
    },
    worldSwitches: { count: meter.worldSwitchCount, cycles: meter.worldSwitchCycles },
    contextSwitches: { count: cr3Loads, cycles: cr3Loads * meter.cr3LoadCycles() },
    icache: {
      accesses: icache.accesses,
      misses: icache.misses,
      hitRate: ratio(icache.accesses - icache.misses, icache.accesses),
      mpki: kilo > 0 ? icache.misses / kilo : 0,
      footprintLines: icache.footprintLines,
      sizeBytes: icache.sizeBytes,
      ways: icache.ways,
      lineBytes: icache.lineBytes,
    },
    tlb: {
      lookups: cpu.tlbLookups,
      misses: cpu.tlbMisses,
      hitRate: ratio(cpu.tlbLookups - cpu.tlbMisses, cpu.tlbLookups),
      mpki: kilo > 0 ? cpu.tlbMisses / kilo : 0,
      entries: meter.profile.tlbEntries,
    },
    output: { bytes: output.length, lines: countLines(output) },
    outputHash: sha256Hex(output),
    equivalent: null,
    firstDivergence: null,
    silentSensitive: null,
    culprit: null,
    paravirt: null,
    binaryTranslation: null,
    outputText: text,
    outputTruncated: output.length > OUTPUT_TEXT_LIMIT,
    timeSeries: meter.timeSeries(),
    events: {
      limit: spec.experiment.eventLimit,
      dropped: meter.droppedEvents,
      entries: meter.events,
    },
  };
}

function sortedEntries(map: ReadonlyMap<string, number>): [string, number][] {
  return [...map.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

/** A RunResult for a run that could not run at all (bad kernel, crashed worker…). */
export function failedRunResult(spec: RunSpec, error: string): RunResult {
  const zeroCache = { accesses: 0, misses: 0, hitRate: 0, mpki: 0, footprintLines: 0 };
  let profile: ReturnType<typeof requireProfile> | undefined;
  try {
    profile = requireProfile(spec.experiment.profile);
  } catch {
    profile = undefined;
  }
  return {
    ...identity(spec),
    status: 'failed',
    end: { reason: 'error', exitCode: null, eip: null, detail: error },
    guestInstructions: { total: 0, kernel: 0, user: 0 },
    cycles: { total: 0, ...RunMeter.cyclesByCategory([]) },
    costBreakdown: [],
    frequencyHz: profile?.frequencyHz ?? 1_000_000_000,
    host: { wallMs: 0, mips: 0 },
    traps: { total: 0, byCause: {} },
    guestEvents: { total: 0, byCause: {} },
    worldSwitches: { count: 0, cycles: 0 },
    contextSwitches: { count: 0, cycles: 0 },
    icache: {
      ...zeroCache,
      sizeBytes: profile?.icache.sizeBytes ?? 0,
      ways: profile?.icache.ways ?? 0,
      lineBytes: profile?.icache.lineBytes ?? 64,
    },
    tlb: { lookups: 0, misses: 0, hitRate: 0, mpki: 0, entries: profile?.tlbEntries ?? 0 },
    output: { bytes: 0, lines: 0 },
    outputHash: sha256Hex(new Uint8Array(0)),
    equivalent: null,
    firstDivergence: null,
    silentSensitive: null,
    culprit: null,
    paravirt: null,
    binaryTranslation: null,
    outputText: '',
    outputTruncated: false,
    timeSeries: { sliceInstructions: spec.experiment.sliceInstructions, slots: [] },
    events: { limit: spec.experiment.eventLimit, dropped: 0, entries: [] },
  };
}
