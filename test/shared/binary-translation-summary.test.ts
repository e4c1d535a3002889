// The binary-translation table of a run (the Compare view and the HTML report): the figures
// derived from RunResult.binaryTranslation — the IDENT share, bytes per instruction, the
// translation cache's use of its capacity, the callouts in total and by kind, most frequent
// first — and nothing for a run without translator metrics.

import { describe, expect, it } from 'vitest';
import {
  binaryTranslationRows,
  bytesPerInstruction,
  calloutTotal,
  describeCacheUse,
  describeCallouts,
  identShare,
} from '../../shared/binary-translation-summary';
import { type BinaryTranslationMetrics } from '../../shared/results';
import { SAMPLE_BINARY_TRANSLATION, sampleResults } from '../helpers/sample-results';

const metrics = (over: Partial<BinaryTranslationMetrics> = {}): BinaryTranslationMetrics => ({
  ...SAMPLE_BINARY_TRANSLATION,
  ...over,
});

const SAMPLE_CALLOUTS =
  'lookup:ret × 2,140; translate × 486; lookup:indirect × 312; emulate:out × 300; ' +
  'emulate:iret × 65; pending-interrupt × 25; emulate:mov-to-cr × 24; emulate:hlt × 3';

describe('the binary-translation table', () => {
  it('is empty for a run without translator metrics', () => {
    for (const run of sampleResults({ withParavirt: true }).runs) {
      expect(binaryTranslationRows(run), run.technique).toEqual([]);
    }
  });

  it('the sample is consistent: the four kinds of translation add up to the instructions', () => {
    const m = SAMPLE_BINARY_TRANSLATION;
    expect(m.ident + m.controlFlow + m.inline + m.callout).toBe(m.guestInstructions);
    expect(m.guestInstructions).toBeLessThanOrEqual(12 * m.units);
  });

  it('lists every figure of a binary-translation run, in order', () => {
    const file = sampleResults({ withBinaryTranslation: true });
    const run = file.runs.find((r) => r.technique === 'binary-translation')!;
    expect(binaryTranslationRows(run)).toEqual([
      { label: 'translation units', value: 486 },
      { label: 'guest instructions translated', value: 3_412 },
      { label: 'IDENT share (copied unchanged)', value: '81.9%' },
      { label: 'rewritten control flow (jmp, jcc, call, ret, loop…)', value: 452 },
      { label: 'sensitive, inline sequence (cli, sti, pushf, popf…)', value: 118 },
      { label: 'sensitive, callout into the hypervisor', value: 47 },
      { label: 'fragment bytes emitted', value: 16_873 },
      { label: 'fragment bytes per guest instruction', value: 4.95 },
      {
        label: 'translation cache used (bytes emitted of capacity)',
        value: '16,873 of 262,144 bytes (6.4%)',
      },
      { label: 'chains patched (jumps linked to their fragment)', value: 391 },
      { label: 'fall-throughs elided', value: 38 },
      { label: 'fragments invalidated (guest wrote their code)', value: 6 },
      { label: 'instructions retranslated into a callout', value: 3 },
      { label: 'whole-cache flushes', value: 0 },
      { label: 'callouts executed', value: 3_355 },
      { label: 'callouts by kind', value: SAMPLE_CALLOUTS },
    ]);
  });

  it('gives the IDENT share with one decimal, and a dash with nothing translated', () => {
    expect(identShare(SAMPLE_BINARY_TRANSLATION)).toBe('81.9%');
    expect(identShare(metrics({ ident: 1, guestInstructions: 3 }))).toBe('33.3%');
    expect(identShare(metrics({ ident: 2, guestInstructions: 3 }))).toBe('66.7%');
    expect(identShare(metrics({ ident: 7, guestInstructions: 7 }))).toBe('100.0%');
    expect(identShare(metrics({ ident: 0, guestInstructions: 5 }))).toBe('0.0%');
    expect(identShare(metrics({ ident: 0, guestInstructions: 0 }))).toBe('—');
  });

  it('gives bytes per guest instruction to 2 digits, and a dash with nothing translated', () => {
    expect(bytesPerInstruction(SAMPLE_BINARY_TRANSLATION)).toBe(4.95);
    expect(bytesPerInstruction(metrics({ fragmentBytes: 10, guestInstructions: 3 }))).toBe(3.33);
    expect(bytesPerInstruction(metrics({ fragmentBytes: 0, guestInstructions: 0 }))).toBe('—');
  });

  it('says how much of the translation cache the fragments took, past full after flushes', () => {
    expect(describeCacheUse(SAMPLE_BINARY_TRANSLATION)).toBe('16,873 of 262,144 bytes (6.4%)');
    expect(describeCacheUse(metrics({ fragmentBytes: 98_304, cacheBytes: 65_536 }))).toBe(
      '98,304 of 65,536 bytes (150.0%)',
    );
    expect(describeCacheUse(metrics({ fragmentBytes: 0, cacheBytes: 0 }))).toBe('0 of 0 bytes (—)');
  });

  it('counts every callout, and lists the kinds most frequent first, ties by name', () => {
    expect(calloutTotal(SAMPLE_BINARY_TRANSLATION)).toBe(3_355);
    expect(calloutTotal(metrics({ callouts: {} }))).toBe(0);
    expect(describeCallouts(SAMPLE_BINARY_TRANSLATION)).toBe(SAMPLE_CALLOUTS);
    const tied = metrics({ callouts: { 'lookup:ret': 9, translate: 12, 'emulate:in': 9 } });
    expect(describeCallouts(tied)).toBe('translate × 12; emulate:in × 9; lookup:ret × 9');
    // counts compare as numbers, not as text
    const sized = metrics({ callouts: { a: 9, b: 10, c: 1_000 } });
    expect(describeCallouts(sized)).toBe('c × 1,000; b × 10; a × 9');
    expect(describeCallouts(metrics({ callouts: {} }))).toBe('none');
  });
});
