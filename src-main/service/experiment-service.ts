// The experiment service: what the CLI, the Electron IPC handlers and the web preview call to
// run experiments and browse their history. It owns the life of an experiment — check the spec
// (experiment-spec.ts), run every technique through the worker pool in parallel, turn the
// pool's per-run progress into per-experiment progress with an ETA, compare every run with the
// native one (applyEquivalence), and save the result in the history (history-store.ts) — so
// that every front end behaves the same and none of them touches threads or files itself.
// A binary-translation run also hands back its translation-cache dump, kept beside the
// experiment in the history (why kept and not recomputed: history-store.ts) and given to the
// caller (`experiment --tc-dump`).

import { randomBytes } from 'node:crypto';
import { type RunProgressView as ExperimentProgress } from '../../shared/api';
import {
  type ExperimentSpec,
  type HistoryFile,
  parseResultsFile,
  type RunResult,
  SCHEMA_VERSION,
} from '../../shared/results';
import { type TranslationCacheDump } from '../../shared/translation-cache-dump';
import { applyEquivalence } from '../engine/metrics/equivalence';
import { type RunProgress } from '../engine/run-spec';
import { type PoolRun, WorkerPool } from '../workers/pool';
import {
  BASELINE_TECHNIQUE,
  type KernelFile,
  type PlannedRun,
  prepareExperiment,
} from './experiment-spec';
import { type PreparedImage } from '../host/kernel-file';
import { type HistoryListing, HistoryStore } from './history-store';

/** The technique whose runs leave a translation-cache dump (the one binary translator). */
export const TRANSLATION_CACHE_TECHNIQUE = 'binary-translation';

export { SpecError, type KernelFile } from './experiment-spec';
export { MissingDumpError } from './history-store';
export type {
  HistoryListing,
  HistoryProblem,
  HistoryRunSummary,
  HistorySummary,
} from './history-store';

export interface ExperimentServiceOptions {
  /** the app's data folder; the history lives in `<dataDir>/experiments` */
  readonly dataDir: string;
  /** default: a pool of its own (closed by close()) */
  readonly pool?: WorkerPool;
  /** milliseconds, monotonic: measures the rate an ETA is computed from */
  readonly clock?: () => number;
  /** the time an experiment gets in its id and createdAt */
  readonly now?: () => Date;
}

/** Where one technique run of an experiment stands (the API's view of it, shared/api.ts). */
export type { RunState, RunProgressView as ExperimentProgress } from '../../shared/api';
export interface ExperimentHandle {
  readonly id: string;
  /** the spec as it runs: defaults filled in, native first */
  readonly spec: ExperimentSpec;
  /** Stop every run; they end did-not-finish with their partial metrics, and are saved. */
  cancel(): void;
  /** Resolves once every run has ended and the experiment is saved (rejects only if saving
   *  fails: the results could not be kept, and the caller must know). */
  readonly done: Promise<HistoryFile>;
  /** Subscribe to progress; the listener is first called at once with every run's current
   *  state, so a late subscriber misses nothing. Returns the unsubscribe function. */
  onProgress(listener: (p: ExperimentProgress) => void): () => void;
  /** Every run's current state, in technique order. */
  snapshot(): ExperimentProgress[];
  /** The binary-translation run's translation-cache dump once that run has ended (also when
   *  cancelled: what it had translated by then); null without such a run, before it ends, or
   *  when it failed before it could give one. */
  translationCache(): TranslationCacheDump | null;
}

/** The part of a key an expected instruction count is looked up by. */
function etaKey(kernelSha256: string, cmdline: string, technique: string): string {
  return `${kernelSha256}\n${cmdline}\n${technique}`;
}

export class ExperimentService {
  private readonly store: HistoryStore;
  private readonly clock: () => number;
  private readonly now: () => Date;
  private readonly ownPool: boolean;
  private poolInstance: WorkerPool | undefined;
  /** guest instructions of the latest completed run per (kernel, cmdline, technique): what
   *  an ETA expects when this experiment has no native result yet */
  private expected: Map<string, number> | undefined;
  private expectedLoading: Promise<void> | undefined;
  private readonly active = new Set<ExperimentHandle>();

  constructor(options: ExperimentServiceOptions) {
    this.store = new HistoryStore(options.dataDir);
    this.poolInstance = options.pool;
    this.ownPool = options.pool === undefined;
    this.clock = options.clock ?? (() => performance.now());
    this.now = options.now ?? (() => new Date());
  }

  /** `<dataDir>/experiments` */
  get historyDir(): string {
    return this.store.dir;
  }

  /** Assemble and check a kernel file a user picked (in a worker thread); see WorkerPool. */
  prepareKernel(name: string, source: Uint8Array): Promise<PreparedImage> {
    const pool = (this.poolInstance ??= new WorkerPool());
    return pool.prepareKernel(name, source);
  }

