// @vitest-environment happy-dom
// The Translation-cache viewer on the lecture's isprime (test/helpers/sample-translation-cache.ts)
// behind a fake bridge: it asks for the open experiment's dump once; lists the fragments in
// translation order; shows a fragment's guest instructions beside the cache instructions they
// became, rewritten ones marked by treatment with a legend; its exits with where they are
// chained, a click going there; the address filter with the guest code no fragment covers;
// and the replay's step control driving the chain diagram. Compare leads to it.

import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HistoryFile } from '../../shared/results';
import { useResultsStore } from '../../src-renderer/stores/results';
import { useUiStore } from '../../src-renderer/stores/ui';
import CompareView from '../../src-renderer/views/CompareView.vue';
import TranslationCacheView from '../../src-renderer/views/TranslationCacheView.vue';
import { installFakeCanvas } from './helpers/canvas';
import { Refusal, SAMPLE_CATALOG, sampleHistoryFile } from './helpers/fake-bridge';
import { setupRenderer } from './helpers/setup';
import { ISPRIME, NOT_PRIME, sampleTranslationCache } from '../helpers/sample-translation-cache';

let wrapper: VueWrapper | null = null;

beforeAll(() => installFakeCanvas());
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

async function mountViewer(
  file: HistoryFile | null = sampleHistoryFile(),
  answer: () => ReturnType<typeof sampleTranslationCache> = sampleTranslationCache,
) {
  const { pinia, bridge } = setupRenderer({
    catalog: () => SAMPLE_CATALOG,
    loadTranslationCache: () => answer(),
  });
  useResultsStore().set(file);
  wrapper = mount(TranslationCacheView, { global: { plugins: [pinia] }, attachTo: document.body });
  await flushPromises();
  return { w: wrapper, bridge };
}

const listed = (w: VueWrapper): string[] =>
  w.findAll('.tc-fragment-list button').map((b) => b.attributes('data-fragment')!);
const boxes = (w: VueWrapper): string[] =>
  w.findAll('.chain-diagram .tc-box').map((b) => b.attributes('data-fragment')!);
const diagramExits = (w: VueWrapper): Record<string, string> =>
  Object.fromEntries(
    w
      .findAll('.chain-diagram .tc-exit')
      .map((e) => [e.attributes('data-exit')!, e.attributes('data-state')!]),
  );

