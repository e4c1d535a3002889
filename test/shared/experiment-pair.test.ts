// Two experiments side by side (shared/experiment-pair.ts): exactly the spec fields that
// differ, every technique's metrics in A and B matched by run label with B ÷ A taken from the
// numbers of the files (null for a technique one side did not run, and for rates and texts),
// overheads against each experiment's own native run, and grouped A-vs-B bar charts with
// `pair-` ids that ChartPanel can draw.

import { describe, expect, it } from 'vitest';
import { buildCharts, PALETTE } from '../../shared/charts';
import {
  compareExperiments,
  pairLabel,
  pairMetricsTable,
  pairTime,
  specDifferences,
  specDifferencesTable,
  type PairMetricKey,
  type TechniquePair,
} from '../../shared/experiment-pair';
import {
  type ExperimentSpec,
  ExperimentSpecSchema,
  type HistoryFile,
  type RunResult,
} from '../../shared/results';
import { sampleResults, type SampleOptions } from '../helpers/sample-results';

function historyFile(
  id: string,
  createdAt: string,
  options: SampleOptions = {},
  edit: (file: HistoryFile) => HistoryFile = (f) => f,
): HistoryFile {
  return edit({ ...sampleResults(options), id, createdAt });
}

function withRun(
  file: HistoryFile,
  technique: string,
  change: (run: RunResult) => RunResult,
): HistoryFile {
  return { ...file, runs: file.runs.map((r) => (r.technique === technique ? change(r) : r)) };
}

/** A: native and trap-and-emulate only, on 23 Nov. */
const A = historyFile('a-2026-11-23', '2026-11-23T10:15:00.123Z', {}, (f) => ({
  ...f,
  spec: { ...f.spec, techniques: ['native', 'trap-and-emulate'] },
  runs: f.runs.filter((r) => r.technique !== 'binary-translation'),
}));

/** B: all three runs, another profile, n and budget; trap-and-emulate twice the cycles. */
const B = withRun(
  historyFile('b-2026-11-24', '2026-11-24T08:05:30.000Z', {}, (f) => ({
    ...f,
    spec: { ...f.spec, profile: 'modern', append: 'n=2000', maxInstructions: 1_000_000_000 },
  })),
  'trap-and-emulate',
  (r) => ({
    ...r,
    cycles: { ...r.cycles, total: r.cycles.total * 2 },
    traps: { ...r.traps, total: 600 },
    host: { ...r.host, wallMs: 169 },
  }),
);

const run = (file: HistoryFile, technique: string): RunResult =>
  file.runs.find((r) => r.technique === technique)!;
const technique = (pairs: readonly TechniquePair[], label: string): TechniquePair =>
  pairs.find((t) => t.technique === label)!;
const metric = (t: TechniquePair, key: PairMetricKey) => t.metrics.find((m) => m.key === key)!;
const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

const pair = compareExperiments(A, B);

