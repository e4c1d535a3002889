import { describe, expect, it } from 'vitest';
import { formatCount, formatPercent, formatRate, formatRatio } from '../../src-renderer/format';

describe('renderer number formatting', () => {
  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(-1234567)).toBe('-1,234,567');
    expect(formatCount(Number.NaN)).toBe('—');
  });
  it('writes ratios against a baseline', () => {
    expect(formatRatio(180, 100)).toBe('1.80×');
    expect(formatRatio(1500, 100)).toBe('15.0×');
    expect(formatRatio(25000, 100)).toBe('250×');
    expect(formatRatio(5, 0)).toBe('—');
  });
  it('writes percentages and rates', () => {
    expect(formatPercent(0.9734)).toBe('97.3%');
    expect(formatRate(41_234_000)).toBe('41.2 MIPS');
    expect(formatRate(850_000)).toBe('850 KIPS');
    expect(formatRate(12)).toBe('12 IPS');
    expect(formatRate(-1)).toBe('—');
  });
});
