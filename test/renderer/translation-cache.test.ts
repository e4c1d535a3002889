// The translation-cache viewer's logic (src-renderer/translation-cache.ts): address ranges as
// a person types them, the fragments of a range, the guest code no fragment covers (isprime's
// `prime`, never executed, never translated), and the replay — after N events, which fragments
// exist and which exits are open, filled in or elided, with invalidation reopening jumps and a
// flush emptying the cache. On a real binary-translation run, the replay's last step agrees
// with the exits the engine dumped.

import { describe, expect, it } from 'vitest';
import { SPEC_DEFAULTS } from '../../shared/results';
import {
  type TranslationCacheDump,
  TranslationCacheDumpSchema,
} from '../../shared/translation-cache-dump';
import { runExperiment } from '../../src-main/engine/experiment';
import { prepareExperiment } from '../../src-main/service/experiment-spec';
import {
  describeEvent,
  fragmentsInRange,
  parseAddress,
  parseRange,
  replay,
  spacedBytes,
  untranslatedCode,
  WHOLE_RANGE,
} from '../../src-renderer/translation-cache';
import {
  ISPRIME,
  NOT_PRIME,
  PRIME,
  sampleTranslationCache,
} from '../helpers/sample-translation-cache';

const ids = (list: readonly { id: number }[]): number[] => list.map((f) => f.id);
const isprimeRange = { from: ISPRIME, to: NOT_PRIME + 2 };

describe('address ranges', () => {
  it('reads hex addresses with or without 0x, and says what is wrong with others', () => {
    expect(parseAddress('0x101150')).toBe(0x101150);
    expect(parseAddress(' 00101150 ')).toBe(0x101150);
    expect(parseAddress('0xFFC0_3000')).toBe(0xffc03000);
    expect(parseAddress('')).toBeUndefined();
    expect(parseAddress('isprime')).toBeNull();
    expect(parseAddress('0x123456789')).toBeNull();
    expect(parseRange('', '')).toEqual({ range: WHOLE_RANGE, bounded: false });
    expect(parseRange('0x101150', '')).toEqual({
      range: { from: 0x101150, to: 0xffffffff },
      bounded: true,
    });
    expect(parseRange('zz', '')).toEqual({
      error: "'zz' is not an address (hex, e.g. 0x101150)",
    });
    expect(parseRange('0x200', '0x100')).toEqual({
      error: 'the range ends (0x00000100) before it starts (0x00000200)',
    });
    expect(spacedBytes('0f8dd9fc1f00')).toBe('0f 8d d9 fc 1f 00');
  });

  it('finds the fragments with code in a range', () => {
    const dump = sampleTranslationCache();
    expect(ids(fragmentsInRange(dump, WHOLE_RANGE))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ids(fragmentsInRange(dump, isprimeRange))).toEqual([1, 2, 3, 4]);
    // the last byte of the call, and nothing of isprime
    expect(ids(fragmentsInRange(dump, { from: 0x101146, to: 0x10114f }))).toEqual([0, 5]);
    expect(ids(fragmentsInRange(dump, { from: PRIME, to: NOT_PRIME - 1 }))).toEqual([]);
  });
});

describe('guest code never translated', () => {
  it('is isprime’s `prime`, reached only by exits still open (lecture §6)', () => {
    const gaps = untranslatedCode(sampleTranslationCache(), isprimeRange);
    expect(gaps).toEqual([
      {
        start: PRIME,
        end: NOT_PRIME,
        knownStarts: [
          {
            address: PRIME,
            from: [
              { fragment: 1, exit: 0 },
              { fragment: 3, exit: 1 },
            ],
          },
        ],
      },
    ]);
  });

  it('stays between the lowest and the highest translated byte of an open-ended range', () => {
    const dump = sampleTranslationCache();
    const expected = [
      { start: 0x10114d, end: ISPRIME, knownStarts: [] },
      expect.objectContaining({ start: PRIME, end: NOT_PRIME }),
    ];
    expect(untranslatedCode(dump, WHOLE_RANGE)).toEqual(expected);
    expect(untranslatedCode(dump, { from: 0x100000, to: 0x1fffff })).toEqual(expected);
    // a range cut inside a gap keeps its part of it
    expect(untranslatedCode(dump, { from: 0x10114e, to: ISPRIME + 1 })).toEqual([
      { start: 0x10114e, end: ISPRIME, knownStarts: [] },
    ]);
    // fully covered: nothing to list
    expect(untranslatedCode(dump, { from: ISPRIME, to: ISPRIME + 0x18 })).toEqual([]);
  });
});