describe('the spec differences of two experiments', () => {
  it('lists exactly the fields that differ, in spec order, with both values', () => {
    expect(pair.specDifferences).toEqual([
      {
        field: 'techniques',
        label: 'techniques',
        a: 'native, trap-and-emulate',
        b: 'native, trap-and-emulate, binary-translation',
      },
      { field: 'append', label: 'arguments', a: 'n=1000', b: 'n=2000' },
      { field: 'profile', label: 'CPU profile', a: 'p4-2006', b: 'modern' },
      {
        field: 'maxInstructions',
        label: 'instruction budget',
        a: '2,000,000,000 instructions',
        b: '1,000,000,000 instructions',
      },
    ]);
    expect(specDifferencesTable(pair.specDifferences)).toEqual({
      columns: ['setting', 'A', 'B'],
      rows: [
        ['techniques', 'native, trap-and-emulate', 'native, trap-and-emulate, binary-translation'],
        ['arguments', 'n=1000', 'n=2000'],
        ['CPU profile', 'p4-2006', 'modern'],
        ['instruction budget', '2,000,000,000 instructions', '1,000,000,000 instructions'],
      ],
    });
  });

  it('is empty for the same spec, and names every other field when it changes', () => {
    expect(specDifferences(A.spec, { ...A.spec })).toEqual([]);
    const other = {
      ...A.spec,
      isa: 'strict' as const,
      seed: 7,
      timeoutMs: 1_000,
      memoryBytes: 32 * 1024 * 1024,
      eventLimit: 10,
      sliceInstructions: 50_000,
      mmuBatch: false,
    };
    expect(specDifferences(A.spec, other)).toEqual([
      { field: 'isa', label: 'ISA', a: 'classic', b: 'strict' },
      { field: 'seed', label: 'seed', a: '0', b: '7' },
      { field: 'timeoutMs', label: 'wall-time limit', a: '600,000 ms', b: '1,000 ms' },
      { field: 'memoryBytes', label: 'guest memory', a: '67,108,864 bytes', b: '33,554,432 bytes' },
      { field: 'eventLimit', label: 'event log limit', a: '5,000 entries', b: '10 entries' },
      {
        field: 'sliceInstructions',
        label: 'time-series slice',
        a: '100,000 instructions',
        b: '50,000 instructions',
      },
      {
        field: 'mmuBatch',
        label: 'page-table updates',
        a: 'batched: many entries per mmu_update hypercall',
        b: 'one entry per mmu_update hypercall (mmu_batch=0)',
      },
    ]);
    // no field of the spec is left out
    const all: ExperimentSpec = {
      ...other,
      kernel: { kind: 'workload', workload: 'other' },
      techniques: ['native'],
      append: 'n=1',
      profile: 'modern',
      maxInstructions: 5,
    };
    expect(specDifferences(A.spec, all).map((d) => d.field)).toEqual(
      Object.keys(ExperimentSpecSchema.shape),
    );
  });

  it('tells a workload from a kernel file, and two files by their hashes', () => {
    const file = historyFile('f', A.createdAt, { kernelName: 'k.bin' });
    const k = file.spec.kernel;
    if (k.kind !== 'file') throw new Error('expected a kernel file spec');
    expect(specDifferences(A.spec, { ...A.spec, kernel: k })).toEqual([
      {
        field: 'kernel',
        label: 'guest',
        a: 'workload primes',
        b: `kernel file k.bin (SHA-256 ${k.sha256.slice(0, 12)}…)`,
      },
    ]);
    // same name, same first 12 hex digits: the whole hashes say which is which
    const twin = { ...k, sha256: `${k.sha256.slice(0, 63)}${k.sha256.endsWith('0') ? '1' : '0'}` };
    expect(
      specDifferences({ ...A.spec, kernel: k }, { ...A.spec, kernel: twin }).map((d) => [d.a, d.b]),
    ).toEqual([
      [`kernel file k.bin (SHA-256 ${k.sha256})`, `kernel file k.bin (SHA-256 ${twin.sha256})`],
    ]);
    expect(
      specDifferences({ ...A.spec, kernel: k }, { ...A.spec, kernel: { ...k, name: 'k2.bin' } }),
    ).toHaveLength(1);
  });
});

