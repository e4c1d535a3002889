// Equivalence against bare hardware: a run is equivalent when its guest output is byte for
// byte the native run's (same spec). When it is not, the first line that differs is what a
// person needs to see, so it is found here, once, for the CLI, the reports and the UI.

import {
  type Divergence,
  type RunResult,
  type SilentEffect,
  type SilentSensitive,
} from '../../../shared/results';

/** The first differing line of two outputs, or null when they are equal. */
export function firstDivergence(expected: string, actual: string): Divergence | null {
  if (expected === actual) return null;
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return { line: i + 1, expected: a[i] ?? null, actual: b[i] ?? null };
  }
  return null;
}

/**
 * Fill `equivalent`, `firstDivergence` and `culprit` of every run against the native run among
 * them. Without a native run that completed there is nothing to compare with, and a cancelled
 * or failed run says nothing about equivalence: those stay null. A run the budget or the
 * watchdog stopped did not do what the native run did under the same spec: not equivalent,
 * diverging at the first line it did not print.
 */
export function applyEquivalence(runs: readonly RunResult[]): RunResult[] {
  const reference = runs.find((r) => r.technique === 'native' && r.status === 'completed');
  return runs.map((run) => {
    const unknown = { ...run, equivalent: null, firstDivergence: null, culprit: null };
    if (!reference || run.status === 'failed' || run.end.reason === 'cancelled') return unknown;
    if (run.status === 'completed' && run.outputHash === reference.outputHash) {
      return { ...run, equivalent: true, firstDivergence: null, culprit: null };
    }
    const divergence = firstDivergence(reference.outputText, run.outputText) ?? {
      // the texts agree as far as they were kept (cut at the cap, or the run stopped early):
      // the difference lies beyond
      line: run.outputText.split('\n').length,
      expected: null,
      actual: null,
    };
    const culprit = run.silentSensitive
      ? likelyCulprit(
          run.silentSensitive,
          run.outputText,
          divergence.line,
          run.status === 'completed',
        )
      : null;
    return { ...run, equivalent: false, firstDivergence: divergence, culprit };
  });
}

/** How directly an effect shows in output: reads that always reveal the real machine first. */
function revealRank(e: SilentEffect): number {
  if (/ cs$/.test(e.mnemonic)) return 0;
  if (['sidt', 'sgdt', 'smsw', 'str', 'sldt'].includes(e.mnemonic)) return 1;
  if (e.mnemonic === 'pushf') return 2;
  return 3;
}

/**
 * The silent sensitive instruction that most likely made the output diverge.
 * - A run that stopped early (it hung: the budget or the watchdog ended it) most likely lost
 *   an IF change: the last iret or popf that left the virtual IF wrong (interrupts never came
 *   back, so nothing preempted a spinning process).
 * - Otherwise one first seen while the diverging line was being produced, the most revealing
 *   first (reading CS, then sidt/smsw/str, then pushf): the `sensitive` probe reads CS just
 *   before printing it.
 * - Failing both, the last effect seen before the line.
 */
export function likelyCulprit(
  silent: SilentSensitive,
  output: string,
  line: number,
  finished: boolean,
): SilentEffect | null {
  const lines = output.split('\n');
  const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
  const end = start + (lines[line - 1]?.length ?? 0);
  const effects = silent.effects;
  const before = effects.filter((e) => e.outputBytes <= end);
  const latest = (list: readonly SilentEffect[]): SilentEffect | null =>
    list.reduce<SilentEffect | null>(
      (best, e) => (best === null || e.lastInstruction > best.lastInstruction ? e : best),
      null,
    );
  const lostIf =
    latest(before.filter((e) => e.mnemonic === 'iret')) ??
    latest(before.filter((e) => e.mnemonic === 'popf'));
  if (!finished && lostIf) return lostIf;
  const inLine = effects
    .filter((e) => e.outputBytes >= start && e.outputBytes <= end)
    .sort((a, b) => revealRank(a) - revealRank(b) || a.instruction - b.instruction);
  return inLine[0] ?? lostIf ?? latest(before) ?? effects[0] ?? null;
}
