// @vitest-environment happy-dom
// The Output view (each technique's serial output beside native's, the first divergence
// highlighted) and the Trap log view (a run's logged events, filterable by cause and kind).

import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lineWindow, numberedLines, splitLines } from '../../src-renderer/output-lines';
import { useResultsStore } from '../../src-renderer/stores/results';
import { useUiStore } from '../../src-renderer/stores/ui';
import OutputView from '../../src-renderer/views/OutputView.vue';
import TrapLogView from '../../src-renderer/views/TrapLogView.vue';
import { SAMPLE_OUTPUT } from '../helpers/sample-results';
import { sampleHistoryFile } from './helpers/fake-bridge';
import { setupRenderer } from './helpers/setup';

let wrapper: ReturnType<typeof mount> | null = null;

async function mountView(component: typeof OutputView, withFile = true) {
  const { pinia } = setupRenderer();
  if (withFile) useResultsStore().set(sampleHistoryFile());
  wrapper = mount(component, { global: { plugins: [pinia] } });
  await flushPromises();
  return wrapper;
}

beforeEach(() => localStorage.clear());
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

describe('output lines', () => {
  it('splits and numbers lines as the equivalence check counts them', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a\nb\n')).toEqual(['a', 'b']);
    expect(splitLines('a\n\nb')).toEqual(['a', '', 'b']);
    expect(numberedLines('a\nb\nc\n', 2, 3)).toEqual([
      { number: 2, text: 'b' },
      { number: 3, text: 'c' },
    ]);
  });

  it('keeps the divergence inside the window of a long output', () => {
    expect(lineWindow(10, 3, 100)).toEqual({ first: 1, last: 10 });
    expect(lineWindow(10_000, null, 100)).toEqual({ first: 1, last: 100 });
    expect(lineWindow(10_000, 5_000, 100)).toEqual({ first: 4_950, last: 5_049 });
    expect(lineWindow(10_000, 9_999, 100)).toEqual({ first: 9_901, last: 10_000 });
  });
});

describe('the Output view', () => {
  it("shows the diverging run beside native's output, the first divergence highlighted", async () => {
    const w = await mountView(OutputView);
    // the diverging run is picked first
    expect(w.get<HTMLSelectElement>('#output-run').element.value).toBe('2');
    const columns = w.findAll('.output-column');
    expect(columns.map((c) => c.get('figcaption').text())).toEqual([
      'native',
      'binary-translation',
    ]);
    const nativeLines = columns[0]!.findAll('.line').map((l) => l.text());
    expect(nativeLines).toEqual(splitLines(SAMPLE_OUTPUT));
    const highlighted = w.findAll('.line.diverging');
    expect(highlighted.map((l) => [l.attributes('value'), l.text()])).toEqual([
      ['2', 'primes below 1000: 168'],
      ['2', 'primes below 1000: 168!'],
    ]);
    expect(w.text()).toContain('first difference at line 2');
    // every differing line is marked (here only the second)
    expect(w.findAll('.line.differs').map((l) => l.attributes('value'))).toEqual(['2', '2']);
  });

  it('shows an equivalent run as identical', async () => {
    const w = await mountView(OutputView);
    await w.get('#output-run').setValue('1');
    expect(w.findAll('.line.diverging')).toHaveLength(0);
    expect(w.text()).toContain('identical to native');
  });

  it('says what to do without an experiment', async () => {
    const w = await mountView(OutputView, false);
    expect(w.text()).toContain('No experiment is open');
  });
});

describe('the Trap log view', () => {
  it("lists the run's logged traps with their instruction", async () => {
    const w = await mountView(TrapLogView);
    // the first run that trapped
    expect(w.get<HTMLSelectElement>('#trap-run').element.value).toBe('1');
    const rows = w.findAll('.trap-table tbody tr');
    expect(rows).toHaveLength(60);
    expect(rows[0]!.findAll('td').map((c) => c.text())).toEqual([
      '1,000',
      '3,000',
      '0x00100040',
      'fa',
      'cli',
      'trap',
      'gp:cli',
      '1,700',
    ]);
  });

  it("shows a VM exit's qualification under its cause", async () => {
    const { pinia } = setupRenderer();
    const file = sampleHistoryFile();
    const run = file.runs[1]!;
    file.runs[1] = {
      ...run,
      events: {
        ...run.events,
        entries: [
          {
            ...run.events.entries[0]!,
            cause: 'exit:io out port 0x80',
            detail: 'port 0x80, 1 byte, out',
          },
        ],
      },
    };
    useResultsStore().set(file);
    wrapper = mount(TrapLogView, { global: { plugins: [pinia] } });
    await flushPromises();
    const cells = wrapper.findAll('.trap-table tbody tr')[0]!.findAll('td');
    expect(cells[6]!.text()).toContain('exit:io out port 0x80');
    expect(cells[6]!.get('.muted').text()).toBe('port 0x80, 1 byte, out');
  });

  it('filters by cause, and a chart click sets the cause and the run', async () => {
    const w = await mountView(TrapLogView);
    useUiStore().showTraps('pf:hidden', 'binary-translation');
    await flushPromises();
    expect(w.get<HTMLSelectElement>('#trap-run').element.value).toBe('2');
    expect(w.get<HTMLSelectElement>('#trap-cause').element.value).toBe('pf:hidden');
    expect(w.findAll('.trap-table tbody tr')).toHaveLength(5);
    expect(w.text()).toContain('the run counted 12 traps and 0 guest events of cause pf:hidden');
    await w.get('#trap-cause').setValue('');
    expect(w.findAll('.trap-table tbody tr')).toHaveLength(5);
    await w.get('#trap-run').setValue('1');
    await w.get('#trap-cause').setValue('pf:hidden');
    expect(w.text()).toContain('No logged entry matches the filter');
    await w.get('#trap-kind').setValue('guest');
    await w.get('#trap-cause').setValue('');
    expect(w.text()).toContain('No logged entry matches the filter');
  });

  it('explains an empty log', async () => {
    const w = await mountView(TrapLogView);
    await w.get('#trap-run').setValue('0');
    expect(w.text()).toContain('native logged no events');
    expect(w.text()).toContain('never entered a hypervisor');
  });
});