describe('the metrics of two experiments per technique', () => {
  it('matches the runs by technique: A’s order, then what only B ran', () => {
    expect(pair.techniques.map((t) => [t.technique, t.inA, t.inB])).toEqual([
      ['native', true, true],
      ['trap-and-emulate', true, true],
      ['binary-translation', false, true],
    ]);
    expect(pair.a).toEqual({
      side: 'A',
      id: 'a-2026-11-23',
      createdAt: A.createdAt,
      label: 'A · 2026-11-23 10:15 UTC · primes classic',
    });
    expect(pair.b.label).toBe('B · 2026-11-24 08:05 UTC · primes classic');
  });

  it('gives both values and B ÷ A from the numbers of the files', () => {
    const te = technique(pair.techniques, 'trap-and-emulate');
    const a = run(A, 'trap-and-emulate');
    const b = run(B, 'trap-and-emulate');
    expect(metric(te, 'cycles')).toEqual({
      key: 'cycles',
      label: 'modeled cycles',
      a: 2_774_600,
      b: 5_549_200,
      ratio: 2,
    });
    expect(metric(te, 'cycles').ratio).toBe(b.cycles.total / a.cycles.total);
    expect(metric(te, 'instructions')).toMatchObject({ a: 1_200_000, b: 1_200_000, ratio: 1 });
    expect(metric(te, 'traps')).toMatchObject({ a: 497, b: 600, ratio: 600 / 497 });
    expect(metric(te, 'worldSwitches')).toMatchObject({ a: 497, b: 497, ratio: 1 });
    expect(metric(te, 'worldSwitchCycles')).toMatchObject({ a: 844_900, b: 844_900, ratio: 1 });
    expect(metric(te, 'wallMs')).toMatchObject({ a: 84.5, b: 169, ratio: 2 });
    expect(metric(te, 'icacheMpki')).toMatchObject({
      a: a.icache.mpki,
      b: b.icache.mpki,
      ratio: 1,
    });
    expect(metric(te, 'mips')).toMatchObject({
      a: a.guestInstructions.total / (a.cycles.total / a.frequencyHz) / 1e6,
      b: b.guestInstructions.total / (b.cycles.total / b.frequencyHz) / 1e6,
    });
    expect(metric(te, 'mips').ratio).toBeCloseTo(0.5, 12);
    // rates are compared side by side, not divided
    expect(metric(te, 'icacheHitRate')).toMatchObject({
      a: a.icache.hitRate * 100,
      b: b.icache.hitRate * 100,
      ratio: null,
    });
    expect(metric(te, 'tlbHitRate')).toMatchObject({ a: a.tlb.hitRate * 100, ratio: null });
    expect(metric(te, 'status')).toMatchObject({ a: 'completed', b: 'completed', ratio: null });
    expect(metric(te, 'equivalent')).toMatchObject({ a: 'yes', b: 'yes', ratio: null });
  });

  it('takes each overhead against the native run of its own experiment', () => {
    const te = technique(pair.techniques, 'trap-and-emulate');
    const overhead = metric(te, 'overhead');
    const nativeCycles = run(A, 'native').cycles.total;
    expect(nativeCycles).toBe(1_552_200);
    expect(overhead.a).toBe(2_774_600 / 1_552_200);
    expect(overhead.b).toBe(5_549_200 / 1_552_200);
    expect(overhead.ratio).toBe(5_549_200 / 1_552_200 / (2_774_600 / 1_552_200));
    expect(metric(technique(pair.techniques, 'native'), 'overhead')).toMatchObject({
      a: 1,
      b: 1,
      ratio: 1,
    });
  });

  it('has null A values for a technique only B ran, and no ratio for a zero in A', () => {
    const bt = technique(pair.techniques, 'binary-translation');
    for (const m of bt.metrics) {
      expect(m.a, m.key).toBeNull();
      expect(m.ratio, m.key).toBeNull();
    }
    expect(metric(bt, 'cycles').b).toBe(1_895_300);
    expect(metric(bt, 'traps').b).toBe(37);
    expect(metric(bt, 'overhead').b).toBe(1_895_300 / 1_552_200);
    expect(metric(bt, 'equivalent').b).toBe(
      'no — line 2: expected "primes below 1000: 168", got "primes below 1000: 168!"',
    );
    // native never traps: 0 and 0, nothing to divide
    expect(metric(technique(pair.techniques, 'native'), 'traps')).toMatchObject({
      a: 0,
      b: 0,
      ratio: null,
    });
  });

  it('keeps repeated techniques apart by their run labels', () => {
    const twice: HistoryFile = { ...A, id: 'twice', runs: [...A.runs, run(A, 'trap-and-emulate')] };
    const p = compareExperiments(A, twice);
    expect(p.techniques.map((t) => [t.technique, t.inA, t.inB])).toEqual([
      ['native', true, true],
      ['trap-and-emulate', true, true],
      ['trap-and-emulate #2', false, true],
    ]);
  });

  it('has no overhead without a native run, and no overhead chart when neither has one', () => {
    const a = historyFile('a', A.createdAt, { withoutNative: true });
    const b = historyFile('b', B.createdAt, { withoutNative: true });
    const p = compareExperiments(a, b);
    for (const t of p.techniques) expect(metric(t, 'overhead')).toMatchObject({ a: null, b: null });
    expect(metric(p.techniques[0]!, 'equivalent')).toMatchObject({
      a: 'not compared',
      b: 'not compared',
    });
    expect(p.charts.map((c) => c.id)).not.toContain('pair-overhead');
    expect(p.specDifferences).toEqual([]);
  });

  it('rounds for display as the Compare view does, and says n/a by null', () => {
    const te = pairMetricsTable(technique(pair.techniques, 'trap-and-emulate'));
    expect(te.columns).toEqual(['metric', 'A', 'B', 'B ÷ A']);
    const row = (label: string) => te.rows.find((r) => r[0] === label)!;
    expect(row('modeled cycles')).toEqual(['modeled cycles', 2_774_600, 5_549_200, 2]);
    expect(row('overhead (× its own native)')).toEqual([
      'overhead (× its own native)',
      round(2_774_600 / 1_552_200, 4),
      round(5_549_200 / 1_552_200, 4),
      2,
    ]);
    expect(row('traps')).toEqual(['traps', 497, 600, round(600 / 497, 4)]);
    expect(row('I-cache hit rate (%)')).toEqual([
      'I-cache hit rate (%)',
      round(run(A, 'trap-and-emulate').icache.hitRate * 100, 3),
      round(run(B, 'trap-and-emulate').icache.hitRate * 100, 3),
      null,
    ]);
    expect(te.rows.map((r) => r[0])).toEqual([
      'status',
      'equivalent to native',
      'guest instructions',
      'modeled cycles',
      'overhead (× its own native)',
      'MIPS (modeled)',
      'traps',
      'world switches',
      'world-switch cycles',
      'I-cache hit rate (%)',
      'I-cache MPKI',
      'TLB hit rate (%)',
      'host wall time (ms)',
    ]);
    const bt = pairMetricsTable(technique(pair.techniques, 'binary-translation'));
    expect(bt.rows.find((r) => r[0] === 'modeled cycles')).toEqual([
      'modeled cycles',
      null,
      1_895_300,
      null,
    ]);
  });
});

