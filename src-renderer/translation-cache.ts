// The translation-cache viewer's logic, apart from its drawing (views/TranslationCacheView.vue,
// components/ChainDiagram.vue): reading guest address ranges, the fragments of a range, the
// guest code in a range no fragment covers, and the replay — the state of the cache after the
// first N events of the dump (shared/translation-cache-dump.ts): which fragments exist, which
// exits are still open and which have been filled in as their targets appeared (lecture §6:
// "the translator will fill them in as it needs them").

import {
  type DumpedFragment,
  type DumpEvent,
  type TranslationCacheDump,
} from '../shared/translation-cache-dump';

export type Treatment = DumpedFragment['instructions'][number]['treatment'];
export type DumpedExit = DumpedFragment['exits'][number];

/** What each treatment means (lecture §6.2), for the legend. */
export const TREATMENTS: readonly { id: Treatment; label: string; meaning: string }[] = [
  { id: 'ident', label: 'IDENT', meaning: 'innocuous: copied unchanged' },
  {
    id: 'control-flow',
    label: 'control flow',
    meaning: 'rewritten because the code moved (jumps, branches, calls)',
  },
  {
    id: 'inline',
    label: 'inline',
    meaning: 'sensitive: replaced by safe code in the fragment (cli, sti, pushf, popf…)',
  },
  {
    id: 'callout',
    label: 'callout',
    meaning: 'sensitive or indirect: a call into the translator (privileged, ret, jmp [r])',
  },
];

