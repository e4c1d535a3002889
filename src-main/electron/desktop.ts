// What the desktop does with files: save an export where the user chooses (native save dialog,
// atomic write), print the report to PDF in a hidden window that runs no JavaScript, and open
// experiment and kernel files through the native open dialog. Requests reach these functions
// already validated (ipc.ts); every file the app reads goes through the same backend and the
// same size limits as one the web preview uploads.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, session, type FileFilter, type Session } from 'electron';
import {
  type ExportedFile,
  KernelUploadSchema,
  type KernelUpload,
  MAX_EXPERIMENT_FILE_CHARS,
  MAX_KERNEL_FILE_BYTES,
} from '../../shared/api';
import { type HistoryFile } from '../../shared/results';
import { printableReportHtml } from '../report';
import { writeFileAtomic } from '../report/atomic-write';
import { type WorkbenchBackend } from '../service/api-backend';
import {
  type DesktopResult,
  type SaveExportRequest,
  type SaveFileRequest,
  type SaveOutcome,
} from './desktop-channels';
import { hardenWebContents } from './security';

export interface DesktopContext {
  readonly backend: Pick<WorkbenchBackend, 'handle'>;
}

/** A file to save: text from the backend, or the bytes of a PDF. */
export type FileToSave = ExportedFile | { readonly fileName: string; readonly data: Uint8Array };

const FILTERS: readonly [RegExp, FileFilter][] = [
  [/\.vmwb\.json$/i, { name: 'VMM Workbench experiment', extensions: ['json'] }],
  [/\.json$/i, { name: 'JSON', extensions: ['json'] }],
  [/\.csv$/i, { name: 'CSV (spreadsheets)', extensions: ['csv'] }],
  [/\.html$/i, { name: 'HTML report', extensions: ['html'] }],
  [/\.pdf$/i, { name: 'PDF report', extensions: ['pdf'] }],
  [/\.png$/i, { name: 'PNG image', extensions: ['png'] }],
  [/\.svg$/i, { name: 'SVG image', extensions: ['svg'] }],
];

export function saveFilters(fileName: string): FileFilter[] {
  const match = FILTERS.find(([re]) => re.test(fileName));
  return match ? [match[1]] : [{ name: 'All files', extensions: ['*'] }];
}

function defaultFolder(): string | undefined {
  try {
    return app.getPath('documents');
  } catch {
    return undefined; // no documents folder on this system: the dialog picks one
  }
}

/**
 * Ask where to save `file` (the native save dialog, attached to `window`) and write it there
 * atomically. Resolves with where it went, or null when the user cancelled.
 */
export async function saveExportedFile(
  window: BrowserWindow | undefined,
  file: FileToSave,
): Promise<SaveOutcome> {
  const folder = defaultFolder();
  const options = {
    title: 'Save',
    defaultPath: folder ? path.join(folder, file.fileName) : file.fileName,
    filters: saveFilters(file.fileName),
    properties: ['createDirectory', 'showOverwriteConfirmation'] as (
      'createDirectory' | 'showOverwriteConfirmation'
    )[],
  };
  const choice = window
    ? await dialog.showSaveDialog(window, options)
    : await dialog.showSaveDialog(options);
  if (choice.canceled || !choice.filePath) return null;
  await writeFileAtomic(choice.filePath, 'data' in file ? file.data : file.text);
  return { path: choice.filePath };
}

function unwrap<T>(result: DesktopResult<unknown>): T {
  if (!result.ok) throw new Error(result.error);
  return result.value as T;
}

/** Save experiment `id` in the format asked for (the PDF is printed from the report). */
export async function saveExport(
  context: DesktopContext,
  window: BrowserWindow | undefined,
  request: SaveExportRequest,
): Promise<DesktopResult<SaveOutcome>> {
  const { id, format } = request;
  if (format === 'pdf') {
    const file = unwrap<HistoryFile>(
      await context.backend.handle({ method: 'loadExperiment', id }),
    );
    const html = printableReportHtml({
      schemaVersion: file.schemaVersion,
      spec: file.spec,
      runs: file.runs,
    });
    const data = await printToPdf(html);
    return { ok: true, value: await saveExportedFile(window, { fileName: `${id}.pdf`, data }) };
  }
  const exported = unwrap<ExportedFile>(
    await context.backend.handle({ method: 'exportExperiment', id, format }),
  );
  return { ok: true, value: await saveExportedFile(window, exported) };
}

/** Save a file the page made (a chart image) where the user chooses. */
export async function saveRendererFile(
  window: BrowserWindow | undefined,
  request: SaveFileRequest,
): Promise<DesktopResult<SaveOutcome>> {
  const data =
    request.base64 !== undefined
      ? new Uint8Array(Buffer.from(request.base64, 'base64'))
      : new TextEncoder().encode(request.text ?? '');
  return { ok: true, value: await saveExportedFile(window, { fileName: request.fileName, data }) };
}

