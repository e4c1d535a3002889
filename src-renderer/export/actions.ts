// The export and open actions the views and the shortcuts share: the experiment as JSON
// (`.vmwb.json`, which the app opens again), CSV or the HTML report, made by the main process
// (exportExperiment) and handed to the user as a download; a chart as PNG, drawn here; a
// `.vmwb.json` file the user picked, imported into the history and shown. Failures become the
// window's notice, saying what went wrong in the API's own words.

import { type ExportFormat } from '../../shared/api';
import { errorMessage } from '../stores/api-context';
import { useHistoryStore } from '../stores/history';
import { useResultsStore } from '../stores/results';
import { useUiStore } from '../stores/ui';
import { chartPngDataUrl } from './chart-image';
import { chartFileName, downloadFile, downloadUrl } from './download';

const FORMAT_NAMES: Record<ExportFormat, string> = {
  json: 'experiment file (JSON)',
  csv: 'CSV table',
  html: 'HTML report',
  'printable-html': 'printable report',
};

/** Export the current experiment; resolves with the file name, or null after a notice. */
export async function exportCurrent(format: ExportFormat): Promise<string | null> {
  const results = useResultsStore();
  const ui = useUiStore();
  let file;
  try {
    file = await results.exportAs(format);
  } catch (e) {
    ui.notify({
      kind: 'error',
      title: `The ${FORMAT_NAMES[format]} could not be exported`,
      message: errorMessage(e),
    });
    return null;
  }
  downloadFile(file);
  ui.notify({ kind: 'info', title: `Saved ${file.fileName}` });
  return file.fileName;
}

/** Download chart `chartId` of the current experiment as PNG; the file name, or null. */
export function exportChartPng(chartId: string): string | null {
  const results = useResultsStore();
  const ui = useUiStore();
  const f = results.file;
  const definition = results.charts.find((c) => c.id === chartId);
  if (!f || !definition) {
    ui.notify({ kind: 'error', title: `There is no chart '${chartId}' to export` });
    return null;
  }
  try {
    const name = chartFileName(f.id, chartId, 'png');
    downloadUrl(name, chartPngDataUrl(definition));
    ui.notify({ kind: 'info', title: `Saved ${name}` });
    return name;
  } catch (e) {
    ui.notify({
      kind: 'error',
      title: `${definition.title} could not be drawn as PNG`,
      message: errorMessage(e),
    });
    return null;
  }
}

/** Open an experiment file the user picked: import it, then show it in Compare. */
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
  ui.notify({ kind: 'info', title: `Opened ${file.name} (added to the history)` });
  ui.show('compare');
  const history = useHistoryStore();
  if (history.view) void history.refresh(); // the import was added to the history
  return true;
}
