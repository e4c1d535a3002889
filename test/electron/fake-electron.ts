// A test double of the `electron` module: just enough of app, BrowserWindow, webContents,
// session, ipcMain, dialog, Menu, nativeTheme, screen, contextBridge and ipcRenderer for the
// shell's modules to run in plain Node, recording what they do. Tests replace the real module
// with it (`vi.mock('electron', () => import('./fake-electron'))`) — the real one would try to
// download and start a browser — and inspect `fake` (reset it between tests).

import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { vi } from 'vitest';

type Handler = (...args: never[]) => unknown;

export interface FakeEvent {
  defaultPrevented: boolean;
  preventDefault(): void;
}

export function fakeEvent(): FakeEvent {
  return {
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
  };
}

export class FakeWebContents extends EventEmitter {
  url = '';
  destroyed = false;
  crashed = false;
  windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;
  readonly send = vi.fn();
  readonly printToPDF = vi.fn(async () => Buffer.from('%PDF-1.7 fake'));
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  getURL(): string {
    return this.url;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  isCrashed(): boolean {
    return this.crashed;
  }
}

export class FakeBrowserWindow extends EventEmitter {
  static instances: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  destroyed = false;
  minimized = false;
  maximized = false;
  visible = false;
  bounds = { x: 0, y: 0, width: 0, height: 0 };
  readonly loadFile = vi.fn(async (file: string) => {
    this.webContents.url = pathToFileURL(file).href;
    this.webContents.emit('did-finish-load');
  });
  /** the page a file: URL pointed at, read as it was loaded (it may be deleted after) */
  loadedHtml: string | undefined;
  readonly loadURL = vi.fn(async (url: string) => {
    this.webContents.url = url;
    if (url.startsWith('file:')) this.loadedHtml = readFileSync(fileURLToPath(url), 'utf8');
    this.webContents.emit('did-finish-load');
  });
  readonly show = vi.fn(() => {
    this.visible = true;
  });
  readonly focus = vi.fn();
  readonly restore = vi.fn(() => {
    this.minimized = false;
  });
  readonly maximize = vi.fn(() => {
    this.maximized = true;
  });

