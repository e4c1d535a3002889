// @vitest-environment happy-dom
// The Experiment view: lists the catalog (workloads with description, the guest kernel size,
// techniques with their summary, native always on), starts the right spec — with a bundled
// workload or a kernel file of one's own, checked by the main process when it is chosen —,
// follows progress events with one bar per technique, cancels, and opens Compare when the
// experiment finishes.

import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type WorkbenchDesktopBridge } from '../../src-main/electron/desktop-channels';
import { setDesktopBridge } from '../../src-renderer/desktop';
import { type ActiveExperiment, type RunProgressView } from '../../shared/api';
import { SPEC_DEFAULTS, type ExperimentSpec } from '../../shared/results';
import { useCatalogStore } from '../../src-renderer/stores/catalog';
import { useExperimentStore } from '../../src-renderer/stores/experiment';
import { useUiStore } from '../../src-renderer/stores/ui';
import ExperimentView from '../../src-renderer/views/ExperimentView.vue';
import {
  SAMPLE_CATALOG,
  sampleHistoryFile,
  sampleProgress,
  type FakeBridge,
} from './helpers/fake-bridge';
import { settle, setupRenderer } from './helpers/setup';

const ID = 'exp-42';

const progress = (technique: string, p: Partial<RunProgressView>): RunProgressView =>
  sampleProgress(ID, technique, p);

let bridge: FakeBridge;
let wrapper: ReturnType<typeof mount> | null = null;

async function mountView() {
  const setup = setupRenderer({
    catalog: () => SAMPLE_CATALOG,
    activeExperiments: () => [],
    startExperiment: (r): ActiveExperiment => {
      const spec = r.spec as ExperimentSpec;
      return {
        id: ID,
        spec,
        runs: spec.techniques.map((t) => progress(t, { state: 'queued' })),
      };
    },
    cancelExperiment: () => null,
    loadExperiment: (r) => sampleHistoryFile(r.id),
  });
  bridge = setup.bridge;
  await useCatalogStore().load();
  await useExperimentStore().connect();
  wrapper = mount(ExperimentView, { global: { plugins: [setup.pinia] }, attachTo: document.body });
  await flushPromises();
  return wrapper;
}

beforeEach(() => localStorage.clear());
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
  setDesktopBridge(undefined);
  vi.restoreAllMocks();
});