describe('the Translation-cache viewer', () => {
  it('loads the open experiment’s dump and lists its fragments in translation order', async () => {
    const file = sampleHistoryFile();
    const { w, bridge } = await mountViewer(file);
    expect(bridge.calls('loadTranslationCache')).toEqual([
      { method: 'loadTranslationCache', id: file.id },
    ]);
    expect(w.get('.tc-facts').text()).toMatch(/binary-translation · 6 fragments · 77 bytes of/);
    expect(listed(w)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(w.get('.tc-fragment-list [aria-current="true"]').attributes('data-fragment')).toBe('0');
    expect(w.get('#tc-fragment-title').text()).toMatch(
      /^Fragment #0\s+guest 0x0010113f–0x00101146 → cache 0xffc03000–0xffc03015 \(22 bytes\)/,
    );
  });

  it('shows each guest instruction beside what it became, marked by treatment, with a legend', async () => {
    const { w } = await mountViewer();
    const rows = w.findAll('.tc-table tbody tr');
    // cli, mov, and the call's two cache instructions (push, jmp)
    expect(rows.map((r) => r.classes().find((c) => c.startsWith('treatment-')))).toEqual([
      'treatment-inline',
      'treatment-ident',
      'treatment-control-flow',
      'treatment-control-flow',
    ]);
    const cells = rows.map((r) => r.findAll('td').map((c) => c.text()));
    expect(cells[0]).toEqual([
      '0x0010113f',
      'fa',
      'cli',
      'inline',
      '0xffc03000',
      'c7 05 00 10 c0 ff 00 00 00 00',
      'mov dword [0xffc01000], 0x0',
    ]);
    expect(cells[1]).toEqual([
      '0x00101140',
      '89 c7',
      'mov edi, eax',
      'ident',
      '0xffc0300a',
      '89 c7',
      'mov edi, eax',
    ]);
    // one guest instruction over both its cache instructions
    expect(rows[2]!.findAll('td')[0]!.attributes('rowspan')).toBe('2');
    expect(cells[3]).toEqual(['0xffc03011', 'e9 00 00 00 00', expect.stringMatching(/^jmp near/)]);
    const legend = w.findAll('.tc-legend li');
    expect(legend.map((l) => l.classes()[0])).toEqual([
      'treatment-ident',
      'treatment-control-flow',
      'treatment-inline',
      'treatment-callout',
    ]);
    expect(legend[3]!.text()).toMatch(/^callout/);
  });

  it('lists the exits with where they are chained, and a click goes to that fragment', async () => {
    const { w } = await mountViewer();
    expect(w.get('.tc-exits').text()).toMatch(/jump to 0x00101150: chained to fragment #1/);
    await w.get('.tc-exits button[data-action="go-to-fragment"]').trigger('click');
    expect(w.get('#tc-fragment-title').text()).toMatch(/^Fragment #1/);
    expect(w.get('.tc-fragment-list [aria-current="true"]').attributes('data-fragment')).toBe('1');
    const exits = w.findAll('.tc-exits li');
    expect(exits.map((e) => e.classes())).toEqual([['state-open'], ['state-elided']]);
    expect(exits[0]!.text()).toMatch(/^jump to 0x00101169: open: through its stub/);
    expect(exits[0]!.find('button').exists()).toBe(false); // prime was never translated
    expect(exits[1]!.text()).toMatch(/fall-through to 0x0010115b: elided/);
    // the elided fall-through's target is #2, placed right after
    await exits[1]!.get('button').trigger('click');
    expect(w.get('#tc-fragment-title').text()).toMatch(/^Fragment #2/);
    // a box of the diagram selects its fragment too
    await w.get('.chain-diagram .tc-box[data-fragment="4"]').trigger('click');
    expect(w.get('#tc-fragment-title').text()).toMatch(/^Fragment #4/);
    expect(w.find('.tc-exits').exists()).toBe(false);
    expect(w.get('.tc-fragment').text()).toMatch(/None: it ends in a callout/);
  });

  it('focuses on one routine by its guest addresses, and lists the code never translated', async () => {
    const { w } = await mountViewer();
    expect(w.get('.tc-untranslated').text()).toMatch(/Give a guest address range above/);
    await w.get('#tc-from').setValue(`0x${ISPRIME.toString(16)}`);
    await w.get('#tc-to').setValue(`0x${(NOT_PRIME + 2).toString(16)}`);
    expect(listed(w)).toEqual(['1', '2', '3', '4']);
    // the selection follows the filter; the diagram draws the routine only
    expect(w.get('#tc-fragment-title').text()).toMatch(/^Fragment #1/);
    expect(boxes(w)).toEqual(['1', '2', '3', '4']);
    expect(w.get('#tc-range-hint').text()).toBe(
      '4 of 6 fragments have code in 0x00101150–0x00101171',
    );
    const gaps = w.findAll('.tc-gaps tbody tr');
    expect(gaps.map((g) => g.findAll('td').map((c) => c.text().replace(/\s+/g, ' ')))).toEqual([
      ['0x00101169–0x0010116e', '6', '0x00101169 (target of #1 exit 0, #3 exit 1)'],
    ]);
    // the exit from the caller into isprime now ends in a stub naming it
    await w.get('#tc-from').setValue('0x10113f');
    await w.get('#tc-to').setValue('0x101146');
    expect(boxes(w)).toEqual(['0']);
    expect(w.get('.chain-diagram .exit-elsewhere text').text()).toBe('→ #1');
    // a bad address says so and filters nothing
    await w.get('#tc-to').setValue('prime');
    expect(w.get('#tc-range-hint').text()).toBe("'prime' is not an address (hex, e.g. 0x10116f)");
    expect(w.get('#tc-to').attributes('aria-invalid')).toBe('true');
    expect(listed(w)).toHaveLength(6);
    await w.get('button[data-action="clear-filter"]').trigger('click');
    expect((w.get('#tc-from').element as HTMLInputElement).value).toBe('');
    // "filter to its addresses" on a fragment
    await w.get('.tc-fragment-list button[data-fragment="3"]').trigger('click');
    await w.get('button[data-action="focus-fragment"]').trigger('click');
    expect((w.get('#tc-from').element as HTMLInputElement).value).toBe('0x00101164');
    expect((w.get('#tc-to').element as HTMLInputElement).value).toBe('0x00101168');
    expect(listed(w)).toEqual(['3']);
  });

  it('replays the events step by step: fragments appear, open jumps are filled in', async () => {
    const { w } = await mountViewer();
    const status = (): string => w.get('[data-testid="replay-status"]').text();
    const step = (name: string) => w.get(`button[data-step="${name}"]`).trigger('click');
    // it opens on the end of the run
    expect(status()).toMatch(
      /^After 11 of 11 events: 6 fragments in the cache · 3 exits filled in · 2 fall-throughs elided · 2 exits still open\. Last: fragment #5/,
    );
    expect(boxes(w)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(w.get('button[data-step="next"]').attributes('disabled')).toBeDefined();
    await step('first');
    expect(status()).toMatch(/^After 0 of 11 events: 0 fragments .*Nothing translated yet/);
    expect(boxes(w)).toEqual([]);
    expect(w.get('button[data-step="previous"]').attributes('disabled')).toBeDefined();
    await step('next');
    expect(boxes(w)).toEqual(['0']);
    expect(diagramExits(w)).toEqual({ '0:0': 'open' });
    // the dangling stub names the address it waits for
    expect(w.get('.chain-diagram .exit-open text').text()).toBe('0x00101150');
    await step('next');
    await step('next');
    expect(status()).toMatch(
      /^After 3 of 11 events: 2 fragments .* 1 exits filled in .*Last: fragment #0's exit 0 filled in/,
    );
    expect(diagramExits(w)).toEqual({ '0:0': 'chained', '1:0': 'open', '1:1': 'open' });
    expect(w.findAll('.chain-diagram .exit-arrow')).toHaveLength(1);
    // straight to step 9: notPrime translated, the jz not yet filled in
    const input = w.get('#tc-step');
    await input.setValue('9');
    await input.trigger('change');
    expect(status()).toMatch(/^After 9 of 11 events: 5 fragments/);
    expect(diagramExits(w)['2:0']).toBe('open');
    await step('next');
    expect(diagramExits(w)['2:0']).toBe('chained');
    // elided fall-throughs join a box to the next one
    expect(w.findAll('.chain-diagram .exit-joined').map((e) => e.attributes('data-exit'))).toEqual([
      '1:1',
      '2:1',
    ]);
    await step('previous');
    expect(diagramExits(w)['2:0']).toBe('open');
    await step('last');
    expect(status()).toMatch(/^After 11 of 11 events/);
    // out-of-range steps are clamped
    await input.setValue('500');
    await input.trigger('change');
    expect(status()).toMatch(/^After 11 of 11 events/);
  });

  it('says why when there is no dump, and never asks without a binary-translation run', async () => {
    const refused = await mountViewer(sampleHistoryFile(), () => {
      throw new Refusal(
        "experiment 'x' kept no translation-cache dump of its binary-translation run: it was opened from a file",
      );
    });
    expect(refused.w.get('[role="alert"]').text()).toMatch(
      /The translation cache cannot be shown.*kept no translation-cache dump.*opened from a file/,
    );
    refused.w.unmount();
    wrapper = null;
    const file = sampleHistoryFile();
    const nativeOnly = {
      ...file,
      runs: file.runs.filter((r) => r.technique !== 'binary-translation'),
    };
    const { w, bridge } = await mountViewer(nativeOnly);
    expect(w.text()).toContain('This experiment has no binary-translation run');
    expect(bridge.calls('loadTranslationCache')).toEqual([]);
    w.unmount();
    wrapper = null;
    const none = await mountViewer(null);
    expect(none.w.text()).toContain('No experiment is open');
  });
});

describe('the way there from Compare', () => {
  it('a binary-translation run’s table has a button that opens the viewer', async () => {
    const { pinia } = setupRenderer({ catalog: () => SAMPLE_CATALOG });
    useResultsStore().set(sampleHistoryFile(undefined, { withBinaryTranslation: true }));
    wrapper = mount(CompareView, { global: { plugins: [pinia] }, attachTo: document.body });
    await flushPromises();
    const buttons = wrapper.findAll('button[data-action="open-translation-cache"]');
    expect(buttons).toHaveLength(1);
    await buttons[0]!.trigger('click');
    expect(useUiStore().view).toBe('translation-cache');
  });
});
