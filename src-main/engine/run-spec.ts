// What one technique run is given and what it reports while it runs: the contract between
// runExperiment (engine/experiment.ts) and its callers (the worker pool, the CLI, tests).
// Plain data only, so a RunSpec crosses a worker_threads boundary by structured clone.

import { type ExperimentSpec } from '../../shared/results';

export interface KernelImage {
  /** the name shown in results (`guest kernel`, or the file the user gave) */
  readonly name: string;
  /** the multiboot image bytes; every technique of an experiment gets the same bytes
   *  (para-virtualization: the para-API build of the same source) */
  readonly image: Uint8Array;
  readonly build: 'native' | 'paravirt';
}

/** One technique run of an experiment. */
export interface RunSpec {
  /** the whole experiment (identity, budget, profile…) */
  readonly experiment: ExperimentSpec;
  /** the registry id of the technique to run */
  readonly technique: string;
  readonly kernel: KernelImage;
  /** the path the multiboot command line starts with (QEMU passes the -kernel path) */
  readonly kernelPath: string;
}

/** A progress report; runExperiment emits one at least every PROGRESS_INTERVAL_MS of host time. */
export interface RunProgress {
  readonly technique: string;
  readonly instructions: number;
  readonly traps: number;
  readonly guestEvents: number;
  readonly cycles: number;
  /** host milliseconds since the run started */
  readonly wallMs: number;
  /** guest instructions per host microsecond so far */
  readonly mips: number;
}

/** The host's clock, injected: the engine never reads wall time itself (DESIGN.md principle 6). */
export interface HostClock {
  /** milliseconds, monotonic */
  now(): number;
}

/** Polled between batches; an AbortSignal satisfies it, so does a shared-memory flag. */
export interface CancelSignal {
  readonly aborted: boolean;
}

/** How often (host time) a run reports progress: 10 times a second. */
export const PROGRESS_INTERVAL_MS = 100;