describe('the Experiment view', () => {
  it('lists the workloads with their description and the guest kernel size', async () => {
    const w = await mountView();
    const options = w.findAll('#workload option').map((o) => o.text());
    expect(options).toEqual(['syscall', 'pgfault']);
    expect(w.get('[data-testid=workload-description]').text()).toBe('n getpid system calls');
    expect(w.get('[data-testid=kernel-size]').text()).toContain('12,548 bytes (12.3 KiB)');
    expect(w.get<HTMLInputElement>('#n').element.placeholder).toBe('130000');
    await w.get('#workload').setValue('pgfault');
    expect(w.get('[data-testid=workload-description]').text()).toBe('n demand-zero page faults');
    expect(w.get<HTMLInputElement>('#n').element.placeholder).toBe('15000');
  });

  it('lists the techniques with their summaries, native always on', async () => {
    const w = await mountView();
    const text = w.get('.techniques').text();
    expect(text).toContain('Native');
    expect(text).toContain('(baseline, always runs)');
    expect(text).toContain('the guest kernel runs deprivileged at CPL 1');
    const native = w.get<HTMLInputElement>('.techniques input[disabled]');
    expect(native.element.checked).toBe(true);
    const boxes = w.findAll<HTMLInputElement>('.techniques input[data-technique]');
    expect(boxes.map((b) => [b.attributes('data-technique'), b.element.checked])).toEqual([
      ['trap-and-emulate', true],
      ['paravirt', true],
      ['binary-translation', true],
    ]);
    expect(w.findAll('#profile option').map((o) => o.text())).toEqual([
      'Pentium 4 (2006)',
      'Modern core',
    ]);
    expect(w.findAll('input[name=isa]').map((i) => i.attributes('value'))).toEqual([
      'classic',
      'strict',
    ]);
  });

  it('starts the spec the form shows', async () => {
    const w = await mountView();
    await w.get('#workload').setValue('pgfault');
    await w.get('input[data-technique=binary-translation]').setValue(false);
    await w.get('input[data-technique=paravirt]').setValue(false);
    await w.get('input[name=isa][value=strict]').setValue(true);
    await w.get('#profile').setValue('modern');
    await w.get('#n').setValue('2500');
    await w.get('#extra-args').setValue('hz=250');
    expect(w.get('[data-testid=append]').text()).toBe('n=2500 hz=250');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(bridge.calls('startExperiment')).toHaveLength(1);
    expect(bridge.calls('startExperiment')[0]!.spec).toEqual({
      ...SPEC_DEFAULTS,
      kernel: { kind: 'workload', workload: 'pgfault' },
      techniques: ['native', 'trap-and-emulate'],
      append: 'n=2500 hz=250',
      isa: 'strict',
      profile: 'modern',
    });
  });

  it('runs a kernel file chosen in the browser, as the image the main process made of it', async () => {
    const w = await mountView();
    bridge.handlers.prepareKernel = (r) => ({
      name: r.file.name,
      base64: 'aW1hZ2U=',
      sha256: 'ab'.repeat(32),
      bytes: 5,
      assembled: true,
      sourceBytes: atob(r.file.base64).length,
    });
    await w.get('[data-testid=kernel-source-file]').setValue(true);
    expect(w.find('#workload').exists()).toBe(false);
    expect(w.get('.field-problem').text()).toBe('choose a kernel file');
    expect(w.get('button[type=submit]').attributes('disabled')).toBeDefined();
    // the browser's file chooser: a transient <input type=file> the view clicks
    vi.spyOn(HTMLInputElement.prototype, 'click').mockImplementation(function (
      this: HTMLInputElement,
    ) {
      const file = new File(['bits 32\n'], 'mine.asm');
      Object.defineProperty(this, 'files', { value: [file], configurable: true });
      this.dispatchEvent(new Event('change'));
    });
    await w.get('button[data-action=choose-kernel]').trigger('click');
    await settle();
    expect(bridge.calls('prepareKernel')).toEqual([
      { method: 'prepareKernel', file: { name: 'mine.asm', base64: btoa('bits 32\n') } },
    ]);
    expect(w.get('[data-testid=kernel-file]').text()).toMatch(
      /mine\.asm, assembled to a 5 bytes.*image, SHA-256 abababababab…/,
    );
    // paravirt boots its own build of the bundled kernel: the form says so and will not run
    expect(w.get('[data-testid=no-kernel-file-paravirt]').text()).toContain('para-virtual build');
    expect(w.find('[data-testid=no-kernel-file-trap-and-emulate]').exists()).toBe(false);
    expect(w.get('.field-problem').text()).toMatch(
      /^Para-virtualization boots its own build of the bundled kernel and cannot run a kernel file/,
    );
    expect(w.get('button[type=submit]').attributes('disabled')).toBeDefined();
    await w.get('input[data-technique=paravirt]').setValue(false);
    await w.get('#n').setValue('7');
    await w.get('form').trigger('submit');
    await flushPromises();
    const [start] = bridge.calls('startExperiment');
    expect(start!.spec).toMatchObject({
      kernel: { kind: 'file', name: 'mine.asm', sha256: 'ab'.repeat(32) },
      append: 'n=7',
    });
    expect(start!.kernelFile).toEqual({ name: 'mine.asm', base64: 'aW1hZ2U=' });
  });

  it('shows why a chosen kernel file cannot run, and keeps the one chosen before', async () => {
    const w = await mountView();
    let answer: 'ok' | 'bad' = 'ok';
    bridge.handlers.prepareKernel = (r) => {
      if (answer === 'bad') throw new Error(`${r.file.name}:3:1: error: unknown mnemonic 'frob'`);
      return {
        name: r.file.name,
        base64: r.file.base64,
        sha256: 'cd'.repeat(32),
        bytes: 9,
        assembled: false,
        sourceBytes: 9,
      };
    };
    const desktop: WorkbenchDesktopBridge = {
      saveExport: async () => ({ ok: true, value: null }),
      saveFile: async () => ({ ok: true, value: null }),
      openExperiment: async () => ({ ok: true, value: null }),
      openKernel: async () => ({
        ok: true,
        value: { name: answer === 'ok' ? 'good.bin' : 'bad.asm', base64: btoa('123456789') },
      }),
      onMenuCommand: () => () => {},
      onExperimentOpened: () => () => {},
    };
    setDesktopBridge(desktop); // in the app: the native open dialog
    await w.get('[data-testid=kernel-source-file]').setValue(true);
    await w.get('button[data-action=choose-kernel]').trigger('click');
    await settle();
    expect(w.get('[data-testid=kernel-file]').text()).toContain('good.bin');
    answer = 'bad';
    await w.get('button[data-action=choose-kernel]').trigger('click');
    await settle();
    expect(w.get('[role=alert]').text()).toBe("bad.asm:3:1: error: unknown mnemonic 'frob'");
    expect(w.get('[data-testid=kernel-file]').text()).toContain('good.bin');
  });

  it('batches page-table updates unless its checkbox, with the techniques, is cleared', async () => {
    const w = await mountView();
    const box = w.get<HTMLInputElement>('.techniques input[data-testid=mmu-batch]');
    expect(box.element.checked).toBe(true);
    expect(box.element.closest('label')!.textContent).toContain(
      'Batch page-table updates (mmu_update)',
    );
    // checked, the spec batches ('starts the spec the form shows' sends SPEC_DEFAULTS' true)
    expect(useExperimentStore().draft.mmuBatch).toBe(true);
    expect(w.get('[data-testid=mmu-batch-hint]').text()).not.toContain('mmu_batch=0');
    await box.setValue(false);
    expect(w.get('[data-testid=mmu-batch-hint]').text()).toContain('mmu_batch=0');
    // the word goes on the command line by the spec, not among the arguments
    expect(w.get('[data-testid=append]').text()).toBe('(nothing)');
    await w.get('form').trigger('submit');
    await flushPromises();
    expect(bridge.calls('startExperiment')).toHaveLength(1);
    expect(bridge.calls('startExperiment')[0]!.spec).toEqual({
      ...SPEC_DEFAULTS,
      kernel: { kind: 'workload', workload: 'syscall' },
      techniques: ['native', 'trap-and-emulate', 'paravirt', 'binary-translation'],
      mmuBatch: false,
    });
  });

  it('will not take mmu_batch= among the other arguments', async () => {
    const w = await mountView();
    await w.get('#extra-args').setValue('hz=100 mmu_batch=0');
    expect(w.get('.field-problem').text()).toBe(
      'set page-table batching with its checkbox, not among the arguments',
    );
    expect(w.get('button[type=submit]').attributes('disabled')).toBeDefined();
  });

  it('will not run an invalid n and says why', async () => {
    const w = await mountView();
    await w.get('#n').setValue('0');
    expect(w.get('.field-problem').text()).toBe('n must be a whole number of at least 1');
    expect(w.get('button[type=submit]').attributes('disabled')).toBeDefined();
  });

  it('shows a progress bar per technique that follows the events, and cancels', async () => {
    const w = await mountView();
    await w.get('form').trigger('submit');
    await flushPromises();
    const rows = () => w.findAll('.run-progress');
    expect(rows().map((r) => r.attributes('data-technique'))).toEqual([
      'native',
      'trap-and-emulate',
      'paravirt',
      'binary-translation',
    ]);
    expect(rows().every((r) => r.attributes('data-state') === 'queued')).toBe(true);

    bridge.emit({
      type: 'progress',
      progress: progress('trap-and-emulate', {
        instructions: 1_234_567,
        traps: 8_910,
        wallMs: 3_000,
        etaMs: 1_000,
        mips: 41.2,
      }),
    });
    bridge.emit({
      type: 'progress',
      progress: progress('native', {
        state: 'finished',
        instructions: 2_000_000,
        wallMs: 800,
        etaMs: 0,
      }),
    });
    bridge.emit({
      type: 'progress',
      progress: progress('binary-translation', { instructions: 10, wallMs: 5, etaMs: null }),
    });
    await flushPromises();
    const tae = w.get('.run-progress[data-technique=trap-and-emulate]');
    expect(tae.get('[data-field=instructions]').text()).toBe('1,234,567');
    expect(tae.get('[data-field=traps]').text()).toBe('8,910');
    expect(tae.get('[data-field=eta]').text()).toBe('ETA 1 s');
    expect(tae.get('[role=progressbar]').attributes('aria-valuenow')).toBe('75');
    const native = w.get('.run-progress[data-technique=native]');
    expect(native.get('[role=progressbar]').attributes('aria-valuenow')).toBe('100');
    expect(native.text()).toContain('finished');
    const bt = w.get('.run-progress[data-technique=binary-translation]');
    expect(bt.get('[role=progressbar]').attributes('aria-valuenow')).toBeUndefined();
    expect(bt.text()).toContain('time left unknown');

    const cancel = w.findAll('button').find((b) => b.text().startsWith('Cancel'))!;
    await cancel.trigger('click');
    await flushPromises();
    expect(bridge.calls('cancelExperiment')).toEqual([{ method: 'cancelExperiment', id: ID }]);
    expect(w.text()).toContain('Cancelling');
  });

  it('loads the experiment and goes to Compare when it finishes', async () => {
    const w = await mountView();
    await w.get('form').trigger('submit');
    await flushPromises();
    bridge.emit({ type: 'finished', experimentId: ID });
    await settle();
    expect(bridge.calls('loadExperiment')).toEqual([{ method: 'loadExperiment', id: ID }]);
    expect(useUiStore().view).toBe('compare');
  });

  it("shows the API's reason when the start is refused", async () => {
    const w = await mountView();
    bridge.handlers.startExperiment = () => {
      throw new Error("techniques.1: unknown technique 'binary-translation'");
    };
    await w.get('form').trigger('submit');
    await flushPromises();
    const alert = w.get('[role=alert]');
    expect(alert.text()).toContain('The experiment could not run');
    expect(alert.text()).toContain("techniques.1: unknown technique 'binary-translation'");
  });

  it('says what to do when the catalog cannot be loaded', async () => {
    const setup = setupRenderer({});
    void useCatalogStore().load();
    wrapper = mount(ExperimentView, { global: { plugins: [setup.pinia] } });
    await flushPromises();
    expect(wrapper.get('[role=alert]').text()).toContain('could not be loaded');
    expect(wrapper.find('form').exists()).toBe(false);
    setup.bridge.handlers.catalog = () => SAMPLE_CATALOG;
    await wrapper
      .findAll('button')
      .find((b) => b.text() === 'Try again')!
      .trigger('click');
    await flushPromises();
    expect(wrapper.find('form').exists()).toBe(true);
  });
});
