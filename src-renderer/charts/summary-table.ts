// The headline numbers of every run as one table (the Compare view's "numbers" table), read
// straight from RunResult, rounded as the charts round them, so table and charts agree; and
// the tables beside it: a run's cost breakdown, a para-virtual run's para-API metrics, a
// binary-translation run's translator metrics.

import { modeledMips, nativeRun, overheadVsNative, runLabels } from '../../shared/charts';
import { binaryTranslationRows } from '../../shared/binary-translation-summary';
import { paravirtRows } from '../../shared/paravirt-summary';
import { type ResultsFile, type RunResult } from '../../shared/results';
import { type ChartTable } from './chart-table';

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function summaryTable(file: ResultsFile): ChartTable {
  const labels = runLabels(file.runs);
  const native = nativeRun(file);
  return {
    columns: [
      'technique',
      'status',
      'end',
      'guest instructions',
      'modeled cycles',
      'overhead (× native)',
      'traps',
      'world switches',
      'guest events',
      'I-cache hit rate (%)',
      'I-cache MPKI',
      'MIPS (modeled)',
      'host wall time (ms)',
      'equivalent',
    ],
    rows: file.runs.map((run, i) => {
      const overhead = overheadVsNative(run, native);
      const mips = modeledMips(run);
      return [
        labels[i]!,
        run.status,
        run.end.reason,
        run.guestInstructions.total,
        run.cycles.total,
        overhead === null ? null : round(overhead, 4),
        run.traps.total,
        run.worldSwitches.count,
        run.guestEvents.total,
        round(run.icache.hitRate * 100, 3),
        round(run.icache.mpki, 4),
        mips === null ? null : round(mips, 4),
        round(run.host.wallMs, 1),
        run.equivalent === null ? 'not compared' : run.equivalent ? 'yes' : 'no',
      ];
    }),
  };
}

/** Where a run's modeled cycles come from: every cost line (event kind × unit cost) with the
 *  source of the unit cost, as RunResult.costBreakdown has them. */
export function costTable(run: RunResult): ChartTable {
  return {
    columns: ['event kind', 'category', 'count', 'unit cycles', 'cycles', 'source'],
    rows: run.costBreakdown.map((line) => [
      line.kind,
      line.category,
      line.count,
      line.unitCycles,
      line.cycles,
      line.source,
    ]),
  };
}

/** A para-virtual run's para-API metrics (shared/paravirt-summary.ts, as the HTML report has
 *  them), one row per figure; null for a run without them. */
export function paravirtTable(run: RunResult): ChartTable | null {
  const rows = paravirtRows(run);
  if (rows.length === 0) return null;
  return { columns: ['para-API', 'value'], rows: rows.map((r) => [r.label, r.value]) };
}

/** A binary-translation run's translator metrics (shared/binary-translation-summary.ts, as the
 *  HTML report has them), one row per figure; null for a run without them. */
export function binaryTranslationTable(run: RunResult): ChartTable | null {
  const rows = binaryTranslationRows(run);
  if (rows.length === 0) return null;
  return { columns: ['binary translation', 'value'], rows: rows.map((r) => [r.label, r.value]) };
}
