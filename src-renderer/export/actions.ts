// The export and open actions the views, the shortcuts and the application menu share. In the
// app each file goes through the native save or open dialog (window.vmmWorkbenchDesktop); in
// the web preview it is a download or an upload. What is exported:
//   - the experiment as JSON (`.vmwb.json`, which the app opens again), CSV or the HTML
//     report, made by the main process (exportExperiment);
//   - the report as PDF: printed by the app (printToPDF), or in a browser the printable report
//     page opened in a new tab, printed from there with the browser's own dialog;
//   - a chart as PNG (drawn here) or SVG (drawn by the main process, exportChart).
// Failures become the window's notice, in the API's own words; a cancelled dialog says nothing.

import { type ExportFormat } from '../../shared/api';
import { chartFileName, type ChartDefinition } from '../../shared/charts';
import { type HistoryFile } from '../../shared/results';
import { desktopBridge, desktopValue } from '../desktop';
import { errorMessage, workbenchApi } from '../stores/api-context';
import { useHistoryStore } from '../stores/history';
import { useResultsStore } from '../stores/results';
import { useUiStore } from '../stores/ui';
import { chartPngDataUrl } from './chart-image';
import { downloadFile, downloadUrl } from './download';

/** What the user can export an experiment as. */
export type ReportFormat = ExportFormat | 'pdf';

const FORMAT_NAMES: Record<ReportFormat, string> = {
  json: 'experiment file (JSON)',
  csv: 'CSV table',
  html: 'HTML report',
  'printable-html': 'printable report',
  pdf: 'PDF report',
};

function savedNotice(where: string): void {
  useUiStore().notify({ kind: 'info', title: `Saved ${where}` });
}

/**
 * Export the current experiment in `format`; resolves with where it went (a path in the app, a
 * file name in a browser), or null after a notice or a cancelled dialog.
 */
export async function exportCurrent(format: ReportFormat): Promise<string | null> {
  const results = useResultsStore();
  const ui = useUiStore();
  const f = results.file;
  // one export at a time: a second would raise a second save dialog over the first
  if (results.busy !== null) {
    ui.notify({ kind: 'info', title: 'An export is under way: try again when it is done' });
    return null;
  }
  if (!f) {
    ui.notify({
      kind: 'error',
      title: 'Nothing to export yet',
      message: 'Run an experiment or open one from the History first.',
    });
    return null;
  }
  try {
    const desktop = desktopBridge();
    if (desktop) {
      const outcome = await results.whileBusy(`export-${format}`, async () =>
        desktopValue(await desktop.saveExport({ id: f.id, format })),
      );
      if (!outcome) return null;
      savedNotice(outcome.path);
      return outcome.path;
    }
    if (format === 'pdf') return await printInBrowser(f);
    const file = await results.exportAs(format);
    downloadFile(file);
    savedNotice(file.fileName);
    return file.fileName;
  } catch (e) {
    ui.notify({
      kind: 'error',
      title: `The ${FORMAT_NAMES[format]} could not be exported`,
      message: errorMessage(e),
    });
    return null;
  }
}

/** The address of an experiment's printable report in the web preview. */
export function printableReportUrl(id: string): string {
  return `/report/${encodeURIComponent(id)}/printable.html`;
}

/**
 * PDF in a browser: the printable report (the page the app prints) opens in a new tab, and the
 * user prints it there ("Save as PDF" as the printer). The page is not printed for them: a
 * print() started by this page runs in a tab the user has not looked at yet, and where no print
 * dialog can be shown (a headless or automated browser) it never ends, leaving the tab "already
 * being printed" for the user's own print.
 */
async function printInBrowser(f: HistoryFile): Promise<string | null> {
  const ui = useUiStore();
  const url = printableReportUrl(f.id);
  const opened = window.open(url, '_blank');
  if (!opened) {
    ui.notify({
      kind: 'error',
      title: 'The browser did not open the printable report',
      message: `Allow pop-ups for this page, or open ${url} yourself and print it to PDF.`,
    });
    return null;
  }
  ui.notify({
    kind: 'info',
    title: 'The printable report opened in a new tab',
    message: 'Print it there (Ctrl+P, or ⌘P on a Mac) and choose “Save as PDF” as the printer.',
  });
  return url;
}

/** Hand a chart image to the user: the native save dialog in the app, else a download. */
async function saveImage(
  name: string,
  image: { dataUrl: string } | { text: string; mimeType: string },
): Promise<string | null> {
  const desktop = desktopBridge();
  if (desktop) {
    const request =
      'dataUrl' in image
        ? { fileName: name, base64: image.dataUrl.slice(image.dataUrl.indexOf(',') + 1) }
        : { fileName: name, text: image.text };
    const outcome = desktopValue(await desktop.saveFile(request));
    return outcome ? outcome.path : null;
  }
  if ('dataUrl' in image) downloadUrl(name, image.dataUrl);
  else downloadFile({ fileName: name, mimeType: image.mimeType, text: image.text });
  return name;
}

