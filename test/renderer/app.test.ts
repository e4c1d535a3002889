// @vitest-environment happy-dom
// The application shell: navigation (and the location hash), the theme (system preference and
// toggle), the keyboard shortcuts (Ctrl/Cmd+Enter run, Escape cancel, Ctrl/Cmd+E export, F1
// the glossary), the Help dialogs, and in the app the application menu's commands and the
// files the operating system asks it to open.

import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type MenuCommand } from '../../shared/api';
import { type ExperimentSpec } from '../../shared/results';
import {
  type ExperimentOpened,
  type WorkbenchDesktopBridge,
} from '../../src-main/electron/desktop-channels';
import { setDesktopBridge } from '../../src-renderer/desktop';
import App from '../../src-renderer/App.vue';
import { matchShortcut } from '../../src-renderer/shortcuts';
import { useExperimentStore } from '../../src-renderer/stores/experiment';
import { useResultsStore } from '../../src-renderer/stores/results';
import { useUiStore } from '../../src-renderer/stores/ui';
import { installFakeCanvas } from './helpers/canvas';
import { SAMPLE_CATALOG, sampleHistoryFile, type FakeBridge } from './helpers/fake-bridge';
import { setupRenderer } from './helpers/setup';

let bridge: FakeBridge;
let wrapper: ReturnType<typeof mount> | null = null;

async function mountApp() {
  const setup = setupRenderer({
    catalog: () => SAMPLE_CATALOG,
    activeExperiments: () => [],
    startExperiment: (r) => ({ id: 'e1', spec: r.spec as ExperimentSpec, runs: [] }),
    cancelExperiment: () => null,
    listHistory: () => ({ entries: [], problems: [] }),
    exportExperiment: (r) => ({ fileName: `${r.id}.html`, mimeType: 'text/html', text: '<html>' }),
  });
  bridge = setup.bridge;
  await useExperimentStore().connect();
  wrapper = mount(App, { global: { plugins: [setup.pinia] }, attachTo: document.body });
  await flushPromises();
  return wrapper;
}

function press(key: string, mods: Partial<KeyboardEventInit> = {}): KeyboardEvent {
  const event = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...mods });
  window.dispatchEvent(event);
  return event;
}

beforeAll(() => installFakeCanvas());
beforeEach(() => {
  localStorage.clear();
  history.replaceState(null, '', '#/');
});
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  vi.restoreAllMocks();
  setDesktopBridge(undefined);
});

/** A desktop bridge whose menu and "opened" events the test fires, recording saves. */
function fakeDesktop() {
  const menu = new Set<(c: MenuCommand) => void>();
  const opened = new Set<(o: ExperimentOpened) => void>();
  const saves: unknown[] = [];
  const desktop: WorkbenchDesktopBridge = {
    saveExport: async (r) => {
      saves.push(r);
      return { ok: true, value: { path: `/tmp/${r.id}.${r.format}` } };
    },
    saveFile: async () => ({ ok: true, value: null }),
    openExperiment: async () => ({ ok: true, value: sampleHistoryFile('from-dialog') }),
    openKernel: async () => ({ ok: true, value: null }),
    onMenuCommand: (l) => {
      menu.add(l);
      return () => menu.delete(l);
    },
    onExperimentOpened: (l) => {
      opened.add(l);
      return () => opened.delete(l);
    },
  };
  setDesktopBridge(desktop);
  return {
    saves,
    menu: (c: MenuCommand) => menu.forEach((l) => l(c)),
    opened: (o: ExperimentOpened) => opened.forEach((l) => l(o)),
    listeners: () => menu.size + opened.size,
  };
}

