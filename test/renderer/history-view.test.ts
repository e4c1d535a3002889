// @vitest-environment happy-dom
// The History view: lists the saved experiments newest first, shows the files that could not
// be read and why, deletes after a confirmation, opens one in Compare, runs one again (a
// kernel-file experiment only with the very same file, picked again), compares two side by
// side.

import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type HistoryEntry, type HistoryView } from '../../shared/api';
import { type HistoryFile } from '../../shared/results';
import { type KernelPick } from '../../src-renderer/kernel-file';
import { useExperimentStore } from '../../src-renderer/stores/experiment';
import { usePairStore } from '../../src-renderer/stores/pair';
import { useResultsStore } from '../../src-renderer/stores/results';
import { useUiStore } from '../../src-renderer/stores/ui';
import HistoryViewComponent from '../../src-renderer/views/HistoryView.vue';
import { installFakeCanvas } from './helpers/canvas';
import { sampleHistoryFile, type FakeBridge } from './helpers/fake-bridge';
import { setupRenderer } from './helpers/setup';

// the kernel file dialog: each test says what the user picks
const picker = vi.hoisted(() => ({ pickKernelFile: vi.fn() }));
vi.mock('../../src-renderer/kernel-file', () => picker);

const file = sampleHistoryFile('2026-11-23T10-15-00-123Z-ab12cd');

function entry(id: string, over: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    id,
    createdAt: file.createdAt,
    spec: file.spec,
    runs: file.runs.map((r) => ({
      technique: r.technique,
      status: r.status,
      equivalent: r.equivalent,
      instructions: r.guestInstructions.total,
      cycles: r.cycles.total,
    })),
    ...over,
  };
}

let bridge: FakeBridge;
let listing: HistoryView;
let wrapper: ReturnType<typeof mount> | null = null;

async function mountHistory() {
  const setup = setupRenderer({
    listHistory: () => listing,
    deleteExperiment: (r) => {
      listing = { ...listing, entries: listing.entries.filter((e) => e.id !== r.id) };
      return null;
    },
    loadExperiment: (r) => ({ ...file, id: r.id }),
    startExperiment: (r) => ({ id: 'new', spec: r.spec as HistoryEntry['spec'], runs: [] }),
  });
  bridge = setup.bridge;
  wrapper = mount(HistoryViewComponent, { global: { plugins: [setup.pinia] } });
  await flushPromises();
  return wrapper;
}

const row = (w: ReturnType<typeof mount>, id: string) => w.get(`tr[data-id="${id}"]`);
const button = (w: ReturnType<typeof row>, action: string) =>
  w.get(`button[data-action=${action}]`);

