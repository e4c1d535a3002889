// The para-API table of a run (the Compare view and the HTML report): the figures derived
// from RunResult.paravirt — total, entries per call, the batch-size histogram in numeric
// order, the refused hypercalls — and nothing for a run without para-API metrics.

import { describe, expect, it } from 'vitest';
import {
  describeBatchSizes,
  describeRefused,
  entriesPerCall,
  hypercallTotal,
  paravirtRows,
} from '../../shared/paravirt-summary';
import { type ParavirtMetrics } from '../../shared/results';
import { SAMPLE_PARAVIRT, sampleResults } from '../helpers/sample-results';

const metrics = (over: Partial<ParavirtMetrics['mmuUpdate']> = {}): ParavirtMetrics => ({
  ...SAMPLE_PARAVIRT,
  mmuUpdate: { ...SAMPLE_PARAVIRT.mmuUpdate, ...over },
});

describe('the para-API table', () => {
  it('is empty for a run without para-API metrics', () => {
    for (const run of sampleResults().runs) expect(paravirtRows(run)).toEqual([]);
  });

  it('lists every figure of a para-virtual run, in order', () => {
    const run = sampleResults({ withParavirt: true }).runs[3]!;
    expect(paravirtRows(run)).toEqual([
      { label: 'hypercalls', value: 132 },
      { label: 'mmu_update calls', value: 14 },
      { label: 'page-table entries applied', value: 121 },
      { label: 'entries per mmu_update call', value: 8.64 },
      {
        label: 'batch sizes (entries: calls)',
        value: '1 entry: 10 calls; 16 entries: 3 calls; 64 entries: 1 call',
      },
      { label: 'mmu_update calls that flushed the TLB', value: 2 },
      { label: 'upcalls (events delivered)', value: 25 },
      { label: 'events that waited while masked', value: 6 },
      {
        label: 'refused hypercalls (name:error)',
        value: 'mmu_update:EPERM × 1; unknown:ENOSYS × 1',
      },
      { label: 'direct page-table writes (emulated)', value: 0 },
      { label: 'page-table entries prefilled (whole tables)', value: 15_360 },
    ]);
  });

  it('counts every hypercall, refused ones included', () => {
    expect(hypercallTotal(SAMPLE_PARAVIRT)).toBe(132);
    expect(hypercallTotal({ ...SAMPLE_PARAVIRT, hypercalls: {} })).toBe(0);
  });

  it('has no entries per call without a call', () => {
    expect(entriesPerCall(metrics({ calls: 0, entries: 0 }))).toBeNull();
    expect(entriesPerCall(metrics({ calls: 3, entries: 1 }))).toBe(0.33);
    expect(entriesPerCall(metrics({ calls: 2, entries: 128 }))).toBe(64);
  });

  it('orders batch sizes as numbers, not as their decimal text', () => {
    const histogram = metrics({ batchSizes: { '100': 1, '16': 2, '2': 1, '1': 3000 } });
    expect(describeBatchSizes(histogram)).toBe(
      '1 entry: 3,000 calls; 2 entries: 1 call; 16 entries: 2 calls; 100 entries: 1 call',
    );
    expect(describeBatchSizes(metrics({ batchSizes: {} }))).toBe('no mmu_update call');
  });

  it('lists refused hypercalls most frequent first, or says there were none', () => {
    const refused = { ...SAMPLE_PARAVIRT, errors: { 'set_cr3:EPERM': 2, 'io_out:EINVAL': 5 } };
    expect(describeRefused(refused)).toBe('io_out:EINVAL × 5; set_cr3:EPERM × 2');
    expect(describeRefused({ ...SAMPLE_PARAVIRT, errors: {} })).toBe('none');
  });
});
