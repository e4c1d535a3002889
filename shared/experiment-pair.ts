// Two experiments side by side (the History view's "compare two"): what differs in their specs,
// the headline metrics of every technique in A and in B with B ÷ A, and charts that put A's
// and B's bars next to each other per technique. Pure data from two HistoryFiles, like
// shared/charts.ts (whose ChartDefinition the charts are, so ChartPanel and the image exports
// draw them unchanged): no DOM, no Node, the same numbers on every host.
//
// Which run of A goes with which run of B: runs are matched by their label (runLabels: the
// technique id, `#2` for a repeat), so a technique that ran in only one of the two has null
// metrics on the other side. Overheads are taken against each experiment's own native run —
// an experiment is its own baseline — so "overhead" compares like with like even when A and B
// ran different workloads or profiles; cycles and counts do not, and the spec differences say
// so. Values are kept exact here; pairMetricsTable rounds them for display as the Compare
// view's numbers table does.

import {
  axisTitle,
  type ChartDataset,
  type ChartDefinition,
  describeDivergence,
  describeMmuBatch,
  modeledMips,
  nativeRun,
  overheadVsNative,
  paletteColor,
  runLabels,
  titlePlugin,
} from './charts';
import { type ExperimentSpec, type HistoryFile, type RunResult } from './results';

/** Which side of the pair: A (the baseline of every ratio) or B. */
export type PairSide = 'A' | 'B';

/** One experiment of the pair, as the panel and the chart legends name it. */
export interface PairMember {
  readonly side: PairSide;
  readonly id: string;
  readonly createdAt: string;
  /** `A · 2026-11-23 10:15 UTC · primes classic`: the dataset label of the charts */
  readonly label: string;
}

/** A spec field whose value differs between A and B, both values as text. */
export interface SpecDifference {
  /** the ExperimentSpec key (`kernel`, `maxInstructions`…) */
  readonly field: keyof ExperimentSpec;
  /** what the user calls it (`guest`, `instruction budget`…) */
  readonly label: string;
  readonly a: string;
  readonly b: string;
}

export type PairValue = number | string | null;

export type PairMetricKey =
  | 'status'
  | 'equivalent'
  | 'instructions'
  | 'cycles'
  | 'overhead'
  | 'mips'
  | 'traps'
  | 'worldSwitches'
  | 'worldSwitchCycles'
  | 'icacheHitRate'
  | 'icacheMpki'
  | 'tlbHitRate'
  | 'wallMs';

/** One metric of one technique in A and in B. */
export interface PairMetric {
  readonly key: PairMetricKey;
  readonly label: string;
  /** null when the technique did not run in that experiment (or the value is undefined) */
  readonly a: PairValue;
  readonly b: PairValue;
  /** B ÷ A for quantities (counts, cycles, overhead, MIPS, MPKI, wall time) when both are
   *  numbers and A > 0; null otherwise (texts, hit rates, a zero or missing A) */
  readonly ratio: number | null;
}

/** Every metric of one technique (one run label) in A and in B. */
export interface TechniquePair {
  /** the run label: technique id, `#2` for a repeat */
  readonly technique: string;
  readonly inA: boolean;
  readonly inB: boolean;
  readonly metrics: readonly PairMetric[];
}

export interface ExperimentPair {
  readonly a: PairMember;
  readonly b: PairMember;
  /** the spec fields that differ, in spec order; empty when A and B ran the same spec */
  readonly specDifferences: readonly SpecDifference[];
  /** A's runs in A's order, then the runs only B has */
  readonly techniques: readonly TechniquePair[];
  readonly charts: readonly ChartDefinition[];
}

/** A table of text and numbers (the shape of the renderer's ChartTable, for DataTable). */
export interface PairTable {
  columns: string[];
  rows: (string | number | null)[][];
}

/** The colour of A's bars and of B's: the first two of the palette (blue, orange). */
export const PAIR_COLORS: Readonly<Record<PairSide, string>> = {
  A: paletteColor(0),
  B: paletteColor(1),
};

// ---- labels