  constructor(
    readonly options: Record<string, unknown> & { webPreferences?: Record<string, unknown> },
  ) {
    super();
    this.bounds = {
      x: (options.x as number | undefined) ?? 0,
      y: (options.y as number | undefined) ?? 0,
      width: (options.width as number | undefined) ?? 800,
      height: (options.height as number | undefined) ?? 600,
    };
    FakeBrowserWindow.instances.push(this);
    // as Electron does: every web contents is announced to the app
    app.emit('web-contents-created', fakeEvent(), this.webContents);
  }
  static fromWebContents(contents: unknown): FakeBrowserWindow | null {
    return FakeBrowserWindow.instances.find((w) => w.webContents === contents) ?? null;
  }
  static getAllWindows(): FakeBrowserWindow[] {
    return FakeBrowserWindow.instances.filter((w) => !w.destroyed);
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  destroy(): void {
    this.destroyed = true;
    this.webContents.destroyed = true;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  isMaximized(): boolean {
    return this.maximized;
  }
  getNormalBounds(): { x: number; y: number; width: number; height: number } {
    return { ...this.bounds };
  }
}

type HeadersListener = (
  details: { url: string; responseHeaders?: Record<string, string[]> },
  callback: (response: { responseHeaders?: Record<string, string[]>; cancel?: boolean }) => void,
) => void;
type RequestListener = (
  details: { url: string },
  callback: (response: { cancel?: boolean }) => void,
) => void;

export class FakeSession {
  headersListener: HeadersListener | undefined;
  requestListener: RequestListener | undefined;
  permissionRequestHandler:
    | ((contents: unknown, permission: string, callback: (granted: boolean) => void) => void)
    | undefined;
  permissionCheckHandler: ((...args: unknown[]) => boolean) | undefined;
  readonly webRequest = {
    onHeadersReceived: (listener: HeadersListener) => {
      this.headersListener = listener;
    },
    onBeforeRequest: (listener: RequestListener) => {
      this.requestListener = listener;
    },
  };
  setPermissionRequestHandler(
    handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void,
  ): void {
    this.permissionRequestHandler = handler;
  }
  setPermissionCheckHandler(handler: (...args: unknown[]) => boolean): void {
    this.permissionCheckHandler = handler;
  }
}

const partitions = new Map<string, FakeSession>();

export const session = {
  defaultSession: new FakeSession(),
  fromPartition(name: string): FakeSession {
    let s = partitions.get(name);
    if (!s) partitions.set(name, (s = new FakeSession()));
    return s;
  },
};

class FakeApp extends EventEmitter {
  name = 'VMM Workbench';
  isPackaged = false;
  lock = true;
  paths: Record<string, string> = {};
  readonly requestSingleInstanceLock = vi.fn(() => this.lock);
  readonly quit = vi.fn();
  readonly exit = vi.fn();
  readonly enableSandbox = vi.fn();
  whenReady(): Promise<void> {
    return Promise.resolve();
  }
  getPath(name: string): string {
    const p = this.paths[name];
    if (p === undefined) throw new Error(`no fake path '${name}'`);
    return p;
  }
}

export const app = new FakeApp();

export const ipcMain = {
  handlers: new Map<string, Handler>(),
  handle(channel: string, handler: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  },
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  },
};

export const dialog = {
  showSaveDialog: vi.fn(
    async (..._args: unknown[]): Promise<{ canceled: boolean; filePath?: string }> => ({
      canceled: true,
    }),
  ),
  showOpenDialog: vi.fn(
    async (..._args: unknown[]): Promise<{ canceled: boolean; filePaths: string[] }> => ({
      canceled: true,
      filePaths: [],
    }),
  ),
  showErrorBox: vi.fn(),
};

export const Menu = {
  applicationMenu: undefined as unknown,
  buildFromTemplate: vi.fn((template: unknown[]) => ({ template })),
  setApplicationMenu(menu: unknown): void {
    this.applicationMenu = menu;
  },
};

export const nativeTheme = { themeSource: 'system', shouldUseDarkColors: false };

export const screen = {
  displays: [{ id: 1, workArea: { x: 0, y: 0, width: 1920, height: 1050 } }],
  getPrimaryDisplay() {
    return this.displays[0]!;
  },
  getAllDisplays() {
    return this.displays;
  },
};

export const contextBridge = { exposeInMainWorld: vi.fn() };

export const ipcRenderer = {
  invoke: vi.fn(async (..._args: unknown[]): Promise<unknown> => ({ ok: true, value: null })),
  on: vi.fn(),
  removeListener: vi.fn(),
};

export const BrowserWindow = FakeBrowserWindow;

/** Everything back to a fresh process. */
export function resetFakeElectron(): void {
  FakeBrowserWindow.instances = [];
  app.removeAllListeners();
  app.isPackaged = false;
  app.lock = true;
  app.paths = {};
  app.requestSingleInstanceLock.mockClear();
  app.quit.mockClear();
  app.exit.mockClear();
  app.enableSandbox.mockClear();
  session.defaultSession = new FakeSession();
  partitions.clear();
  ipcMain.handlers.clear();
  dialog.showSaveDialog.mockReset();
  dialog.showSaveDialog.mockResolvedValue({ canceled: true });
  dialog.showOpenDialog.mockReset();
  dialog.showOpenDialog.mockResolvedValue({ canceled: true, filePaths: [] });
  dialog.showErrorBox.mockReset();
  Menu.applicationMenu = undefined;
  Menu.buildFromTemplate.mockClear();
  nativeTheme.themeSource = 'system';
  screen.displays = [{ id: 1, workArea: { x: 0, y: 0, width: 1920, height: 1050 } }];
  contextBridge.exposeInMainWorld.mockClear();
  ipcRenderer.invoke.mockClear();
  ipcRenderer.on.mockClear();
  ipcRenderer.removeListener.mockClear();
}

export default {
  app,
  BrowserWindow,
  session,
  ipcMain,
  dialog,
  Menu,
  nativeTheme,
  screen,
  contextBridge,
  ipcRenderer,
};
