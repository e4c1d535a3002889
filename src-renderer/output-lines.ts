// Serial output as numbered lines for the Output view: split as the equivalence check counts
// lines (1-based; a final newline does not start another line), with a window of at most
// `max` lines around the first divergence so a long output stays quick to show.

export interface OutputLine {
  /** 1-based */
  number: number;
  text: string;
}

export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Lines [first, last] (1-based, inclusive) to show of `total`, keeping `focus` in view. */
export function lineWindow(
  total: number,
  focus: number | null,
  max: number,
): { first: number; last: number } {
  if (total <= max) return { first: 1, last: total };
  if (focus === null || focus <= max / 2) return { first: 1, last: max };
  const first = Math.min(Math.max(1, focus - Math.floor(max / 2)), total - max + 1);
  return { first, last: first + max - 1 };
}

export function numberedLines(text: string, first: number, last: number): OutputLine[] {
  return splitLines(text)
    .slice(first - 1, last)
    .map((line, i) => ({ number: first + i, text: line }));
}