/** `2026-11-23T10:15:00.123Z` → `2026-11-23 10:15 UTC` (the raw text when it is no date). */
export function pairTime(createdAt: string): string {
  const d = new Date(createdAt);
  if (Number.isNaN(d.getTime())) return createdAt;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function kernelName(spec: ExperimentSpec): string {
  return spec.kernel.kind === 'workload' ? spec.kernel.workload : spec.kernel.name;
}

/** `A · 2026-11-23 10:15 UTC · primes classic`. */
export function pairLabel(side: PairSide, file: HistoryFile): string {
  return `${side} · ${pairTime(file.createdAt)} · ${kernelName(file.spec)} ${file.spec.isa}`;
}

function member(side: PairSide, file: HistoryFile): PairMember {
  return { side, id: file.id, createdAt: file.createdAt, label: pairLabel(side, file) };
}

// ---- spec differences

/** 1234567 → "1,234,567", the same on every host (no locale data involved). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

interface SpecField {
  field: keyof ExperimentSpec;
  label: string;
  text: (spec: ExperimentSpec) => string;
  /** what must be equal for the field to be the same (default: its text) */
  identity?: (spec: ExperimentSpec) => string;
}

const SPEC_FIELDS: readonly SpecField[] = [
  {
    field: 'kernel',
    label: 'guest',
    text: (s) =>
      s.kernel.kind === 'workload'
        ? `workload ${s.kernel.workload}`
        : `kernel file ${s.kernel.name} (SHA-256 ${s.kernel.sha256.slice(0, 12)}…)`,
    identity: (s) =>
      s.kernel.kind === 'workload'
        ? `workload\0${s.kernel.workload}`
        : `file\0${s.kernel.name}\0${s.kernel.sha256}`,
  },
  {
    field: 'techniques',
    label: 'techniques',
    text: (s) => s.techniques.join(', '),
    identity: (s) => s.techniques.join('\0'),
  },
  { field: 'append', label: 'arguments', text: (s) => s.append || '(none)' },
  { field: 'isa', label: 'ISA', text: (s) => s.isa },
  { field: 'profile', label: 'CPU profile', text: (s) => s.profile },
  { field: 'seed', label: 'seed', text: (s) => String(s.seed) },
  {
    field: 'maxInstructions',
    label: 'instruction budget',
    text: (s) => `${grouped(s.maxInstructions)} instructions`,
  },
  { field: 'timeoutMs', label: 'wall-time limit', text: (s) => `${grouped(s.timeoutMs)} ms` },
  { field: 'memoryBytes', label: 'guest memory', text: (s) => `${grouped(s.memoryBytes)} bytes` },
  {
    field: 'eventLimit',
    label: 'event log limit',
    text: (s) => `${grouped(s.eventLimit)} entries`,
  },
  {
    field: 'sliceInstructions',
    label: 'time-series slice',
    text: (s) => `${grouped(s.sliceInstructions)} instructions`,
  },
  { field: 'mmuBatch', label: 'page-table updates', text: (s) => describeMmuBatch(s.mmuBatch) },
];

/** The spec fields whose values differ, in spec order. Two kernel files differ when their
 *  names or their SHA-256 do; techniques when the lists differ (order included: it is the
 *  order of the runs). */
export function specDifferences(a: ExperimentSpec, b: ExperimentSpec): SpecDifference[] {
  const differences: SpecDifference[] = [];
  for (const { field, label, text, identity = text } of SPEC_FIELDS) {
    if (identity(a) === identity(b)) continue;
    let ta = text(a);
    let tb = text(b);
    if (ta === tb && a.kernel.kind === 'file' && b.kernel.kind === 'file') {
      // same name and same hash prefix: show the whole hashes
      ta = `kernel file ${a.kernel.name} (SHA-256 ${a.kernel.sha256})`;
      tb = `kernel file ${b.kernel.name} (SHA-256 ${b.kernel.sha256})`;
    }
    differences.push({ field, label, a: ta, b: tb });
  }
  return differences;
}

// ---- metrics

interface MetricDef {
  key: PairMetricKey;
  label: string;
  /** whether B ÷ A means something (a quantity, not a rate or a text) */
  ratio: boolean;
  /** digits the table keeps (undefined: integers and texts, shown as they are) */
  digits?: number;
  value: (run: RunResult, native: RunResult | undefined) => PairValue;
}

function equivalence(run: RunResult): string {
  if (run.equivalent === null) return 'not compared';
  if (run.equivalent) return 'yes';
  const where = describeDivergence(run);
  return where ? `no — ${where}` : 'no';
}