export function hexAddress(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** Bytes as the dump gives them ("89f9") spaced for reading ("89 f9"). */
export function spacedBytes(hex: string): string {
  return hex.replace(/(..)(?=.)/g, '$1 ');
}

/** A guest address range, both ends included. */
export interface AddressRange {
  readonly from: number;
  readonly to: number;
}

export const WHOLE_RANGE: AddressRange = { from: 0, to: 0xffffffff };

/** An address as a person types it: hex, with or without 0x. Empty: undefined; not an
 *  address: null. */
export function parseAddress(text: string): number | undefined | null {
  const t = text.trim().toLowerCase().replace(/_/g, '');
  if (t === '') return undefined;
  const digits = t.startsWith('0x') ? t.slice(2) : t;
  if (!/^[0-9a-f]{1,8}$/.test(digits)) return null;
  return parseInt(digits, 16);
}

/** The range two filter fields give, or the reason they do not give one. */
export function parseRange(
  fromText: string,
  toText: string,
): { range: AddressRange; bounded: boolean } | { error: string } {
  const from = parseAddress(fromText);
  const to = parseAddress(toText);
  if (from === null)
    return { error: `'${fromText.trim()}' is not an address (hex, e.g. 0x101150)` };
  if (to === null) return { error: `'${toText.trim()}' is not an address (hex, e.g. 0x10116f)` };
  const range = { from: from ?? WHOLE_RANGE.from, to: to ?? WHOLE_RANGE.to };
  if (range.from > range.to) {
    return {
      error: `the range ends (${hexAddress(range.to)}) before it starts (${hexAddress(range.from)})`,
    };
  }
  return { range, bounded: from !== undefined || to !== undefined };
}

export function instructionLength(i: DumpedFragment['instructions'][number]): number {
  return i.guestBytes.length / 2;
}

/** Whether any guest instruction of `f` has a byte inside `range`. */
export function fragmentInRange(f: DumpedFragment, range: AddressRange): boolean {
  return f.instructions.some((i) => {
    const end = i.guestEip + instructionLength(i) - 1;
    return i.guestEip <= range.to && end >= range.from;
  });
}

export function fragmentsInRange(
  dump: TranslationCacheDump,
  range: AddressRange,
): DumpedFragment[] {
  return dump.fragments.filter((f) => fragmentInRange(f, range));
}

/** The guest bytes `f` translated: [start, end) of each run of consecutive instructions. */
export function guestExtent(f: DumpedFragment): { start: number; end: number } {
  const first = f.instructions[0];
  const last = f.instructions.at(-1);
  if (!first || !last) return { start: f.guestEip, end: f.guestEip };
  return { start: first.guestEip, end: last.guestEip + instructionLength(last) };
}

/** A stretch of guest bytes no fragment of the dump covers. */
export interface UntranslatedGap {
  readonly start: number;
  /** exclusive */
  readonly end: number;
  /** guest instructions known to start in it: exits of fragments lead there */
  readonly knownStarts: readonly { address: number; from: readonly ExitRef[] }[];
}

export interface ExitRef {
  readonly fragment: number;
  readonly exit: number;
}

/**
 * The guest code inside `range` that no fragment covers, computed from the fragments alone
 * (the dump holds no other guest bytes): the gaps between translated instructions — not before
 * the lowest nor past the highest byte any fragment translated, so an open-ended range does not
 * reach over the whole address space — each with the instruction addresses known to start in
 * it, the targets of exits (lecture §6: the code at `prime` "is never executed, and so we don't
 * need to translate it"). A gap may also be data or padding between routines.
 */
export function untranslatedCode(
  dump: TranslationCacheDump,
  range: AddressRange,
): UntranslatedGap[] {
  const pieces: [number, number][] = [];
  for (const f of dump.fragments) {
    for (const i of f.instructions) pieces.push([i.guestEip, i.guestEip + instructionLength(i)]);
  }
  if (pieces.length === 0) return [];
  pieces.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const covered: [number, number][] = [];
  for (const [s, e] of pieces) {
    const last = covered.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else covered.push([s, e]);
  }
  const lo = Math.max(range.from, covered[0]![0]);
  const hi = Math.min(range.to + 1, covered.at(-1)![1]);
  const gaps: { start: number; end: number }[] = [];
  let at = lo;
  for (const [s, e] of covered) {
    if (e <= at) continue;
    if (s >= hi) break;
    if (s > at) gaps.push({ start: at, end: Math.min(s, hi) });
    at = e;
  }
  if (at < hi) gaps.push({ start: at, end: hi });
  const targets = new Map<number, ExitRef[]>();
  for (const f of dump.fragments) {
    f.exits.forEach((x, exit) => {
      const refs = targets.get(x.target) ?? [];
      refs.push({ fragment: f.id, exit });
      targets.set(x.target, refs);
    });
  }
  return gaps.map((g) => ({
    ...g,
    knownStarts: [...targets]
      .filter(([a]) => a >= g.start && a < g.end)
      .sort((a, b) => a[0] - b[0])
      .map(([address, from]) => ({ address, from })),
  }));
}

// ---- the replay ------------------------------------------------------------------------------

export type ExitState = 'open' | 'chained' | 'elided';

export interface ReplayExit {
  readonly fragment: number;
  readonly exit: number;
  readonly kind: DumpedExit['kind'];
  readonly target: number;
  state: ExitState;
  /** the fragment it jumps to (chained) or that follows it (elided) */
  to: number | null;
}

export interface ReplayFragment {
  readonly id: number;
  /** the dumped fragment; undefined for one flushed before the end of the run (the dump holds
   *  the fragments since the last flush) */
  readonly fragment: DumpedFragment | undefined;
  /** dropped: its guest code changed (still in the cache until a flush) */
  dropped: boolean;
  /** the step (1-based event number) that translated it */
  readonly translatedAt: number;
  readonly exits: ReplayExit[];
}

export interface ReplayState {
  /** events applied */
  readonly step: number;
  /** the fragments in the cache after them, in translation order */
  readonly fragments: readonly ReplayFragment[];
  readonly flushes: number;
  /** the last event applied */
  readonly last: DumpEvent | undefined;
  readonly counts: { readonly open: number; readonly chained: number; readonly elided: number };
}

/** The cache after the first `step` events of the dump (clamped to those it has). */
export function replay(dump: TranslationCacheDump, step: number): ReplayState {
  const n = Math.max(0, Math.min(Math.floor(step), dump.events.length));
  const byId = new Map(dump.fragments.map((f) => [f.id, f]));
  let live = new Map<number, ReplayFragment>();
  let flushes = 0;
  for (let k = 0; k < n; k++) {
    const e = dump.events[k]!;
    switch (e.kind) {
      case 'translate': {
        const fragment = byId.get(e.fragment);
        live.set(e.fragment, {
          id: e.fragment,
          fragment,
          dropped: false,
          translatedAt: k + 1,
          exits: (fragment?.exits ?? []).map((x, exit) => ({
            fragment: e.fragment,
            exit,
            kind: x.kind,
            target: x.target,
            state: 'open',
            to: null,
          })),
        });
        break;
      }
      case 'chain': {
        const x = live.get(e.from)?.exits[e.exit];
        if (x) {
          x.state = 'chained';
          x.to = e.to;
        }
        break;
      }
      case 'elide': {
        const x = live.get(e.from)?.exits.find((y) => y.kind === 'fall-through');
        if (x) {
          x.state = 'elided';
          x.to = e.to;
        }
        break;
      }
      case 'invalidate': {
        const f = live.get(e.fragment);
        if (f) f.dropped = true;
        // every jump into it goes back through its stub (an elided fall-through gets an exit
        // written at the seam): open again until its target is translated anew
        for (const g of live.values()) {
          for (const x of g.exits) {
            if (x.to === e.fragment) {
              x.state = 'open';
              x.to = null;
            }
          }
        }
        break;
      }
      case 'flush':
        live = new Map();
        flushes++;
        break;
    }
  }
  const fragments = [...live.values()];
  const counts = { open: 0, chained: 0, elided: 0 };
  for (const f of fragments) {
    if (f.dropped) continue;
    for (const x of f.exits) counts[x.state]++;
  }
  return { step: n, fragments, flushes, last: n > 0 ? dump.events[n - 1] : undefined, counts };
}

/** One event as a sentence, naming fragments by id (`#3`). */
export function describeEvent(e: DumpEvent, dump: TranslationCacheDump): string {
  const at = (id: number): string => {
    const f = dump.fragments.find((x) => x.id === id);
    return f ? ` (guest ${hexAddress(f.guestEip)})` : '';
  };
  switch (e.kind) {
    case 'translate':
      return `fragment #${e.fragment}${at(e.fragment)} translated and placed in the cache`;
    case 'chain':
      return `fragment #${e.from}'s exit ${e.exit} filled in: it now jumps straight to fragment #${e.to}`;
    case 'elide':
      return `fragment #${e.to} placed right after fragment #${e.from}: its fall-through needs no jump`;
    case 'invalidate':
      return `fragment #${e.fragment} dropped: the guest changed its code; jumps into it open again`;
    case 'flush':
      return 'the cache was full and was flushed: every fragment is gone';
  }
}

/** An exit's state in words (the fragment's exit list). */
export function describeExit(x: DumpedExit): string {
  if (x.elided) return 'elided: the target’s fragment was placed right after this one';
  if (x.linkedTo !== null) return `chained to fragment #${x.linkedTo}`;
  return 'open: through its stub, a callout into the translator until the target is translated and chained';
}
