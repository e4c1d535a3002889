// @vitest-environment happy-dom
// The Pinia stores over a fake bridge: the catalog, running an experiment (spec, progress,
// finish, failure, cancel), the current results and their charts, the history.

import { beforeEach, describe, expect, it } from 'vitest';
import { type ActiveExperiment, type RunProgressView } from '../../shared/api';
import { buildCharts } from '../../shared/charts';
import { SPEC_DEFAULTS, type ExperimentSpec } from '../../shared/results';
import { useCatalogStore } from '../../src-renderer/stores/catalog';
import {
  draftAppend,
  draftProblem,
  draftSpec,
  runFraction,
  useExperimentStore,
  type ExperimentDraft,
} from '../../src-renderer/stores/experiment';
import { useHistoryStore } from '../../src-renderer/stores/history';
import { useResultsStore } from '../../src-renderer/stores/results';
import { useUiStore } from '../../src-renderer/stores/ui';
import {
  SAMPLE_CATALOG,
  sampleHistoryFile,
  sampleProgress,
  type FakeBridge,
} from './helpers/fake-bridge';
import { settle, setupRenderer } from './helpers/setup';

const ID = 'exp-1';

const progress = (technique: string, p: Partial<RunProgressView> = {}): RunProgressView =>
  sampleProgress(ID, technique, p);

function started(spec: ExperimentSpec): ActiveExperiment {
  return {
    id: ID,
    spec,
    runs: spec.techniques.map((t) => progress(t, { state: 'queued' })),
  };
}

const draft = (d: Partial<ExperimentDraft> = {}): ExperimentDraft => ({
  kernelSource: 'workload',
  workload: 'syscall',
  kernelFile: null,
  techniques: ['trap-and-emulate'],
  isa: 'classic',
  profile: 'p4-2006',
  n: null,
  extraArgs: '',
  mmuBatch: true,
  ...d,
});

beforeEach(() => {
  localStorage.clear();
});

describe('the catalog store', () => {
  it('loads the catalog once', async () => {
    const { bridge } = setupRenderer({ catalog: () => SAMPLE_CATALOG });
    const catalog = useCatalogStore();
    await Promise.all([catalog.load(), catalog.load()]);
    await catalog.load();
    expect(bridge.calls('catalog')).toHaveLength(1);
    expect(catalog.workloads.map((w) => w.name)).toEqual(['syscall', 'pgfault']);
    expect(catalog.techniqueName('trap-and-emulate')).toBe('Trap-and-emulate');
    expect(catalog.techniqueName('unknown')).toBe('unknown');
    expect(catalog.error).toBeNull();
  });

  it('keeps the error when the backend cannot be reached, and retries', async () => {
    setupRenderer({});
    const catalog = useCatalogStore();
    await catalog.load();
    expect(catalog.error).toBe('no handler for catalog');
    expect(catalog.catalog).toBeNull();
  });

  it('says so when the main process speaks another API version', async () => {
    setupRenderer({ catalog: () => ({ ...SAMPLE_CATALOG, apiVersion: 99 }) });
    const catalog = useCatalogStore();
    await catalog.load();
    expect(catalog.error).toMatch(/API version 99, this window 1/);
  });
});

describe('the experiment spec of a draft', () => {
  it('runs native first, then the chosen techniques, with the defaults', () => {
    const spec = draftSpec(
      draft({
        techniques: ['binary-translation', 'native', 'trap-and-emulate'],
        n: 500,
        isa: 'strict',
        profile: 'modern',
      }),
    );
    expect(spec).toEqual({
      ...SPEC_DEFAULTS,
      kernel: { kind: 'workload', workload: 'syscall' },
      techniques: ['native', 'binary-translation', 'trap-and-emulate'],
      append: 'n=500',
      isa: 'strict',
      profile: 'modern',
    });
  });

  it('appends n and the other arguments', () => {
    expect(draftAppend(draft())).toBe('');
    expect(draftAppend(draft({ n: 7, extraArgs: '  hz=100 ' }))).toBe('n=7 hz=100');
  });

  it('names what is wrong with a draft', () => {
    const w = SAMPLE_CATALOG.workloads;
    expect(draftProblem(draft(), w)).toBeNull();
    expect(draftProblem(draft({ workload: '' }), w)).toBe('choose a workload');
    expect(draftProblem(draft({ workload: 'nope' }), w)).toMatch(/not in the catalog/);
    expect(draftProblem(draft({ n: 0 }), w)).toMatch(/at least 1/);
    expect(draftProblem(draft({ n: 1.5 }), w)).toMatch(/whole number/);
    expect(draftProblem(draft({ extraArgs: 'n=5' }), w)).toMatch(/own field/);
    expect(draftProblem(draft({ extraArgs: 'hz=1 mmu_batch=1' }), w)).toMatch(/its checkbox/);
    expect(draftProblem(draft({ extraArgs: 'xmmu_batch=1' }), w)).toBeNull();
  });

  it('passes the batching choice on to the spec', () => {
    expect(draftSpec(draft()).mmuBatch).toBe(true);
    expect(draftSpec(draft({ mmuBatch: false })).mmuBatch).toBe(false);
  });

  it('turns progress into a fraction', () => {
    expect(runFraction(progress('native', { state: 'queued' }))).toBe(0);
    expect(runFraction(progress('native', { state: 'finished' }))).toBe(1);
    expect(runFraction(progress('native', { wallMs: 100, etaMs: null }))).toBeNull();
    expect(runFraction(progress('native', { wallMs: 300, etaMs: 100 }))).toBe(0.75);
  });
});

