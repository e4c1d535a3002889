// The charts of an experiment, defined once as data: which metric each chart shows, how the
// runs sit side by side, and their colours. The HTML report, the PNG/SVG images and the
// renderer all draw from these definitions, so a chart looks and means the same everywhere.
//
// Why plain JSON and no Chart.js import: the definitions travel through IPC and are embedded
// into a self-contained HTML file, so they must survive JSON.stringify unchanged (no callbacks,
// no class instances), and shared/ type-checks without DOM or Node types (Chart.js's own types
// pull in the DOM). Consumers cast `config` to Chart.js's ChartConfiguration.
//
// Colours are deterministic: a technique's colour is picked by the order in which the runs
// appear in the file (the service always puts `native` first), a cause's colour by its place
// in the sorted list of causes of that chart, a cost category's by COST_CATEGORIES. The same
// file therefore always renders the same picture.

import { type Plugin } from 'chart.js';
import {
  COST_CATEGORIES,
  type CostCategory,
  type ResultsFile,
  type RunResult,
  type SilentEffect,
} from './results';

/** A value that survives JSON.stringify/JSON.parse unchanged. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface ChartDataset {
  label: string;
  data: JsonValue[];
  [option: string]: JsonValue;
}

/** A Chart.js configuration restricted to plain data. */
export interface ChartConfigJson {
  type: 'bar' | 'line';
  data: { labels?: string[]; datasets: ChartDataset[] };
  options: { [option: string]: JsonValue };
}

export interface ChartDefinition {
  /** stable, file-name-safe id (`traps-by-cause`): also the name of the chart's image files */
  id: string;
  title: string;
  /** what the chart shows and how to read it (units, baseline, caveats such as partial runs) */
  description: string;
  config: ChartConfigJson;
}

/** Okabe–Ito–based qualitative palette, readable for the common colour-vision deficiencies. */
export const PALETTE: readonly string[] = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#d55e00',
  '#cc79a7',
  '#56b4e9',
  '#b59a00',
  '#000000',
  '#7f3c8d',
  '#11a579',
  '#e73f74',
  '#80ba5a',
  '#3969ac',
  '#f2b701',
  '#a5aa99',
];

