// results.csv: the experiment as a spreadsheet, one row per run and one column per scalar
// metric, for people who compare runs in a spreadsheet or plot them with their own tools.
//
// Why the columns come from the zod schema and not from the data: the header must not depend
// on which runs happen to be in the file (a null firstDivergence in every run must not drop
// its columns), and a field added to the contract must appear here without anyone editing
// this file. Only the records (`byCause`, the para-API's hypercalls by name, the translator's
// callouts by kind…) depend on the data: their columns are the union of the keys of all runs,
// sorted, with 0 where a run never saw that key — and empty where the record's parent is null
// (`paravirt` of a run that is not para-virtual: it made no hypercalls, it did not make 0 of
// each of them; `binaryTranslation` of a run that translated nothing). Scalars under a null
// parent are empty too.
//
// Two columns are derived, not schema fields: the hypercall total (`paravirt.hypercallsTotal`,
// after the hypercalls by name) and the callout total (`binaryTranslation.calloutsTotal`,
// after the callouts by kind), since a spreadsheet user compares totals first and the per-key
// columns vary with the data.

import { z } from 'zod';
import { RunResultSchema, type ResultsFile, type RunResult } from '../../shared/results';

type Cell = string | number | boolean | null;

interface Column {
  name: string;
  get(run: RunResult): Cell;
}

/** Fields left out: lists (they have their own tables) and the raw guest output. */
const SKIPPED = new Set(['outputText']);

/** Records that get a total column after their per-key columns, and its name. */
const TOTALS: Readonly<Record<string, string>> = {
  'paravirt.hypercalls': 'paravirt.hypercallsTotal',
  'binaryTranslation.callouts': 'binaryTranslation.calloutsTotal',
};

function valueAt(run: RunResult, path: readonly string[]): unknown {
  let value: unknown = run;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return null;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function toCell(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return value;
  }
  return JSON.stringify(value);
}

function columnsOf(schema: z.ZodType, path: string[], runs: readonly RunResult[]): Column[] {
  if (SKIPPED.has(path.join('.'))) return [];
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([key, sub]) =>
      columnsOf(sub, [...path, key], runs),
    );
  }
  if (schema instanceof z.ZodNullable || schema instanceof z.ZodOptional) {
    return columnsOf(schema.unwrap() as z.ZodType, path, runs);
  }
  if (schema instanceof z.ZodArray) return [];
  if (schema instanceof z.ZodRecord) {
    const keys = new Set<string>();
    for (const run of runs) {
      const record = valueAt(run, path);
      if (record !== null && typeof record === 'object') {
        for (const key of Object.keys(record)) keys.add(key);
      }
    }
    const recordOf = (run: RunResult): Record<string, unknown> | null => {
      const record = valueAt(run, path);
      return record !== null && typeof record === 'object'
        ? (record as Record<string, unknown>)
        : null;
    };
    const columns: Column[] = [...keys].sort().map((key) => ({
      name: [...path, key].join('.'),
      get: (run) => {
        const record = recordOf(run);
        return record === null ? null : toCell(record[key] ?? 0);
      },
    }));
    const total = TOTALS[path.join('.')];
    if (total !== undefined) {
      columns.push({
        name: total,
        get: (run) => {
          const record = recordOf(run);
          return record === null
            ? null
            : Object.values(record).reduce<number>(
                (a, b) => a + (typeof b === 'number' ? b : 0),
                0,
              );
        },
      });
    }
    return columns;
  }
  return [{ name: path.join('.'), get: (run) => toCell(valueAt(run, path)) }];
}

/** One field of RFC 4180: quoted when it holds a comma, a quote, CR or LF. */
export function csvField(cell: Cell): string {
  const text = cell === null ? '' : String(cell);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The column names of results.csv for these runs, in order. */
export function resultsCsvColumns(file: ResultsFile): string[] {
  return columnsOf(RunResultSchema, [], file.runs).map((c) => c.name);
}

/** results.csv: a header line, then one line per run; CRLF line ends (RFC 4180). */
export function resultsCsv(file: ResultsFile): string {
  const columns = columnsOf(RunResultSchema, [], file.runs);
  const lines = [
    columns.map((c) => csvField(c.name)).join(','),
    ...file.runs.map((run) => columns.map((c) => csvField(c.get(run))).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
