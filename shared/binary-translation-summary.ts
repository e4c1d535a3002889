// The binary translator's metrics of one run (RunResult.binaryTranslation) as the rows of a
// small table: what the Compare view and the HTML report show under each binary-translation
// run. It owns which figures the table has, in which order, and the ones derived from the
// counts (the IDENT share, bytes per instruction, how full the translation cache got, the
// callouts by kind as text), so that the app and the report say the same thing. Pure data: no
// DOM, no Node.

import { type BinaryTranslationMetrics, type RunResult } from './results';

export type BinaryTranslationCell = string | number;

export interface BinaryTranslationRow {
  readonly label: string;
  /** a count, a ratio (rounded to 2 digits), or a text (`—` when it does not apply) */
  readonly value: BinaryTranslationCell;
}

/** What a derived figure says when there is nothing to derive it from. */
export const NOT_APPLICABLE = '—';

/** 1234567 → "1,234,567", the same on every host (no locale data involved). */
function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `part` of `whole` as a percentage with one decimal (`81.9%`), or `—` when whole is 0. */
function percent(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : NOT_APPLICABLE;
}

/** Every callout the translated code executed, of every kind. */
export function calloutTotal(metrics: BinaryTranslationMetrics): number {
  return Object.values(metrics.callouts).reduce((a, b) => a + b, 0);
}

/** The share of translated instructions copied unchanged (IDENT), `—` with none translated. */
export function identShare(metrics: BinaryTranslationMetrics): string {
  return percent(metrics.ident, metrics.guestInstructions);
}

/** Bytes of fragment code per guest instruction translated (2 digits), `—` with none. */
export function bytesPerInstruction(metrics: BinaryTranslationMetrics): number | string {
  const { fragmentBytes, guestInstructions } = metrics;
  return guestInstructions > 0
    ? Math.round((fragmentBytes / guestInstructions) * 100) / 100
    : NOT_APPLICABLE;
}

/**
 * The fragment bytes emitted against the translation cache's capacity: `16,873 of 262,144
 * bytes (6.4%)`. Emitted over the whole run, so after a flush it may exceed the capacity.
 */
export function describeCacheUse(metrics: BinaryTranslationMetrics): string {
  const { fragmentBytes, cacheBytes } = metrics;
  return `${grouped(fragmentBytes)} of ${grouped(cacheBytes)} bytes (${percent(fragmentBytes, cacheBytes)})`;
}

/** The callouts by kind, most frequent first (ties by name), or `none`. */
export function describeCallouts(metrics: BinaryTranslationMetrics): string {
  const kinds = Object.entries(metrics.callouts).sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
  );
  if (kinds.length === 0) return 'none';
  return kinds.map(([kind, n]) => `${kind} × ${grouped(n)}`).join('; ');
}

/** The table of one run's binary-translation metrics; empty for a run without them. */
export function binaryTranslationRows(run: RunResult): BinaryTranslationRow[] {
  const m = run.binaryTranslation;
  if (!m) return [];
  return [
    { label: 'translation units', value: m.units },
    { label: 'guest instructions translated', value: m.guestInstructions },
    { label: 'IDENT share (copied unchanged)', value: identShare(m) },
    { label: 'rewritten control flow (jmp, jcc, call, ret, loop…)', value: m.controlFlow },
    { label: 'sensitive, inline sequence (cli, sti, pushf, popf…)', value: m.inline },
    { label: 'sensitive, callout into the hypervisor', value: m.callout },
    { label: 'fragment bytes emitted', value: m.fragmentBytes },
    { label: 'fragment bytes per guest instruction', value: bytesPerInstruction(m) },
    { label: 'translation cache used (bytes emitted of capacity)', value: describeCacheUse(m) },
    { label: 'chains patched (jumps linked to their fragment)', value: m.chainsPatched },
    { label: 'fall-throughs elided', value: m.fallThroughsElided },
    { label: 'fragments invalidated (guest wrote their code)', value: m.invalidations },
    { label: 'instructions retranslated into a callout', value: m.retranslations },
    { label: 'whole-cache flushes', value: m.flushes },
    ...(m.directGateEntries === undefined
      ? []
      : [{ label: 'system calls through a direct gate (no trap)', value: m.directGateEntries }]),
    { label: 'callouts executed', value: calloutTotal(m) },
    { label: 'callouts by kind', value: describeCallouts(m) },
  ];
}