describe('the experiment store', () => {
  let bridge: FakeBridge;
  const file = sampleHistoryFile(ID);

  beforeEach(() => {
    ({ bridge } = setupRenderer({
      startExperiment: (r) => started(r.spec as ExperimentSpec),
      cancelExperiment: () => null,
      loadExperiment: () => file,
      activeExperiments: () => [],
    }));
  });

  it('starts the draft, follows progress of its own experiment only, and opens Compare when finished', async () => {
    const experiment = useExperimentStore();
    await experiment.connect();
    experiment.draft = draft({ n: 1000 });
    expect(await experiment.start()).toBe(true);
    const [request] = bridge.calls('startExperiment');
    expect(request!.spec).toEqual(draftSpec(draft({ n: 1000 })));
    expect(experiment.phase).toBe('running');
    expect(experiment.active?.runs.map((r) => r.state)).toEqual(['queued', 'queued']);

    bridge.emit({
      type: 'progress',
      progress: progress('native', { instructions: 5000, traps: 0 }),
    });
    bridge.emit({
      type: 'progress',
      progress: progress('trap-and-emulate', {
        instructions: 4000,
        traps: 77,
        wallMs: 10,
        etaMs: 30,
      }),
    });
    bridge.emit({
      type: 'progress',
      progress: { ...progress('native', { instructions: 1 }), experimentId: 'someone-else' },
    });
    expect(experiment.active?.runs.map((r) => [r.technique, r.instructions, r.traps])).toEqual([
      ['native', 5000, 0],
      ['trap-and-emulate', 4000, 77],
    ]);

    bridge.emit({ type: 'finished', experimentId: 'someone-else' });
    expect(experiment.phase).toBe('running');
    bridge.emit({ type: 'finished', experimentId: ID });
    await settle();
    expect(bridge.calls('loadExperiment')).toEqual([{ method: 'loadExperiment', id: ID }]);
    expect(useResultsStore().file).toEqual(file);
    expect(useUiStore().view).toBe('compare');
    expect(experiment.phase).toBe('idle');
  });

  it('replays events that overtook the answer to startExperiment', async () => {
    let release!: () => void;
    bridge.handlers.startExperiment = async (r) => {
      await new Promise<void>((resolve) => (release = resolve));
      return started(r.spec as ExperimentSpec);
    };
    const experiment = useExperimentStore();
    await experiment.connect();
    experiment.draft = draft();
    const starting = experiment.start();
    await settle();
    bridge.emit({ type: 'progress', progress: progress('native', { instructions: 42 }) });
    bridge.emit({ type: 'finished', experimentId: ID });
    release();
    await starting;
    await settle();
    expect(bridge.calls('loadExperiment')).toHaveLength(1);
    expect(useUiStore().view).toBe('compare');
  });

  it('shows why a start was refused', async () => {
    bridge.handlers.startExperiment = () => {
      throw new Error("profile: unknown CPU profile 'x'");
    };
    const experiment = useExperimentStore();
    expect(await experiment.start()).toBe(false);
    expect(experiment.phase).toBe('failed');
    expect(experiment.error).toBe("profile: unknown CPU profile 'x'");
    experiment.reset();
    expect(experiment.phase).toBe('idle');
  });

  it('reports a failed experiment', async () => {
    const experiment = useExperimentStore();
    await experiment.connect();
    await experiment.start(draftSpec(draft()));
    bridge.emit({ type: 'failed', experimentId: ID, error: 'could not save: disk full' });
    expect(experiment.phase).toBe('failed');
    expect(experiment.error).toBe('the experiment failed: could not save: disk full');
  });

  it('cancels the running experiment', async () => {
    const experiment = useExperimentStore();
    await experiment.connect();
    await experiment.start(draftSpec(draft()));
    expect(experiment.canCancel).toBe(true);
    await experiment.cancel();
    expect(bridge.calls('cancelExperiment')).toEqual([{ method: 'cancelExperiment', id: ID }]);
    expect(experiment.phase).toBe('cancelling');
    // the runs end "did not finish" and are saved: the finished event opens them
    bridge.emit({ type: 'finished', experimentId: ID });
    await settle();
    expect(useUiStore().view).toBe('compare');
  });

  it('does not start twice while one runs', async () => {
    const experiment = useExperimentStore();
    await experiment.start(draftSpec(draft()));
    expect(await experiment.start(draftSpec(draft()))).toBe(false);
    expect(bridge.calls('startExperiment')).toHaveLength(1);
  });

  it('picks up an experiment still running from before a reload', async () => {
    bridge.handlers.activeExperiments = () => [started(draftSpec(draft()))];
    const experiment = useExperimentStore();
    await experiment.connect();
    expect(experiment.phase).toBe('running');
    expect(experiment.active?.id).toBe(ID);
  });
});

