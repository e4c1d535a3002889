import { describe, expect, it } from 'vitest';
import {
  buildCharts,
  exitReason,
  modeledMips,
  paletteColor,
  runColors,
  runLabels,
  type ChartDefinition,
} from '../../shared/charts';
import {
  SAMPLE_BINARY_TRANSLATION,
  SAMPLE_PARAVIRT,
  sampleResults,
} from '../helpers/sample-results';

const byId = (charts: ChartDefinition[], id: string): ChartDefinition => {
  const chart = charts.find((c) => c.id === id);
  if (!chart) throw new Error(`no chart ${id}`);
  return chart;
};

describe('chart definitions (shared/charts.ts)', () => {
  const file = sampleResults();
  const charts = buildCharts(file);

  it('has one chart per metric, with unique file-name-safe ids', () => {
    expect(charts.map((c) => c.id)).toEqual([
      'traps-by-cause',
      'guest-events-by-cause',
      'cycles-by-category',
      'world-switches',
      'icache-hit-rate',
      'icache-mpki',
      'throughput',
      'overhead',
      'equivalence',
      'traps-over-time',
      'guest-events-over-time',
    ]);
    for (const c of charts) {
      expect(c.id).toMatch(/^[a-z0-9-]+$/);
      expect(c.title.length).toBeGreaterThan(0);
      expect(c.description.length).toBeGreaterThan(0);
    }
  });

  it('are plain JSON: no functions, no undefined, nothing lost in a JSON round trip', () => {
    for (const c of charts) expect(JSON.parse(JSON.stringify(c))).toStrictEqual(c);
  });

  it('are deterministic', () => {
    expect(buildCharts(sampleResults())).toStrictEqual(charts);
  });

  it('stacks traps by cause, one bar per run, zero for the native run', () => {
    const c = byId(charts, 'traps-by-cause');
    expect(c.config.type).toBe('bar');
    expect(c.config.data.labels).toEqual(['native', 'trap-and-emulate', 'binary-translation']);
    const causes = c.config.data.datasets.map((d) => d.label);
    expect(causes).toEqual([...causes].sort());
    expect(causes).toContain('gp:cli');
    for (const d of c.config.data.datasets) {
      expect(d.data).toHaveLength(3);
      expect(d.data[0]).toBe(0);
      expect(d.stack).toBe('causes');
    }
    const cli = c.config.data.datasets.find((d) => d.label === 'gp:cli')!;
    expect(cli.data).toEqual([0, 50, 0]);
    // every run's stack adds up to its total
    file.runs.forEach((run, i) => {
      const stacked = c.config.data.datasets.reduce((a, d) => a + (d.data[i] as number), 0);
      expect(stacked).toBe(run.traps.total);
    });
    // and the causes get distinct colours from the fixed palette, in order
    c.config.data.datasets.forEach((d, i) => expect(d.backgroundColor).toBe(paletteColor(i)));
  });

  it('stacks guest events and cycles, each stack summing to its total', () => {
    const events = byId(charts, 'guest-events-by-cause');
    const cycles = byId(charts, 'cycles-by-category');
    expect(cycles.config.data.datasets).toHaveLength(7);
    file.runs.forEach((run, i) => {
      const sum = (c: ChartDefinition): number =>
        c.config.data.datasets.reduce((a, d) => a + (d.data[i] as number), 0);
      expect(sum(events)).toBe(run.guestEvents.total);
      expect(sum(cycles)).toBe(run.cycles.total);
    });
  });

  it('derives throughput from modeled time and overhead from the native run', () => {
    const [native, tae] = file.runs;
    const throughput = byId(charts, 'throughput').config.data.datasets[0]!.data as number[];
    const expected = tae!.guestInstructions.total / (tae!.cycles.total / tae!.frequencyHz) / 1e6;
    expect(throughput[1]).toBeCloseTo(expected, 3);
    expect(modeledMips(tae!)).toBeCloseTo(expected, 9);
    const overhead = byId(charts, 'overhead').config.data.datasets[0]!.data as number[];
    expect(overhead[0]).toBe(1);
    expect(overhead[1]).toBeCloseTo(tae!.cycles.total / native!.cycles.total, 4);
    expect(overhead[1]).toBeGreaterThan(1);
  });

  it('reports hit rate in percent and MPKI per run', () => {
    const hit = byId(charts, 'icache-hit-rate').config.data.datasets[0]!.data as number[];
    const mpki = byId(charts, 'icache-mpki').config.data.datasets[0]!.data as number[];
    file.runs.forEach((run, i) => {
      expect(hit[i]).toBeCloseTo(run.icache.hitRate * 100, 2);
      expect(mpki[i]).toBeCloseTo(run.icache.mpki, 3);
    });
  });

  it('skips the overhead chart without a native run', () => {
    const ids = buildCharts(sampleResults({ withoutNative: true })).map((c) => c.id);
    expect(ids).not.toContain('overhead');
    expect(ids).toContain('throughput');
  });

  it('shows equivalence per run and names the first diverging line', () => {
    const c = byId(charts, 'equivalence');
    const data = Object.fromEntries(c.config.data.datasets.map((d) => [d.label, d.data]));
    expect(data).toEqual({
      equivalent: [1, 1, null],
      diverges: [null, null, 1],
      'not compared': [null, null, null],
    });
    expect(c.description).toContain('binary-translation: diverges at line 2');
    expect(c.description).toContain('"primes below 1000: 168!"');
    const na = buildCharts(sampleResults({ withoutNative: true })).find(
      (x) => x.id === 'equivalence',
    )!;
    expect(na.config.data.datasets.find((d) => d.label === 'not compared')!.data).toEqual([1, 1]);
  });

  it('plots traps and guest events per slice against guest instructions', () => {
    const c = byId(charts, 'traps-over-time');
    expect(c.config.type).toBe('line');
    expect((c.config.options.scales as { x: { type: string } }).x.type).toBe('linear');
    expect(c.config.data.datasets.map((d) => d.label)).toEqual(runLabels(file.runs));
    const tae = file.runs[1]!;
    expect(c.config.data.datasets[1]!.data).toEqual(
      tae.timeSeries.slots.map((s) => ({ x: s.instructions, y: s.traps })),
    );
    const g = byId(charts, 'guest-events-over-time');
    expect(g.config.data.datasets[0]!.data).toEqual(
      file.runs[0]!.timeSeries.slots.map((s) => ({ x: s.instructions, y: s.guestEvents })),
    );
  });

  it('colours techniques by the order of the runs, and keeps repeated techniques apart', () => {
    const runs = [...file.runs, file.runs[1]!];
    expect(runLabels(runs)).toEqual([
      'native',
      'trap-and-emulate',
      'binary-translation',
      'trap-and-emulate #2',
    ]);
    const colors = runColors(runs);
    expect(colors.slice(0, 3)).toEqual([paletteColor(0), paletteColor(1), paletteColor(2)]);
    expect(colors[3]).toBe(colors[1]);
  });

  it('marks partial runs in the descriptions', () => {
    const f = sampleResults();
    f.runs[1] = { ...f.runs[1]!, status: 'did-not-finish' };
    const c = buildCharts(f).find((x) => x.id === 'throughput')!;
    expect(c.description).toContain('trap-and-emulate (did-not-finish)');
  });
});