export function paletteColor(index: number): string {
  return PALETTE[((index % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
}

const CATEGORY_COLORS: Record<CostCategory, string> = {
  guest: '#0072b2',
  hypervisor: '#d55e00',
  worldSwitch: '#e69f00',
  translation: '#cc79a7',
  pageWalk: '#009e73',
  cacheMiss: '#56b4e9',
  idle: '#a5aa99',
};

const CATEGORY_LABELS: Record<CostCategory, string> = {
  guest: 'guest',
  hypervisor: 'hypervisor',
  worldSwitch: 'world switch',
  translation: 'translation',
  pageWalk: 'page walk',
  cacheMiss: 'cache miss',
  idle: 'idle',
};

const EQUIVALENCE_COLORS = { yes: '#009e73', no: '#d55e00', na: '#a5aa99' } as const;

/**
 * One label per run: the technique id, with `#2`, `#3`… when a technique appears more than
 * once, so that every bar stays distinguishable.
 */
export function runLabels(runs: readonly RunResult[]): string[] {
  const seen = new Map<string, number>();
  return runs.map((run) => {
    const n = (seen.get(run.technique) ?? 0) + 1;
    seen.set(run.technique, n);
    return n === 1 ? run.technique : `${run.technique} #${n}`;
  });
}

/** Colour of each run, by the first appearance of its technique in the file. */
export function runColors(runs: readonly RunResult[]): string[] {
  const order: string[] = [];
  for (const run of runs) if (!order.includes(run.technique)) order.push(run.technique);
  return runs.map((run) => paletteColor(order.indexOf(run.technique)));
}

/** The run every ratio is taken against: the first `native` run, if any. */
export function nativeRun(file: ResultsFile): RunResult | undefined {
  return file.runs.find((r) => r.technique === 'native');
}

/** Modeled seconds of a run: modeled cycles at the profile's clock. */
export function modeledSeconds(run: RunResult): number {
  return run.cycles.total / run.frequencyHz;
}

/** Guest instructions per modeled second, in millions; null when no time was modeled. */
export function modeledMips(run: RunResult): number | null {
  const seconds = modeledSeconds(run);
  return seconds > 0 ? run.guestInstructions.total / seconds / 1e6 : null;
}

/** Modeled cycles relative to the native run's; null without a usable baseline. */
export function overheadVsNative(run: RunResult, native: RunResult | undefined): number | null {
  if (!native || native.cycles.total <= 0) return null;
  return run.cycles.total / native.cycles.total;
}

/**
 * The likely culprit of a divergence in one phrase (the CLI, the report and the app say it the
 * same way); `counts` adds how often it ran and when it first did.
 */
export function describeCulprit(c: SilentEffect, counts = false): string {
  const when = counts
    ? ` (${c.count.toLocaleString('en-US')}×, first after ${c.instruction.toLocaleString('en-US')} instructions)`
    : '';
  return `'${c.disasm}' at EIP 0x${c.eip.toString(16)}${when}, a sensitive instruction that did not trap: it ${c.detail}`;
}

/** What ExperimentSpec.mmuBatch asked of the para-virtual guest, in words (the report's spec
 *  table, History's compare-two and the Compare view say it the same way). */
export function describeMmuBatch(mmuBatch: boolean): string {
  return mmuBatch
    ? 'batched: many entries per mmu_update hypercall'
    : 'one entry per mmu_update hypercall (mmu_batch=0)';
}

/**
 * The file name of a chart image: `<experiment>-<chart>.png`, or for a chart comparing two
 * experiments `<A>-vs-<B>-<chart>.svg`, with anything a file system might object to replaced.
 * The app (PNG) and the main process (SVG) name their images alike.
 */
export function chartFileName(
  experimentId: string,
  chartId: string,
  ext: 'png' | 'svg',
  versusId?: string,
): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  const owner =
    versusId === undefined ? safe(experimentId) : `${safe(experimentId)}-vs-${safe(versusId)}`;
  return `${owner}-${safe(chartId)}.${ext}`;
}

/** A divergence in one line of text, for descriptions and tables. */
export function describeDivergence(run: RunResult): string {
  const d = run.firstDivergence;
  if (!d) return '';
  const show = (s: string | null): string => (s === null ? '(no line)' : JSON.stringify(s));
  const culprit = run.culprit ? `; likely culprit: ${describeCulprit(run.culprit)}` : '';
  return `line ${d.line}: expected ${show(d.expected)}, got ${show(d.actual)}${culprit}`;
}

/** 1234567 → "1,234,567", the same on every host (no locale data involved). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A sentence naming the runs whose metrics are partial, or '' when all completed. */
function partialNote(runs: readonly RunResult[], labels: readonly string[]): string {
  const partial = runs
    .map((run, i) => (run.status === 'completed' ? null : `${labels[i]} (${run.status})`))
    .filter((s): s is string => s !== null);
  return partial.length > 0 ? ` Partial metrics: ${partial.join(', ')}.` : '';
}

/** The title and bottom legend every chart of the workbench has. */
export function titlePlugin(title: string): { [key: string]: JsonValue } {
  return {
    title: { display: true, text: title, font: { size: 15 } },
    legend: { display: true, position: 'bottom' },
  };
}

export function axisTitle(text: string): { [key: string]: JsonValue } {
  return { display: true, text };
}

/** A bar chart with one bar per run and one value each, coloured by technique. */
function perRunBar(
  file: ResultsFile,
  id: string,
  title: string,
  description: string,
  label: string,
  values: (number | null)[],
  yTitle: string,
  yExtra: { [key: string]: JsonValue } = {},
): ChartDefinition {
  const labels = runLabels(file.runs);
  const colors = runColors(file.runs);
  return {
    id,
    title,
    description: description + partialNote(file.runs, labels),
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: [{ label, data: values, backgroundColor: colors, borderColor: colors }],
      },
      options: {
        plugins: { ...titlePlugin(title), legend: { display: false } },
        scales: {
          x: { title: axisTitle('technique') },
          y: { beginAtZero: true, title: axisTitle(yTitle), ...yExtra },
        },
      },
    },
  };
}