describe('the results store', () => {
  it('builds the charts of shared/charts.ts from the loaded file', async () => {
    const file = sampleHistoryFile();
    setupRenderer({ loadExperiment: () => file });
    const results = useResultsStore();
    expect(await results.load(file.id)).toBe(true);
    const ids = results.charts.map((c) => c.id);
    expect(ids).toEqual(buildCharts(file).map((c) => c.id));
    expect(ids).toContain('world-switches');
    // the shared definitions, untouched
    for (const chart of buildCharts(file)) {
      expect(results.charts.find((c) => c.id === chart.id)).toEqual(chart);
    }
    expect(results.labels).toEqual(['native', 'trap-and-emulate', 'binary-translation']);
  });

  it('says which experiment could not be opened and why', async () => {
    setupRenderer({
      loadExperiment: () => {
        throw new Error('no experiment with this id');
      },
    });
    const results = useResultsStore();
    expect(await results.load('gone')).toBe(false);
    expect(results.error).toBe('could not open experiment gone: no experiment with this id');
  });

  it("imports a file and throws the API's error for a corrupt one", async () => {
    const file = sampleHistoryFile('imported');
    const { bridge } = setupRenderer({
      importExperiment: (r) => {
        if (r.text.startsWith('{')) return file;
        throw new Error(
          `${r.fileName} is not a VMM Workbench experiment: not JSON: Unexpected token`,
        );
      },
    });
    const results = useResultsStore();
    await expect(results.importFile('bad.vmwb.json', 'garbage')).rejects.toThrow(
      'bad.vmwb.json is not a VMM Workbench experiment: not JSON',
    );
    expect(results.file).toBeNull();
    await expect(results.importFile('ok.vmwb.json', '{}')).resolves.toEqual(file);
    expect(results.file?.id).toBe('imported');
    expect(bridge.calls('importExperiment')[1]).toEqual({
      method: 'importExperiment',
      fileName: 'ok.vmwb.json',
      text: '{}',
    });
  });
});

describe('the history store', () => {
  it('lists, keeps the problems, and deletes', async () => {
    const file = sampleHistoryFile('a');
    const entry = {
      id: 'a',
      createdAt: file.createdAt,
      spec: file.spec,
      runs: [],
    };
    const { bridge } = setupRenderer({
      listHistory: () => ({
        entries: [entry, { ...entry, id: 'b' }],
        problems: [{ file: 'broken.json', error: 'not JSON' }],
      }),
      deleteExperiment: () => null,
    });
    const history = useHistoryStore();
    await history.refresh();
    expect(history.view?.entries.map((e) => e.id)).toEqual(['a', 'b']);
    expect(history.view?.problems).toEqual([{ file: 'broken.json', error: 'not JSON' }]);
    useResultsStore().set(file);
    expect(await history.remove('a')).toBe(true);
    expect(bridge.calls('deleteExperiment')).toEqual([{ method: 'deleteExperiment', id: 'a' }]);
    expect(history.view?.entries.map((e) => e.id)).toEqual(['b']);
    expect(useResultsStore().file).toBeNull(); // the open experiment was the deleted one
  });

  it('keeps the entry and says why a delete failed', async () => {
    setupRenderer({
      deleteExperiment: () => {
        throw new Error("experiment 'a' is still running");
      },
    });
    const history = useHistoryStore();
    expect(await history.remove('a')).toBe(false);
    expect(history.error).toBe("could not delete a: experiment 'a' is still running");
  });
});

describe('the ui store', () => {
  it('remembers the theme choice', () => {
    setupRenderer();
    const ui = useUiStore();
    expect(ui.themeChoice).toBe('system');
    ui.systemDark = true;
    expect(ui.theme).toBe('dark');
    ui.toggleTheme();
    expect(ui.theme).toBe('light');
    expect(localStorage.getItem('vmm-workbench.theme')).toBe('light');
    setupRenderer();
    expect(useUiStore().themeChoice).toBe('light');
  });
});