const METRICS: readonly MetricDef[] = [
  { key: 'status', label: 'status', ratio: false, value: (r) => r.status },
  { key: 'equivalent', label: 'equivalent to native', ratio: false, value: equivalence },
  {
    key: 'instructions',
    label: 'guest instructions',
    ratio: true,
    value: (r) => r.guestInstructions.total,
  },
  { key: 'cycles', label: 'modeled cycles', ratio: true, value: (r) => r.cycles.total },
  {
    key: 'overhead',
    label: 'overhead (× its own native)',
    ratio: true,
    digits: 4,
    value: (r, native) => overheadVsNative(r, native),
  },
  { key: 'mips', label: 'MIPS (modeled)', ratio: true, digits: 4, value: (r) => modeledMips(r) },
  { key: 'traps', label: 'traps', ratio: true, value: (r) => r.traps.total },
  {
    key: 'worldSwitches',
    label: 'world switches',
    ratio: true,
    value: (r) => r.worldSwitches.count,
  },
  {
    key: 'worldSwitchCycles',
    label: 'world-switch cycles',
    ratio: true,
    value: (r) => r.worldSwitches.cycles,
  },
  {
    key: 'icacheHitRate',
    label: 'I-cache hit rate (%)',
    ratio: false,
    digits: 3,
    value: (r) => r.icache.hitRate * 100,
  },
  { key: 'icacheMpki', label: 'I-cache MPKI', ratio: true, digits: 4, value: (r) => r.icache.mpki },
  {
    key: 'tlbHitRate',
    label: 'TLB hit rate (%)',
    ratio: false,
    digits: 3,
    value: (r) => r.tlb.hitRate * 100,
  },
  {
    key: 'wallMs',
    label: 'host wall time (ms)',
    ratio: true,
    digits: 1,
    value: (r) => r.host.wallMs,
  },
];

const DIGITS: Partial<Record<PairMetricKey, number>> = Object.fromEntries(
  METRICS.filter((m) => m.digits !== undefined).map((m) => [m.key, m.digits!]),
);

function runsByLabel(file: HistoryFile): Map<string, RunResult> {
  const labels = runLabels(file.runs);
  return new Map(file.runs.map((run, i) => [labels[i]!, run]));
}

