// Equivalence against bare hardware: a run is equivalent when its guest output is byte for
// byte the native run's (same spec). When it is not, the first line that differs is what a
// person needs to see, so it is found here, once, for the CLI, the reports and the UI.

import { type Divergence, type RunResult } from '../../../shared/results';

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
 * Fill `equivalent` and `firstDivergence` of every run against the native run among them.
 * Without a native run that completed there is nothing to compare with: both stay null.
 */
export function applyEquivalence(runs: readonly RunResult[]): RunResult[] {
  const reference = runs.find((r) => r.technique === 'native' && r.status === 'completed');
  return runs.map((run) => {
    if (!reference || run.status !== 'completed') {
      return { ...run, equivalent: null, firstDivergence: null };
    }
    if (run.outputHash === reference.outputHash) {
      return { ...run, equivalent: true, firstDivergence: null };
    }
    const divergence = firstDivergence(reference.outputText, run.outputText) ?? {
      // the texts agree as far as they were kept (both cut at the cap): the difference lies
      // beyond it
      line: reference.outputText.split('\n').length,
      expected: null,
      actual: null,
    };
    return { ...run, equivalent: false, firstDivergence: divergence };
  });
}
