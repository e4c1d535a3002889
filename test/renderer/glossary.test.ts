// @vitest-environment happy-dom
// The lecture glossary and the About dialog: the glossary data (every entry defined, placed in
// the lecture, no name used twice, every "see also" resolving), the search ranking, the
// glossary dialog (opens focused on its search box, filters, says when nothing matches,
// closes on Escape and Close, gives focus back, lists the catalog's techniques) and the About
// dialog (the catalog's versions, "not connected" without one, the runtime from the user agent).

import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Catalog } from '../../shared/api';
import AboutDialog from '../../src-renderer/components/AboutDialog.vue';
import GlossaryDialog from '../../src-renderer/components/GlossaryDialog.vue';
import {
  GLOSSARY,
  findGlossaryEntry,
  normalizeForSearch,
  searchGlossary,
  sortedGlossary,
} from '../../src-renderer/glossary';
import { useCatalogStore } from '../../src-renderer/stores/catalog';
import { SAMPLE_CATALOG } from './helpers/fake-bridge';
import { setupRenderer } from './helpers/setup';

const ELECTRON_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) vmm-workbench/0.1.0 ' +
  'Chrome/146.0.7680.65 Electron/42.11.18 Safari/537.36';
const FIREFOX_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

/** A catalog with a technique no code names: it must show up all the same. */
const CATALOG: Catalog = {
  ...SAMPLE_CATALOG,
  appVersion: '0.3.1',
  engineVersion: '0.2.7',
  schemaVersion: 4,
  techniques: [
    ...SAMPLE_CATALOG.techniques,
    {
      id: 'hardware-assisted-npt',
      name: 'Hardware-assisted (nested paging)',
      summary: 'VT-x style guest mode with a two-dimensional page walk',
      reference: 'TECHNIQUES.md',
      runsKernelFiles: true,
    },
  ],
};

let wrapper: VueWrapper | null = null;
let outside: HTMLButtonElement | null = null;

beforeEach(() => {
  outside = document.createElement('button');
  outside.textContent = 'Help';
  document.body.appendChild(outside);
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  outside?.remove();
  outside = null;
});

function keydown(target: Element, key: string): KeyboardEvent {
  const event = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true });
  target.dispatchEvent(event);
  return event;
}

