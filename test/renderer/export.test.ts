// @vitest-environment happy-dom
// Export and open: the experiment as JSON / CSV / HTML made by the main process and downloaded
// under its name and type; a chart as PNG or SVG; the PDF through the browser's print dialog; a
// `.vmwb.json` picked by the user imported, and a corrupt one answered with the API's own
// error. In the app (a desktop bridge present) the same actions go through the native dialogs.

import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ExportFormat } from '../../shared/api';
import { chartFileName } from '../../shared/charts';
import ExportBar from '../../src-renderer/components/ExportBar.vue';
import OpenFileButton from '../../src-renderer/components/OpenFileButton.vue';
import { type WorkbenchDesktopBridge } from '../../src-main/electron/desktop-channels';
import { setDesktopBridge } from '../../src-renderer/desktop';
import {
  exportChart,
  exportCurrent,
  openExperimentFile,
  openExperimentWithDialog,
  printableReportUrl,
  showExperimentOpened,
} from '../../src-renderer/export/actions';
import { useResultsStore } from '../../src-renderer/stores/results';
import { useUiStore } from '../../src-renderer/stores/ui';
import { installFakeCanvas } from './helpers/canvas';
import { sampleHistoryFile, type FakeBridge } from './helpers/fake-bridge';
import { setupRenderer } from './helpers/setup';

const file = sampleHistoryFile('2026-11-23T10-15-00-123Z-ab12cd');
const MIME: Record<ExportFormat, string> = {
  json: 'application/json',
  csv: 'text/csv',
  html: 'text/html',
  'printable-html': 'text/html',
};

interface Download {
  name: string;
  href: string;
}
let downloads: Download[];
let blobs: Map<string, Blob>;
let bridge: FakeBridge;
let pinia: ReturnType<typeof setupRenderer>['pinia'];

beforeAll(() => installFakeCanvas());
beforeEach(() => {
  localStorage.clear();
  downloads = [];
  blobs = new Map();
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
    this: HTMLAnchorElement,
  ) {
    downloads.push({ name: this.download, href: this.getAttribute('href') ?? '' });
  });
  let n = 0;
  vi.spyOn(URL, 'createObjectURL').mockImplementation((blob: Blob | MediaSource) => {
    const url = `blob:test/${++n}`;
    blobs.set(url, blob as Blob);
    return url;
  });
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation(() => {});
  ({ bridge, pinia } = setupRenderer({
    exportExperiment: (r) => ({
      fileName: r.format === 'json' ? `${r.id}.vmwb.json` : `${r.id}.${r.format}`,
      mimeType: MIME[r.format],
      text: `${r.format} of ${r.id}`,
    }),
    exportChart: (r) => ({
      fileName: `${r.id}-${r.chartId}.svg`,
      mimeType: 'image/svg+xml',
      text: `<svg id="${r.chartId}"/>`,
    }),
    importExperiment: (r) => {
      if (r.text.trim().startsWith('{')) return { ...file, id: 'imported-1' };
      throw new Error(
        `${r.fileName} is not a VMM Workbench experiment: not JSON: Unexpected token 'g'`,
      );
    },
  }));
});
afterEach(() => {
  vi.restoreAllMocks();
  setDesktopBridge(undefined);
});

