// @vitest-environment happy-dom
// The History view: lists the saved experiments newest first, shows the files that could not
// be read and why, deletes after a confirmation, opens one in Compare, runs one again.

import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HistoryEntry, type HistoryView } from '../../shared/api';
import { useExperimentStore } from '../../src-renderer/stores/experiment';
import { useResultsStore } from '../../src-renderer/stores/results';
import { useUiStore } from '../../src-renderer/stores/ui';
import HistoryViewComponent from '../../src-renderer/views/HistoryView.vue';
import { sampleHistoryFile, type FakeBridge } from './helpers/fake-bridge';
import { setupRenderer } from './helpers/setup';

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

beforeEach(() => {
  localStorage.clear();
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
      { file: 'future.json', error: 'schemaVersion 2 is not 1 (this app’s results format)' },
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
    expect(button(row(w, 'a-older'), 'rerun').attributes('disabled')).toBeDefined();
    await button(row(w, 'b-newer'), 'rerun').trigger('click');
    await flushPromises();
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