describe('the glossary data', () => {
  it('defines every entry and places it in the lecture', () => {
    expect(GLOSSARY.length).toBeGreaterThanOrEqual(40);
    for (const entry of GLOSSARY) {
      expect(entry.term.trim(), JSON.stringify(entry)).not.toBe('');
      expect(entry.definition.trim().length, entry.term).toBeGreaterThan(40);
      expect(entry.lecture, entry.term).toMatch(/^§\d/);
      if (entry.inApp !== undefined) expect(entry.inApp.trim(), entry.term).not.toBe('');
    }
  });

  it('uses no term or alias twice', () => {
    const seen = new Map<string, string>();
    for (const entry of GLOSSARY) {
      for (const name of [entry.term, ...(entry.aliases ?? [])]) {
        const key = normalizeForSearch(name);
        expect(key, `${name} (${entry.term})`).not.toBe('');
        expect(seen.get(key), `${name} of ${entry.term}`).toBeUndefined();
        seen.set(key, entry.term);
      }
    }
  });

  it('resolves every "see also" to another entry', () => {
    for (const entry of GLOSSARY) {
      for (const name of entry.see ?? []) {
        const target = findGlossaryEntry(name);
        expect(target, `${entry.term} → ${name}`).toBeDefined();
        expect(target, `${entry.term} refers to itself`).not.toBe(entry);
      }
    }
  });

  it('covers the lecture’s vocabulary and the app’s measures', () => {
    for (const name of [
      'privileged state',
      'control-sensitive instruction',
      'behavior-sensitive instruction',
      'sensitive instruction',
      'innocuous instruction',
      'privileged instruction',
      'Popek and Goldberg theorem',
      'equivalence',
      'resource control',
      'efficiency property',
      'trap',
      'trap-and-emulate',
      'de-privileging',
      'virtual interrupt flag',
      'world switch',
      'hypervisor',
      'VMM',
      'guest',
      'CPL',
      'rings',
      'IF',
      'IOPL',
      'EFLAGS',
      'POPF trouble',
      'CR3',
      'page tables',
      'shadow page table',
      'hidden page fault',
      'true page fault',
      'TLB',
      'para-virtualization',
      'para-API',
      'hypercall',
      'shared-info page',
      'mmu_update batching',
      'binary translation',
      'translation unit',
      'compiled code fragment',
      'translation cache',
      'IDENT',
      'callout',
      'chaining',
      'instruction-cache locality',
      'interpretive execution',
      'pure interpretation',
      'hardware-assisted virtualization',
      'VM exit',
      'VMCS',
      'silent sensitive instruction',
      'classic',
      'strict',
      'modeled cycles',
      'cost model',
      'CPU profile',
      'MPKI',
    ]) {
      expect(findGlossaryEntry(name), name).toBeDefined();
    }
  });

  it('says where the app shows what the binary translator did', () => {
    const where = (term: string): string => findGlossaryEntry(term)?.inApp ?? '';
    for (const term of [
      'Binary translation',
      'Translation unit',
      'Compiled code fragment',
      'Translation cache',
      'IDENT',
      'Callout',
      'Chaining',
    ]) {
      expect(where(term), term).toMatch(/Compare → (Binary translation|Callouts by kind)/);
    }
    expect(where('IDENT')).toContain('IDENT share');
    expect(where('Callout')).toContain('Callouts by kind');
    expect(where('Chaining')).toContain('chains patched');
    expect(where('Binary translation')).toContain('Report → Binary translation');
    expect(findGlossaryEntry('Translation unit')!.definition).toContain('12 instructions');
  });
});

describe('searchGlossary', () => {
  const terms = (query: string): string[] => searchGlossary(query).map((e) => e.term);

  it('gives every entry alphabetically for an empty query', () => {
    const all = terms('  ');
    expect(all).toHaveLength(GLOSSARY.length);
    expect(all).toEqual(sortedGlossary().map((e) => e.term));
    const lower = all.map((t) => t.toLowerCase());
    expect(lower).toEqual([...lower].sort((a, b) => a.localeCompare(b, 'en')));
  });

  it('ranks term matches first, then aliases, then definitions', () => {
    const trap = terms('trap');
    expect(trap[0]).toBe('Trap');
    expect(trap[1]).toBe('Trap-and-emulate');
    // entries that only mention traps in their definition come after every name match
    const byName = trap.map((t) => {
      const e = findGlossaryEntry(t)!;
      return [e.term, ...(e.aliases ?? [])].some((n) => normalizeForSearch(n).includes('trap'));
    });
    expect(byName).toEqual([...byName].sort((x, y) => Number(y) - Number(x)));
    expect(byName).toContain(false);
    expect(trap).toContain('Privileged instruction'); // "…raise #GP" / "trap" in its definition

    expect(terms('VMM')[0]).toBe('Hypervisor'); // an alias, exactly
    expect(terms('shadow')[0]).toBe('Shadow page table');
    expect(terms('page').slice(0, 2)).toEqual(['Page table', 'Hidden page fault']);
  });

  it('ignores case, hyphens and dashes', () => {
    expect(terms('TRAP AND EMULATE')[0]).toBe('Trap-and-emulate');
    expect(terms('popek-goldberg theorem')[0]).toBe('Popek and Goldberg theorem');
    expect(terms('cr3')[0]).toBe('CR3');
  });

  it('finds words of the definition and lecture sections', () => {
    expect(terms('Bochs')).toEqual(['Pure interpretation']);
    expect(terms('§4.4')).toContain('POPF problem');
    expect(terms('write-protects')).toContain('Shadow page table');
    expect(terms('guest kernel ring 1')).toContain('De-privileging'); // every word, anywhere
  });

  it('gives nothing when nothing matches', () => {
    expect(searchGlossary('xyzzy')).toEqual([]);
  });
});

