// The worker pool: runs technique runs in worker threads, one fresh thread per run and at most
// `size` at a time (the rest wait, first in, first out). It owns the lifetime of those threads
// and the guarantees the service relies on:
//   - progress from the worker reaches the caller, and so does the run's translation-cache
//     dump when the caller asks for it (checked against its schema first);
//   - cancel works both for a queued run (it never starts) and a running one (a shared-memory
//     flag the engine polls, so the run ends with its partial metrics);
//   - crash isolation: a worker that throws, exits, runs out of memory, sends garbage or stops
//     responding fails its own run and nothing else;
//   - `result` never rejects: every outcome is a RunResult, so a report always has a row per
//     technique.
// A fresh thread per run (rather than reusing threads) is what makes the isolation cheap to
// get right: nothing a run did to its thread's heap or module state can leak into the next.

import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ResourceLimits, Worker } from 'node:worker_threads';
import { describeSchemaError, type RunResult, RunResultSchema } from '../../shared/results';
import {
  type TranslationCacheDump,
  TranslationCacheDumpSchema,
} from '../../shared/translation-cache-dump';
import { failedRunResult } from '../engine/experiment';
import { type RunProgress, type RunSpec } from '../engine/run-spec';
import { type PreparedImage } from '../host/kernel-file';
import {
  CANCEL_INDEX,
  CONTROL_BYTES,
  type KernelJobData,
  type KernelJobMessage,
  type RunWorkerData,
} from './protocol';

/** The bootstrap that registers tsx and then loads run-worker.ts (the default worker). */
export const DEFAULT_WORKER_SCRIPT = new URL('./worker-bootstrap.mjs', import.meta.url);

export interface WorkerPoolOptions {
  /** runs at once; default os.availableParallelism() */
  readonly size?: number;
  /** The worker entry. A `.ts`/`.mts` file is loaded through worker-bootstrap.mjs (tsx);
   *  anything else (the packaged app's bundled .js) is started as it is. */
  readonly workerScript?: URL | string;
  /** A worker that sends no message for this long is terminated and its run fails. The engine
   *  reports 10 times a second, so the 30 s default only fires on a hung thread. */
  readonly stallTimeoutMs?: number;
  /** After cancel, how long a running worker gets to end its run itself before it is
   *  terminated (it keeps its metrics only if it ends in time). */
  readonly cancelGraceMs?: number;
  /** V8 heap limits per worker: a run that exceeds them fails alone (out of memory). */
  readonly resourceLimits?: ResourceLimits;
}

/** What a caller wants from a run besides its progress and result. */
export interface RunOptions {
  /** Called with the run's translation-cache dump (checked against its schema) before the run
   *  ends, when its technique keeps one (binary translation); the worker builds and sends a
   *  dump only when this is given. */
  readonly onTranslationCache?: (dump: TranslationCacheDump) => void;
}

export interface PoolRun {
  /** Always resolves, never rejects. */
  readonly result: Promise<RunResult>;
  /** Idempotent; a no-op once the run has ended. */
  cancel(): void;
}

export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** Kernel files prepared at once (each a thread of its own, outside the run slots). */
export const MAX_KERNEL_JOBS = 2;
/** How long assembling and checking a kernel file may take before it is stopped. */
export const DEFAULT_KERNEL_JOB_TIMEOUT_MS = 60_000;
export const DEFAULT_CANCEL_GRACE_MS = 10_000;

/** A run that was stopped before it produced metrics of its own: did-not-finish, cancelled. */
export function cancelledRunResult(spec: RunSpec, detail: string): RunResult {
  return {
    ...failedRunResult(spec, detail),
    status: 'did-not-finish',
    end: { reason: 'cancelled', exitCode: null, eip: null, detail },
  };
}

interface Job {
  readonly spec: RunSpec;
  readonly onProgress: (p: RunProgress) => void;
  readonly onTranslationCache: ((dump: TranslationCacheDump) => void) | undefined;
  readonly resolve: (r: RunResult) => void;
  state: 'queued' | 'running' | 'done';
  worker?: Worker;
  flag?: Int32Array;
  stallTimer?: NodeJS.Timeout;
  graceTimer?: NodeJS.Timeout;
  listenerFailed?: boolean;
}

export class WorkerPool {
  readonly size: number;
  readonly stallTimeoutMs: number;
  readonly cancelGraceMs: number;
  private readonly script: URL;
  /** set when the script is TypeScript: the bootstrap imports it */
  private readonly entry: string | undefined;
  private readonly resourceLimits: ResourceLimits | undefined;
  private readonly queue: Job[] = [];
  private readonly running = new Set<Job>();
  /** workers preparing kernel files (prepareKernel) */
  private readonly kernelJobs = new Set<Worker>();
  private closed = false;

