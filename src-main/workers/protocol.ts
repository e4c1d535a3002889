// The message contract between the worker pool (pool.ts, main thread) and a run worker
// (run-worker.ts, or a bundled .js of it, or a test's fake). Kept apart from both so the pool
// never imports the worker entry (which runs as soon as it is loaded) and so a fake worker in
// the tests speaks exactly the same protocol.

import { type RunResult } from '../../shared/results';
import { type TranslationCacheDump } from '../../shared/translation-cache-dump';
import { type RunProgress, type RunSpec } from '../engine/run-spec';

/** What a run worker finds in `workerData`: a run (no `kind`) or a kernel file to prepare. */
export interface RunWorkerData {
  readonly kind?: 'run';
  readonly spec: RunSpec;
  /** Int32Array view, index CANCEL_INDEX: non-zero once the run is cancelled. Shared memory,
   *  not a message, because the run loop is synchronous and never returns to the event loop
   *  to read messages until it has finished. */
  readonly control: SharedArrayBuffer;
  /** Post the run's translation-cache dump (a `translation-cache` message, before the result)
   *  when its technique keeps one (binary translation). Off unless asked: a dump is up to
   *  megabytes, and only `experiment --tc-dump` and the history's viewer want it. */
  readonly translationCache?: boolean;
  /** For worker-bootstrap.mjs: the TypeScript module to load (a file: URL). Absent when the
   *  pool starts a script that runs by itself (a bundled .js). */
  readonly entry?: string;
}

/**
 * A kernel file a user picked, to assemble (NASM source) and check (multiboot header) off the
 * main thread: a large source takes seconds, and the main thread serves the window.
 */
export interface KernelJobData {
  readonly kind: 'prepare-kernel';
  readonly name: string;
  readonly source: Uint8Array;
  /** as in RunWorkerData */
  readonly entry?: string;
}

/** Worker → pool, for a kernel job: exactly one message. */
export type KernelJobMessage =
  | { readonly type: 'kernel'; readonly image: Uint8Array; readonly assembled: boolean }
  | { readonly type: 'error'; readonly message: string; readonly stack?: string };

/** Index of the cancel flag in the control buffer. */
export const CANCEL_INDEX = 0;
/** Bytes of the control buffer (one Int32 now; room to grow without changing the protocol). */
export const CONTROL_BYTES = 4;

/** Worker → pool. A worker posts progress any number of times, at most one translation-cache
 *  dump (only when asked, RunWorkerData.translationCache), then exactly one of the rest. */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: RunProgress }
  | { readonly type: 'translation-cache'; readonly dump: TranslationCacheDump }
  | { readonly type: 'result'; readonly result: RunResult }
  | { readonly type: 'error'; readonly message: string; readonly stack?: string };
