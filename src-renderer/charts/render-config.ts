// From a chart definition (plain JSON, shared/charts.ts) to the Chart.js configuration the app
// draws: the data stay exactly as defined — the numbers of results.json — and the renderer only
// adds what plain JSON cannot carry: tooltip callbacks that print exact values, the click
// handler that filters the trap log, theme colours, sizing, and no animation for large series.

import { type ChartConfiguration, type TooltipItem } from 'chart.js';
import { type ChartDefinition, type JsonValue } from '../../shared/charts';
import { type Theme } from '../stores/ui';

/** Series with more points than this are drawn without animation (it would only stutter). */
export const LARGE_SERIES_POINTS = 1000;

export interface ThemeColors {
  text: string;
  grid: string;
  background: string;
}

export const THEME_COLORS: Record<Theme, ThemeColors> = {
  light: { text: '#1f2328', grid: 'rgba(31, 35, 40, 0.12)', background: '#ffffff' },
  dark: { text: '#e6e8eb', grid: 'rgba(230, 232, 235, 0.16)', background: '#16191d' },
};

/** The palette's black (PALETTE[7]) vanishes on a dark background: draw it light grey there. */
const DARK_SUBSTITUTES: Record<string, string> = { '#000000': '#c8ccd2' };

/** What a click on a bar selected. */
export interface ChartSelection {
  chartId: string;
  /** the dataset's label: the cause in the by-cause charts, the run in line charts */
  dataset: string;
  /** the bar's category label (the run), or null in line charts */
  category: string | null;
  index: number;
}

export interface RenderOptions {
  theme: Theme;
  /** false for images: fixed size, drawn at once */
  interactive?: boolean;
  onSelect?: (selection: ChartSelection) => void;
  /** animate (off for large series and when the user asks for reduced motion) */
  animate?: boolean;
}

/** All points of a definition, across its datasets. */
export function pointCount(definition: ChartDefinition): number {
  return definition.config.data.datasets.reduce((n, d) => n + d.data.length, 0);
}

/** An exact value as shown on hover and in tables: integers grouped, others as stored. */
export function formatExact(value: unknown): string {
  if (value === null || value === undefined) return 'n/a';
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return '—';
  if (Number.isInteger(value)) return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const [int, frac] = String(value).split('.');
  return `${(int ?? '').replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac ? `.${frac}` : ''}`;
}

function recolor(value: JsonValue, theme: Theme): JsonValue {
  if (theme !== 'dark') return value;
  if (typeof value === 'string') return DARK_SUBSTITUTES[value.toLowerCase()] ?? value;
  if (Array.isArray(value)) return value.map((v) => recolor(v, theme));
  return value;
}

type Obj = Record<string, unknown>;
function obj(parent: Obj, key: string): Obj {
  const existing = parent[key];
  if (typeof existing === 'object' && existing !== null && !Array.isArray(existing)) {
    return existing as Obj;
  }
  const created: Obj = {};
  parent[key] = created;
  return created;
}

/** A tooltip line: the dataset's label and its exact value (plus a divergence, if any). */
function tooltipLabel(item: TooltipItem<'bar' | 'line'>): string | string[] {
  const raw = item.raw as unknown;
  const dataset = item.dataset as unknown as { label?: string; divergence?: unknown };
  const label = dataset.label ?? '';
  if (typeof raw === 'object' && raw !== null && 'y' in raw) {
    return `${label}: ${formatExact((raw as { y: unknown }).y)}`;
  }
  const divergence = Array.isArray(dataset.divergence) ? dataset.divergence[item.dataIndex] : '';
  if (typeof divergence === 'string' && divergence !== '') return [label, divergence];
  if (Array.isArray(dataset.divergence)) return label; // the equivalence chart: 1 means "this"
  return `${label}: ${formatExact(raw)}`;
}

function tooltipTitle(items: TooltipItem<'bar' | 'line'>[]): string {
  const first = items[0];
  if (!first) return '';
  const raw = first.raw as unknown;
  if (typeof raw === 'object' && raw !== null && 'x' in raw) {
    return `at ${formatExact((raw as { x: unknown }).x)} guest instructions`;
  }
  return first.label;
}

/** The Chart.js configuration of a definition; the definition itself is left untouched. */
export function toChartJsConfig(
  definition: ChartDefinition,
  options: RenderOptions,
): ChartConfiguration<'bar' | 'line'> {
  const colors = THEME_COLORS[options.theme];
  const interactive = options.interactive ?? true;
  const config = structuredClone(definition.config);
  for (const dataset of config.data.datasets) {
    for (const key of ['backgroundColor', 'borderColor'] as const) {
      const value = dataset[key];
      if (value !== undefined) dataset[key] = recolor(value, options.theme);
    }
  }
  const o = config.options as Obj;
  const plugins = obj(o, 'plugins');
  const title = obj(plugins, 'title');
  title.color = colors.text;
  const legend = obj(plugins, 'legend');
  obj(legend, 'labels').color = colors.text;
  const tooltip = obj(plugins, 'tooltip');
  tooltip.callbacks = { label: tooltipLabel, title: tooltipTitle };
  const scales = obj(o, 'scales');
  for (const axis of ['x', 'y']) {
    const scale = obj(scales, axis);
    obj(scale, 'ticks').color = colors.text;
    obj(scale, 'grid').color = colors.grid;
    obj(scale, 'border').color = colors.grid;
    const axisTitle = scale.title;
    if (typeof axisTitle === 'object' && axisTitle !== null) (axisTitle as Obj).color = colors.text;
  }
  o.color = colors.text;
  o.responsive = interactive;
  o.maintainAspectRatio = false;
  const animate =
    interactive && (options.animate ?? true) && pointCount(definition) <= LARGE_SERIES_POINTS;
  o.animation = animate ? { duration: 250 } : false;
  if (pointCount(definition) > LARGE_SERIES_POINTS) o.normalized = true;
  if (interactive) {
    if (config.type === 'line') o.interaction = { mode: 'nearest', intersect: false };
    const onSelect = options.onSelect;
    if (onSelect) {
      o.onClick = (event: unknown, _elements: unknown, chart: unknown) =>
        select(definition, event, chart, onSelect);
      // a pointer over what can be clicked
      o.onHover = (_event: unknown, elements: unknown[], chart: unknown) => {
        const canvas = (chart as { canvas?: HTMLCanvasElement } | null)?.canvas;
        if (canvas) canvas.style.cursor = elements.length > 0 ? 'pointer' : '';
      };
    }
  }
  return config as unknown as ChartConfiguration<'bar' | 'line'>;
}

interface ClickableChart {
  getElementsAtEventForMode(
    e: Event,
    mode: string,
    options: { intersect: boolean },
    useFinalPosition: boolean,
  ): { datasetIndex: number; index: number }[];
  data: { labels?: unknown[]; datasets: { label?: string }[] };
}

function select(
  definition: ChartDefinition,
  event: unknown,
  chart: unknown,
  onSelect: (selection: ChartSelection) => void,
): void {
  const c = chart as ClickableChart;
  const native = (event as { native?: Event } | null)?.native;
  if (!native) return;
  const hit = c.getElementsAtEventForMode(native, 'nearest', { intersect: true }, false)[0];
  if (!hit) return;
  const dataset = c.data.datasets[hit.datasetIndex]?.label ?? '';
  const category = c.data.labels ? String(c.data.labels[hit.index] ?? '') : null;
  onSelect({ chartId: definition.id, dataset, category, index: hit.index });
}
