// From shared chart definitions to what the app draws: the Chart.js configuration keeps the
// data exactly (and leaves the definition untouched), prints exact numbers on hover, turns
// animation off for large series; the tables hold the same numbers; the summary table reads
// RunResult directly.

import { describe, expect, it } from 'vitest';
import { buildCharts, type ChartDefinition } from '../../shared/charts';
import { chartTable, tableTsv } from '../../src-renderer/charts/chart-table';
import { techniqueColors } from '../../src-renderer/charts/colors';
import {
  formatExact,
  LARGE_SERIES_POINTS,
  toChartJsConfig,
} from '../../src-renderer/charts/render-config';
import { summaryTable } from '../../src-renderer/charts/summary-table';
import { formatBytes, formatDuration } from '../../src-renderer/format';
import { SAMPLE_BINARY_TRANSLATION, sampleResults } from '../helpers/sample-results';

const file = sampleResults();
const charts = buildCharts(file);
const chart = (id: string): ChartDefinition => charts.find((c) => c.id === id)!;

type Callbacks = {
  label: (item: unknown) => string | string[];
  title: (items: unknown[]) => string;
};
function callbacks(config: ReturnType<typeof toChartJsConfig>): Callbacks {
  return config.options!.plugins!.tooltip!.callbacks as unknown as Callbacks;
}

