// The trap log of one run (RunResult.events.entries), filtered, for the Trap log view: by
// cause (a click on a bar of the traps chart sets it) and by kind (hypervisor traps, or events
// the guest kernel itself received).

import { type EventEntry, type RunResult } from '../shared/results';

export interface TrapLogFilter {
  cause: string;
  kind: '' | EventEntry['kind'];
}

export function filterEntries(run: RunResult, filter: TrapLogFilter): EventEntry[] {
  return run.events.entries.filter(
    (e) =>
      (filter.cause === '' || e.cause === filter.cause) &&
      (filter.kind === '' || e.kind === filter.kind),
  );
}

/** The causes in a run's log with how many entries each, most frequent first. */
export function causeCounts(run: RunResult): { cause: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const e of run.events.entries) counts.set(e.cause, (counts.get(e.cause) ?? 0) + 1);
  return [...counts]
    .map(([cause, count]) => ({ cause, count }))
    .sort((a, b) => b.count - a.count || a.cause.localeCompare(b.cause));
}

export function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
