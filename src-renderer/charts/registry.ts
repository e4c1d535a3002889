// The live Chart.js instances, by chart id, for end-to-end tests and debugging:
//
//   window.__vmmCharts['traps-by-cause'].data.datasets   // what the chart draws
//
// `window.__vmmCharts` is a plain object (chart id → Chart instance) holding the charts of the
// Compare view currently on screen; a chart is added when it is drawn and removed when it goes
// away (another experiment, another theme, leaving the view). Ids are those of
// shared/charts.ts (`traps-by-cause`, `cycles-by-category`, …) plus the renderer's extra
// charts (`world-switches`). Nothing in the app reads it.

import { type Chart } from 'chart.js';

// window.__vmmCharts is declared in ../env.d.ts

function registry(): Record<string, Chart> | null {
  if (typeof window === 'undefined') return null;
  window.__vmmCharts ??= {};
  return window.__vmmCharts;
}

export function registerChart(id: string, chart: Chart): void {
  const r = registry();
  if (r) r[id] = chart;
}

/** Remove `id`, unless another instance has replaced `chart` under it meanwhile. */
export function unregisterChart(id: string, chart: Chart | null): void {
  const r = registry();
  if (r && (chart === null || r[id] === chart)) delete r[id];
}

export function registeredChart(id: string): Chart | undefined {
  return registry()?.[id];
}