/** A stacked bar chart: one bar per run, one dataset per cause. */
function byCauseChart(
  file: ResultsFile,
  id: string,
  title: string,
  description: string,
  pick: (run: RunResult) => Record<string, number>,
  yTitle: string,
): ChartDefinition {
  const labels = runLabels(file.runs);
  const causes = [...new Set(file.runs.flatMap((run) => Object.keys(pick(run))))].sort();
  const datasets: ChartDataset[] = causes.map((cause, i) => ({
    label: cause,
    data: file.runs.map((run) => pick(run)[cause] ?? 0),
    backgroundColor: paletteColor(i),
    borderColor: paletteColor(i),
    stack: 'causes',
  }));
  return {
    id,
    title,
    description: description + partialNote(file.runs, labels),
    config: {
      type: 'bar',
      data: { labels, datasets },
      options: {
        plugins: titlePlugin(title),
        scales: {
          x: { stacked: true, title: axisTitle('technique') },
          y: { stacked: true, beginAtZero: true, title: axisTitle(yTitle) },
        },
      },
    },
  };
}

/** A line chart over guest instructions, one line per run, from the run's time series. */
function overTimeChart(
  file: ResultsFile,
  id: string,
  title: string,
  description: string,
  pick: (slot: RunResult['timeSeries']['slots'][number]) => number,
  yTitle: string,
): ChartDefinition {
  const labels = runLabels(file.runs);
  const colors = runColors(file.runs);
  const datasets: ChartDataset[] = file.runs.map((run, i) => ({
    label: labels[i]!,
    data: run.timeSeries.slots.map((slot) => ({ x: slot.instructions, y: pick(slot) })),
    borderColor: colors[i]!,
    backgroundColor: colors[i]!,
    borderWidth: 1.5,
    pointRadius: run.timeSeries.slots.length > 60 ? 0 : 2,
    fill: false,
    tension: 0,
  }));
  const slices = [...new Set(file.runs.map((r) => r.timeSeries.sliceInstructions))];
  return {
    id,
    title,
    description:
      `${description} Each point is one slice of ${slices.map(grouped).join(' / ')} guest instructions, ` +
      'plotted at the instruction count where the slice ends.' +
      partialNote(file.runs, labels),
    config: {
      type: 'line',
      data: { datasets },
      options: {
        plugins: titlePlugin(title),
        scales: {
          x: { type: 'linear', beginAtZero: true, title: axisTitle('guest instructions') },
          y: { beginAtZero: true, title: axisTitle(yTitle) },
        },
      },
    },
  };
}

/**
 * One bar group per key of a per-run record, one bar per run that has the record (the other
 * runs have none, so they have no bar), or null when no run has it.
 */