  constructor(options: WorkerPoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`WorkerPool size must be a positive integer, got ${size}`);
    }
    this.size = size;
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.cancelGraceMs = options.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
    this.resourceLimits = options.resourceLimits;
    const script = toUrl(options.workerScript ?? DEFAULT_WORKER_SCRIPT);
    if (/\.(c|m)?ts$/.test(script.pathname)) {
      this.script = DEFAULT_WORKER_SCRIPT;
      this.entry = script.href;
    } else {
      this.script = script;
      this.entry = undefined;
    }
  }

  /** Runs waiting for a thread, and runs in progress. */
  get pending(): { queued: number; running: number } {
    return { queued: this.queue.length, running: this.running.size };
  }

  run(spec: RunSpec, onProgress: (p: RunProgress) => void, options: RunOptions = {}): PoolRun {
    let resolve!: (r: RunResult) => void;
    const result = new Promise<RunResult>((r) => (resolve = r));
    const job: Job = {
      spec,
      onProgress,
      onTranslationCache: options.onTranslationCache,
      resolve,
      state: 'queued',
    };
    if (this.closed) {
      job.state = 'done';
      resolve(failedRunResult(spec, `technique '${spec.technique}': the worker pool is closed`));
      return { result, cancel: () => {} };
    }
    this.queue.push(job);
    this.pump();
    return { result, cancel: () => this.cancel(job) };
  }

  /**
   * Assemble (NASM source) and check a kernel file a user picked, in a worker thread of its
   * own — not one of the run slots: it is short, and the user is waiting for it. Rejects with
   * the file's problem (`name:line:col: error: …`), or when it takes longer than `timeoutMs`.
   */
  prepareKernel(
    name: string,
    source: Uint8Array,
    timeoutMs = DEFAULT_KERNEL_JOB_TIMEOUT_MS,
  ): Promise<PreparedImage> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    if (this.kernelJobs.size >= MAX_KERNEL_JOBS) {
      return Promise.reject(
        new Error(
          `${name}: ${MAX_KERNEL_JOBS} kernel files are being prepared already: try again when they are done`,
        ),
      );
    }
    return new Promise<PreparedImage>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.spawn({ kind: 'prepare-kernel', name, source });
      } catch (e) {
        reject(new Error(`could not start a worker: ${errorText(e)}`));
        return;
      }
      let settled = false;
      const finish = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.kernelJobs.delete(worker);
        void worker.terminate().catch(() => undefined);
        outcome();
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new Error(
                `${name}: preparing it took longer than ${timeoutMs / 1000} s and was stopped (a %rep or a macro that expands too far?)`,
              ),
            ),
          ),
        timeoutMs,
      );
      this.kernelJobs.add(worker);
      worker.on('message', (m: KernelJobMessage) =>
        finish(() =>
          m.type === 'kernel'
            ? resolve({ image: new Uint8Array(m.image), assembled: m.assembled })
            : reject(new Error(m.message)),
        ),
      );
      worker.on('error', (e: Error & { code?: string }) =>
        finish(() =>
          reject(
            new Error(
              e.code === 'ERR_WORKER_OUT_OF_MEMORY'
                ? `${name}: preparing it ran out of memory`
                : `${name}: the worker crashed: ${errorText(e)}`,
            ),
          ),
        ),
      );
      worker.on('exit', () =>
        finish(() => reject(new Error(`${name}: the worker ended without an answer`))),
      );
    });
  }

  /** Terminate every worker; runs still queued or running end as cancelled. */
  async close(): Promise<void> {
    this.closed = true;
    const stopping: Promise<unknown>[] = [];
    for (const job of this.queue.splice(0)) {
      this.settle(job, cancelledRunResult(job.spec, 'the worker pool was closed'));
    }
    for (const job of [...this.running]) {
      if (job.worker) stopping.push(job.worker.terminate().catch(() => undefined));
      this.settle(job, cancelledRunResult(job.spec, 'the worker pool was closed'));
    }
    for (const worker of this.kernelJobs) {
      stopping.push(worker.terminate().catch(() => undefined));
    }
    this.kernelJobs.clear();
    await Promise.all(stopping);
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.size && this.queue.length > 0) {
      this.start(this.queue.shift()!);
    }
  }

  /** A worker thread of this pool's script (through the tsx bootstrap for TypeScript). */
  private spawn(data: RunWorkerData | KernelJobData): Worker {
    const workerData = { ...data, ...(this.entry !== undefined ? { entry: this.entry } : {}) };
    return new Worker(this.script, {
      workerData,
      ...(this.resourceLimits ? { resourceLimits: this.resourceLimits } : {}),
    });
  }

  private start(job: Job): void {
    job.state = 'running';
    this.running.add(job);
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    job.flag = new Int32Array(control);
    let worker: Worker;
    try {
      worker = this.spawn({
        spec: job.spec,
        control,
        ...(job.onTranslationCache ? { translationCache: true } : {}),
      });
    } catch (e) {
      this.fail(job, `could not start a worker: ${errorText(e)}`);
      return;
    }
    job.worker = worker;
    this.armWatchdog(job);
    worker.on('message', (m: unknown) => this.onMessage(job, m));
    worker.on('messageerror', (e) =>
      this.fail(job, `unreadable message from the worker: ${e.message}`),
    );
    worker.on('error', (e: Error & { code?: string }) => {
      this.fail(
        job,
        e.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `the worker ran out of memory (${e.message})`
          : `the worker crashed: ${errorText(e)}`,
      );
    });
    worker.on('exit', (code) => {
      this.fail(
        job,
        `the worker exited unexpectedly (exit code ${code}) before reporting a result`,
      );
    });
  }

  private onMessage(job: Job, message: unknown): void {
    if (job.state !== 'running') return;
    this.armWatchdog(job);
    const m = message as { type?: unknown } | null;
    switch (m?.type) {
      case 'progress': {
        const progress = (m as { progress?: RunProgress }).progress;
        if (!progress || typeof progress.instructions !== 'number') {
          this.fail(job, 'the worker sent a malformed progress message');
          return;
        }
        try {
          job.onProgress(progress);
        } catch (e) {
          // a bug in a progress listener is the caller's, not the run's: keep running, and
          // say so once per run rather than ten times a second
          if (!job.listenerFailed) {
            job.listenerFailed = true;
            process.emitWarning(
              `a progress listener of technique '${job.spec.technique}' threw: ${errorText(e)}`,
            );
          }
        }
        return;
      }
      case 'translation-cache': {
        if (!job.onTranslationCache) {
          this.fail(job, 'the worker sent a translation-cache dump that was not asked for');
          return;
        }
        // like a result, a dump crosses the thread boundary: checked before anyone reads it
        const parsed = TranslationCacheDumpSchema.safeParse((m as { dump?: unknown }).dump);
        if (!parsed.success) {
          this.fail(
            job,
            `the worker sent an invalid translation-cache dump: ${describeSchemaError(parsed.error)}`,
          );
          return;
        }
        try {
          job.onTranslationCache(parsed.data);
        } catch (e) {
          process.emitWarning(
            `a translation-cache listener of technique '${job.spec.technique}' threw: ${errorText(e)}`,
          );
        }
        return;
      }
      case 'result': {
        // the result crosses a thread boundary from code we may not have built (a bundled
        // worker of another version): check it against the contract before anyone reads it
        const parsed = RunResultSchema.safeParse((m as { result?: unknown }).result);
        if (parsed.success) this.settle(job, parsed.data);
        else
          this.fail(job, `the worker sent an invalid result: ${describeSchemaError(parsed.error)}`);
        return;
      }
      case 'error': {
        const { message: text } = m as { message?: unknown };
        this.fail(job, `the worker threw: ${typeof text === 'string' ? text : 'unknown error'}`);
        return;
      }
      default:
        this.fail(job, `the worker sent an unknown message (${JSON.stringify(m?.type)})`);
    }
  }

  private armWatchdog(job: Job): void {
    clearTimeout(job.stallTimer);
    job.stallTimer = setTimeout(() => {
      this.fail(job, `worker stopped responding (no message for ${this.stallTimeoutMs} ms)`);
    }, this.stallTimeoutMs);
    // the worker itself keeps the process alive while it runs; the timer need not
    job.stallTimer.unref();
  }

  private cancel(job: Job): void {
    if (job.state === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.settle(job, cancelledRunResult(job.spec, 'cancelled before it started'));
    } else if (job.state === 'running' && job.flag && job.graceTimer === undefined) {
      Atomics.store(job.flag, CANCEL_INDEX, 1);
      job.graceTimer = setTimeout(() => {
        this.settle(
          job,
          cancelledRunResult(
            job.spec,
            `cancelled; the worker did not stop within ${this.cancelGraceMs} ms and was terminated`,
          ),
        );
      }, this.cancelGraceMs);
      job.graceTimer.unref();
    }
  }

  private fail(job: Job, error: string): void {
    this.settle(job, failedRunResult(job.spec, `technique '${job.spec.technique}': ${error}`));
  }

  /** The one place a run ends: resolve once, free the thread, start the next run. */
  private settle(job: Job, result: RunResult): void {
    if (job.state === 'done') return;
    const wasRunning = job.state === 'running';
    job.state = 'done';
    clearTimeout(job.stallTimer);
    clearTimeout(job.graceTimer);
    if (job.worker) {
      job.worker.removeAllListeners('message');
      // a finished worker is on its way out anyway; a failed one may be stuck in a loop
      void job.worker.terminate().catch(() => undefined);
    }
    this.running.delete(job);
    job.resolve(result);
    if (wasRunning) this.pump();
  }
}

function toUrl(script: URL | string): URL {
  if (script instanceof URL) return script;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(script)
    ? new URL(script)
    : pathToFileURL(path.resolve(script));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