describe('the hypercalls chart', () => {
  it('is there only when a run has para-API metrics', () => {
    expect(buildCharts(sampleResults()).map((c) => c.id)).not.toContain('hypercalls-by-name');
    const ids = buildCharts(sampleResults({ withParavirt: true })).map((c) => c.id);
    expect(ids.slice(0, 3)).toEqual([
      'traps-by-cause',
      'hypercalls-by-name',
      'guest-events-by-cause',
    ]);
    // a paravirt run that failed before it reported metrics has none either
    const failed = sampleResults({ withParavirt: true });
    failed.runs[3] = { ...failed.runs[3]!, paravirt: null, status: 'failed' };
    expect(buildCharts(failed).map((c) => c.id)).not.toContain('hypercalls-by-name');
  });

  it('has one bar group per hypercall name and one bar per para-virtual run', () => {
    const file = sampleResults({ withParavirt: true });
    const c = byId(buildCharts(file), 'hypercalls-by-name');
    expect(c.title).toBe('Hypercalls by name');
    expect(c.config.type).toBe('bar');
    const names = Object.keys(SAMPLE_PARAVIRT.hypercalls).sort();
    expect(c.config.data.labels).toEqual(names);
    expect(c.config.data.datasets).toHaveLength(1);
    const [d] = c.config.data.datasets;
    expect(d!.label).toBe('paravirt');
    expect(d!.data).toEqual(names.map((n) => SAMPLE_PARAVIRT.hypercalls[n]));
    expect(d!.backgroundColor).toBe(runColors(file.runs)[3]);
    expect(c.config.options).toMatchObject({
      scales: { x: { title: { text: 'hypercall' } }, y: { beginAtZero: true } },
    });
  });

  it('puts every name of every para-virtual run in the groups, 0 where a run made none', () => {
    const file = sampleResults({ withParavirt: true });
    const first = file.runs[3]!;
    const unbatched = {
      ...SAMPLE_PARAVIRT,
      hypercalls: { mmu_update: 122, set_cr3: 20, invlpg: 4 },
    };
    file.runs.push({ ...first, paravirt: unbatched, status: 'did-not-finish' });
    const c = byId(buildCharts(file), 'hypercalls-by-name');
    expect(c.config.data.labels).toEqual(
      [...new Set([...Object.keys(SAMPLE_PARAVIRT.hypercalls), 'invlpg'])].sort(),
    );
    const data = (label: string, name: string) => {
      const d = c.config.data.datasets.find((x) => x.label === label)!;
      return d.data[c.config.data.labels!.indexOf(name)];
    };
    expect(c.config.data.datasets.map((d) => d.label)).toEqual(['paravirt', 'paravirt #2']);
    expect([data('paravirt', 'mmu_update'), data('paravirt #2', 'mmu_update')]).toEqual([14, 122]);
    expect([data('paravirt', 'invlpg'), data('paravirt #2', 'console_write')]).toEqual([0, 0]);
    // only the para-virtual runs are named as partial
    expect(c.description).toContain('Partial metrics: paravirt #2 (did-not-finish).');
  });
});

