// @vitest-environment happy-dom
// The preset "isprime(49), as in the lecture" behind a fake API: it asks for the routine's
// labels (kernelSymbols), starts the lecture experiment through the Experiment store, and when
// it is finished opens the Translation-cache viewer on it with the filter on isprime and the
// replay at the routine's first step, captioned in the lecture's words; stepping through the
// routine's steps ends on `prime` never translated. An unknown label is reported, nothing runs.

import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { type ActiveExperiment } from '../../shared/api';
import { SPEC_DEFAULTS, type ExperimentSpec } from '../../shared/results';
import { routineSteps } from '../../src-renderer/lecture-preset';
import { useExperimentStore } from '../../src-renderer/stores/experiment';
import { useUiStore } from '../../src-renderer/stores/ui';
import TranslationCacheView from '../../src-renderer/views/TranslationCacheView.vue';
import { Refusal, SAMPLE_CATALOG, sampleHistoryFile } from './helpers/fake-bridge';
import { settle, setupRenderer } from './helpers/setup';
import {
  ISPRIME,
  NOT_PRIME,
  PRIME,
  sampleTranslationCache,
} from '../helpers/sample-translation-cache';

const ID = '2026-12-07T17-00-00-000Z-ab12cd';
const SYMBOLS: Record<string, number> = {
  lecture_isprime: ISPRIME,
  lecture_isprime_end: NOT_PRIME + 3,
  'lecture_isprime.nexti': ISPRIME + 0x0b,
  'lecture_isprime.prime': PRIME,
  'lecture_isprime.not_prime': NOT_PRIME,
};

let wrapper: VueWrapper | null = null;
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

function mountWith(symbols: (names: readonly string[]) => Record<string, number>) {
  const { pinia, bridge } = setupRenderer({
    catalog: () => SAMPLE_CATALOG,
    activeExperiments: () => [],
    kernelSymbols: (r) => symbols(r.names),
    startExperiment: (r): ActiveExperiment => {
      const spec = r.spec as ExperimentSpec;
      return { id: ID, spec, runs: [] };
    },
    loadExperiment: () => sampleHistoryFile(ID),
    loadTranslationCache: () => sampleTranslationCache(),
  });
  wrapper = mount(TranslationCacheView, { global: { plugins: [pinia] }, attachTo: document.body });
  return { w: wrapper, bridge };
}

describe('the preset “isprime(49), as in the lecture”', () => {
  it('runs the lecture experiment and opens the viewer on isprime at its first step', async () => {
    const { w, bridge } = mountWith((names) =>
      Object.fromEntries(names.map((n) => [n, SYMBOLS[n]!])),
    );
    await useExperimentStore().connect();
    const button = w.get('button[data-action="lecture-preset"]');
    expect(button.text()).toBe('Preset: isprime(49), as in the lecture');
    await button.trigger('click');
    await flushPromises();
    expect(bridge.calls('kernelSymbols')[0]!.names).toContain('lecture_isprime');
    expect(bridge.calls('startExperiment')).toHaveLength(1);
    expect(bridge.calls('startExperiment')[0]!.spec).toEqual({
      ...SPEC_DEFAULTS,
      kernel: { kind: 'workload', workload: 'lecture' },
      techniques: ['native', 'binary-translation'],
      append: 'n=49',
    });
    expect(w.get('[data-testid="preset-status"]').text()).toMatch(/Running isprime\(49\)/);
    bridge.emit({ type: 'finished', experimentId: ID });
    await settle();
    expect(useUiStore().view).toBe('translation-cache');
    expect((w.get('#tc-from').element as HTMLInputElement).value).toBe('0x00101150');
    expect((w.get('#tc-to').element as HTMLInputElement).value).toBe(
      `0x${(NOT_PRIME + 2).toString(16).padStart(8, '0')}`,
    );
    const dump = sampleTranslationCache();
    const steps = routineSteps(dump, { from: ISPRIME, to: NOT_PRIME + 2 });
    expect(steps.length).toBeGreaterThanOrEqual(4);
    // the replay at the first step of isprime: its first unit translated, jge left open
    expect(Number((w.get('#tc-step').element as HTMLInputElement).value)).toBe(steps[0]!.step);
    const caption = () => w.get('[data-testid="lecture-caption"]').text();
    expect(caption()).toMatch(/^Translation unit 1 read at lecture_isprime \(0x00101150\)/);
    expect(caption()).toMatch(/innocuous and are left alone/);
    expect(caption()).toMatch(/its jge to prime \(0x00101169\) is left open/);
    expect(w.findAll('.chain-diagram .tc-box')).toHaveLength(1);
    // step through: a jump filled in as its target appears
    const seen: string[] = [caption()];
    const next = () => w.get('button[data-routine-step="next"]').element as HTMLButtonElement;
    for (let guard = 0; !next().disabled && guard < 100; guard++) {
      await w.get('button[data-routine-step="next"]').trigger('click');
      seen.push(caption());
    }
    expect(seen).toHaveLength(steps.length);
    expect(seen.some((c) => /jz is filled in/.test(c) && /not_prime/.test(c))).toBe(true);
    expect(seen.at(-1)).toMatch(/prime \(0x00101169\) is never translated/);
    // the previous routine step goes back
    await w.get('button[data-routine-step="previous"]').trigger('click');
    expect(caption()).toBe(seen.at(-2));
  });

  it('says so when the kernel has no such label, and runs nothing', async () => {
    const { w, bridge } = mountWith(() => {
      throw new Refusal("the bundled kernel has no label 'lecture_isprime'");
    });
    await w.get('button[data-action="lecture-preset"]').trigger('click');
    await settle();
    expect(bridge.calls('startExperiment')).toEqual([]);
    expect(w.get('[role="alert"]').text()).toMatch(/no label 'lecture_isprime'/);
  });
});