describe('export', () => {
  it.each(['json', 'csv', 'html'] as const)(
    'downloads the %s the main process made, under its name and type',
    async (format) => {
      useResultsStore().set(file);
      const name = await exportCurrent(format);
      expect(bridge.calls('exportExperiment')).toEqual([
        { method: 'exportExperiment', id: file.id, format },
      ]);
      const expectedName = format === 'json' ? `${file.id}.vmwb.json` : `${file.id}.${format}`;
      expect(name).toBe(expectedName);
      expect(downloads).toHaveLength(1);
      expect(downloads[0]!.name).toBe(expectedName);
      const blob = blobs.get(downloads[0]!.href)!;
      expect(blob.type).toBe(`${MIME[format]};charset=utf-8`);
      expect(await blob.text()).toBe(`${format} of ${file.id}`);
      expect(useUiStore().notice).toEqual({ kind: 'info', title: `Saved ${expectedName}` });
    },
  );

  it('exports from the buttons of the export bar', async () => {
    useResultsStore().set(file);
    const w = mount(ExportBar, { global: { plugins: [pinia] } });
    await w.get('button[data-format=csv]').trigger('click');
    await flushPromises();
    expect(downloads.map((d) => d.name)).toEqual([`${file.id}.csv`]);
    w.unmount();
  });

  it('disables the export buttons while nothing is open', () => {
    const w = mount(ExportBar, { global: { plugins: [pinia] } });
    expect(w.findAll('button').every((b) => b.attributes('disabled') !== undefined)).toBe(true);
    w.unmount();
  });

  it("says why an export failed, in the API's words", async () => {
    useResultsStore().set(file);
    bridge.handlers.exportExperiment = () => {
      throw new Error('ENOENT: the experiment file is gone');
    };
    expect(await exportCurrent('html')).toBeNull();
    expect(downloads).toHaveLength(0);
    expect(useUiStore().notice).toEqual({
      kind: 'error',
      title: 'The HTML report could not be exported',
      message: 'ENOENT: the experiment file is gone',
    });
  });

  it('downloads a chart as PNG, drawn from its definition', async () => {
    useResultsStore().set(file);
    const name = await exportChart('traps-by-cause', 'png');
    expect(name).toBe(`${file.id}-traps-by-cause.png`);
    expect(downloads).toEqual([{ name, href: 'data:image/png;base64,ZmFrZQ==' }]);
    expect(document.querySelectorAll('canvas')).toHaveLength(0); // the drawing canvas is gone
  });

  it('downloads a chart as SVG, drawn by the main process', async () => {
    useResultsStore().set(file);
    const name = await exportChart('traps-by-cause', 'svg');
    expect(bridge.calls('exportChart')).toEqual([
      { method: 'exportChart', id: file.id, chartId: 'traps-by-cause', format: 'svg' },
    ]);
    expect(name).toBe(`${file.id}-traps-by-cause.svg`);
    const blob = blobs.get(downloads[0]!.href)!;
    expect(blob.type).toBe('image/svg+xml;charset=utf-8');
    expect(await blob.text()).toBe('<svg id="traps-by-cause"/>');
  });

  it('refuses a chart the experiment does not have', async () => {
    useResultsStore().set(file);
    expect(await exportChart('no-such-chart', 'svg')).toBeNull();
    expect(useUiStore().notice?.title).toBe("There is no chart 'no-such-chart' to export");
    expect(bridge.calls('exportChart')).toHaveLength(0);
  });

  it('opens the printable report in a new tab and leaves printing it to the user', async () => {
    useResultsStore().set(file);
    const listeners: Record<string, () => void> = {};
    const popup = {
      print: vi.fn(),
      addEventListener: (type: string, listener: () => void) => (listeners[type] = listener),
    };
    const open = vi.spyOn(window, 'open').mockReturnValue(popup as unknown as Window);
    expect(await exportCurrent('pdf')).toBe(printableReportUrl(file.id));
    expect(open).toHaveBeenCalledWith(
      `/report/${encodeURIComponent(file.id)}/printable.html`,
      '_blank',
    );
    // a print job this page started would never end in a browser that shows no dialog, and
    // the user's own print would then be refused ("already being printed")
    listeners.load?.();
    expect(popup.print).not.toHaveBeenCalled();
    expect(useUiStore().notice).toMatchObject({
      kind: 'info',
      title: 'The printable report opened in a new tab',
      message: expect.stringContaining('Save as PDF'),
    });
  });

  it('says what to do when the browser blocks the report tab', async () => {
    useResultsStore().set(file);
    vi.spyOn(window, 'open').mockReturnValue(null);
    expect(await exportCurrent('pdf')).toBeNull();
    expect(useUiStore().notice).toMatchObject({
      kind: 'error',
      title: 'The browser did not open the printable report',
    });
  });

  it('makes safe image file names', () => {
    expect(chartFileName('a/b c', 'traps-by-cause', 'svg')).toBe('a_b_c-traps-by-cause.svg');
  });
});

describe('opening an experiment file', () => {
  it('imports the file text and shows it in Compare', async () => {
    const picked = new File(['{"schemaVersion":1}'], 'friend.vmwb.json', {
      type: 'application/json',
    });
    expect(await openExperimentFile(picked)).toBe(true);
    expect(bridge.calls('importExperiment')).toEqual([
      { method: 'importExperiment', fileName: 'friend.vmwb.json', text: '{"schemaVersion":1}' },
    ]);
    expect(useResultsStore().file?.id).toBe('imported-1');
    expect(useUiStore().view).toBe('compare');
  });

  it("shows the API's clear error for a corrupt file", async () => {
    const w = mount(OpenFileButton, { global: { plugins: [pinia] } });
    const input = w.get<HTMLInputElement>('input[type=file]');
    const corrupt = new File(['garbage'], 'corrupt.vmwb.json');
    Object.defineProperty(input.element, 'files', { value: [corrupt], configurable: true });
    await input.trigger('change');
    await flushPromises();
    expect(useUiStore().notice).toEqual({
      kind: 'error',
      title: 'corrupt.vmwb.json could not be opened',
      message:
        "corrupt.vmwb.json is not a VMM Workbench experiment: not JSON: Unexpected token 'g'",
    });
    expect(useResultsStore().file).toBeNull();
    expect(useUiStore().view).toBe('experiment');
    w.unmount();
  });
});