describe('the callouts chart', () => {
  const btIndex = 2; // the sample's binary-translation run

  it('is there only when a run has binary-translation metrics', () => {
    // the sample's binary-translation run without metrics has no callouts to show
    expect(buildCharts(sampleResults()).map((c) => c.id)).not.toContain('callouts-by-kind');
    const ids = buildCharts(sampleResults({ withBinaryTranslation: true })).map((c) => c.id);
    expect(ids.slice(0, 3)).toEqual([
      'traps-by-cause',
      'callouts-by-kind',
      'guest-events-by-cause',
    ]);
    const both = buildCharts(sampleResults({ withParavirt: true, withBinaryTranslation: true }));
    expect(both.map((c) => c.id).slice(0, 4)).toEqual([
      'traps-by-cause',
      'hypercalls-by-name',
      'callouts-by-kind',
      'guest-events-by-cause',
    ]);
    // a binary-translation run that failed before it reported metrics has none either
    const failed = sampleResults({ withBinaryTranslation: true });
    failed.runs[btIndex] = { ...failed.runs[btIndex]!, binaryTranslation: null, status: 'failed' };
    expect(buildCharts(failed).map((c) => c.id)).not.toContain('callouts-by-kind');
  });

  it('plots translation cycles per slice when a run translated, absent otherwise', () => {
    expect(buildCharts(sampleResults()).map((c) => c.id)).not.toContain('translation-over-time');
    const file = sampleResults({ withBinaryTranslation: true });
    const bt = file.runs[btIndex]!;
    const slots = bt.timeSeries.slots.map((s, i) => ({
      ...s,
      translationCycles: i === 0 ? 9200 : 0,
    }));
    file.runs[btIndex] = { ...bt, timeSeries: { ...bt.timeSeries, slots } };
    const c = byId(buildCharts(file), 'translation-over-time');
    expect(c.config.type).toBe('line');
    expect(c.config.data.datasets[btIndex]!.data).toEqual(
      slots.map((s) => ({ x: s.instructions, y: s.translationCycles })),
    );
    // runs from before the field was recorded plot 0
    expect(c.config.data.datasets[0]!.data.every((p) => (p as { y: number }).y === 0)).toBe(true);
  });

  it('charts VM exits by reason for runs that exit, absent otherwise', () => {
    expect(buildCharts(sampleResults()).map((c) => c.id)).not.toContain('exits-by-reason');
    const file = sampleResults();
    const i = file.runs.length - 1;
    file.runs[i] = {
      ...file.runs[i]!,
      traps: {
        total: 7,
        byCause: {
          'exit:io out port 0x80': 2,
          'exit:io in port 0x80': 1,
          'exit:mov cr3': 3,
          'exit:#PF hidden': 1,
        },
      },
    };
    const c = byId(buildCharts(file), 'exits-by-reason');
    expect(c.config.type).toBe('bar');
    expect(c.config.data.labels).toEqual(['CR3 write', 'I/O', 'page fault']);
    expect(c.config.data.datasets).toHaveLength(1);
    expect(c.config.data.datasets[0]!.data).toEqual([3, 3, 1]);
    expect(exitReason('exit:mov r32, cr3')).toBe('CR3 read');
    expect(exitReason('exit:external-interrupt irq 0')).toBe('external interrupt');
    expect(exitReason('exit:hlt')).toBe('hlt');
    expect(exitReason('#PF hidden')).toBeNull();
  });

  it('has one bar group per callout kind and one bar per binary-translation run', () => {
    const file = sampleResults({ withParavirt: true, withBinaryTranslation: true });
    const c = byId(buildCharts(file), 'callouts-by-kind');
    expect(c.title).toBe('Callouts by kind');
    expect(c.config.type).toBe('bar');
    const kinds = Object.keys(SAMPLE_BINARY_TRANSLATION.callouts).sort();
    expect(c.config.data.labels).toEqual(kinds);
    expect(kinds.slice(0, 3)).toEqual(['emulate:hlt', 'emulate:iret', 'emulate:mov-to-cr']);
    expect(c.config.data.datasets).toHaveLength(1);
    const [d] = c.config.data.datasets;
    expect(d!.label).toBe('binary-translation');
    expect(d!.data).toEqual(kinds.map((k) => SAMPLE_BINARY_TRANSLATION.callouts[k]));
    expect(d!.backgroundColor).toBe(runColors(file.runs)[btIndex]);
    expect(c.config.options).toMatchObject({
      scales: { x: { title: { text: 'callout' } }, y: { beginAtZero: true } },
    });
    expect(c.description).toContain('translation cache');
    expect(c.description).not.toContain('Partial metrics');
  });

  it('puts every kind of every binary-translation run in the groups, 0 where a run made none', () => {
    const file = sampleResults({ withBinaryTranslation: true });
    const first = file.runs[btIndex]!;
    const other = { ...SAMPLE_BINARY_TRANSLATION, callouts: { translate: 500, 'emulate:in': 7 } };
    file.runs.push({ ...first, binaryTranslation: other, status: 'did-not-finish' });
    const c = byId(buildCharts(file), 'callouts-by-kind');
    expect(c.config.data.labels).toEqual(
      [...new Set([...Object.keys(SAMPLE_BINARY_TRANSLATION.callouts), 'emulate:in'])].sort(),
    );
    const data = (label: string, kind: string) => {
      const d = c.config.data.datasets.find((x) => x.label === label)!;
      return d.data[c.config.data.labels!.indexOf(kind)];
    };
    expect(c.config.data.datasets.map((d) => d.label)).toEqual([
      'binary-translation',
      'binary-translation #2',
    ]);
    expect([
      data('binary-translation', 'translate'),
      data('binary-translation #2', 'translate'),
    ]).toEqual([486, 500]);
    expect([
      data('binary-translation', 'emulate:in'),
      data('binary-translation #2', 'lookup:ret'),
    ]).toEqual([0, 0]);
    // only the runs with translator metrics are named as partial
    expect(c.description).toContain('Partial metrics: binary-translation #2 (did-not-finish).');
  });
});
