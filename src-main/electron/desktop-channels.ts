// The desktop-only part of the main↔renderer contract: native file dialogs, PDF export, menu
// commands and files the operating system asks the app to open. The workbench API itself
// (shared/api.ts) is the same in the app and the web preview; these exist only in the app, so
// the preload exposes them separately as `window.vmmWorkbenchDesktop`, and the renderer uses
// them when that object is present (falling back to downloads and <input type=file>).
//
// Every request is checked against the schemas below in the main process before it is used.
// This module imports neither Node nor Electron, so the renderer may import its types.

import { z } from 'zod';
import { ExportFormatSchema, type KernelUpload, type MenuCommand } from '../../shared/api';
import { type HistoryFile } from '../../shared/results';
import { MENU_COMMANDS } from './channels';

export {
  DESKTOP_CHANNELS,
  DESKTOP_OPENED_CHANNEL,
  type DesktopChannel,
  MENU_COMMANDS,
} from './channels';

/** What the desktop can save: the API's export formats and a PDF of the report. */
export const DesktopExportFormatSchema = z.enum([...ExportFormatSchema.options, 'pdf']);
export type DesktopExportFormat = z.infer<typeof DesktopExportFormatSchema>;

/** The experiment id is checked again by the backend, which owns its exact form. */
export const SaveExportRequestSchema = z.strictObject({
  id: z.string().min(1).max(200),
  format: DesktopExportFormatSchema,
});
export type SaveExportRequest = z.infer<typeof SaveExportRequestSchema>;

/** Chart images the renderer hands over to save: at most this big. */
export const MAX_SAVED_FILE_BYTES = 32 * 1024 * 1024;

/** The first bytes of every PNG file, base64: what a PNG the page drew starts with. */
const PNG_SIGNATURE_BASE64 = 'iVBORw0KGgo';

/**
 * A chart image the renderer drew, to save through the native dialog: a PNG (base64) or an
 * SVG (text), nothing else — the channel must not become a way for the page to write any file
 * it likes. The name is only the dialog's suggestion (a plain file name, no folders); the user
 * picks where it goes.
 */
export const SaveFileRequestSchema = z
  .strictObject({
    fileName: z
      .string()
      .min(1)
      .max(255)
      .refine(
        (name) =>
          name !== '.' &&
          name !== '..' &&
          ![...name].some((c) => '/\\:*?"<>|'.includes(c) || c.charCodeAt(0) < 0x20),
        'a file name without folders',
      )
      .refine((name) => /\.(png|svg)$/i.test(name), 'a .png or .svg image'),
    text: z.string().max(MAX_SAVED_FILE_BYTES).optional(),
    base64: z
      .string()
      .max(Math.ceil(MAX_SAVED_FILE_BYTES / 3) * 4)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 text')
      .optional(),
  })
  .refine(
    (r) =>
      /\.png$/i.test(r.fileName)
        ? r.text === undefined && r.base64?.startsWith(PNG_SIGNATURE_BASE64) === true
        : r.base64 === undefined && r.text !== undefined && /<svg[\s>]/.test(r.text),
    { message: 'a PNG comes as base64 PNG data, an SVG as SVG text' },
  );
export type SaveFileRequest = z.infer<typeof SaveFileRequestSchema>;

/** The open dialogs take no arguments: the main process decides what may be opened. */
export const OpenRequestSchema = z.strictObject({});

export const MenuCommandSchema = z.enum(MENU_COMMANDS);

/** The answer of every desktop request: a value, or an error a person can act on. */
export type DesktopResult<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Where a file was saved; null when the user cancelled the dialog. */
export type SaveOutcome = { readonly path: string } | null;

/** An experiment file opened from outside the app (file association, second launch). */
export type ExperimentOpened =
  | { readonly fileName: string; readonly id: string }
  | { readonly fileName: string; readonly error: string };

/** What the preload exposes as `window.vmmWorkbenchDesktop`. */
export interface WorkbenchDesktopBridge {
  /** Save experiment `id` in `format` through the native save dialog. */
  saveExport(request: SaveExportRequest): Promise<DesktopResult<SaveOutcome>>;
  /** Save a file the page made (a chart as PNG or SVG) through the native save dialog. */
  saveFile(request: SaveFileRequest): Promise<DesktopResult<SaveOutcome>>;
  /** Pick an experiment file (`.vmwb.json` / results.json) and import it into the history;
   *  null when cancelled. */
  openExperiment(): Promise<DesktopResult<HistoryFile | null>>;
  /** Pick a kernel file to run (pass it as `kernelFile` to startExperiment); null when
   *  cancelled. */
  openKernel(): Promise<DesktopResult<KernelUpload | null>>;
  /** Commands from the application menu; returns the unsubscribe function. */
  onMenuCommand(listener: (command: MenuCommand) => void): () => void;
  /** Experiment files the OS asked the app to open (already imported, or why not). */
  onExperimentOpened(listener: (opened: ExperimentOpened) => void): () => void;
}

/** The request's problem in one sentence, naming the field. */
export function describeDesktopError(channel: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `invalid ${channel} request`;
  const where = issue.path.length > 0 ? issue.path.join('.') : 'request';
  return `invalid ${channel} request: ${where}: ${issue.message}`;
}