describe('the Chart.js configuration', () => {
  it('keeps the data of every definition exactly, and the definition untouched', () => {
    for (const definition of charts) {
      const before = JSON.stringify(definition);
      const config = toChartJsConfig(definition, { theme: 'light' });
      expect(config.type).toBe(definition.config.type);
      expect(JSON.parse(JSON.stringify(config.data))).toEqual(definition.config.data);
      expect(JSON.stringify(definition)).toBe(before);
    }
  });

  it('prints exact values on hover', () => {
    const traps = toChartJsConfig(chart('traps-by-cause'), { theme: 'light' });
    const dataset = traps.data.datasets.find((d) => d.label === 'io:0x3f8')!;
    expect(callbacks(traps).label({ raw: 300, dataset, dataIndex: 1 })).toBe('io:0x3f8: 300');
    const cycles = toChartJsConfig(chart('cycles-by-category'), { theme: 'light' });
    const guest = cycles.data.datasets[0]!;
    expect(callbacks(cycles).label({ raw: guest.data[0], dataset: guest, dataIndex: 0 })).toBe(
      `guest: ${file.runs[0]!.cycles.guest.toLocaleString('en-US')}`,
    );
    const line = toChartJsConfig(chart('traps-over-time'), { theme: 'light' });
    const point = { x: 200_000, y: 17 };
    expect(callbacks(line).title([{ raw: point, label: '' }])).toBe(
      'at 200,000 guest instructions',
    );
    expect(
      callbacks(line).label({ raw: point, dataset: line.data.datasets[1], dataIndex: 1 }),
    ).toBe('trap-and-emulate: 17');
  });

  it('tells the divergence on hover over the equivalence chart', () => {
    const eq = toChartJsConfig(chart('equivalence'), { theme: 'light' });
    const diverges = eq.data.datasets.find((d) => d.label === 'diverges')!;
    expect(callbacks(eq).label({ raw: 1, dataset: diverges, dataIndex: 2 })).toEqual([
      'diverges',
      'line 2: expected "primes below 1000: 168", got "primes below 1000: 168!"',
    ]);
  });

  it('animates small charts only, and never when asked not to', () => {
    expect(toChartJsConfig(chart('throughput'), { theme: 'light' }).options!.animation).toEqual({
      duration: 250,
    });
    expect(
      toChartJsConfig(chart('throughput'), { theme: 'light', animate: false }).options!.animation,
    ).toBe(false);
    const big: ChartDefinition = {
      ...chart('traps-over-time'),
      config: {
        ...chart('traps-over-time').config,
        data: {
          datasets: [
            {
              label: 'native',
              data: Array.from({ length: LARGE_SERIES_POINTS + 1 }, (_, i) => ({ x: i, y: i })),
            },
          ],
        },
      },
    };
    expect(toChartJsConfig(big, { theme: 'light' }).options!.animation).toBe(false);
    expect(
      toChartJsConfig(chart('throughput'), { theme: 'light', interactive: false }).options!
        .animation,
    ).toBe(false);
  });

  it('themes text and grid, and lightens the palette black on dark', () => {
    const dark = toChartJsConfig(chart('throughput'), { theme: 'dark' });
    expect(dark.options!.plugins!.title!.color).toBe('#e6e8eb');
    const colors = techniqueColors(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'], 'dark');
    expect(colors.get('h')).toBe('#c8ccd2'); // PALETTE[7] is black
    expect(techniqueColors(['native', 'x'], 'light').get('native')).toBe('#0072b2');
  });

  it('formats exact values', () => {
    expect(formatExact(1234567)).toBe('1,234,567');
    expect(formatExact(1234.5678)).toBe('1,234.5678');
    expect(formatExact(null)).toBe('n/a');
    expect(formatExact('native')).toBe('native');
  });
});

describe('chart tables', () => {
  it('hold the numbers of a bar chart, one row per run', () => {
    const table = chartTable(chart('traps-by-cause'));
    expect(table.columns[0]).toBe('technique');
    const col = table.columns.indexOf('gp:cli');
    expect(table.rows.map((r) => [r[0], r[col]])).toEqual([
      ['native', 0],
      ['trap-and-emulate', 50],
      ['binary-translation', 0],
    ]);
  });

  it('hold a line chart by guest instructions, one column per run', () => {
    const table = chartTable(chart('traps-over-time'));
    expect(table.columns).toEqual([
      'guest instructions',
      'native',
      'trap-and-emulate',
      'binary-translation',
    ]);
    const slots = file.runs[1]!.timeSeries.slots;
    const byX = new Map(table.rows.map((r) => [r[0], r]));
    expect(slots.map((s) => byX.get(s.instructions)![2])).toEqual(slots.map((s) => s.traps));
    // binary translation ran fewer instructions: its last slice ends at another count
    expect(byX.get(1_150_000)).toEqual([1_150_000, null, null, 12]);
    expect(table.rows.at(-1)).toEqual([1_200_000, 0, slots.at(-1)!.traps, null]);
  });

  it('name the first column after what the bars stand for: a run, or a hypercall', () => {
    const withParavirt = buildCharts(sampleResults({ withParavirt: true }));
    const table = chartTable(withParavirt.find((c) => c.id === 'hypercalls-by-name')!);
    expect(table.columns).toEqual(['hypercall', 'paravirt']);
    expect(table.rows.find((r) => r[0] === 'mmu_update')).toEqual(['mmu_update', 14]);
    for (const c of charts.filter((x) => x.config.data.labels && x.id !== 'equivalence')) {
      expect(chartTable(c).columns[0], c.id).toBe('technique');
    }
  });

  it('name the first column of the callouts chart after the callout kind', () => {
    const withBt = buildCharts(sampleResults({ withBinaryTranslation: true }));
    const table = chartTable(withBt.find((c) => c.id === 'callouts-by-kind')!);
    expect(table.columns).toEqual(['callout', 'binary-translation']);
    expect(table.rows.find((r) => r[0] === 'lookup:ret')).toEqual(['lookup:ret', 2_140]);
    expect(table.rows.map((r) => r[0])).toEqual(
      Object.keys(SAMPLE_BINARY_TRANSLATION.callouts).sort(),
    );
  });

  it('say the verdict and divergence of the equivalence chart', () => {
    expect(chartTable(chart('equivalence')).rows).toEqual([
      ['native', 'equivalent', null],
      ['trap-and-emulate', 'equivalent', null],
      [
        'binary-translation',
        'diverges',
        'line 2: expected "primes below 1000: 168", got "primes below 1000: 168!"',
      ],
    ]);
  });

  it('copy as tab-separated text', () => {
    expect(
      tableTsv({
        columns: ['a', 'b'],
        rows: [
          ['x\ty', 1],
          ['z', null],
        ],
      }),
    ).toBe('a\tb\nx y\t1\nz\t\n');
  });

  it('include the world switches of every run', () => {
    const ws = chart('world-switches');
    expect(ws.config.data.datasets[0]!.data).toEqual(file.runs.map((r) => r.worldSwitches.count));
    expect(ws.config.data.labels).toEqual(['native', 'trap-and-emulate', 'binary-translation']);
  });

  it('summarise every run from RunResult', () => {
    const table = summaryTable(file);
    const col = (name: string) => table.columns.indexOf(name);
    expect(table.rows.map((r) => r[col('guest instructions')])).toEqual(
      file.runs.map((r) => r.guestInstructions.total),
    );
    expect(table.rows.map((r) => r[col('traps')])).toEqual(file.runs.map((r) => r.traps.total));
    expect(table.rows[0]![col('overhead (× native)')]).toBe(1);
    const overhead = chart('overhead').config.data.datasets[0]!.data;
    expect(table.rows.map((r) => r[col('overhead (× native)')])).toEqual(overhead);
    expect(table.rows.map((r) => r[col('equivalent')])).toEqual(['yes', 'yes', 'no']);
  });
});

describe('renderer formatting', () => {
  it('writes durations and sizes', () => {
    expect(formatDuration(850)).toBe('<1 s');
    expect(formatDuration(12_400)).toBe('12 s');
    expect(formatDuration(185_000)).toBe('3 min 5 s');
    expect(formatDuration(7_200_000)).toBe('2 h');
    expect(formatDuration(-1)).toBe('—');
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(12_548)).toBe('12,548 bytes (12.3 KiB)');
    expect(formatBytes(2 * 1024 * 1024)).toBe('2,097,152 bytes (2.0 MiB)');
  });
});
