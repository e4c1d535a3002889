// @vitest-environment happy-dom
// The Compare view draws one real Chart.js chart per chart definition (happy-dom gets a no-op
// 2D context, the data are Chart.js's own), registered in window.__vmmCharts, with exactly the
// numbers of the results file; the same numbers as tables; an equivalence badge per run with
// the first diverging line and the culprit.

import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildCharts } from '../../shared/charts';
import { type HistoryFile, type SilentEffect } from '../../shared/results';
import { summaryTable } from '../../src-renderer/charts/summary-table';
import { useResultsStore } from '../../src-renderer/stores/results';
import { useUiStore } from '../../src-renderer/stores/ui';
import CompareView from '../../src-renderer/views/CompareView.vue';
import { installFakeCanvas } from './helpers/canvas';
import { SAMPLE_BINARY_TRANSLATION, SAMPLE_PARAVIRT } from '../helpers/sample-results';
import { SAMPLE_CATALOG, sampleHistoryFile } from './helpers/fake-bridge';
import { setupRenderer } from './helpers/setup';

const CULPRIT: SilentEffect = {
  instruction: 5_120,
  outputBytes: 8,
  count: 3,
  lastInstruction: 9_000,
  eip: 0x0010_2a4c,
  disasm: 'popf',
  mnemonic: 'popf',
  detail: 'would have set IF; the virtual IF stays 0',
};

let wrapper: ReturnType<typeof mount> | null = null;

function withCulprit(file: HistoryFile): HistoryFile {
  return {
    ...file,
    runs: file.runs.map((r) => (r.equivalent === false ? { ...r, culprit: CULPRIT } : r)),
  };
}

async function mountCompare(file: HistoryFile | null) {
  const { pinia } = setupRenderer({ catalog: () => SAMPLE_CATALOG });
  useResultsStore().set(file);
  wrapper = mount(CompareView, { global: { plugins: [pinia] }, attachTo: document.body });
  await flushPromises();
  return wrapper;
}