describe('the glossary dialog', () => {
  async function mountGlossary(catalog: Catalog | null = CATALOG) {
    const { pinia } = setupRenderer(catalog ? { catalog: () => catalog } : {});
    wrapper = mount(GlossaryDialog, {
      props: { open: false },
      global: { plugins: [pinia] },
      attachTo: document.body,
    });
    outside!.focus();
    await wrapper.setProps({ open: true });
    await flushPromises();
    return wrapper;
  }

  const listedTerms = (w: VueWrapper): string[] =>
    w.findAll('.glossary-list .glossary-term').map((t) => t.text());

  it('opens as a modal focused on its labelled search box, listing every term', async () => {
    const w = await mountGlossary();
    const dialog = w.get('dialog');
    expect((dialog.element as HTMLDialogElement).open).toBe(true);
    expect(dialog.attributes('aria-labelledby')).toBe('glossary-title');
    expect(w.get('#glossary-title').text()).toBe('The lecture glossary');
    const input = w.get('input[type=search]');
    expect(document.activeElement).toBe(input.element);
    expect(w.get(`label[for=${input.attributes('id')}]`).text()).toBe('Search the terms');

    const glossary = w.findAll('.glossary-list')[0]!;
    const shown = glossary.findAll('.glossary-term').map((t) => t.text());
    expect(shown).toEqual(sortedGlossary().map((e) => e.term));
    const popf = glossary
      .findAll('.glossary-entry')
      .find((e) => e.get('.glossary-term').text() === 'POPF problem')!;
    expect(popf.get('.glossary-lecture').text()).toBe('Lecture §4.4');
    expect(popf.get('.glossary-in-app').text()).toMatch(/^In the app: Compare/);
    expect(popf.get('dd').text()).toContain('control-sensitive but not privileged');
  });

  it('filters as one types, and follows "see also"', async () => {
    const w = await mountGlossary();
    await w.get('input[type=search]').setValue('shadow');
    const shown = listedTerms(w);
    expect(shown[0]).toBe('Shadow page table');
    expect(shown).not.toContain('Hypercall');
    expect(w.get('#glossary-count').text()).toMatch(/^\d+ of \d+ terms$/);

    const entry = w.findAll('.glossary-entry')[0]!;
    const link = entry.findAll('.glossary-see button').find((b) => b.text() === 'CR3')!;
    await link.trigger('click');
    expect((w.get('input[type=search]').element as HTMLInputElement).value).toBe('CR3');
    expect(listedTerms(w)[0]).toBe('CR3');
  });

  it('says when no term matches, and clears the search', async () => {
    const w = await mountGlossary();
    await w.get('input[type=search]').setValue('xyzzy');
    expect(w.find('.glossary-list').exists()).toBe(false);
    expect(w.get('.glossary-empty').text()).toContain("No term matches 'xyzzy'");
    await w
      .findAll('button')
      .find((b) => b.text() === 'Clear the search')!
      .trigger('click');
    expect(listedTerms(w).length).toBeGreaterThanOrEqual(GLOSSARY.length);
  });

  it('asks to close on Escape and on Close, and gives focus back when closed', async () => {
    const w = await mountGlossary();
    let reachedWindow = false;
    const onWindowKey = (): void => {
      reachedWindow = true;
    };
    window.addEventListener('keydown', onWindowKey);
    try {
      const esc = keydown(w.get('input[type=search]').element, 'Escape');
      expect(esc.defaultPrevented).toBe(true);
      expect(reachedWindow).toBe(false); // the window's Escape (cancel the run) is not triggered
    } finally {
      window.removeEventListener('keydown', onWindowKey);
    }
    expect(w.emitted('close')).toHaveLength(1);
    await w.get('.app-dialog-close').trigger('click');
    expect(w.emitted('close')).toHaveLength(2);

    await w.setProps({ open: false });
    expect((w.get('dialog').element as HTMLDialogElement).open).toBe(false);
    expect(w.find('input[type=search]').exists()).toBe(false);
    expect(document.activeElement).toBe(outside);
  });

  it('lists the techniques of the catalog, new ones included', async () => {
    const w = await mountGlossary();
    const section = w.get('.glossary-techniques');
    expect(section.get('h3').text()).toBe('Techniques in this build');
    const rows = section.findAll('.glossary-entry');
    expect(rows.map((r) => r.attributes('data-technique'))).toEqual(
      CATALOG.techniques.map((t) => t.id),
    );
    for (const [i, t] of CATALOG.techniques.entries()) {
      expect(rows[i]!.get('.glossary-term').text()).toBe(t.name);
      expect(rows[i]!.text()).toContain(t.summary);
      expect(rows[i]!.text()).toContain(t.reference);
    }
    // the search filters them too
    await w.get('input[type=search]').setValue('nested');
    expect(
      w.findAll('.glossary-techniques .glossary-entry').map((r) => r.attributes('data-technique')),
    ).toEqual(['hardware-assisted-npt']);
  });

  it('says the techniques are not known without a catalog', async () => {
    const w = await mountGlossary(null);
    expect(useCatalogStore().catalog).toBeNull();
    expect(w.get('.glossary-techniques').text()).toContain('Not connected');
    expect(listedTerms(w).length).toBe(GLOSSARY.length); // the glossary itself needs no catalog
  });
});