describe('in the app: the application menu and files from the OS', () => {
  it('carries out File → Save, Export report and Open, and Help → glossary / about', async () => {
    const desktop = fakeDesktop();
    const w = await mountApp();
    useResultsStore().set(sampleHistoryFile('shown'));
    desktop.menu('save');
    desktop.menu('export-report'); // while the save is under way: refused, saying so
    expect(useUiStore().notice?.title).toBe('An export is under way: try again when it is done');
    await flushPromises();
    desktop.menu('export-report');
    await flushPromises();
    expect(desktop.saves).toEqual([
      { id: 'shown', format: 'json' },
      { id: 'shown', format: 'html' },
    ]);
    expect(useUiStore().notice?.title).toBe('Saved /tmp/shown.html');

    desktop.menu('open');
    await flushPromises();
    expect(useResultsStore().file?.id).toBe('from-dialog');
    expect(useUiStore().view).toBe('compare');

    desktop.menu('glossary');
    await flushPromises();
    expect(useUiStore().dialog).toBe('glossary');
    expect(w.find('dialog.glossary-dialog[open]').exists()).toBe(true);
    useUiStore().closeDialog();
    desktop.menu('about');
    await flushPromises();
    expect(w.find('dialog.about-dialog[open]').exists()).toBe(true);
  });

  it('File → New goes to a fresh Experiment form, but not while a run is on', async () => {
    const desktop = fakeDesktop();
    await mountApp();
    const experiment = useExperimentStore();
    experiment.error = 'an old failure';
    experiment.phase = 'failed';
    useUiStore().show('history');
    desktop.menu('new');
    await flushPromises();
    expect(useUiStore().view).toBe('experiment');
    expect(experiment.phase).toBe('idle');
    expect(experiment.error).toBeNull();

    experiment.phase = 'running';
    useUiStore().show('compare');
    desktop.menu('new');
    await flushPromises();
    expect(useUiStore().view).toBe('experiment');
    expect(experiment.phase).toBe('running');
    expect(useUiStore().notice?.title).toBe('An experiment is still running');
  });

  it('shows an experiment file the OS opened, or why it could not be opened', async () => {
    const desktop = fakeDesktop();
    await mountApp();
    bridge.handlers.loadExperiment = (r) => sampleHistoryFile(r.id);
    desktop.opened({ fileName: 'friend.vmwb.json', id: 'imported-7' });
    await flushPromises();
    expect(useResultsStore().file?.id).toBe('imported-7');
    expect(useUiStore().view).toBe('compare');
    desktop.opened({ fileName: 'broken.vmwb.json', error: 'not JSON: Unexpected token' });
    await flushPromises();
    expect(useUiStore().notice).toEqual({
      kind: 'error',
      title: 'broken.vmwb.json could not be opened',
      message: 'not JSON: Unexpected token',
    });
  });

  it('stops listening when the window goes', async () => {
    const desktop = fakeDesktop();
    await mountApp();
    expect(desktop.listeners()).toBe(2);
    wrapper!.unmount();
    wrapper = null;
    expect(desktop.listeners()).toBe(0);
  });
});

describe('Help in the browser', () => {
  it('opens the glossary with F1 or the ? button, and About from the status bar', async () => {
    const w = await mountApp();
    const f1 = press('F1');
    expect(f1.defaultPrevented).toBe(true);
    await flushPromises();
    expect(useUiStore().dialog).toBe('glossary');
    useUiStore().closeDialog();
    await w.get('button[data-action=glossary]').trigger('click');
    expect(useUiStore().dialog).toBe('glossary');
    useUiStore().closeDialog();
    await w.get('button[data-action=about]').trigger('click');
    expect(useUiStore().dialog).toBe('about');
  });

  it('does not cancel a run when Escape closes a dialog', async () => {
    await mountApp();
    const experiment = useExperimentStore();
    await experiment.start();
    expect(experiment.canCancel).toBe(true);
    useUiStore().openDialog('glossary');
    await flushPromises();
    press('Escape');
    await flushPromises();
    expect(bridge.calls('cancelExperiment')).toHaveLength(0);
    expect(experiment.phase).toBe('running');
    // with the dialog gone, Escape cancels the run again
    useUiStore().closeDialog();
    await flushPromises();
    press('Escape');
    await flushPromises();
    expect(bridge.calls('cancelExperiment')).toHaveLength(1);
  });
});