function recordBarsChart(
  file: ResultsFile,
  chart: {
    id: string;
    title: string;
    description: string;
    /** the run's record, or undefined when the run has none */
    record: (run: RunResult) => Record<string, number> | undefined;
    xTitle: string;
    yTitle: string;
  },
): ChartDefinition | null {
  const labels = runLabels(file.runs);
  const colors = runColors(file.runs);
  const records = file.runs.map(chart.record);
  const indexes = records.flatMap((record, i) => (record ? [i] : []));
  if (indexes.length === 0) return null;
  const keys = [...new Set(indexes.flatMap((i) => Object.keys(records[i]!)))].sort();
  return {
    id: chart.id,
    title: chart.title,
    description:
      chart.description +
      partialNote(
        indexes.map((i) => file.runs[i]!),
        indexes.map((i) => labels[i]!),
      ),
    config: {
      type: 'bar',
      data: {
        labels: keys,
        datasets: indexes.map((i) => ({
          label: labels[i]!,
          data: keys.map((key) => records[i]![key] ?? 0),
          backgroundColor: colors[i]!,
          borderColor: colors[i]!,
        })),
      },
      options: {
        plugins: titlePlugin(chart.title),
        scales: {
          x: { title: axisTitle(chart.xTitle) },
          y: { beginAtZero: true, title: axisTitle(chart.yTitle) },
        },
      },
    },
  };
}

/** Hypercalls by their ABI name, for the para-virtual runs. */
function hypercallsChart(file: ResultsFile): ChartDefinition | null {
  return recordBarsChart(file, {
    id: 'hypercalls-by-name',
    title: 'Hypercalls by name',
    description:
      'The para-virtual guest’s calls into the hypervisor, by their name in the para-API ' +
      '(docs/paravirt-abi.md), refused ones included: what it does instead of the sensitive ' +
      'instructions that trap under trap-and-emulate. One mmu_update carries a whole batch of ' +
      'page-table entries unless the experiment turned batching off.',
    record: (run) => (run.paravirt ? (run.paravirt.hypercalls ?? {}) : undefined),
    xTitle: 'hypercall',
    yTitle: 'hypercalls',
  });
}

/** Callouts of the binary translator's code into the hypervisor, by kind, for the runs with
 *  translator metrics. */
function calloutsChart(file: ResultsFile): ChartDefinition | null {
  return recordBarsChart(file, {
    id: 'callouts-by-kind',
    title: 'Callouts by kind',
    description:
      'Calls from the translated guest kernel code into the hypervisor, by kind: translate ' +
      '(a jump to code not translated yet), lookup (an indirect target — a return, an ' +
      'indirect jump or call — looked up in the translation cache), emulate (a sensitive ' +
      'instruction too complex for an inline sequence), pending-interrupt (a virtual interrupt ' +
      'to deliver). A callout costs less than a trap, since no fault is taken; chained jumps ' +
      'and inline sequences such as cli make none, and guest user code runs untranslated.',
    record: (run) => (run.binaryTranslation ? (run.binaryTranslation.callouts ?? {}) : undefined),
    xTitle: 'callout',
    yTitle: 'callouts',
  });
}

function equivalenceChart(file: ResultsFile): ChartDefinition {
  const labels = runLabels(file.runs);
  const title = 'Equivalence with native';
  const verdict = (run: RunResult): keyof typeof EQUIVALENCE_COLORS =>
    run.equivalent === null ? 'na' : run.equivalent ? 'yes' : 'no';
  const series: { key: keyof typeof EQUIVALENCE_COLORS; label: string }[] = [
    { key: 'yes', label: 'equivalent' },
    { key: 'no', label: 'diverges' },
    { key: 'na', label: 'not compared' },
  ];
  const details = file.runs.map((run, i) => {
    const v = verdict(run);
    const what =
      v === 'yes'
        ? 'equivalent'
        : v === 'no'
          ? `diverges at ${describeDivergence(run) || 'an unknown line'}`
          : 'not compared (no completed native run, or this run did not complete)';
    return `${labels[i]}: ${what}`;
  });
  return {
    id: 'equivalence',
    title,
    description:
      'Whether each run printed byte for byte what the native run printed (its serial ' +
      `output). ${details.join('; ')}.`,
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: series.map(({ key, label }) => ({
          label,
          data: file.runs.map((run) => (verdict(run) === key ? 1 : null)),
          backgroundColor: EQUIVALENCE_COLORS[key],
          borderColor: EQUIVALENCE_COLORS[key],
          stack: 'verdict',
          // the first diverging line per run, for a tooltip or table that wants it
          divergence: file.runs.map((run) => (verdict(run) === key ? describeDivergence(run) : '')),
        })),
      },
      options: {
        plugins: titlePlugin(title),
        scales: {
          x: { stacked: true, title: axisTitle('technique') },
          y: { stacked: true, min: 0, max: 1, display: false },
        },
      },
    },
  };
}

