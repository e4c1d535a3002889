// The cost model's parts on their own: the LRU cache against a reference model, SHA-256
// against node:crypto, and the CPU profiles (complete, whole numbers, every number sourced,
// the published figures TECHNIQUES.md quotes present as quoted).

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SetAssociativeCache } from '../../../src-main/engine/metrics/cache';
import { instructionKind } from '../../../src-main/engine/metrics/meter';
import {
  COST_KINDS,
  findProfile,
  listProfiles,
  requireProfile,
  validateProfile,
} from '../../../src-main/engine/metrics/profiles';
import { sha256Hex } from '../../../src-main/engine/metrics/sha256';
import { FORMS } from '../../../src-main/engine/isa/table';

/** The obvious LRU: per set, an array ordered from least to most recently used. */
class ReferenceLru {
  private readonly sets: number[][];
  constructor(
    private readonly setCount: number,
    private readonly ways: number,
  ) {
    this.sets = Array.from({ length: setCount }, () => []);
  }
  access(line: number): boolean {
    const set = this.sets[line % this.setCount]!;
    const at = set.indexOf(line);
    if (at >= 0) {
      set.splice(at, 1);
      set.push(line);
      return true;
    }
    if (set.length === this.ways) set.shift();
    set.push(line);
    return false;
  }
}

describe('SetAssociativeCache', () => {
  it('agrees with a reference LRU on a long pseudo-random access stream', () => {
    const cache = new SetAssociativeCache(4096, 4); // 16 sets × 4 ways
    const ref = new ReferenceLru(16, 4);
    let x = 12345;
    let misses = 0;
    const distinct = new Set<number>();
    for (let i = 0; i < 200_000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      // a mix of a hot loop and a wider working set
      const line = x % 3 === 0 ? (x >>> 8) % 400 : (x >>> 8) % 40;
      distinct.add(line);
      const hit = cache.access(line);
      if (hit !== ref.access(line)) throw new Error(`access ${i} (line ${line}) disagrees`);
      if (!hit) misses++;
    }
    expect(cache.accesses).toBe(200_000);
    expect(cache.misses).toBe(misses);
    expect(cache.footprintLines).toBe(distinct.size);
  });

  it('a handler footprint fetches each of its lines once', () => {
    const cache = new SetAssociativeCache(32 * 1024, 8);
    expect(cache.accessRange(0x1000_0000, 1000)).toBe(16); // 1000 bytes span 16 lines
    expect(cache.accessRange(0x1000_0000, 1000)).toBe(0);
    expect(cache.accessRange(0x1000_0020, 64)).toBe(0); // straddles two lines already in
    expect(cache.accesses).toBe(34);
  });

  it('refuses a geometry without a power-of-two number of sets', () => {
    expect(() => new SetAssociativeCache(3000, 4)).toThrow(/power of two/);
  });
});

describe('sha256Hex', () => {
  it.each([0, 1, 55, 56, 63, 64, 65, 1000, 100_000])('matches node:crypto on %i bytes', (n) => {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 131 + 7) & 0xff);
    expect(sha256Hex(data)).toBe(createHash('sha256').update(data).digest('hex'));
  });
});

describe('CPU profiles', () => {
  it('lists p4-2006, core2-2007 and modern, each complete and valid', () => {
    expect(listProfiles().map((p) => p.id)).toEqual(['p4-2006', 'core2-2007', 'modern']);
    for (const { id } of listProfiles()) {
      const p = requireProfile(id);
      expect(() => validateProfile(p)).not.toThrow();
      for (const k of COST_KINDS) expect(p.costs[k.kind], `${id} ${k.kind}`).toBeDefined();
    }
    expect(findProfile('nope')).toBeUndefined();
    expect(() => requireProfile('nope')).toThrow(/available: p4-2006, core2-2007, modern/);
  });

  it('carries the published figures TECHNIQUES.md quotes, with their source', () => {
    const p4 = requireProfile('p4-2006');
    expect(p4.frequencyHz).toBe(3_800_000_000);
    expect(p4.costs['insn.cli']).toMatchObject({ cycles: 60 });
    expect(p4.costs['event.pagefault']).toMatchObject({ cycles: 1093 });
    expect(p4.costs['event.exception']).toMatchObject({ cycles: 889 });
    expect(p4.costs['insn.call']!.cycles + p4.costs['insn.ret']!.cycles).toBe(11);
    for (const kind of ['insn.cli', 'event.pagefault', 'event.exception', 'insn.call']) {
      expect(p4.costs[kind]!.source).toContain('[AA06]');
    }
    expect(requireProfile('core2-2007').frequencyHz).toBe(2_660_000_000);
  });

  it('a profile with a missing or fractional cost is refused', () => {
    const p4 = requireProfile('p4-2006');
    const costs = { ...p4.costs };
    delete (costs as Record<string, unknown>)['mmu.walk'];
    expect(() => validateProfile({ ...p4, costs })).toThrow(/no cost for mmu.walk/);
    expect(() =>
      validateProfile({ ...p4, costs: { ...p4.costs, 'insn.alu': { cycles: 0.5, source: 'x' } } }),
    ).toThrow(/whole number/);
  });

  it('prices every instruction form of the opcode table under a known kind', () => {
    const kinds = new Set(COST_KINDS.map((k) => k.kind));
    for (const f of FORMS) expect(kinds.has(instructionKind(f)), f.mnemonic).toBe(true);
    const call = FORMS.find((f) => f.mnemonic === 'call' && f.flow === 'call')!;
    expect(instructionKind(call)).toBe('insn.call');
    expect(instructionKind(FORMS.find((f) => f.mnemonic === 'cli')!)).toBe('insn.cli');
    expect(instructionKind(FORMS.find((f) => f.mnemonic === 'div')!)).toBe('insn.div');
  });
});