describe('the app shell', () => {
  it('navigates between the views and marks the current one', async () => {
    const w = await mountApp();
    expect(w.get('[aria-current=page]').text()).toBe('Experiment');
    expect(w.find('#experiment-title').exists()).toBe(true);
    for (const [view, title] of [
      ['compare', '#compare-title'],
      ['output', '#output-title'],
      ['traps', '#traps-title'],
      ['translation-cache', '#tc-title'],
      ['history', '#history-title'],
    ] as const) {
      await w.get(`button[data-view=${view}]`).trigger('click');
      await flushPromises();
      expect(w.find(title).exists(), view).toBe(true);
      expect(w.get('[aria-current=page]').attributes('data-view')).toBe(view);
      expect(location.hash).toBe(`#/${view}`);
    }
    // the empty states say what to do
    expect(w.text()).toContain('No saved experiments yet');
  });

  it('follows the view in the location hash', async () => {
    const w = await mountApp();
    history.replaceState(null, '', '#/history');
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    await flushPromises();
    expect(useUiStore().view).toBe('history');
    expect(w.find('#history-title').exists()).toBe(true);
  });

  it('switches the theme and remembers it', async () => {
    const w = await mountApp();
    const toggle = w.get('.theme-toggle');
    const before = document.documentElement.dataset.theme;
    expect(before === 'light' || before === 'dark').toBe(true);
    expect(toggle.attributes('aria-label')).toBe(
      before === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme',
    );
    await toggle.trigger('click');
    const after = document.documentElement.dataset.theme;
    expect(after).toBe(before === 'dark' ? 'light' : 'dark');
    expect(localStorage.getItem('vmm-workbench.theme')).toBe(after);
  });

  it('runs the experiment on Ctrl/Cmd+Enter and cancels it on Escape', async () => {
    await mountApp();
    useUiStore().show('history');
    const run = press('Enter', { ctrlKey: true });
    await flushPromises();
    expect(run.defaultPrevented).toBe(true);
    expect(bridge.calls('startExperiment')).toHaveLength(1);
    expect(useUiStore().view).toBe('experiment');
    press('Enter', { metaKey: true }); // already running: not twice
    await flushPromises();
    expect(bridge.calls('startExperiment')).toHaveLength(1);
    const esc = press('Escape');
    await flushPromises();
    expect(esc.defaultPrevented).toBe(true);
    expect(bridge.calls('cancelExperiment')).toEqual([{ method: 'cancelExperiment', id: 'e1' }]);
  });

  it('exports the HTML report on Ctrl/Cmd+E, or says there is nothing to export', async () => {
    const clicks: string[] = [];
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      clicks.push(this.download);
    });
    vi.spyOn(URL, 'createObjectURL').mockReturnValue('blob:x');
    const w = await mountApp();
    const first = press('e', { ctrlKey: true });
    await flushPromises();
    expect(first.defaultPrevented).toBe(true);
    expect(bridge.calls('exportExperiment')).toHaveLength(0);
    expect(w.get('.window-notice').text()).toContain('Nothing to export yet');
    press('Escape'); // dismisses the notice (nothing runs)
    await flushPromises();
    expect(w.find('.window-notice').exists()).toBe(false);

    useResultsStore().set(sampleHistoryFile('exp-9'));
    press('E', { metaKey: true });
    await flushPromises();
    expect(bridge.calls('exportExperiment')).toEqual([
      { method: 'exportExperiment', id: 'exp-9', format: 'html' },
    ]);
    expect(clicks).toEqual(['exp-9.html']);
  });

  it('reads shortcuts from key events', () => {
    const k = (
      key: string,
      m: Partial<Record<'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey', boolean>> = {},
    ) =>
      matchShortcut({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...m });
    expect(k('Enter', { ctrlKey: true })).toBe('run');
    expect(k('Enter', { metaKey: true })).toBe('run');
    expect(k('Enter')).toBeNull();
    expect(k('e', { ctrlKey: true })).toBe('export');
    expect(k('e', { ctrlKey: true, shiftKey: true })).toBeNull();
    expect(k('Escape')).toBe('cancel');
    expect(k('Escape', { ctrlKey: true })).toBeNull();
    expect(k('x', { ctrlKey: true })).toBeNull();
  });
});
