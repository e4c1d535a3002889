// @vitest-environment happy-dom
// Export and open: the experiment as JSON / CSV / HTML made by the main process and downloaded
// under its name and type; a chart as PNG; a `.vmwb.json` picked by the user imported, and a
// corrupt one answered with the API's own error.

import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ExportFormat } from '../../shared/api';
import ExportBar from '../../src-renderer/components/ExportBar.vue';
import OpenFileButton from '../../src-renderer/components/OpenFileButton.vue';
import {
  exportChartPng,
  exportCurrent,
  openExperimentFile,
} from '../../src-renderer/export/actions';
import { chartFileName } from '../../src-renderer/export/download';
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

  it('downloads a chart as PNG, drawn from its definition', () => {
    useResultsStore().set(file);
    const name = exportChartPng('traps-by-cause');
    expect(name).toBe(`${file.id}-traps-by-cause.png`);
    expect(downloads).toEqual([{ name, href: 'data:image/png;base64,ZmFrZQ==' }]);
    expect(document.querySelectorAll('canvas')).toHaveLength(0); // the drawing canvas is gone
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
