// The numbers of a chart as a table: the same values the chart draws (its datasets), one row
// per bar category — a run, or a hypercall name — (bar charts) or per time-series point (line
// charts), so they can be read exactly and copied (tab-separated) into a spreadsheet.

import { type ChartDefinition, type JsonValue } from '../../shared/charts';

export type Cell = string | number | null;

export interface ChartTable {
  columns: string[];
  rows: Cell[][];
}

function isPoint(v: JsonValue): v is { x: JsonValue; y: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'x' in v && 'y' in v;
}

function cell(v: JsonValue | undefined): Cell {
  return typeof v === 'number' || typeof v === 'string' ? v : null;
}

/** What the bars of a chart stand for: its x axis title (`technique`, `hypercall`). */
function categoryName(definition: ChartDefinition): string {
  const x = (
    definition.config.options.scales as { x?: { title?: { text?: JsonValue } } } | undefined
  )?.x;
  const text = x?.title?.text;
  return typeof text === 'string' && text !== '' ? text : 'technique';
}

export function chartTable(definition: ChartDefinition): ChartTable {
  const { data } = definition.config;
  const datasets = data.datasets;
  // the equivalence chart: one dataset per verdict, 1 where it applies, with its divergence
  if (datasets.length > 0 && datasets.every((d) => Array.isArray(d.divergence))) {
    const labels = data.labels ?? [];
    return {
      columns: ['technique', 'verdict', 'first divergence'],
      rows: labels.map((label, i) => {
        const d = datasets.find((set) => set.data[i] === 1);
        const divergence = d && Array.isArray(d.divergence) ? cell(d.divergence[i]) : null;
        return [label, d?.label ?? 'n/a', divergence === '' ? null : divergence];
      }),
    };
  }
  if (data.labels) {
    return {
      columns: [categoryName(definition), ...datasets.map((d) => d.label)],
      rows: data.labels.map((label, i) => [label, ...datasets.map((d) => cell(d.data[i]))]),
    };
  }
  // line charts over guest instructions: one row per x, one column per run
  const xs = [
    ...new Set(datasets.flatMap((d) => d.data.filter(isPoint).map((p) => Number(p.x)))),
  ].sort((a, b) => a - b);
  const byX = datasets.map((d) => {
    const m = new Map<number, Cell>();
    for (const p of d.data) if (isPoint(p)) m.set(Number(p.x), cell(p.y));
    return m;
  });
  return {
    columns: ['guest instructions', ...datasets.map((d) => d.label)],
    rows: xs.map((x) => [x, ...byX.map((m) => m.get(x) ?? null)]),
  };
}

/** Tab-separated text with a header line, numbers unformatted (spreadsheets parse them). */
export function tableTsv(table: ChartTable): string {
  const clean = (c: Cell): string => (c === null ? '' : String(c).replace(/[\t\r\n]+/g, ' '));
  return [table.columns, ...table.rows].map((row) => row.map(clean).join('\t')).join('\n') + '\n';
}
