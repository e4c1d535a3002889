// Technique colours outside the charts (progress bars, swatches, badges): the same Okabe–Ito
// based palette and the same rule as shared/charts.ts — a technique's colour is its place in
// the order the runs appear (native first) — so a technique has one colour on every screen.

import { paletteColor } from '../../shared/charts';
import { type Theme } from '../stores/ui';

/** Colour of each technique id, by first appearance in `techniques`. */
export function techniqueColors(techniques: readonly string[], theme: Theme): Map<string, string> {
  const order: string[] = [];
  for (const t of techniques) if (!order.includes(t)) order.push(t);
  const colors = new Map<string, string>();
  order.forEach((t, i) => {
    const c = paletteColor(i);
    colors.set(t, theme === 'dark' && c === '#000000' ? '#c8ccd2' : c);
  });
  return colors;
}