beforeAll(() => installFakeCanvas());
beforeEach(() => {
  localStorage.clear();
  window.__vmmCharts = {};
  picker.pickKernelFile.mockReset();
  listing = {
    entries: [
      entry('b-newer'),
      entry('a-older', {
        spec: {
          ...file.spec,
          kernel: { kind: 'file', name: 'mykernel.bin', sha256: 'a'.repeat(64) },
        },
      }),
    ],
    problems: [
      { file: 'broken.json', error: 'not JSON: Unexpected end of JSON input' },
      {
        file: 'future.json',
        error:
          'written by a newer version of VMM Workbench (results format 3; this app reads formats 1 to 2)',
      },
    ],
  };
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

describe('the History view', () => {
  it('lists the experiments with their runs and verdicts', async () => {
    const w = await mountHistory();
    expect(bridge.calls('listHistory')).toHaveLength(1);
    const rows = w.findAll('tbody tr');
    expect(rows.map((r) => r.attributes('data-id'))).toEqual(['b-newer', 'a-older']);
    const first = row(w, 'b-newer').text();
    expect(first).toContain('primes');
    expect(first).toContain('n=1000');
    expect(first).toContain('classic / p4-2006');
    expect(first).toContain('trap-and-emulate');
    expect(row(w, 'b-newer').get('[aria-label="diverges from native"]').text()).toBe('✗');
    expect(row(w, 'a-older').text()).toContain('file mykernel.bin');
  });

  it('shows the files that could not be read, and why', async () => {
    const w = await mountHistory();
    const problems = w.get('.history-problems');
    expect(problems.get('h3').text()).toContain('2 files in the history folder could not be read');
    expect(problems.text()).toContain('broken.json');
    expect(problems.text()).toContain('not JSON: Unexpected end of JSON input');
    expect(problems.text()).toContain('future.json');
  });

  it('deletes only after a confirmation', async () => {
    const w = await mountHistory();
    await button(row(w, 'b-newer'), 'delete').trigger('click');
    expect(bridge.calls('deleteExperiment')).toHaveLength(0);
    expect(row(w, 'b-newer').text()).toContain('Delete for good?');
    await row(w, 'b-newer')
      .findAll('button')
      .find((b) => b.text() === 'Keep')!
      .trigger('click');
    expect(bridge.calls('deleteExperiment')).toHaveLength(0);
    await button(row(w, 'b-newer'), 'delete').trigger('click');
    await row(w, 'b-newer')
      .findAll('button')
      .find((b) => b.text() === 'Delete')!
      .trigger('click');
    await flushPromises();
    expect(bridge.calls('deleteExperiment')).toEqual([
      { method: 'deleteExperiment', id: 'b-newer' },
    ]);
    expect(w.findAll('tbody tr').map((r) => r.attributes('data-id'))).toEqual(['a-older']);
  });

  it('shows why a delete failed', async () => {
    const w = await mountHistory();
    bridge.handlers.deleteExperiment = () => {
      throw new Error("experiment 'b-newer' is still running");
    };
    await button(row(w, 'b-newer'), 'delete').trigger('click');
    await row(w, 'b-newer')
      .findAll('button')
      .find((b) => b.text() === 'Delete')!
      .trigger('click');
    await flushPromises();
    expect(w.get('[role=alert]').text()).toContain("experiment 'b-newer' is still running");
    expect(w.find('tr[data-id="b-newer"]').exists()).toBe(true);
  });

  it('opens an experiment in Compare', async () => {
    const w = await mountHistory();
    await button(row(w, 'b-newer'), 'open').trigger('click');
    await flushPromises();
    expect(bridge.calls('loadExperiment')).toEqual([{ method: 'loadExperiment', id: 'b-newer' }]);
    expect(useResultsStore().file?.id).toBe('b-newer');
    expect(useUiStore().view).toBe('compare');
  });

  it('runs an experiment again with the same spec (not a kernel file run)', async () => {
    const w = await mountHistory();
    await button(row(w, 'b-newer'), 'rerun').trigger('click');
    await flushPromises();
    expect(picker.pickKernelFile).not.toHaveBeenCalled();
    expect(bridge.calls('startExperiment')).toEqual([
      { method: 'startExperiment', spec: file.spec },
    ]);
    expect(useUiStore().view).toBe('experiment');
    expect(useExperimentStore().phase).toBe('running');
  });

  it('says what to do when the history is empty', async () => {
    listing = { entries: [], problems: [] };
    const w = await mountHistory();
    expect(w.text()).toContain('No saved experiments yet');
    expect(w.find('.history-problems').exists()).toBe(false);
  });

  it('says why the history could not be listed', async () => {
    const setup = setupRenderer({
      listHistory: () => {
        throw new Error('EACCES: permission denied, scandir');
      },
    });
    wrapper = mount(HistoryViewComponent, { global: { plugins: [setup.pinia] } });
    await flushPromises();
    expect(wrapper.get('[role=alert]').text()).toContain(
      'could not list the history: EACCES: permission denied, scandir',
    );
  });
});

describe('running a kernel-file experiment again', () => {
  const spec = (): HistoryEntry['spec'] => listing.entries[1]!.spec;
  const pick = (name: string, sha256: string): KernelPick => ({
    upload: { name, base64: 'a2VybmVs' },
    sha256,
    bytes: 6,
    assembled: false,
    sourceBytes: 6,
  });
  const alert = (w: ReturnType<typeof mount>) => w.find('[role=alert]');

  it('asks for the file and runs the same spec with it when it is the same file', async () => {
    picker.pickKernelFile.mockResolvedValue(pick('mykernel.bin', 'a'.repeat(64)));
    const w = await mountHistory();
    const rerun = button(row(w, 'a-older'), 'rerun');
    expect(rerun.attributes('disabled')).toBeUndefined();
    expect(rerun.attributes('title')).toContain('Pick mykernel.bin again');
    await rerun.trigger('click');
    await flushPromises();
    expect(picker.pickKernelFile).toHaveBeenCalledTimes(1);
    expect(bridge.calls('startExperiment')).toEqual([
      {
        method: 'startExperiment',
        spec: spec(),
        kernelFile: { name: 'mykernel.bin', base64: 'a2VybmVs' },
      },
    ]);
    expect(useUiStore().view).toBe('experiment');
    expect(useExperimentStore().phase).toBe('running');
  });

  it('starts nothing, and says why, when another experiment started while the file was chosen', async () => {
    let answer!: (p: KernelPick) => void;
    picker.pickKernelFile.mockReturnValue(new Promise<KernelPick>((r) => (answer = r)));
    const w = await mountHistory();
    await button(row(w, 'a-older'), 'rerun').trigger('click');
    await flushPromises();
    // meanwhile an experiment starts (from the Experiment view, another window's event…)
    await useExperimentStore().start(listing.entries[0]!.spec);
    expect(bridge.calls('startExperiment')).toHaveLength(1);
    answer(pick('mykernel.bin', 'a'.repeat(64)));
    await flushPromises();
    expect(bridge.calls('startExperiment')).toHaveLength(1);
    expect(alert(w).text()).toContain('another experiment started meanwhile');
  });

  it('refuses another file, naming both files and both hashes', async () => {
    picker.pickKernelFile.mockResolvedValue(pick('other.bin', '123456789abcdef0'.repeat(4)));
    const w = await mountHistory();
    useUiStore().show('history');
    await button(row(w, 'a-older'), 'rerun').trigger('click');
    await flushPromises();
    expect(bridge.calls('startExperiment')).toEqual([]);
    expect(useUiStore().view).toBe('history');
    expect(alert(w).text()).toContain('Could not run it again');
    expect(alert(w).text()).toContain(
      "other.bin is not the file this experiment ran (mykernel.bin): its SHA-256 starts 123456789abc…, the experiment's starts aaaaaaaaaaaa…",
    );
    await alert(w)
      .findAll('button')
      .find((b) => b.text() === 'Dismiss')!
      .trigger('click');
    expect(alert(w).exists()).toBe(false);
  });

  it('does nothing when the dialog is cancelled, and says why a file could not be read', async () => {
    picker.pickKernelFile.mockResolvedValueOnce(null);
    const w = await mountHistory();
    await button(row(w, 'a-older'), 'rerun').trigger('click');
    await flushPromises();
    expect(bridge.calls('startExperiment')).toEqual([]);
    expect(alert(w).exists()).toBe(false);

    picker.pickKernelFile.mockRejectedValueOnce(
      new Error('mykernel.bin cannot boot: no multiboot header in the first 8 KiB'),
    );
    await button(row(w, 'a-older'), 'rerun').trigger('click');
    await flushPromises();
    expect(bridge.calls('startExperiment')).toEqual([]);
    expect(alert(w).text()).toContain(
      'mykernel.bin cannot boot: no multiboot header in the first 8 KiB',
    );
  });
});

describe('comparing two experiments', () => {
  /** the saved experiments the fake history loads, by id */
  let saved: Record<string, HistoryFile>;

  beforeEach(() => {
    const older = sampleHistoryFile('a-1');
    const newer = sampleHistoryFile('b-2');
    saved = {
      'a-1': { ...older, createdAt: '2026-11-23T10:15:00.123Z' },
      'b-2': {
        ...newer,
        createdAt: '2026-11-24T08:05:30.000Z',
        spec: { ...newer.spec, profile: 'modern' },
        runs: newer.runs.map((r) =>
          r.technique === 'trap-and-emulate'
            ? { ...r, cycles: { ...r.cycles, total: r.cycles.total * 2 } }
            : r,
        ),
      },
      'c-3': { ...sampleHistoryFile('c-3'), createdAt: '2026-11-25T12:00:00.000Z' },
    };
    listing = {
      entries: ['c-3', 'b-2', 'a-1'].map((id) =>
        entry(id, { createdAt: saved[id]!.createdAt, spec: saved[id]!.spec }),
      ),
      problems: [],
    };
  });

  async function mountWithSaved() {
    const w = await mountHistory();
    bridge.handlers.loadExperiment = (r) => {
      const f = saved[r.id];
      if (!f) throw new Error(`experiment '${r.id}' is not in the history`);
      return f;
    };
    return w;
  }

  const checkbox = (w: ReturnType<typeof mount>, id: string) =>
    row(w, id).get('input[type=checkbox]');
  const compareButton = (w: ReturnType<typeof mount>) => w.get('button[data-action=compare-two]');
  const tick = async (w: ReturnType<typeof mount>, id: string, on = true) => {
    await checkbox(w, id).setValue(on);
  };

  it('compares exactly two: the button waits for the second tick', async () => {
    const w = await mountWithSaved();
    expect(checkbox(w, 'a-1').attributes('aria-label')).toMatch(/^Compare: .+, primes$/);
    expect(compareButton(w).attributes('disabled')).toBeDefined();
    await tick(w, 'b-2');
    expect(compareButton(w).attributes('disabled')).toBeDefined();
    await tick(w, 'a-1');
    expect(compareButton(w).attributes('disabled')).toBeUndefined();
    expect(w.get('.pair-bar').text()).toContain('Selected:');
    await tick(w, 'a-1', false);
    expect(compareButton(w).attributes('disabled')).toBeDefined();
    // three selected (however it came about): not comparable either
    usePairStore().selected = ['a-1', 'b-2', 'c-3'];
    await flushPromises();
    expect(compareButton(w).attributes('disabled')).toBeDefined();
  });

  it('replaces the oldest selection when a third is ticked', async () => {
    const w = await mountWithSaved();
    await tick(w, 'a-1');
    await tick(w, 'b-2');
    await tick(w, 'c-3');
    expect(usePairStore().selected).toEqual(['b-2', 'c-3']);
    expect((checkbox(w, 'a-1').element as HTMLInputElement).checked).toBe(false);
    expect((checkbox(w, 'b-2').element as HTMLInputElement).checked).toBe(true);
    expect((checkbox(w, 'c-3').element as HTMLInputElement).checked).toBe(true);
    expect(compareButton(w).attributes('disabled')).toBeUndefined();
  });

  it('loads both and shows A vs B: ids, spec differences, numbers and charts', async () => {
    const w = await mountWithSaved();
    // ticked newer first: A is still the earlier experiment
    await tick(w, 'b-2');
    await tick(w, 'a-1');
    await compareButton(w).trigger('click');
    await flushPromises();
    expect(bridge.calls('loadExperiment').map((r) => r.id)).toEqual(['b-2', 'a-1']);

    const panel = w.get('section.pair-panel');
    expect(panel.get('h3').text()).toBe('A vs B');
    expect(panel.get('[data-side=A]').text()).toContain('a-1');
    expect(panel.get('[data-side=B]').text()).toContain('b-2');

    const cells = (el: ReturnType<typeof panel.get>) =>
      el.findAll('tbody tr').map((tr) => tr.findAll('th,td').map((c) => c.text()));
    expect(cells(panel.get('.pair-spec'))).toEqual([['CPU profile', 'p4-2006', 'modern']]);

    const te = cells(panel.get('[data-technique=trap-and-emulate]'));
    const a = saved['a-1']!.runs[1]!;
    expect(te.find((r) => r[0] === 'modeled cycles')).toEqual([
      'modeled cycles',
      a.cycles.total.toLocaleString('en-US'),
      (a.cycles.total * 2).toLocaleString('en-US'),
      '2',
    ]);
    expect(te.find((r) => r[0] === 'traps')).toEqual(['traps', '497', '497', '1']);
    const bt = cells(panel.get('[data-technique=binary-translation]'));
    expect(bt.find((r) => r[0] === 'equivalent to native')![1]).toContain('no — line 2');

    // the pair's charts, drawn by ChartPanel with the numbers of both files
    const traps = window.__vmmCharts!['pair-traps']!;
    expect(traps.data.labels).toEqual(['native', 'trap-and-emulate', 'binary-translation']);
    expect(traps.data.datasets.map((d) => [d.label, d.data])).toEqual([
      ['A · 2026-11-23 10:15 UTC · primes classic', [0, 497, 37]],
      ['B · 2026-11-24 08:05 UTC · primes classic', [0, 497, 37]],
    ]);
    expect(window.__vmmCharts!['pair-overhead']).toBeDefined();
    expect(panel.findAll('.chart-panel')).toHaveLength(4);

    // swap, then close
    await panel.get('button[data-action=swap]').trigger('click');
    expect(w.get('[data-side=A]').text()).toContain('b-2');
    await w.get('button[data-action=close-pair]').trigger('click');
    expect(w.find('section.pair-panel').exists()).toBe(false);
    expect(window.__vmmCharts!['pair-traps']).toBeUndefined();
  });

  it('shows the API’s message when one of the two cannot be loaded', async () => {
    const w = await mountWithSaved();
    delete saved['b-2'];
    await tick(w, 'a-1');
    await tick(w, 'b-2');
    await compareButton(w).trigger('click');
    await flushPromises();
    expect(w.find('section.pair-panel').exists()).toBe(false);
    const alert = w.get('[role=alert]');
    expect(alert.text()).toContain('Could not compare the two experiments');
    expect(alert.text()).toContain(
      "could not load experiment b-2: experiment 'b-2' is not in the history",
    );
    expect(alert.text()).not.toContain('a-1');
  });

  it('forgets a deleted experiment’s selection', async () => {
    const w = await mountWithSaved();
    await tick(w, 'a-1');
    await tick(w, 'b-2');
    await button(row(w, 'b-2'), 'delete').trigger('click');
    await row(w, 'b-2')
      .findAll('button')
      .find((b) => b.text() === 'Delete')!
      .trigger('click');
    await flushPromises();
    expect(usePairStore().selected).toEqual(['a-1']);
    expect(compareButton(w).attributes('disabled')).toBeDefined();
  });

  it('closes the comparison when one of its experiments is deleted', async () => {
    const w = await mountWithSaved();
    await tick(w, 'a-1');
    await tick(w, 'b-2');
    await compareButton(w).trigger('click');
    await flushPromises();
    expect(w.find('#pair-title').exists()).toBe(true);
    await button(row(w, 'a-1'), 'delete').trigger('click');
    await row(w, 'a-1')
      .findAll('button')
      .find((b) => b.text() === 'Delete')!
      .trigger('click');
    await flushPromises();
    expect(usePairStore().files).toBeNull();
    expect(w.find('#pair-title').exists()).toBe(false);
  });
});