/** The in-memory session the print window uses: no network, no permissions. */
export const PRINT_PARTITION = 'vmm-workbench-print';
const securedSessions = new WeakSet<Session>();

function printSession(): Session {
  const ses = session.fromPartition(PRINT_PARTITION);
  if (!securedSessions.has(ses)) {
    securedSessions.add(ses);
    // the page is one local file with its images inlined: nothing else may load
    ses.webRequest.onBeforeRequest((details, callback) => {
      const allowed = details.url.startsWith('file:') || details.url.startsWith('data:');
      callback({ cancel: !allowed });
    });
    ses.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    ses.setPermissionCheckHandler(() => false);
  }
  return ses;
}

/**
 * Print `html` to PDF: written to a private temporary folder, loaded in a hidden, sandboxed
 * window with JavaScript disabled and no network, printed, and everything removed again.
 */
export async function printToPdf(html: string): Promise<Uint8Array> {
  const dir = await mkdtemp(path.join(app.getPath('temp'), 'vmm-workbench-print-'));
  const file = path.join(dir, 'report.html');
  let window: BrowserWindow | undefined;
  try {
    await writeFile(file, html, 'utf8');
    window = new BrowserWindow({
      show: false,
      webPreferences: {
        javascript: false,
        sandbox: true,
        contextIsolation: true,
        nodeIntegration: false,
        webSecurity: true,
        webviewTag: false,
        spellcheck: false,
        devTools: false,
        session: printSession(),
      },
    });
    hardenWebContents(window.webContents);
    await window.loadURL(pathToFileURL(file).href);
    const pdf = await window.webContents.printToPDF({
      printBackground: true,
      pageSize: 'A4',
      generateDocumentOutline: true,
    });
    return pdf;
  } finally {
    if (window && !window.isDestroyed()) window.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A file's contents, refused before reading when it is larger than `maxBytes`. */
async function readLimited(file: string, maxBytes: number, what: string): Promise<Buffer> {
  const info = await stat(file);
  if (!info.isFile()) throw new Error(`${path.basename(file)} is not a file`);
  if (info.size > maxBytes) {
    throw new Error(
      `${path.basename(file)} is too large for ${what} (${info.size} bytes; at most ${maxBytes})`,
    );
  }
  return readFile(file);
}

/** Import the experiment file at `file` into the history (through the backend). */
export async function importExperimentFile(
  context: DesktopContext,
  file: string,
): Promise<DesktopResult<HistoryFile>> {
  let text: string;
  try {
    text = (await readLimited(file, MAX_EXPERIMENT_FILE_CHARS, 'an experiment file')).toString(
      'utf8',
    );
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
  const fileName = path.basename(file).slice(0, 255) || 'experiment.json';
  return (await context.backend.handle({
    method: 'importExperiment',
    fileName,
    text,
  })) as DesktopResult<HistoryFile>;
}

/** Pick an experiment file and import it; null when the user cancelled. */
export async function openExperiment(
  context: DesktopContext,
  window: BrowserWindow | undefined,
): Promise<DesktopResult<HistoryFile | null>> {
  const file = await chooseFile(window, 'Open experiment', {
    name: 'VMM Workbench experiments',
    extensions: ['json'],
  });
  if (!file) return { ok: true, value: null };
  return importExperimentFile(context, file);
}

/** Pick a kernel file (a multiboot image or NASM source); null when the user cancelled. */
export async function openKernel(
  window: BrowserWindow | undefined,
): Promise<DesktopResult<KernelUpload | null>> {
  const file = await chooseFile(window, 'Open guest kernel', {
    name: 'Guest kernels (image or NASM source)',
    extensions: ['bin', 'img', 'asm'],
  });
  if (!file) return { ok: true, value: null };
  const bytes = await readLimited(file, MAX_KERNEL_FILE_BYTES, 'a kernel');
  const upload = KernelUploadSchema.safeParse({
    name: path.basename(file).slice(0, 255),
    base64: bytes.toString('base64'),
  });
  if (!upload.success) {
    return { ok: false, error: `${path.basename(file)} cannot be used as a kernel file` };
  }
  return { ok: true, value: upload.data };
}

/** The experiment files (`*.vmwb.json`) named on a command line (file association, 2nd launch). */
export function experimentFilesFromArgv(argv: readonly string[]): string[] {
  return argv.filter((arg) => !arg.startsWith('-') && /\.vmwb\.json$/i.test(arg));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The native open dialog for one file of `filter` (or any file); undefined when cancelled. */
async function chooseFile(
  window: BrowserWindow | undefined,
  title: string,
  filter: { name: string; extensions: string[] },
): Promise<string | undefined> {
  const options = {
    title,
    properties: ['openFile'] as 'openFile'[],
    filters: [filter, { name: 'All files', extensions: ['*'] }],
  };
  const choice = window
    ? await dialog.showOpenDialog(window, options)
    : await dialog.showOpenDialog(options);
  return choice.canceled ? undefined : choice.filePaths[0];
}