/** The runs of A and B matched by run label, with every metric on both sides. */
export function techniquePairs(a: HistoryFile, b: HistoryFile): TechniquePair[] {
  const runsA = runsByLabel(a);
  const runsB = runsByLabel(b);
  const nativeA = nativeRun(a);
  const nativeB = nativeRun(b);
  const order = [...runsA.keys(), ...[...runsB.keys()].filter((t) => !runsA.has(t))];
  return order.map((technique) => {
    const runA = runsA.get(technique);
    const runB = runsB.get(technique);
    const metrics = METRICS.map((m): PairMetric => {
      const va = runA ? m.value(runA, nativeA) : null;
      const vb = runB ? m.value(runB, nativeB) : null;
      const ratio =
        m.ratio && typeof va === 'number' && typeof vb === 'number' && va > 0 ? vb / va : null;
      return { key: m.key, label: m.label, a: va, b: vb, ratio };
    });
    return { technique, inA: runA !== undefined, inB: runB !== undefined, metrics };
  });
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One technique's metrics as a table (metric, A, B, B ÷ A), rounded as the Compare view's
 *  numbers table rounds them; null cells are "n/a". */
export function pairMetricsTable(pair: TechniquePair): PairTable {
  const shown = (key: PairMetricKey, v: PairValue): PairValue => {
    const digits = DIGITS[key];
    return typeof v === 'number' && digits !== undefined ? round(v, digits) : v;
  };
  return {
    columns: ['metric', 'A', 'B', 'B ÷ A'],
    rows: pair.metrics.map((m) => [
      m.label,
      shown(m.key, m.a),
      shown(m.key, m.b),
      m.ratio === null ? null : round(m.ratio, 4),
    ]),
  };
}

/** The spec differences as a table (setting, A, B). */
export function specDifferencesTable(differences: readonly SpecDifference[]): PairTable {
  return { columns: ['setting', 'A', 'B'], rows: differences.map((d) => [d.label, d.a, d.b]) };
}

// ---- charts

/** What every pair chart's description adds: partial runs, one-sided techniques, spec
 *  differences — the reasons two bars may not be comparable. */
function caveats(
  a: HistoryFile,
  b: HistoryFile,
  techniques: readonly TechniquePair[],
  differences: readonly SpecDifference[],
): string {
  const notes: string[] = [];
  const partial = (side: PairSide, file: HistoryFile): string[] => {
    const labels = runLabels(file.runs);
    return file.runs
      .map((run, i) => (run.status === 'completed' ? null : `${side} ${labels[i]} (${run.status})`))
      .filter((s): s is string => s !== null);
  };
  const partials = [...partial('A', a), ...partial('B', b)];
  if (partials.length > 0) notes.push(`Partial metrics: ${partials.join(', ')}.`);
  const onlyA = techniques.filter((t) => !t.inB).map((t) => t.technique);
  const onlyB = techniques.filter((t) => !t.inA).map((t) => t.technique);
  if (onlyA.length > 0) notes.push(`Only in A: ${onlyA.join(', ')}.`);
  if (onlyB.length > 0) notes.push(`Only in B: ${onlyB.join(', ')}.`);
  if (differences.length > 0) {
    notes.push(`The experiments differ in: ${differences.map((d) => d.label).join(', ')}.`);
  }
  return notes.length > 0 ? ` ${notes.join(' ')}` : '';
}

/** A grouped bar chart: per technique, A's bar next to B's. */
function groupedBar(
  members: readonly [PairMember, PairMember],
  techniques: readonly TechniquePair[],
  key: PairMetricKey,
  id: string,
  title: string,
  description: string,
  yTitle: string,
): ChartDefinition {
  const digits = DIGITS[key];
  const pick = (t: TechniquePair, side: PairSide): number | null => {
    const v = t.metrics.find((m) => m.key === key)?.[side === 'A' ? 'a' : 'b'];
    if (typeof v !== 'number') return null;
    return digits === undefined ? v : round(v, digits);
  };
  const datasets: ChartDataset[] = members.map((m) => ({
    label: m.label,
    data: techniques.map((t) => pick(t, m.side)),
    backgroundColor: PAIR_COLORS[m.side],
    borderColor: PAIR_COLORS[m.side],
  }));
  return {
    id,
    title,
    description,
    config: {
      type: 'bar',
      data: { labels: techniques.map((t) => t.technique), datasets },
      options: {
        plugins: titlePlugin(title),
        scales: {
          x: { title: axisTitle('technique') },
          y: { beginAtZero: true, title: axisTitle(yTitle) },
        },
      },
    },
  };
}

/** The pair's charts, in display order; every id starts with `pair-`. The overhead chart is
 *  left out when neither experiment has a native run to take it against. */
export function pairCharts(
  a: HistoryFile,
  b: HistoryFile,
  techniques: readonly TechniquePair[] = techniquePairs(a, b),
  differences: readonly SpecDifference[] = specDifferences(a.spec, b.spec),
): ChartDefinition[] {
  const members = [member('A', a), member('B', b)] as const;
  const note = caveats(a, b, techniques, differences);
  const charts: ChartDefinition[] = [];
  const hasOverhead = techniques.some((t) =>
    t.metrics.some((m) => m.key === 'overhead' && (m.a !== null || m.b !== null)),
  );
  if (hasOverhead) {
    charts.push(
      groupedBar(
        members,
        techniques,
        'overhead',
        'pair-overhead',
        'Overhead vs native: A vs B',
        'Modeled cycles of each run divided by the native run of its own experiment (1 = as ' +
          'fast as that bare machine), A’s bar next to B’s per technique.' +
          note,
        'modeled cycles ÷ its native',
      ),
    );
  }
  charts.push(
    groupedBar(
      members,
      techniques,
      'traps',
      'pair-traps',
      'Traps per technique: A vs B',
      'Entries into the hypervisor per run, A’s bar next to B’s per technique. The native run ' +
        'has no hypervisor, so it never traps.' +
        note,
      'traps',
    ),
    groupedBar(
      members,
      techniques,
      'cycles',
      'pair-cycles',
      'Modeled cycles: A vs B',
      'Modeled cycles per run (event counts × unit costs of each experiment’s CPU profile), ' +
        'A’s bar next to B’s per technique.' +
        note,
      'modeled cycles',
    ),
    groupedBar(
      members,
      techniques,
      'worldSwitches',
      'pair-world-switches',
      'World switches: A vs B',
      'Transitions between the guest and the hypervisor per run, A’s bar next to B’s per ' +
        'technique. The native run has no hypervisor: 0.' +
        note,
      'world switches',
    ),
  );
  return charts;
}

/** Everything the comparison of A and B shows. A is the baseline of every B ÷ A. */
export function compareExperiments(a: HistoryFile, b: HistoryFile): ExperimentPair {
  const differences = specDifferences(a.spec, b.spec);
  const techniques = techniquePairs(a, b);
  return {
    a: member('A', a),
    b: member('B', b),
    specDifferences: differences,
    techniques,
    charts: pairCharts(a, b, techniques, differences),
  };
}