/**
 * The reason of a hardware-assisted run's VM exit, from its trap cause (`exit:io out port
 * 0x80` → `I/O`, `exit:mov cr3` → `CR3 write`, `exit:#PF hidden` → `page fault`): what the
 * control structure made exit, without the port or the fault's kind.
 */
export function exitReason(cause: string): string | null {
  if (!cause.startsWith('exit:')) return null;
  const c = cause.slice('exit:'.length);
  if (c.startsWith('io ')) return 'I/O';
  if (c.startsWith('#PF')) return 'page fault';
  if (c.startsWith('external-interrupt')) return 'external interrupt';
  if (c.startsWith('ept-violation')) return 'EPT violation';
  if (c === 'mov r32, cr3') return 'CR3 read';
  const cr = /^mov cr(\d)/.exec(c);
  if (cr) return `CR${cr[1]} write`;
  return c.split(' ')[0]!;
}

/** VM exits by reason, for the runs that exit (the hardware-assisted techniques). */
function exitsChart(file: ResultsFile): ChartDefinition | null {
  return recordBarsChart(file, {
    id: 'exits-by-reason',
    title: 'VM exits by reason',
    description:
      'Exits from the guest in VMX non-root operation to the hypervisor, by the reason the ' +
      'control structure selected: I/O, hlt, cpuid, external interrupts, and with shadow paging ' +
      'CR3 loads and stores, invlpg, CR0/CR4 writes and page faults (with nested paging the ' +
      'guest keeps those). Each exit costs a VM exit and entry and the VMCS reads and writes ' +
      'of its handler; system calls and cli/sti never exit.',
    record: (run) => {
      const byReason: Record<string, number> = {};
      for (const [cause, n] of Object.entries(run.traps.byCause)) {
        const reason = exitReason(cause);
        if (reason) byReason[reason] = (byReason[reason] ?? 0) + n;
      }
      return Object.keys(byReason).length > 0 ? byReason : undefined;
    },
    xTitle: 'exit reason',
    yTitle: 'exits',
  });
}