  /** Check `spec` and start running it. Throws SpecError (naming the field) when it cannot. */
  start(spec: unknown, kernelFile?: KernelFile): ExperimentHandle {
    const prepared = prepareExperiment(spec, kernelFile);
    const pool = (this.poolInstance ??= new WorkerPool());
    void this.loadExpected();
    const created = this.now();
    const id = `${created.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    const handle = new Experiment(id, prepared.spec, prepared.runs, {
      clock: this.clock,
      expected: (key) => this.expected?.get(key),
    });
    const runs = prepared.runs.map((run) => {
      const technique = run.runSpec.technique;
      const options =
        technique === TRANSLATION_CACHE_TECHNIQUE
          ? { onTranslationCache: (dump: TranslationCacheDump) => handle.keepDump(dump) }
          : {};
      return handle.track(
        pool.run(run.runSpec, (p) => handle.progress(technique, p), options),
        run,
      );
    });
    this.active.add(handle);
    handle.settle(
      (async () => {
        try {
          const results = applyEquivalence(await Promise.all(runs));
          const history: HistoryFile = {
            schemaVersion: SCHEMA_VERSION,
            id,
            createdAt: created.toISOString(),
            spec: prepared.spec,
            runs: results,
          };
          await this.store.save(history);
          const dump = handle.translationCache();
          if (dump) {
            // the experiment is what matters: a dump that cannot be kept costs the viewer only
            // (which then says there is none), not the results
            await this.store.saveTranslationCache(id, dump).catch((e: unknown) => {
              process.emitWarning(
                `the translation-cache dump of experiment ${id} could not be saved: ${(e as Error)?.message ?? String(e)}`,
              );
            });
          }
          this.remember(results);
          return history;
        } finally {
          this.active.delete(handle);
        }
      })(),
    );
    return handle;
  }

  /** Every readable experiment (newest first) and every file that could not be read. */
  listHistory(): Promise<HistoryListing> {
    return this.store.list();
  }

  load(id: string): Promise<HistoryFile> {
    return this.store.load(id);
  }

  /** The translation-cache dump of experiment `id`'s binary-translation run, as saved beside
   *  it; throws MissingDumpError when there is none, an Error naming the file when it is bad. */
  loadTranslationCache(id: string): Promise<TranslationCacheDump> {
    return this.store.loadTranslationCache(id);
  }

  /**
   * Add an experiment file the user opened (a saved `.vmwb.json` or a results.json) to the
   * history under a new id, so the original is never overwritten. A file of an older results
   * format is migrated, and the history keeps the current format. Throws an Error naming the
   * problem (not JSON, no schemaVersion, a newer app's format, the first bad field) when it is
   * not one.
   */
  async import(text: string): Promise<HistoryFile> {
    const results = parseResultsFile(text);
    const created = this.now();
    const history: HistoryFile = {
      schemaVersion: SCHEMA_VERSION,
      id: `${created.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`,
      createdAt: created.toISOString(),
      spec: results.spec,
      runs: results.runs,
    };
    await this.store.save(history);
    return history;
  }

  /** Delete the experiment `id` (its file only). */
  async delete(id: string): Promise<void> {
    await this.store.delete(id);
    // an expected count may have come from it: re-read the history when next needed
    this.expected = undefined;
    this.expectedLoading = undefined;
  }

  /** Cancel what runs and, if the service made its own pool, close it. */
  async close(): Promise<void> {
    const pending = [...this.active].map((h) => {
      h.cancel();
      return h.done.catch(() => undefined);
    });
    if (this.ownPool && this.poolInstance) await this.poolInstance.close();
    await Promise.all(pending);
  }

  private loadExpected(): Promise<void> {
    this.expectedLoading ??= this.store
      .list()
      .then(({ entries }) => {
        const map = new Map<string, number>();
        // entries are newest first: the first count seen for a key is the latest
        for (const e of entries) {
          for (const r of e.runs) {
            const key = etaKey(r.kernelSha256, r.cmdline, r.technique);
            if (r.status === 'completed' && !map.has(key)) map.set(key, r.instructions);
          }
        }
        // runs finished while the folder was being read are newer than anything in it
        for (const [k, v] of this.expected ?? []) map.set(k, v);
        this.expected = map;
      })
      .catch(() => {
        // no history to go on (unreadable folder): ETAs fall back to the native run
        this.expected ??= new Map();
      });
    return this.expectedLoading;
  }

  private remember(results: readonly RunResult[]): void {
    this.expected ??= new Map();
    for (const r of results) {
      if (r.status === 'completed') {
        this.expected.set(
          etaKey(r.kernel.sha256, r.cmdline, r.technique),
          r.guestInstructions.total,
        );
      }
    }
  }
}

interface RunTrack {
  readonly planned: PlannedRun;
  progress: ExperimentProgress;
  /** service clock at the run's first progress report */
  startedAt?: number;
  poolRun?: PoolRun;
  result?: RunResult;
}

/** One running experiment: its runs' states, its listeners, its ETA. */
class Experiment implements ExperimentHandle {
  readonly done: Promise<HistoryFile>;
  private resolveDone!: (h: HistoryFile) => void;
  private rejectDone!: (e: unknown) => void;
  private readonly tracks = new Map<string, RunTrack>();
  private readonly listeners = new Set<(p: ExperimentProgress) => void>();
  private cancelled = false;
  private dump: TranslationCacheDump | null = null;

  constructor(
    readonly id: string,
    readonly spec: ExperimentSpec,
    planned: readonly PlannedRun[],
    private readonly eta: {
      clock: () => number;
      expected: (key: string) => number | undefined;
    },
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    for (const p of planned) {
      const technique = p.runSpec.technique;
      this.tracks.set(technique, {
        planned: p,
        progress: {
          experimentId: id,
          technique,
          state: 'queued',
          instructions: 0,
          traps: 0,
          cycles: 0,
          wallMs: 0,
          mips: 0,
          etaMs: null,
        },
      });
    }
  }

  /** `done` follows `outcome` (the handle exists before the work that ends it). */
  settle(outcome: Promise<HistoryFile>): void {
    outcome.then(this.resolveDone, this.rejectDone);
  }

  /** Attach a pool run to its track; resolves with the run's result once it has been
   *  reported as finished. */
  track(poolRun: PoolRun, planned: PlannedRun): Promise<RunResult> {
    const t = this.tracks.get(planned.runSpec.technique)!;
    t.poolRun = poolRun;
    if (this.cancelled) poolRun.cancel();
    return poolRun.result.then((result) => {
      t.result = result;
      this.emit(t, {
        ...t.progress,
        state: 'finished',
        instructions: result.guestInstructions.total,
        traps: result.traps.total,
        cycles: result.cycles.total,
        wallMs: result.host.wallMs,
        mips: result.host.mips,
        etaMs: 0,
      });
      return result;
    });
  }

  progress(technique: string, p: RunProgress): void {
    const t = this.tracks.get(technique);
    if (!t || t.result) return;
    const now = this.eta.clock();
    t.startedAt ??= now;
    this.emit(t, {
      ...t.progress,
      state: 'running',
      instructions: p.instructions,
      traps: p.traps,
      cycles: p.cycles,
      wallMs: p.wallMs,
      mips: p.mips,
      etaMs: this.etaMs(t, p.instructions, now - t.startedAt),
    });
  }

  cancel(): void {
    this.cancelled = true;
    for (const t of this.tracks.values()) t.poolRun?.cancel();
  }

  onProgress(listener: (p: ExperimentProgress) => void): () => void {
    this.listeners.add(listener);
    for (const t of this.tracks.values()) call(listener, t.progress);
    return () => {
      this.listeners.delete(listener);
    };
  }

  snapshot(): ExperimentProgress[] {
    return [...this.tracks.values()].map((t) => t.progress);
  }

  translationCache(): TranslationCacheDump | null {
    return this.dump;
  }

  keepDump(dump: TranslationCacheDump): void {
    this.dump = dump;
  }

  /** Remaining instructions at the rate so far, when the total to expect is known. */
  private etaMs(t: RunTrack, instructions: number, elapsedMs: number): number | null {
    const total = this.expectedInstructions(t);
    if (total === undefined || instructions <= 0 || elapsedMs <= 0) return null;
    const rate = instructions / elapsedMs;
    return Math.max(0, total - instructions) / rate;
  }

  private expectedInstructions(t: RunTrack): number | undefined {
    // equivalent runs retire the same guest instructions as native, so a finished native run
    // of this experiment tells every technique booting the same bytes what to expect (the
    // para-virtual build is different code: it can only go by its own history)
    const native = this.tracks.get(BASELINE_TECHNIQUE);
    if (
      native?.result?.status === 'completed' &&
      native.planned.kernelSha256 === t.planned.kernelSha256
    ) {
      return native.result.guestInstructions.total;
    }
    const { kernelSha256, cmdline, runSpec } = t.planned;
    return this.eta.expected(etaKey(kernelSha256, cmdline, runSpec.technique));
  }

  private emit(t: RunTrack, p: ExperimentProgress): void {
    t.progress = p;
    for (const l of [...this.listeners]) call(l, p);
  }
}

/** A listener's bug must not stop the experiment or the other listeners. */
function call(listener: (p: ExperimentProgress) => void, p: ExperimentProgress): void {
  try {
    listener(p);
  } catch (e) {
    process.emitWarning(
      `an experiment progress listener threw: ${(e as Error)?.message ?? String(e)}`,
    );
  }
}
