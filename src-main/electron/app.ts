// The desktop app's life: one instance, one main window, the services behind it and an
// orderly end. main.ts calls startApp with the paths of the built files; the tests call it
// with Electron replaced by a double.
//   - Single instance: a second launch focuses the first window (and hands over any
//     experiment files it was asked to open) instead of opening a second history writer.
//   - The window: sandboxed, context-isolated, no Node; the built renderer by loadFile, or
//     the electron-vite dev server in development only; its size and place remembered.
//   - The services: ExperimentService over the user data folder, with a WorkerPool that
//     starts the bundled run-worker (the app never runs TypeScript), answered by
//     WorkbenchBackend through ipc.ts.
//   - Quit: running experiments are cancelled (and saved as did-not-finish) and the workers
//     stopped before the process ends, within a bounded time.

import path from 'node:path';
import { defaultDataDir } from '../host/data-dir';
import {
  app,
  BrowserWindow,
  dialog,
  nativeTheme,
  screen,
  session,
  type WebPreferences,
} from 'electron';
import { WorkbenchBackend } from '../service/api-backend';
import { ExperimentService } from '../service/experiment-service';
import { WorkerPool } from '../workers/pool';
import { experimentFilesFromArgv, importExperimentFile } from './desktop';
import { registerIpc, sendExperimentOpened, sendMenuCommand } from './ipc';
import { installMenu } from './menu';
import { type AppPaths } from './paths';
import {
  type AppPage,
  contentSecurityPolicy,
  devServerUrl,
  hardenWebContents,
  secureSession,
} from './security';
import {
  loadWindowState,
  MIN_WINDOW_SIZE,
  placeWindow,
  type Rect,
  saveWindowState,
  WINDOW_STATE_FILE,
} from './window-state';

export interface StartOptions {
  readonly paths: AppPaths;
  /** default process.env (ELECTRON_RENDERER_URL in development) */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** default process.argv */
  readonly argv?: readonly string[];
}

export interface RunningApp {
  readonly page: AppPage;
  readonly backend: WorkbenchBackend;
  readonly pool: WorkerPool;
  mainWindow(): BrowserWindow | undefined;
  /** Cancel what runs, stop the workers, remove the IPC handlers (idempotent). */
  shutdown(): Promise<void>;
}

/** How long quitting waits for cancelled runs to end (and be saved) before it stops them. */
export const SHUTDOWN_GRACE_MS = 3000;

/** The main window's web preferences: everything the page could use to reach Node is off. */
export function mainWebPreferences(preload: string, isDev: boolean): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    devTools: isDev,
  };
}