/** Every chart of an experiment, in display order. */
export function buildCharts(file: ResultsFile): ChartDefinition[] {
  const runs = file.runs;
  const native = nativeRun(file);
  const charts: ChartDefinition[] = [];

  charts.push(
    byCauseChart(
      file,
      'traps-by-cause',
      'Traps by cause',
      'Entries into the hypervisor per run, stacked by cause. The native run has no hypervisor, ' +
        'so it never traps: compare guest events by cause for what the guest itself received.',
      (run) => run.traps.byCause,
      'traps',
    ),
  );
  const hypercalls = hypercallsChart(file);
  if (hypercalls) charts.push(hypercalls);
  const callouts = calloutsChart(file);
  if (callouts) charts.push(callouts);
  const exits = exitsChart(file);
  if (exits) charts.push(exits);
  charts.push(
    byCauseChart(
      file,
      'guest-events-by-cause',
      'Guest events by cause',
      'Exceptions, interrupts and software interrupts the guest kernel itself received, ' +
        'stacked by cause. Equivalent runs receive the same events.',
      (run) => run.guestEvents.byCause,
      'guest events',
    ),
  );

  const labels = runLabels(runs);
  charts.push({
    id: 'cycles-by-category',
    title: 'Modeled cycles by category',
    description:
      'Modeled cycles per run, stacked by where they went (event counts × unit costs of the ' +
      `CPU profile; see the cost breakdown tables).${partialNote(runs, labels)}`,
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: COST_CATEGORIES.map((category) => ({
          label: CATEGORY_LABELS[category],
          data: runs.map((run) => run.cycles[category]),
          backgroundColor: CATEGORY_COLORS[category],
          borderColor: CATEGORY_COLORS[category],
          stack: 'cycles',
        })),
      },
      options: {
        plugins: titlePlugin('Modeled cycles by category'),
        scales: {
          x: { stacked: true, title: axisTitle('technique') },
          y: { stacked: true, beginAtZero: true, title: axisTitle('modeled cycles') },
        },
      },
    },
  });

  charts.push(
    perRunBar(
      file,
      'world-switches',
      'World switches',
      'Transitions between the guest and the hypervisor per run; each costs the modeled ' +
        'world-switch cycles of the cycles chart. The native run has no hypervisor: 0.',
      'world switches',
      runs.map((run) => run.worldSwitches.count),
      'world switches',
    ),
    perRunBar(
      file,
      'icache-hit-rate',
      'I-cache hit rate',
      'Share of instruction fetches that hit the modeled instruction cache (for binary ' +
        'translation: over translation-cache addresses).',
      'hit rate (%)',
      runs.map((run) => round(run.icache.hitRate * 100, 3)),
      'hit rate (%)',
      { max: 100 },
    ),
    perRunBar(
      file,
      'icache-mpki',
      'I-cache misses per kilo-instruction',
      'Instruction-cache misses per 1,000 guest instructions: lower is better locality.',
      'misses per 1,000 instructions',
      runs.map((run) => round(run.icache.mpki, 4)),
      'MPKI',
    ),
    perRunBar(
      file,
      'throughput',
      'Modeled throughput',
      'Guest instructions per modeled second, in millions (modeled time = modeled cycles ÷ ' +
        'the profile clock). Host wall time is not part of it.',
      'MIPS (modeled)',
      runs.map((run) => {
        const mips = modeledMips(run);
        return mips === null ? null : round(mips, 4);
      }),
      'MIPS (modeled)',
    ),
  );

  if (native && native.cycles.total > 0) {
    charts.push(
      perRunBar(
        file,
        'overhead',
        'Overhead vs native',
        'Modeled cycles of each run divided by the native run’s (1 = as fast as the bare ' +
          'machine). Runs that did different work (did not finish, diverged) are not comparable.',
        'overhead (× native)',
        runs.map((run) => {
          const ratio = overheadVsNative(run, native);
          return ratio === null ? null : round(ratio, 4);
        }),
        'modeled cycles ÷ native',
      ),
    );
  }

  charts.push(
    equivalenceChart(file),
    overTimeChart(
      file,
      'traps-over-time',
      'Traps over time',
      'Traps per slice of guest instructions.',
      (slot) => slot.traps,
      'traps per slice',
    ),
    overTimeChart(
      file,
      'guest-events-over-time',
      'Guest events over time',
      'Guest events per slice of guest instructions.',
      (slot) => slot.guestEvents,
      'guest events per slice',
    ),
  );
  if (file.runs.some((r) => r.binaryTranslation)) {
    charts.push(
      overTimeChart(
        file,
        'translation-over-time',
        'Translation over time',
        'Modeled cycles of binary translation’s own work (translating units, resolving ' +
          'exits and lookups, invalidating) per slice: paid when code is first reached, ' +
          'flat once the working set is in the translation cache.',
        (slot) => slot.translationCycles ?? 0,
        'translation cycles per slice',
      ),
    );
  }
  return charts;
}

/** The size of a chart image (PNG/SVG exports). */
export interface ImageSize {
  width: number;
  height: number;
}

/** Chart.js leaves the background transparent; images pasted into slides need white. */
export const WHITE_BACKGROUND_PLUGIN: Plugin = {
  id: 'vmm-white-background',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};