describe('the About dialog', () => {
  async function mountAbout(catalog: Catalog | null, userAgent = ELECTRON_UA) {
    const { pinia } = setupRenderer(catalog ? { catalog: () => catalog } : {});
    if (catalog) await useCatalogStore().load();
    wrapper = mount(AboutDialog, {
      props: { open: false, userAgent },
      global: { plugins: [pinia] },
      attachTo: document.body,
    });
    outside!.focus();
    await wrapper.setProps({ open: true });
    await flushPromises();
    return wrapper;
  }

  const fact = (w: VueWrapper, key: string): string => w.get(`[data-fact=${key}] dd`).text();

  it('shows the versions the catalog reports, the licence and the cost model’s sources', async () => {
    const w = await mountAbout(CATALOG);
    expect((w.get('dialog').element as HTMLDialogElement).open).toBe(true);
    expect(w.get('#about-title').text()).toBe('About VMM Workbench');
    expect(fact(w, 'app')).toBe('0.3.1');
    expect(fact(w, 'engine')).toBe('0.2.7');
    expect(fact(w, 'schema')).toBe('4');
    expect(fact(w, 'api')).toBe(String(CATALOG.apiVersion));
    expect(fact(w, 'licence')).toBe('MIT');
    expect(w.get('.about-costs').text()).toContain('cost breakdown');
    expect(document.activeElement).toBe(w.get('.app-dialog-close').element);
  });

  it('parses Electron and Chrome versions from the app’s user agent', async () => {
    const w = await mountAbout(CATALOG, ELECTRON_UA);
    expect(fact(w, 'runtime')).toBe('Electron 42.11.18, Chrome 146.0.7680.65');
  });

  it('names the browser in the web preview', async () => {
    const w = await mountAbout(CATALOG, FIREFOX_UA);
    expect(fact(w, 'runtime')).toBe('Firefox 128.0 (web preview)');
  });

  it('says "not connected" without a catalog', async () => {
    const w = await mountAbout(null);
    for (const key of ['app', 'engine', 'schema', 'api']) {
      expect(fact(w, key), key).toBe('not connected');
    }
    expect(fact(w, 'licence')).toBe('MIT');
  });

  it('asks to close on Escape and gives focus back', async () => {
    const w = await mountAbout(CATALOG);
    expect(keydown(w.get('.app-dialog-close').element, 'Escape').defaultPrevented).toBe(true);
    expect(w.emitted('close')).toHaveLength(1);
    await w.setProps({ open: false });
    expect(document.activeElement).toBe(outside);
  });
});