describe('the replay', () => {
  const dump = sampleTranslationCache();
  const exits = (step: number): Record<string, string> => {
    const s = replay(dump, step);
    return Object.fromEntries(
      s.fragments.flatMap((f) =>
        f.exits.map((x) => [
          `${x.fragment}:${x.exit}`,
          x.state === 'open' ? 'open' : `${x.state} #${x.to}`,
        ]),
      ),
    );
  };

  it('starts empty and fills the open jumps in as their targets appear', () => {
    expect(replay(dump, 0)).toMatchObject({
      step: 0,
      fragments: [],
      last: undefined,
      counts: { open: 0, chained: 0, elided: 0 },
    });
    // the caller is translated: its call is open until isprime is
    expect(exits(1)).toEqual({ '0:0': 'open' });
    expect(exits(2)).toEqual({ '0:0': 'open', '1:0': 'open', '1:1': 'open' });
    expect(exits(3)).toMatchObject({ '0:0': 'chained #1' });
    // the loop body follows the first unit: no jump at all
    expect(exits(5)).toMatchObject({ '1:1': 'elided #2', '2:0': 'open' });
    // the division's jz is filled in only when notPrime is translated
    expect(exits(9)).toMatchObject({ '2:0': 'open' });
    expect(exits(10)).toMatchObject({ '2:0': 'chained #4', '3:0': 'chained #2' });
    const end = replay(dump, 99);
    expect(end.step).toBe(dump.events.length);
    expect(ids(end.fragments)).toEqual([0, 1, 2, 3, 4, 5]);
    // `prime` never appeared: the jnl and the loop's fall-through stay open
    expect(end.counts).toEqual({ open: 2, chained: 3, elided: 2 });
    expect(exits(99)).toMatchObject({ '1:0': 'open', '3:1': 'open' });
    expect(end.last).toEqual({ kind: 'translate', fragment: 5 });
  });

  it('reopens the jumps into a dropped fragment, and a flush empties the cache', () => {
    const withDrop: TranslationCacheDump = {
      ...dump,
      events: [...dump.events, { kind: 'invalidate', fragment: 2 }, { kind: 'flush' }],
    };
    const dropped = replay(withDrop, dump.events.length + 1);
    expect(dropped.fragments.find((f) => f.id === 2)!.dropped).toBe(true);
    const states = Object.fromEntries(
      dropped.fragments.flatMap((f) => f.exits.map((x) => [`${x.fragment}:${x.exit}`, x.state])),
    );
    // 1's fall-through ran into 2, 3's loop jumped to it: both open again
    expect(states).toMatchObject({ '1:1': 'open', '3:0': 'open', '0:0': 'chained' });
    // a dropped fragment's own exits are not counted
    expect(dropped.counts).toEqual({ open: 4, chained: 1, elided: 0 });
    const flushed = replay(withDrop, withDrop.events.length);
    expect(flushed).toMatchObject({ fragments: [], flushes: 1, last: { kind: 'flush' } });
  });

  it('says what each event did', () => {
    expect(describeEvent({ kind: 'translate', fragment: 1 }, dump)).toBe(
      'fragment #1 (guest 0x00101150) translated and placed in the cache',
    );
    expect(describeEvent({ kind: 'chain', from: 2, exit: 0, to: 4 }, dump)).toBe(
      "fragment #2's exit 0 filled in: it now jumps straight to fragment #4",
    );
    expect(describeEvent({ kind: 'elide', from: 1, to: 2 }, dump)).toMatch(
      /^fragment #2 placed right after fragment #1/,
    );
    expect(describeEvent({ kind: 'flush' }, dump)).toMatch(/flushed/);
  });

  it('ends, on a real binary-translation run, where the engine’s dump says its exits are', () => {
    const planned = prepareExperiment({
      ...SPEC_DEFAULTS,
      kernel: { kind: 'workload', workload: 'syscall' },
      techniques: ['binary-translation'],
      append: 'n=5',
    }).runs.find((r) => r.runSpec.technique === 'binary-translation')!;
    let real: TranslationCacheDump | undefined;
    const result = runExperiment(planned.runSpec, () => {}, undefined, undefined, {
      onTranslationCache: (d) => (real = d),
    });
    expect(result.status).toBe('completed');
    const d = TranslationCacheDumpSchema.parse(real);
    expect(d.eventsDropped).toBe(0);
    const end = replay(d, d.events.length);
    expect(ids(end.fragments)).toEqual(ids(d.fragments));
    const byId = new Map(d.fragments.map((f) => [f.id, f]));
    let checked = 0;
    for (const f of end.fragments) {
      const dumped = byId.get(f.id)!;
      if (!dumped.valid) continue;
      f.exits.forEach((x, k) => {
        const e = dumped.exits[k]!;
        const expected = e.elided ? 'elided' : e.linkedTo !== null ? 'chained' : 'open';
        expect(x.state, `#${f.id} exit ${k}`).toBe(expected);
        if (expected === 'chained') expect(x.to).toBe(e.linkedTo);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(50);
    expect(end.counts.chained).toBe(result.binaryTranslation!.chainsPatched);
  });
});