/** A chart to save: of experiment `id`, or of the comparison of `id` (A) with `versus` (B). */
export interface ChartToSave {
  readonly definition: ChartDefinition;
  readonly id: string;
  readonly versus?: string;
}

/**
 * Save a chart as PNG (drawn here, from its definition) or SVG (drawn by the main process from
 * the saved experiments, so the file is the report's drawing); where it went, or null.
 */
export async function saveChartImage(
  chart: ChartToSave,
  format: 'png' | 'svg',
): Promise<string | null> {
  const results = useResultsStore();
  const ui = useUiStore();
  const { definition, id, versus } = chart;
  if (results.busy !== null) {
    ui.notify({ kind: 'info', title: 'An export is under way: try again when it is done' });
    return null;
  }
  try {
    const where = await results.whileBusy(`chart-${format}`, async () => {
      if (format === 'png') {
        return saveImage(chartFileName(id, definition.id, 'png', versus), {
          dataUrl: chartPngDataUrl(definition),
        });
      }
      const svg = await workbenchApi().call({
        method: 'exportChart',
        id,
        chartId: definition.id,
        format: 'svg',
        ...(versus === undefined ? {} : { versus }),
      });
      return saveImage(svg.fileName, { text: svg.text, mimeType: svg.mimeType });
    });
    if (where) savedNotice(where);
    return where;
  } catch (e) {
    ui.notify({
      kind: 'error',
      title: `${definition.title} could not be saved as ${format.toUpperCase()}`,
      message: errorMessage(e),
    });
    return null;
  }
}

/** Save chart `chartId` of the current experiment as PNG or SVG; where it went, or null. */
export async function exportChart(chartId: string, format: 'png' | 'svg'): Promise<string | null> {
  const results = useResultsStore();
  const f = results.file;
  const definition = results.charts.find((c) => c.id === chartId);
  if (!f || !definition) {
    useUiStore().notify({ kind: 'error', title: `There is no chart '${chartId}' to export` });
    return null;
  }
  return saveChartImage({ definition, id: f.id }, format);
}

/** After an import: show it in Compare and refresh the history list. */
function showOpened(title: string): void {
  const ui = useUiStore();
  ui.notify({ kind: 'info', title });
  ui.show('compare');
  const history = useHistoryStore();
  if (history.view) void history.refresh(); // the import was added to the history
}

/** Open an experiment file the user picked in a browser: import it, then show it in Compare. */
export async function openExperimentFile(file: File): Promise<boolean> {
  const results = useResultsStore();
  const ui = useUiStore();
  let text: string;
  try {
    text = await file.text();
  } catch (e) {
    ui.notify({ kind: 'error', title: `${file.name} could not be read`, message: errorMessage(e) });
    return false;
  }
  try {
    await results.importFile(file.name, text);
  } catch (e) {
    ui.notify({
      kind: 'error',
      title: `${file.name} could not be opened`,
      message: errorMessage(e),
    });
    return false;
  }
  showOpened(`Opened ${file.name} (added to the history)`);
  return true;
}

/** Open an experiment through the app's native dialog; false when cancelled or refused. */
export async function openExperimentWithDialog(): Promise<boolean> {
  const desktop = desktopBridge();
  const results = useResultsStore();
  const ui = useUiStore();
  if (!desktop) return false;
  let opened: HistoryFile | null;
  try {
    opened = await results.whileBusy('import', async () =>
      desktopValue(await desktop.openExperiment()),
    );
  } catch (e) {
    ui.notify({ kind: 'error', title: 'The file could not be opened', message: errorMessage(e) });
    return false;
  }
  if (!opened) return false;
  results.set(opened);
  showOpened('Opened the experiment (added to the history)');
  return true;
}

/** An experiment file the operating system asked the app to open (already imported, or not). */
export async function showExperimentOpened(
  opened: { fileName: string; id: string } | { fileName: string; error: string },
): Promise<boolean> {
  const results = useResultsStore();
  const ui = useUiStore();
  if ('error' in opened) {
    ui.notify({
      kind: 'error',
      title: `${opened.fileName} could not be opened`,
      message: opened.error,
    });
    return false;
  }
  if (!(await results.load(opened.id))) {
    ui.notify({
      kind: 'error',
      title: `${opened.fileName} could not be opened`,
      message: results.error ?? '',
    });
    return false;
  }
  showOpened(`Opened ${opened.fileName} (added to the history)`);
  return true;
}