describe('in the app (native dialogs)', () => {
  function fakeDesktop(overrides: Partial<WorkbenchDesktopBridge> = {}) {
    const calls: unknown[] = [];
    const desktop: WorkbenchDesktopBridge = {
      saveExport: async (r) => {
        calls.push(['saveExport', r]);
        return { ok: true, value: { path: `/home/me/${r.id}.${r.format}` } };
      },
      saveFile: async (r) => {
        calls.push(['saveFile', r]);
        return { ok: true, value: { path: `/home/me/${r.fileName}` } };
      },
      openExperiment: async () => ({ ok: true, value: { ...file, id: 'opened-1' } }),
      openKernel: async () => ({ ok: true, value: null }),
      onMenuCommand: () => () => {},
      onExperimentOpened: () => () => {},
      ...overrides,
    };
    setDesktopBridge(desktop);
    return calls;
  }

  it.each(['json', 'csv', 'html', 'pdf'] as const)(
    'saves the %s through the native save dialog',
    async (format) => {
      const calls = fakeDesktop();
      useResultsStore().set(file);
      expect(await exportCurrent(format)).toBe(`/home/me/${file.id}.${format}`);
      expect(calls).toEqual([['saveExport', { id: file.id, format }]]);
      expect(downloads).toHaveLength(0);
      expect(bridge.calls('exportExperiment')).toHaveLength(0);
      expect(useUiStore().notice).toEqual({
        kind: 'info',
        title: `Saved /home/me/${file.id}.${format}`,
      });
    },
  );

  it('says nothing when the save dialog is cancelled', async () => {
    fakeDesktop({ saveExport: async () => ({ ok: true, value: null }) });
    useResultsStore().set(file);
    expect(await exportCurrent('csv')).toBeNull();
    expect(useUiStore().notice).toBeNull();
  });

  it("shows the main process's error when saving fails", async () => {
    fakeDesktop({ saveExport: async () => ({ ok: false, error: 'EACCES: permission denied' }) });
    useResultsStore().set(file);
    expect(await exportCurrent('pdf')).toBeNull();
    expect(useUiStore().notice).toEqual({
      kind: 'error',
      title: 'The PDF report could not be exported',
      message: 'EACCES: permission denied',
    });
  });

  it('saves chart images through the native dialog: PNG as base64, SVG as text', async () => {
    const calls = fakeDesktop();
    useResultsStore().set(file);
    expect(await exportChart('traps-by-cause', 'png')).toBe(
      `/home/me/${file.id}-traps-by-cause.png`,
    );
    expect(await exportChart('traps-by-cause', 'svg')).toBe(
      `/home/me/${file.id}-traps-by-cause.svg`,
    );
    expect(calls).toEqual([
      ['saveFile', { fileName: `${file.id}-traps-by-cause.png`, base64: 'ZmFrZQ==' }],
      [
        'saveFile',
        { fileName: `${file.id}-traps-by-cause.svg`, text: '<svg id="traps-by-cause"/>' },
      ],
    ]);
    expect(downloads).toHaveLength(0);
  });

  it('opens an experiment through the native open dialog and shows it', async () => {
    fakeDesktop();
    expect(await openExperimentWithDialog()).toBe(true);
    expect(useResultsStore().file?.id).toBe('opened-1');
    expect(useUiStore().view).toBe('compare');
  });

  it('shows the reason when the opened file is refused', async () => {
    fakeDesktop({
      openExperiment: async () => ({
        ok: false,
        error: 'x.vmwb.json is not a VMM Workbench experiment',
      }),
    });
    expect(await openExperimentWithDialog()).toBe(false);
    expect(useUiStore().notice).toEqual({
      kind: 'error',
      title: 'The file could not be opened',
      message: 'x.vmwb.json is not a VMM Workbench experiment',
    });
    expect(useResultsStore().file).toBeNull();
  });

  it('shows a file the operating system opened, or why it could not', async () => {
    bridge.handlers.loadExperiment = (r) => ({ ...file, id: r.id });
    expect(await showExperimentOpened({ fileName: 'a.vmwb.json', id: 'from-os' })).toBe(true);
    expect(useResultsStore().file?.id).toBe('from-os');
    expect(useUiStore().view).toBe('compare');
    expect(await showExperimentOpened({ fileName: 'b.vmwb.json', error: 'not JSON' })).toBe(false);
    expect(useUiStore().notice).toEqual({
      kind: 'error',
      title: 'b.vmwb.json could not be opened',
      message: 'not JSON',
    });
  });
});