describe('the charts of two experiments', () => {
  const chart = (id: string) => pair.charts.find((c) => c.id === id)!;

  it('have file-name-safe pair- ids, distinct from the single-experiment charts', () => {
    const ids = pair.charts.map((c) => c.id);
    expect(ids).toEqual(['pair-overhead', 'pair-traps', 'pair-cycles', 'pair-world-switches']);
    const single = new Set([...buildCharts(A), ...buildCharts(B)].map((c) => c.id));
    for (const id of ids) {
      expect(id).toMatch(/^[a-z0-9-]{1,100}$/);
      expect(id.startsWith('pair-')).toBe(true);
      expect(single.has(id)).toBe(false);
    }
    expect(new Set(ids).size).toBe(ids.length);
    // plain data: survives JSON (IPC, the HTML report) unchanged
    expect(JSON.parse(JSON.stringify(pair.charts))).toEqual(pair.charts);
  });

  it('group A’s bar next to B’s per technique, labelled with which experiment', () => {
    const overhead = chart('pair-overhead');
    expect(overhead.title).toBe('Overhead vs native: A vs B');
    expect(overhead.config.type).toBe('bar');
    expect(overhead.config.data.labels).toEqual([
      'native',
      'trap-and-emulate',
      'binary-translation',
    ]);
    expect(overhead.config.data.datasets).toEqual([
      {
        label: 'A · 2026-11-23 10:15 UTC · primes classic',
        data: [1, round(2_774_600 / 1_552_200, 4), null],
        backgroundColor: PALETTE[0],
        borderColor: PALETTE[0],
      },
      {
        label: 'B · 2026-11-24 08:05 UTC · primes classic',
        data: [1, round(5_549_200 / 1_552_200, 4), round(1_895_300 / 1_552_200, 4)],
        backgroundColor: PALETTE[1],
        borderColor: PALETTE[1],
      },
    ]);
    // grouped, not stacked
    const scales = overhead.config.options.scales as Record<string, Record<string, unknown>>;
    expect(scales.x!.stacked).toBeUndefined();
    expect(scales.y!.beginAtZero).toBe(true);

    const traps = chart('pair-traps');
    expect(traps.title).toBe('Traps per technique: A vs B');
    expect(traps.config.data.datasets.map((d) => d.data)).toEqual([
      [0, 497, null],
      [0, 600, 37],
    ]);
    expect(chart('pair-cycles').config.data.datasets.map((d) => d.data)).toEqual([
      [1_552_200, 2_774_600, null],
      [1_552_200, 5_549_200, 1_895_300],
    ]);
    expect(chart('pair-world-switches').config.data.datasets.map((d) => d.data)).toEqual([
      [0, 497, null],
      [0, 497, 37],
    ]);
  });

  it('say why two bars may not be comparable', () => {
    const text = chart('pair-traps').description;
    expect(text).toContain('Only in B: binary-translation.');
    expect(text).toContain(
      'The experiments differ in: techniques, arguments, CPU profile, instruction budget.',
    );
    expect(text).not.toContain('Partial metrics');
    const partial = withRun(B, 'trap-and-emulate', (r) => ({ ...r, status: 'did-not-finish' }));
    expect(compareExperiments(A, partial).charts[0]!.description).toContain(
      'Partial metrics: B trap-and-emulate (did-not-finish).',
    );
  });
});

describe('the pair labels', () => {
  it('name the side, the time (UTC) and the guest', () => {
    expect(pairTime('2026-11-23T10:15:00.123Z')).toBe('2026-11-23 10:15 UTC');
    expect(pairTime('yesterday')).toBe('yesterday');
    const file = historyFile('f', '2026-01-02T03:04:05.000Z', { kernelName: 'my.bin' });
    expect(pairLabel('B', file)).toBe('B · 2026-01-02 03:04 UTC · my.bin classic');
  });
});
