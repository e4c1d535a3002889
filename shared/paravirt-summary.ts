// The para-API metrics of one run (RunResult.paravirt) as the rows of a small table: what the
// Compare view and the HTML report show under each para-virtual run. It owns which figures
// the table has, in which order, and the ones derived from the counts (entries per call, the
// batch-size histogram and the refused hypercalls as text), so that the app and the report
// say the same thing. Pure data: no DOM, no Node.

import { type ParavirtMetrics, type RunResult } from './results';

export type ParavirtCell = string | number | null;

export interface ParavirtRow {
  readonly label: string;
  /** a count, a ratio (rounded to 2 digits), a text, or null when it does not apply */
  readonly value: ParavirtCell;
}

/** 1234567 → "1,234,567", the same on every host (no locale data involved). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

const plural = (n: number, one: string, many: string): string =>
  `${grouped(n)} ${n === 1 ? one : many}`;

/** Every hypercall the run made, refused ones included. */
export function hypercallTotal(metrics: ParavirtMetrics): number {
  return Object.values(metrics.hypercalls).reduce((a, b) => a + b, 0);
}

/** Page-table entries per mmu_update call, or null without a call. */
export function entriesPerCall(metrics: ParavirtMetrics): number | null {
  const { calls, entries } = metrics.mmuUpdate;
  return calls > 0 ? Math.round((entries / calls) * 100) / 100 : null;
}

/**
 * The batch-size histogram in words, smallest batch first: `1 entry: 10 calls; 16 entries:
 * 3 calls`. The keys are the `count` argument as decimal text, so they sort as numbers here.
 */
export function describeBatchSizes(metrics: ParavirtMetrics): string {
  const sizes = Object.entries(metrics.mmuUpdate.batchSizes)
    .map(([size, calls]) => [Number(size), calls] as const)
    .sort((a, b) => a[0] - b[0]);
  if (sizes.length === 0) return 'no mmu_update call';
  return sizes
    .map(
      ([size, calls]) => `${plural(size, 'entry', 'entries')}: ${plural(calls, 'call', 'calls')}`,
    )
    .join('; ');
}

/** The refused hypercalls by `name:ERROR`, most frequent first, or `none`. */
export function describeRefused(metrics: ParavirtMetrics): string {
  const errors = Object.entries(metrics.errors).sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1),
  );
  if (errors.length === 0) return 'none';
  return errors.map(([error, n]) => `${error} × ${grouped(n)}`).join('; ');
}

/** The table of one run's para-API metrics; empty for a run without them. */
export function paravirtRows(run: RunResult): ParavirtRow[] {
  const m = run.paravirt;
  if (!m) return [];
  return [
    { label: 'hypercalls', value: hypercallTotal(m) },
    { label: 'mmu_update calls', value: m.mmuUpdate.calls },
    { label: 'page-table entries applied', value: m.mmuUpdate.entries },
    { label: 'entries per mmu_update call', value: entriesPerCall(m) },
    { label: 'batch sizes (entries: calls)', value: describeBatchSizes(m) },
    { label: 'mmu_update calls that flushed the TLB', value: m.mmuUpdate.flushes },
    { label: 'upcalls (events delivered)', value: m.upcalls },
    { label: 'events that waited while masked', value: m.eventsPendingWhileMasked },
    { label: 'refused hypercalls (name:error)', value: describeRefused(m) },
    { label: 'direct page-table writes (emulated)', value: m.directPageTableWrites },
    { label: 'page-table entries prefilled (whole tables)', value: m.shadowPrefilled },
  ];
}