/** The displays' work areas, the primary first (where a window with no saved place opens). */
function workAreas(): Rect[] {
  const primary = screen.getPrimaryDisplay();
  return [
    primary.workArea,
    ...screen
      .getAllDisplays()
      .filter((d) => d.id !== primary.id)
      .map((d) => d.workArea),
  ];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Start the app. Resolves with the running app once its window exists, or with null when
 * another instance is already running (this one then quits).
 */
export async function startApp(options: StartOptions): Promise<RunningApp | null> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  const env = options.env ?? process.env;
  const dev = devServerUrl(env, app.isPackaged);
  const isDev = dev !== undefined;
  const page: AppPage = {
    rendererFile: options.paths.rendererFile,
    ...(dev !== undefined ? { devServerUrl: dev } : {}),
  };

  let mainWindow: BrowserWindow | undefined;
  let pageLoaded = false;
  /** set once the services exist (files to open may arrive before) */
  const services: { backend?: WorkbenchBackend } = {};
  const windows = (): BrowserWindow[] =>
    mainWindow && !mainWindow.isDestroyed() ? [mainWindow] : [];

  // experiment files to open: from this launch's command line, later launches, macOS Finder
  const pendingFiles = experimentFilesFromArgv((options.argv ?? process.argv).slice(1)).map((f) =>
    path.resolve(f),
  );
  const openPendingFiles = async (): Promise<void> => {
    const { backend } = services;
    if (!backend || !pageLoaded) return;
    for (const file of pendingFiles.splice(0)) {
      const result = await importExperimentFile({ backend }, file);
      const fileName = path.basename(file);
      sendExperimentOpened(
        windows(),
        page,
        result.ok ? { fileName, id: result.value.id } : { fileName, error: result.error },
      );
    }
  };

  const focusMainWindow = (): void => {
    if (!mainWindow || mainWindow.isDestroyed()) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.show();
    mainWindow.focus();
  };

  app.on('second-instance', (_event, argv, workingDirectory) => {
    focusMainWindow();
    for (const f of experimentFilesFromArgv(argv.slice(1))) {
      pendingFiles.push(path.resolve(workingDirectory, f));
    }
    void openPendingFiles();
  });
  app.on('open-file', (event, file) => {
    event.preventDefault();
    pendingFiles.push(file);
    void openPendingFiles();
  });
  // every web contents, whoever creates it: no navigation, no windows, no <webview>
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  app.enableSandbox();

  await app.whenReady();

  secureSession(session.defaultSession, contentSecurityPolicy(dev));
  // the window state is the app's own; the history is shared with the CLI and the preview
  const stateFile = path.join(app.getPath('userData'), WINDOW_STATE_FILE);
  const dataDir = defaultDataDir();
  const pool = new WorkerPool({ workerScript: options.paths.workerScript });
  const workbench = new WorkbenchBackend(new ExperimentService({ dataDir, pool }));
  services.backend = workbench;
  const disposeIpc = registerIpc({ backend: workbench, page, windows });
  installMenu({
    appName: app.name,
    platform: process.platform,
    isDev,
    send: (command) => sendMenuCommand(windows(), page, command),
  });

  const createMainWindow = (): BrowserWindow => {
    const placement = placeWindow(loadWindowState(stateFile), workAreas());
    const window = new BrowserWindow({
      ...(placement.x !== undefined && placement.y !== undefined
        ? { x: placement.x, y: placement.y }
        : {}),
      width: placement.width,
      height: placement.height,
      minWidth: MIN_WINDOW_SIZE.width,
      minHeight: MIN_WINDOW_SIZE.height,
      show: false,
      title: 'VMM Workbench',
      backgroundColor: nativeTheme.shouldUseDarkColors ? '#1e1e1e' : '#ffffff',
      webPreferences: mainWebPreferences(options.paths.preload, isDev),
    });
    window.once('ready-to-show', () => {
      if (placement.maximized) window.maximize();
      window.show();
    });
    window.on('close', () => {
      saveWindowState(stateFile, {
        bounds: window.getNormalBounds(),
        maximized: window.isMaximized(),
      });
    });
    window.webContents.on('did-finish-load', () => {
      pageLoaded = true;
      void openPendingFiles();
    });
    const loading =
      page.devServerUrl !== undefined
        ? window.loadURL(page.devServerUrl)
        : window.loadFile(page.rendererFile);
    loading.catch((e: unknown) => {
      dialog.showErrorBox(
        'VMM Workbench',
        `The app's page could not be loaded (${errorText(e)}). Build it with "npm run build".`,
      );
    });
    return window;
  };

  mainWindow = createMainWindow();
  app.on('activate', () => {
    // macOS: the dock icon reopens the window the app keeps running without
    if (windows().length === 0) {
      pageLoaded = false;
      mainWindow = createMainWindow();
    }
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      disposeIpc();
      const closing = workbench.close().catch(() => undefined);
      await Promise.race([closing, delay(SHUTDOWN_GRACE_MS)]);
      await pool.close();
      await Promise.race([closing, delay(SHUTDOWN_GRACE_MS)]);
    })();
    return stopping;
  };
  let stopped = false;
  app.on('will-quit', (event) => {
    if (stopped) return;
    event.preventDefault();
    void shutdown().finally(() => {
      stopped = true;
      app.quit();
    });
  });

  return { page, backend: workbench, pool, mainWindow: () => windows()[0], shutdown };
}
