// The main process's side of the IPC: the workbench API (shared/api.ts) and the desktop-only
// channels (desktop-channels.ts). Every message is checked twice before anything acts on it:
// who sent it (the app's own page, in the window's top frame — never another page or a
// frame inside it) and what it is (the zod schemas; the workbench API's are applied by
// WorkbenchBackend.handle, which never throws). Backend events are pushed to the windows that
// show the app's page, and to nothing else.

import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { type z } from 'zod';
import {
  type ApiEvent,
  IPC_EVENT_CHANNEL,
  IPC_INVOKE_CHANNEL,
  IPC_MENU_CHANNEL,
  type MenuCommand,
} from '../../shared/api';
import { type WorkbenchBackend } from '../service/api-backend';
import {
  type DesktopContext,
  openExperiment,
  openKernel,
  saveExport,
  saveRendererFile,
} from './desktop';
import {
  DESKTOP_CHANNELS,
  DESKTOP_OPENED_CHANNEL,
  type DesktopResult,
  describeDesktopError,
  type ExperimentOpened,
  MenuCommandSchema,
  OpenRequestSchema,
  SaveExportRequestSchema,
  SaveFileRequestSchema,
} from './desktop-channels';
import { type AppPage, isAppPageUrl } from './security';

export const REFUSED_SENDER_ERROR = 'request refused: it did not come from the VMM Workbench page';

/** Whether an IPC message comes from the app's page in a window's top frame. */
export function isTrustedSender(event: IpcMainInvokeEvent, page: AppPage): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  return isAppPageUrl(frame.url, page);
}

export interface IpcOptions {
  readonly backend: Pick<WorkbenchBackend, 'handle' | 'subscribe'>;
  readonly page: AppPage;
  /** the windows that may receive events (the main window; never the print window) */
  readonly windows: () => Iterable<BrowserWindow>;
}

/** Send `payload` on `channel` to each live window that shows the app's page. */
export function sendToAppWindows(
  windows: Iterable<BrowserWindow>,
  page: AppPage,
  channel: string,
  payload: unknown,
): void {
  for (const window of windows) {
    if (window.isDestroyed()) continue;
    const contents = window.webContents;
    if (contents.isDestroyed() || contents.isCrashed()) continue;
    if (!isAppPageUrl(contents.getURL(), page)) continue;
    try {
      contents.send(channel, payload);
    } catch {
      // a window closing right now: the next event goes to whoever is left
    }
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Register every handler. Returns the function that removes them again and stops the events
 * (called as the app quits, and by the tests).
 */
export function registerIpc(options: IpcOptions): () => void {
  const { backend, page } = options;
  const context: DesktopContext = { backend };

  ipcMain.handle(IPC_INVOKE_CHANNEL, async (event, request: unknown) => {
    if (!isTrustedSender(event, page)) return { ok: false, error: REFUSED_SENDER_ERROR };
    return backend.handle(request);
  });

  function desktop<S extends z.ZodType, T>(
    channel: string,
    schema: S,
    run: (request: z.infer<S>, window: BrowserWindow | undefined) => Promise<DesktopResult<T>>,
  ): void {
    ipcMain.handle(channel, async (event, request: unknown): Promise<DesktopResult<T>> => {
      if (!isTrustedSender(event, page)) return { ok: false, error: REFUSED_SENDER_ERROR };
      const parsed = schema.safeParse(request ?? {});
      if (!parsed.success) return { ok: false, error: describeDesktopError(channel, parsed.error) };
      try {
        return await run(parsed.data, BrowserWindow.fromWebContents(event.sender) ?? undefined);
      } catch (e) {
        return { ok: false, error: errorText(e) };
      }
    });
  }

  desktop(DESKTOP_CHANNELS.saveExport, SaveExportRequestSchema, (request, window) =>
    saveExport(context, window, request),
  );
  desktop(DESKTOP_CHANNELS.saveFile, SaveFileRequestSchema, (request, window) =>
    saveRendererFile(window, request),
  );
  desktop(DESKTOP_CHANNELS.openExperiment, OpenRequestSchema, (_request, window) =>
    openExperiment(context, window),
  );
  desktop(DESKTOP_CHANNELS.openKernel, OpenRequestSchema, (_request, window) => openKernel(window));

  const unsubscribe = backend.subscribe((event: ApiEvent) => {
    sendToAppWindows(options.windows(), page, IPC_EVENT_CHANNEL, event);
  });

  return () => {
    unsubscribe();
    ipcMain.removeHandler(IPC_INVOKE_CHANNEL);
    for (const channel of Object.values(DESKTOP_CHANNELS)) ipcMain.removeHandler(channel);
  };
}

/** Send a menu command to the app's windows (checked against the command list first). */
export function sendMenuCommand(
  windows: Iterable<BrowserWindow>,
  page: AppPage,
  command: MenuCommand,
): void {
  const parsed = MenuCommandSchema.parse(command);
  sendToAppWindows(windows, page, IPC_MENU_CHANNEL, parsed);
}

/** Tell the app's windows about an experiment file the OS asked the app to open. */
export function sendExperimentOpened(
  windows: Iterable<BrowserWindow>,
  page: AppPage,
  opened: ExperimentOpened,
): void {
  sendToAppWindows(windows, page, DESKTOP_OPENED_CHANNEL, opened);
}
