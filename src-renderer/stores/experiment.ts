// Running an experiment: the form's draft (kept here so Ctrl/Cmd+Enter runs it from any view),
// the spec it becomes, and the progress of the running experiment as the main process pushes
// it. When the experiment is finished its results are loaded and the Compare view opens.
//
// Events reach every window for every running experiment, so they are matched by experiment
// id. A `progress` or `finished` event can overtake the answer to startExperiment (two
// channels in the web preview: POST and server-sent events), so events of unknown experiments
// are kept briefly while a start is under way and replayed once its id is known.

import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  type ActiveExperiment,
  type ApiEvent,
  type KernelUpload,
  type RunProgressView,
  type TechniqueEntry,
  type WorkloadEntry,
} from '../../shared/api';
import { SPEC_DEFAULTS, type ExperimentSpec } from '../../shared/results';
import { type KernelPick } from '../kernel-file';
import { errorMessage, workbenchApi } from './api-context';
import { BASELINE_TECHNIQUE } from './catalog';
import { useResultsStore } from './results';
import { useUiStore, type ViewName } from './ui';

/** What the Experiment form holds. */
export interface ExperimentDraft {
  /** run the bundled guest kernel with a workload, or a kernel file the user picked */
  kernelSource: 'workload' | 'file';
  workload: string;
  /** the picked kernel file (kernelSource 'file') */
  kernelFile: KernelPick | null;
  /** technique ids besides native (which every experiment runs) */
  techniques: string[];
  isa: string;
  profile: string;
  /** the workload's size `n`; null = the workload's default */
  n: number | null;
  /** further kernel command-line words (`hz=100`) */
  extraArgs: string;
  /** the para-virtual guest batches its page-table updates (ExperimentSpec.mmuBatch) */
  mmuBatch: boolean;
}

export type RunPhase = 'idle' | 'starting' | 'running' | 'cancelling' | 'loading' | 'failed';

/** The kernel command-line words a draft asks for. */
export function draftAppend(draft: ExperimentDraft): string {
  const words: string[] = [];
  if (draft.n !== null) words.push(`n=${draft.n}`);
  if (draft.extraArgs.trim() !== '') words.push(draft.extraArgs.trim());
  return words.join(' ');
}

/** The problem with a draft in one sentence, or null when it can run. */
export function draftProblem(
  draft: ExperimentDraft,
  workloads: readonly WorkloadEntry[],
  techniques: readonly TechniqueEntry[] = [],
): string | null {
  if (draft.kernelSource === 'file') {
    if (!draft.kernelFile) return 'choose a kernel file';
    const own = techniques.find((t) => !t.runsKernelFiles && draft.techniques.includes(t.id));
    if (own) {
      return `${own.name} boots its own build of the bundled kernel and cannot run a kernel file: untick it, or choose a workload`;
    }
  } else if (!draft.workload) return 'choose a workload';
  else if (workloads.length > 0 && !workloads.some((w) => w.name === draft.workload)) {
    return `the workload '${draft.workload}' is not in the catalog`;
  }
  if (draft.n !== null && (!Number.isSafeInteger(draft.n) || draft.n < 1)) {
    return 'n must be a whole number of at least 1';
  }
  if (/(^|\s)n=/.test(draft.extraArgs)) return 'give n in its own field, not among the arguments';
  if (/(^|\s)mmu_batch=/.test(draft.extraArgs)) {
    return 'set page-table batching with its checkbox, not among the arguments';
  }
  return null;
}

/** The spec a draft runs: native first, defaults for everything the form does not set. */
export function draftSpec(draft: ExperimentDraft): ExperimentSpec {
  const techniques = [
    BASELINE_TECHNIQUE,
    ...draft.techniques.filter((t) => t !== BASELINE_TECHNIQUE),
  ].filter((t, i, all) => all.indexOf(t) === i);
  const file = draft.kernelSource === 'file' ? draft.kernelFile : null;
  return {
    ...SPEC_DEFAULTS,
    kernel: file
      ? { kind: 'file', name: file.upload.name, sha256: file.sha256 }
      : { kind: 'workload', workload: draft.workload },
    techniques,
    append: draftAppend(draft),
    isa: draft.isa === 'strict' ? 'strict' : 'classic',
    profile: draft.profile || SPEC_DEFAULTS.profile,
    mmuBatch: draft.mmuBatch,
  };
}

/** How far one run is, 0…1, or null while unknown (no ETA yet). */
export function runFraction(p: RunProgressView): number | null {
  if (p.state === 'finished') return 1;
  if (p.state === 'queued') return 0;
  if (p.etaMs === null || p.wallMs <= 0) return null;
  return Math.min(1, p.wallMs / (p.wallMs + Math.max(0, p.etaMs)));
}

const EARLY_EVENT_LIMIT = 500;