beforeAll(() => installFakeCanvas());
beforeEach(() => {
  localStorage.clear();
  window.__vmmCharts = {};
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

describe('the Compare view', () => {
  it('draws one chart per metric, with the numbers of the results file', async () => {
    const file = withCulprit(sampleHistoryFile());
    const w = await mountCompare(file);
    const expected = [...buildCharts(file)];
    const panels = w.findAll('.chart-panel');
    expect(panels).toHaveLength(expected.length);
    for (const id of [
      'traps-by-cause',
      'cycles-by-category',
      'world-switches',
      'icache-hit-rate',
      'icache-mpki',
      'throughput',
      'overhead',
      'traps-over-time',
    ]) {
      expect(w.findAll(`[data-chart-id="${id}"]`), id).toHaveLength(1);
    }
    const charts = window.__vmmCharts!;
    expect(Object.keys(charts).sort()).toEqual(expected.map((c) => c.id).sort());
    for (const definition of expected) {
      const chart = charts[definition.id]!;
      expect((chart.config as { type?: string }).type, definition.id).toBe(definition.config.type);
      expect(chart.data.labels, definition.id).toEqual(definition.config.data.labels ?? []);
      expect(
        chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
        definition.id,
      ).toEqual(definition.config.data.datasets.map((d) => ({ label: d.label, data: d.data })));
    }
    // a few numbers straight from the RunResults
    const traps = charts['traps-by-cause']!.data;
    const cli = traps.datasets.find((d) => d.label === 'gp:cli')!;
    expect(cli.data).toEqual(file.runs.map((r) => r.traps.byCause['gp:cli'] ?? 0));
    expect(charts['world-switches']!.data.datasets[0]!.data).toEqual([0, 497, 37]);
    const guest = charts['cycles-by-category']!.data.datasets.find((d) => d.label === 'guest')!;
    expect(guest.data).toEqual(file.runs.map((r) => r.cycles.guest));
    const overTime = charts['traps-over-time']!.data.datasets[1]!.data as {
      x: number;
      y: number;
    }[];
    expect(overTime).toEqual(
      file.runs[1]!.timeSeries.slots.map((s) => ({ x: s.instructions, y: s.traps })),
    );
  });

  it('draws the hypercalls chart and a para-API table per para-virtual run', async () => {
    const file = sampleHistoryFile(undefined, { withParavirt: true });
    const w = await mountCompare(file);
    const hypercalls = buildCharts(file).find((c) => c.id === 'hypercalls-by-name')!;
    const drawn = window.__vmmCharts!['hypercalls-by-name']!;
    expect(drawn.data.labels).toEqual(hypercalls.config.data.labels);
    expect(drawn.data.datasets.map((d) => [d.label, d.data])).toEqual([
      [
        'paravirt',
        Object.keys(SAMPLE_PARAVIRT.hypercalls)
          .sort()
          .map((n) => SAMPLE_PARAVIRT.hypercalls[n]),
      ],
    ]);
    const section = w.get('.paravirt-metrics');
    expect(section.text()).toContain('batched: many entries per mmu_update hypercall');
    expect(section.findAll('.paravirt-run').map((r) => r.attributes('data-technique'))).toEqual([
      'paravirt',
    ]);
    const rows = Object.fromEntries(
      section.findAll('tbody tr').map((tr) => {
        const [label, value] = tr.findAll('th,td').map((c) => c.text());
        return [label!, value!];
      }),
    );
    expect(rows).toMatchObject({
      hypercalls: '132',
      'mmu_update calls': '14',
      'page-table entries applied': '121',
      'entries per mmu_update call': '8.64',
      'batch sizes (entries: calls)': '1 entry: 10 calls; 16 entries: 3 calls; 64 entries: 1 call',
      'mmu_update calls that flushed the TLB': '2',
      'upcalls (events delivered)': '25',
      'refused hypercalls (name:error)': 'mmu_update:EPERM × 1; unknown:ENOSYS × 1',
      'direct page-table writes (emulated)': '0',
    });
  });

  it('has no para-API section or hypercalls chart without a para-virtual run', async () => {
    const w = await mountCompare(sampleHistoryFile());
    expect(w.find('.paravirt-metrics').exists()).toBe(false);
    expect(w.find('[data-chart-id="hypercalls-by-name"]').exists()).toBe(false);
  });

  it('draws the callouts chart and a translator table per binary-translation run', async () => {
    const file = sampleHistoryFile(undefined, { withParavirt: true, withBinaryTranslation: true });
    const w = await mountCompare(file);
    const callouts = buildCharts(file).find((c) => c.id === 'callouts-by-kind')!;
    const drawn = window.__vmmCharts!['callouts-by-kind']!;
    expect(drawn.data.labels).toEqual(callouts.config.data.labels);
    expect(drawn.data.datasets.map((d) => [d.label, d.data])).toEqual([
      [
        'binary-translation',
        Object.keys(SAMPLE_BINARY_TRANSLATION.callouts)
          .sort()
          .map((k) => SAMPLE_BINARY_TRANSLATION.callouts[k]),
      ],
    ]);
    const section = w.get('.bt-metrics');
    expect(section.get('h3').text()).toBe('Binary translation');
    expect(section.text()).toContain('guest user code runs directly');
    expect(section.findAll('.bt-run').map((r) => r.attributes('data-technique'))).toEqual([
      'binary-translation',
    ]);
    // the para-virtual run has its own table, not this one
    expect(w.findAll('.paravirt-run').map((r) => r.attributes('data-technique'))).toEqual([
      'paravirt',
    ]);
    const rows = Object.fromEntries(
      section.findAll('tbody tr').map((tr) => {
        const [label, value] = tr.findAll('th,td').map((c) => c.text());
        return [label!, value!];
      }),
    );
    expect(rows).toEqual({
      'translation units': '486',
      'guest instructions translated': '3,412',
      'IDENT share (copied unchanged)': '81.9%',
      'rewritten control flow (jmp, jcc, call, ret, loop…)': '452',
      'sensitive, inline sequence (cli, sti, pushf, popf…)': '118',
      'sensitive, callout into the hypervisor': '47',
      'fragment bytes emitted': '16,873',
      'fragment bytes per guest instruction': '4.95',
      'translation cache used (bytes emitted of capacity)': '16,873 of 262,144 bytes (6.4%)',
      'chains patched (jumps linked to their fragment)': '391',
      'fall-throughs elided': '38',
      'fragments invalidated (guest wrote their code)': '6',
      'instructions retranslated into a callout': '3',
      'whole-cache flushes': '0',
      'callouts executed': '3,355',
      'callouts by kind':
        'lookup:ret × 2,140; translate × 486; lookup:indirect × 312; emulate:out × 300; ' +
        'emulate:iret × 65; pending-interrupt × 25; emulate:mov-to-cr × 24; emulate:hlt × 3',
    });
    // the section sits with the other tables, before the charts
    const html = w.html();
    expect(html.indexOf('class="bt-metrics"')).toBeGreaterThan(
      html.indexOf('class="paravirt-metrics"'),
    );
    expect(html.indexOf('class="bt-metrics"')).toBeLessThan(html.indexOf('class="chart-grid"'));
  });

  it('has no binary-translation section or callouts chart without translator metrics', async () => {
    // the sample's binary-translation run reports none: nothing to show
    const w = await mountCompare(sampleHistoryFile(undefined, { withParavirt: true }));
    expect(w.find('.bt-metrics').exists()).toBe(false);
    expect(w.find('[data-chart-id="callouts-by-kind"]').exists()).toBe(false);
    expect(window.__vmmCharts!['callouts-by-kind']).toBeUndefined();
    expect(window.__vmmCharts!['hypercalls-by-name']).toBeDefined();
  });

  it('shows the exact value on hover', async () => {
    const file = sampleHistoryFile();
    await mountCompare(file);
    const chart = window.__vmmCharts!['cycles-by-category']!;
    const label = chart.options.plugins!.tooltip!.callbacks!.label as unknown as (
      item: unknown,
    ) => string;
    const dataset = chart.data.datasets.find((d) => d.label === 'hypervisor')!;
    expect(label({ raw: dataset.data[1], dataset, dataIndex: 1 })).toBe(
      `hypervisor: ${file.runs[1]!.cycles.hypervisor.toLocaleString('en-US')}`,
    );
  });

  it('puts the same numbers in a copyable table', async () => {
    const file = sampleHistoryFile();
    const w = await mountCompare(file);
    const panel = w
      .findAll('.chart-panel')
      .find((p) => p.find('[data-chart-id=world-switches]').exists())!;
    await panel
      .findAll('button')
      .find((b) => b.text() === 'Table')!
      .trigger('click');
    const rows = panel.findAll('tbody tr').map((tr) => tr.findAll('th,td').map((c) => c.text()));
    expect(rows).toEqual([
      ['native', '0'],
      ['trap-and-emulate', '497'],
      ['binary-translation', '37'],
    ]);
    // the headline table: instructions and cycles of every run, exactly
    const summary = summaryTable(file);
    const numbers = w.get('.summary');
    const cells = numbers.findAll('tbody tr').map((tr) => tr.findAll('th,td').map((c) => c.text()));
    expect(cells.map((r) => r[0])).toEqual(['native', 'trap-and-emulate', 'binary-translation']);
    const col = summary.columns.indexOf('modeled cycles');
    expect(cells.map((r) => r[col])).toEqual(
      file.runs.map((r) => r.cycles.total.toLocaleString('en-US')),
    );
  });

  it('shows where the modeled cycles come from, per run', async () => {
    const file = sampleHistoryFile();
    const w = await mountCompare(file);
    await w.get('#cost-run').setValue('1');
    const rows = w
      .get('.costs')
      .findAll('tbody tr')
      .map((tr) => tr.findAll('th,td').map((c) => c.text()));
    expect(rows.map((r) => r[0])).toEqual(file.runs[1]!.costBreakdown.map((l) => l.kind));
    const vmexit = rows.find((r) => r[0] === 'vmexit')!;
    expect(vmexit.slice(1, 5)).toEqual(['worldSwitch', '497', '1,700', '844,900']);
  });

  it('gives every run an equivalence badge, with the divergence and the culprit', async () => {
    const w = await mountCompare(withCulprit(sampleHistoryFile()));
    const card = (t: string) => w.get(`.run-card[data-technique="${t}"]`);
    expect(card('native').get('.badge').text()).toContain('Reference output');
    expect(card('trap-and-emulate').get('.badge').text()).toContain('Equivalent to native');
    const bt = card('binary-translation');
    expect(bt.get('.badge').text()).toContain('Diverges at line 2');
    const details = bt.get('.divergence').text();
    expect(details).toContain('primes below 1000: 168');
    expect(details).toContain('primes below 1000: 168!');
    expect(details).toContain('popf');
    expect(details).toContain('0x00102a4c');
    expect(details).toContain('would have set IF; the virtual IF stays 0');
  });

  it('says "not compared" without a native run, and draws no overhead chart', async () => {
    const w = await mountCompare(sampleHistoryFile('no-native', { withoutNative: true }));
    expect(w.get('.run-card[data-technique=trap-and-emulate] .badge').text()).toContain(
      'Not compared',
    );
    expect(w.find('[data-chart-id=overhead]').exists()).toBe(false);
  });

  it('opens the trap log filtered by a clicked cause', async () => {
    const w = await mountCompare(sampleHistoryFile());
    const chart = window.__vmmCharts!['traps-by-cause']!;
    const onClick = chart.options.onClick as unknown as (
      e: unknown,
      el: unknown,
      c: unknown,
    ) => void;
    const fakeChart = {
      data: chart.data,
      getElementsAtEventForMode: () => [
        { datasetIndex: chart.data.datasets.findIndex((d) => d.label === 'gp:sti'), index: 1 },
      ],
    };
    onClick({ native: new MouseEvent('click') }, [], fakeChart);
    expect(useUiStore().view).toBe('traps');
    expect(useUiStore().trapFilter).toEqual({ cause: 'gp:sti', run: 'trap-and-emulate' });
    expect(w.text()).toContain('Click a bar segment');
  });

  it('replaces the charts when the theme changes, keeping the registry current', async () => {
    await mountCompare(sampleHistoryFile());
    const before = window.__vmmCharts!['throughput'];
    useUiStore().setTheme('dark');
    await flushPromises();
    const after = window.__vmmCharts!['throughput'];
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(after!.options.plugins!.title!.color).toBe('#e6e8eb');
  });

  it('removes its charts from the registry when it goes away', async () => {
    const w = await mountCompare(sampleHistoryFile());
    expect(Object.keys(window.__vmmCharts!).length).toBeGreaterThan(0);
    w.unmount();
    wrapper = null;
    expect(window.__vmmCharts).toEqual({});
  });

  it('says what to do when no experiment is open', async () => {
    const w = await mountCompare(null);
    expect(w.text()).toContain('No experiment is open');
    expect(w.text()).toContain('Run one in the Experiment view');
    await w
      .findAll('button')
      .find((b) => b.text() === 'History')!
      .trigger('click');
    expect(useUiStore().view).toBe('history');
  });
});