export const useExperimentStore = defineStore('experiment', () => {
  const draft = ref<ExperimentDraft>({
    kernelSource: 'workload',
    workload: '',
    kernelFile: null,
    techniques: [],
    isa: SPEC_DEFAULTS.isa,
    profile: SPEC_DEFAULTS.profile,
    n: null,
    extraArgs: '',
    mmuBatch: SPEC_DEFAULTS.mmuBatch,
  });
  const phase = ref<RunPhase>('idle');
  const error = ref<string | null>(null);
  /** the experiment running (or last run in this window), with each run's latest progress */
  const active = ref<{ id: string; spec: ExperimentSpec; runs: RunProgressView[] } | null>(null);
  let early: ApiEvent[] = [];
  /** the view the running experiment opens when it is finished (Compare unless start said) */
  let openWhenDone: ViewName = 'compare';
  let unsubscribe: (() => void) | null = null;

  const busy = computed(
    () => phase.value === 'starting' || phase.value === 'running' || phase.value === 'cancelling',
  );
  const canCancel = computed(() => phase.value === 'running' && active.value !== null);

  function adopt(experiment: ActiveExperiment): void {
    active.value = { id: experiment.id, spec: experiment.spec, runs: [...experiment.runs] };
    phase.value = 'running';
  }

  function updateRun(p: RunProgressView): void {
    const a = active.value;
    if (!a || p.experimentId !== a.id) return;
    const i = a.runs.findIndex((r) => r.technique === p.technique);
    if (i >= 0) a.runs[i] = p;
    else a.runs.push(p);
  }

  async function finish(id: string): Promise<void> {
    phase.value = 'loading';
    const results = useResultsStore();
    const ok = await results.load(id);
    if (active.value?.id !== id) return; // another experiment started meanwhile
    if (ok) {
      phase.value = 'idle';
      useUiStore().show(openWhenDone);
    } else {
      phase.value = 'failed';
      error.value = `the experiment finished, but ${results.error ?? 'its results could not be loaded'}`;
    }
  }

  function handle(event: ApiEvent): void {
    if (phase.value === 'starting') {
      if (early.length < EARLY_EVENT_LIMIT) early.push(event);
      return;
    }
    const a = active.value;
    if (!a) return;
    if (event.type === 'progress') {
      updateRun(event.progress);
    } else if (
      event.experimentId === a.id &&
      (phase.value === 'running' || phase.value === 'cancelling')
    ) {
      if (event.type === 'finished') {
        void finish(a.id);
      } else {
        phase.value = 'failed';
        error.value = `the experiment failed: ${event.error}`;
      }
    }
  }

  /** Listen to the main process's events (once; main.ts calls it at start-up). Also picks up
   *  an experiment still running from before a reload of this window. */
  async function connect(): Promise<void> {
    if (unsubscribe) return;
    const api = workbenchApi();
    unsubscribe = api.onEvent(handle);
    try {
      const running = await api.call({ method: 'activeExperiments' });
      const latest = running.at(-1);
      if (latest && phase.value === 'idle' && !active.value) adopt(latest);
    } catch {
      // nothing to resume; the catalog load reports an unreachable backend
    }
  }

  function disconnect(): void {
    unsubscribe?.();
    unsubscribe = null;
  }

  /** Start `spec` (the draft's when omitted), with the bytes of the kernel file a
   *  `kernel.kind === 'file'` spec names. Resolves false with `error` set when refused.
   *  `then`: the view to open when it is finished (a preset's; Compare by default). */
  async function start(
    spec?: ExperimentSpec,
    kernelFile?: KernelUpload,
    then: ViewName = 'compare',
  ): Promise<boolean> {
    if (busy.value) return false;
    openWhenDone = then;
    const toRun = spec ?? draftSpec(draft.value);
    // the draft's kernel file travels with the draft's spec (its bytes are not in the spec)
    const upload =
      kernelFile ??
      (!spec && draft.value.kernelSource === 'file' ? draft.value.kernelFile?.upload : undefined);
    error.value = null;
    phase.value = 'starting';
    early = [];
    try {
      const started = await workbenchApi().call({
        method: 'startExperiment',
        spec: toRun,
        ...(upload ? { kernelFile: upload } : {}),
      });
      adopt(started);
      const replay = early;
      early = [];
      for (const event of replay) handle(event);
      return true;
    } catch (e) {
      early = [];
      phase.value = 'failed';
      error.value = errorMessage(e);
      return false;
    }
  }

  /** Ask the main process to stop every run; they end "did not finish" and are saved, and the
   *  `finished` event then opens their partial results. */
  async function cancel(): Promise<void> {
    const a = active.value;
    if (!a || phase.value !== 'running') return;
    phase.value = 'cancelling';
    try {
      await workbenchApi().call({ method: 'cancelExperiment', id: a.id });
    } catch (e) {
      // it may have finished in between: its `finished` event then moves on by itself
      if (phase.value === 'cancelling') {
        phase.value = 'running';
        error.value = `could not cancel: ${errorMessage(e)}`;
      }
    }
  }

  /** Forget a failed or finished run's state (the "dismiss" of an error). */
  function reset(): void {
    if (busy.value) return;
    phase.value = 'idle';
    error.value = null;
    active.value = null;
  }

  return {
    draft,
    phase,
    error,
    active,
    busy,
    canCancel,
    connect,
    disconnect,
    start,
    cancel,
    reset,
    handle,
  };
});
