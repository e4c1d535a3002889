// The Electron main process with Electron replaced by a test double (fake-electron.ts): the
// real module is never loaded. What is checked is what the shell promises:
//   - one instance (a second launch focuses the first window and quits);
//   - the main window's web preferences (context isolation, sandbox, no Node, the built
//     preload) and what it loads (the built page by loadFile; a dev server only unpackaged
//     and on this machine);
//   - no navigation, no new windows, no <webview>, no permissions, the CSP header;
//   - IPC: a foreign sender refused, a malformed request answered with the field, a good one
//     reaching the backend, events only to live windows showing the app;
//   - the desktop channels: validated, saving through the dialog with an atomic write, PDF
//     printed from a hidden window without JavaScript, files opened within the size limits;
//   - the window's place remembered, and the services stopped on quit.

import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ApiEvent,
  IPC_EVENT_CHANNEL,
  IPC_INVOKE_CHANNEL,
  IPC_MENU_CHANNEL,
  MAX_KERNEL_FILE_BYTES,
} from '../../shared/api';
import { type HistoryFile, parseResultsFile } from '../../shared/results';
import { mainWebPreferences, type RunningApp, startApp } from '../../src-main/electron/app';
import { appPaths } from '../../src-main/electron/paths';
import { PRINT_PARTITION } from '../../src-main/electron/desktop';
import { DESKTOP_CHANNELS, DESKTOP_OPENED_CHANNEL } from '../../src-main/electron/desktop-channels';
import { registerIpc, REFUSED_SENDER_ERROR, sendMenuCommand } from '../../src-main/electron/ipc';
import { CONTENT_SECURITY_POLICY, type AppPage } from '../../src-main/electron/security';
import { WorkbenchBackend } from '../../src-main/service/api-backend';
import { type ExperimentService } from '../../src-main/service/experiment-service';
import { sampleResults } from '../helpers/sample-results';
import * as fake from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));

const OUT_MAIN = path.resolve('out', 'main');
const PATHS = appPaths(OUT_MAIN);

let dir: string;
let running: RunningApp | null = null;
const savedRendererUrl = process.env.ELECTRON_RENDERER_URL;

beforeEach(() => {
  fake.resetFakeElectron();
  dir = mkdtempSync(path.join(tmpdir(), 'vmm-electron-'));
  for (const name of ['userData', 'temp', 'documents']) mkdirSync(path.join(dir, name));
  fake.app.paths = {
    userData: path.join(dir, 'userData'),
    temp: path.join(dir, 'temp'),
    documents: path.join(dir, 'documents'),
  };
  delete process.env.ELECTRON_RENDERER_URL;
});

afterEach(async () => {
  await running?.shutdown();
  running = null;
  if (savedRendererUrl === undefined) delete process.env.ELECTRON_RENDERER_URL;
  else process.env.ELECTRON_RENDERER_URL = savedRendererUrl;
  rmSync(dir, { recursive: true, force: true });
});

function mainWindow(): fake.FakeBrowserWindow {
  const w = fake.FakeBrowserWindow.instances[0];
  if (!w) throw new Error('no window was created');
  return w;
}

async function start(
  options: { env?: Record<string, string>; argv?: string[] } = {},
): Promise<RunningApp> {
  const app = await startApp({ paths: PATHS, env: options.env ?? {}, argv: options.argv ?? [] });
  if (!app) throw new Error('the app did not start');
  running = app;
  return app;
}

describe('the entry point (main.ts)', () => {
  it('starts the app with the built files next to the main bundle', async () => {
    const main = await import('../../src-main/electron/main');
    running = await main.started;
    expect(running).not.toBeNull();
    const here = path.dirname(
      fileURLToPath(new URL('../../src-main/electron/main.ts', import.meta.url)),
    );
    const expected = appPaths(here);
    const prefs = mainWindow().options.webPreferences!;
    expect(prefs.preload).toBe(expected.preload);
    expect(mainWindow().loadFile).toHaveBeenCalledWith(expected.rendererFile);
    expect(running!.pool).toBeDefined();
  });
});

describe('the built layout', () => {
  it('puts the preload, the page and the worker where electron-vite writes them', () => {
    expect(PATHS.preload).toBe(path.resolve('out', 'preload', 'index.cjs'));
    expect(PATHS.rendererFile).toBe(path.resolve('out', 'renderer', 'index.html'));
    expect(PATHS.workerScript).toBe(path.resolve('out', 'main', 'run-worker.js'));
  });
});

describe('single instance', () => {
  it('quits at once, with no window, when another instance holds the lock', async () => {
    fake.app.lock = false;
    expect(await startApp({ paths: PATHS, env: {}, argv: [] })).toBeNull();
    expect(fake.app.quit).toHaveBeenCalled();
    expect(fake.FakeBrowserWindow.instances).toHaveLength(0);
    expect(fake.ipcMain.handlers.size).toBe(0);
  });

  it('focuses (and restores) the first window when a second instance starts', async () => {
    await start();
    expect(fake.app.requestSingleInstanceLock).toHaveBeenCalledTimes(1);
    const w = mainWindow();
    w.minimized = true;
    fake.app.emit('second-instance', fake.fakeEvent(), ['electron', '.'], dir, {});
    expect(w.restore).toHaveBeenCalled();
    expect(w.focus).toHaveBeenCalled();
    expect(fake.FakeBrowserWindow.instances).toHaveLength(1);
  });
});

describe('the main window', () => {
  it('is sandboxed and isolated, with no Node and the built preload', async () => {
    await start();
    const prefs = mainWindow().options.webPreferences!;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: PATHS.preload,
      devTools: false,
    });
    expect(fake.app.enableSandbox).toHaveBeenCalled();
    expect(mainWebPreferences('p', true).devTools).toBe(true);
  });

  it('loads the built page from a file, not from any URL', async () => {
    await start();
    expect(mainWindow().loadFile).toHaveBeenCalledWith(PATHS.rendererFile);
    expect(mainWindow().loadURL).not.toHaveBeenCalled();
  });

  it('loads the dev server only when unpackaged and on this machine', async () => {
    await start({ env: { ELECTRON_RENDERER_URL: 'http://localhost:5173/' } });
    expect(mainWindow().loadURL).toHaveBeenCalledWith('http://localhost:5173/');
    await running!.shutdown();
    running = null;

    for (const [packaged, url] of [
      [true, 'http://localhost:5173/'],
      [false, 'https://example.com/'],
      [false, 'file:///etc/passwd'],
    ] as const) {
      fake.resetFakeElectron();
      fake.app.paths = { userData: path.join(dir, 'userData'), temp: dir, documents: dir };
      fake.app.isPackaged = packaged;
      await start({ env: { ELECTRON_RENDERER_URL: url } });
      expect(mainWindow().loadURL).not.toHaveBeenCalled();
      expect(mainWindow().loadFile).toHaveBeenCalledWith(PATHS.rendererFile);
      await running!.shutdown();
      running = null;
    }
  });

  it('refuses navigation, new windows and <webview>', async () => {
    await start();
    const contents = mainWindow().webContents;
    for (const name of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      const event = fake.fakeEvent();
      contents.emit(name, event, 'https://example.com/');
      expect(event.defaultPrevented, name).toBe(true);
    }
    expect(contents.windowOpenHandler?.({ url: 'https://example.com/' })).toEqual({
      action: 'deny',
    });
    // any web contents created later (a print window, a devtools page) gets the same rules
    const other = new fake.FakeWebContents();
    fake.app.emit('web-contents-created', fake.fakeEvent(), other);
    const event = fake.fakeEvent();
    other.emit('will-navigate', event, 'https://example.com/');
    expect(event.defaultPrevented).toBe(true);
    expect(other.windowOpenHandler?.({ url: 'about:blank' })).toEqual({ action: 'deny' });
  });

  it('sets the Content-Security-Policy header on every response, replacing any other', async () => {
    await start();
    const listener = fake.session.defaultSession.headersListener!;
    expect(listener).toBeDefined();
    let headers: Record<string, string[]> | undefined;
    listener(
      {
        url: 'http://localhost/',
        responseHeaders: {
          'content-security-policy': ["default-src *; script-src 'unsafe-eval'"],
          'Content-Type': ['text/html'],
        },
      },
      (r) => (headers = r.responseHeaders),
    );
    expect(headers).toEqual({
      'Content-Type': ['text/html'],
      'Content-Security-Policy': [CONTENT_SECURITY_POLICY],
    });
    const policy = CONTENT_SECURITY_POLICY;
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ]) {
      expect(policy).toContain(directive);
    }
    expect(policy).not.toMatch(/unsafe-eval|unsafe-inline|https?:|\*/);
  });

  it('relaxes the policy for the dev server only as far as hot reload needs', async () => {
    await start({ env: { ELECTRON_RENDERER_URL: 'http://127.0.0.1:5173/' } });
    let headers: Record<string, string[]> | undefined;
    fake.session.defaultSession.headersListener!({ url: 'http://127.0.0.1:5173/' }, (r) => {
      headers = r.responseHeaders;
    });
    const policy = headers!['Content-Security-Policy']![0]!;
    expect(policy).toContain("connect-src 'self' ws://127.0.0.1:5173");
    expect(policy).toContain("script-src 'self';");
    expect(policy).not.toContain('unsafe-eval');
  });

  it('denies every permission request and check', async () => {
    await start();
    const s = fake.session.defaultSession;
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal']) {
      const callback = vi.fn();
      s.permissionRequestHandler!(mainWindow().webContents, permission, callback);
      expect(callback).toHaveBeenCalledWith(false);
    }
    expect(s.permissionCheckHandler!(null, 'media', 'file://', {})).toBe(false);
  });

  it('remembers its size and place, and comes back there', async () => {
    await start();
    const w = mainWindow();
    w.bounds = { x: 120, y: 80, width: 1111, height: 777 };
    w.maximized = true;
    w.emit('close', fake.fakeEvent());
    const saved = JSON.parse(
      readFileSync(path.join(dir, 'userData', 'window-state.json'), 'utf8'),
    ) as Record<string, unknown>;
    expect(saved).toMatchObject({ x: 120, y: 80, width: 1111, height: 777, maximized: true });
    await running!.shutdown();

    fake.resetFakeElectron();
    fake.app.paths = { userData: path.join(dir, 'userData'), temp: dir, documents: dir };
    await start();
    const again = mainWindow();
    expect(again.options).toMatchObject({ x: 120, y: 80, width: 1111, height: 777 });
    again.emit('ready-to-show');
    expect(again.maximize).toHaveBeenCalled();
    expect(again.show).toHaveBeenCalled();
  });

  it('opens at the default size when the saved state is corrupt', async () => {
    writeFileSync(path.join(dir, 'userData', 'window-state.json'), '{"version":1,"x":');
    await start();
    expect(mainWindow().options).not.toHaveProperty('x');
    expect(mainWindow().options.width).toBeGreaterThan(0);
  });

  it('stops the services before the process ends', async () => {
    const app = await start();
    const close = vi.spyOn(app.pool, 'close');
    const event = fake.fakeEvent();
    fake.app.emit('will-quit', event);
    expect(event.defaultPrevented).toBe(true);
    await vi.waitFor(() => expect(fake.app.quit).toHaveBeenCalled());
    expect(close).toHaveBeenCalled();
    expect(fake.ipcMain.handlers.size).toBe(0);
    // the second will-quit (from that app.quit()) lets the process end
    const second = fake.fakeEvent();
    fake.app.emit('will-quit', second);
    expect(second.defaultPrevented).toBe(false);
  });

  it('sends menu commands to the window', async () => {
    await start();
    const template = fake.Menu.buildFromTemplate.mock.calls[0]![0] as {
      label?: string;
      submenu?: { label?: string; click?: () => void }[];
    }[];
    const file = template.find((m) => m.label === '&File')!;
    file.submenu!.find((i) => i.label === '&Open experiment…')!.click!();
    expect(mainWindow().webContents.send).toHaveBeenCalledWith(IPC_MENU_CHANNEL, 'open');
  });
});

// ---------------------------------------------------------------------------------------------
// IPC

const PAGE: AppPage = { rendererFile: PATHS.rendererFile };
const PAGE_URL = pathToFileURL(PATHS.rendererFile).href;

interface FakeService {
  calls: string[];
  history: HistoryFile;
}

function historyFile(): HistoryFile {
  return {
    ...sampleResults(),
    id: '2026-01-02T03-04-05-006Z-abcdef',
    createdAt: '2026-01-02T03:04:05.006Z',
  };
}

function fakeService(): FakeService & ExperimentService {
  const history = historyFile();
  const calls: string[] = [];
  const service = {
    calls,
    history,
    listHistory: async () => {
      calls.push('listHistory');
      return { entries: [], problems: [] };
    },
    load: async (id: string) => {
      calls.push(`load:${id}`);
      if (id !== history.id) throw new Error(`no experiment '${id}'`);
      return history;
    },
    import: async (text: string) => {
      calls.push('import');
      const results = parseResultsFile(text);
      return { ...results, id: 'imported-1', createdAt: history.createdAt };
    },
    close: async () => {},
  };
  return service as unknown as FakeService & ExperimentService;
}

function withWindow(url = PAGE_URL): fake.FakeBrowserWindow {
  const w = new fake.FakeBrowserWindow({});
  w.webContents.url = url;
  return w;
}

function invokeEvent(
  url: string | null,
  window: fake.FakeBrowserWindow,
  options: { subframe?: boolean } = {},
) {
  return {
    senderFrame: url === null ? null : { url, parent: options.subframe ? { url } : null },
    sender: window.webContents,
  };
}

async function call(
  channel: string,
  event: unknown,
  ...args: unknown[]
): Promise<{
  ok: boolean;
  value?: unknown;
  error?: string;
}> {
  const handler = fake.ipcMain.handlers.get(channel);
  if (!handler) throw new Error(`no handler for ${channel}`);
  return (await (handler as (...a: unknown[]) => unknown)(event, ...args)) as {
    ok: boolean;
    value?: unknown;
    error?: string;
  };
}

describe('IPC: the workbench API', () => {
  let service: FakeService & ExperimentService;
  let window: fake.FakeBrowserWindow;
  let dispose: () => void;

  beforeEach(() => {
    service = fakeService();
    window = withWindow();
    dispose = registerIpc({
      backend: new WorkbenchBackend(service),
      page: PAGE,
      windows: () => [window as never],
    });
  });
  afterEach(() => dispose());

  it('passes a good request from the app page to the backend', async () => {
    const answer = await call(IPC_INVOKE_CHANNEL, invokeEvent(PAGE_URL, window), {
      method: 'listHistory',
    });
    expect(answer).toEqual({ ok: true, value: { entries: [], problems: [] } });
    expect(service.calls).toEqual(['listHistory']);
    // the page's URL may carry a hash route or a query
    const routed = await call(IPC_INVOKE_CHANNEL, invokeEvent(`${PAGE_URL}#/history?x=1`, window), {
      method: 'listHistory',
    });
    expect(routed.ok).toBe(true);
  });

  it.each([
    ['another origin', 'https://evil.example/'],
    ['another local file', pathToFileURL(path.resolve('out', 'renderer', 'other.html')).href],
    ['a file next to the app', pathToFileURL(path.resolve('out', 'index.html')).href],
    ['about:blank', 'about:blank'],
    ['a data: page', 'data:text/html,<script>1</script>'],
    ['a dev server the app does not use', 'http://localhost:5173/'],
  ])('refuses a request from %s', async (_what, url) => {
    const answer = await call(IPC_INVOKE_CHANNEL, invokeEvent(url, window), {
      method: 'listHistory',
    });
    expect(answer).toEqual({ ok: false, error: REFUSED_SENDER_ERROR });
    expect(service.calls).toEqual([]);
  });

  it('refuses a request from a frame inside the page, or from a frame that is gone', async () => {
    for (const event of [
      invokeEvent(PAGE_URL, window, { subframe: true }),
      invokeEvent(null, window),
    ]) {
      expect(await call(IPC_INVOKE_CHANNEL, event, { method: 'listHistory' })).toEqual({
        ok: false,
        error: REFUSED_SENDER_ERROR,
      });
    }
    expect(service.calls).toEqual([]);
  });

  it.each([
    ['no method', {}, 'method'],
    ['an unknown method', { method: 'format-disk' }, 'method'],
    ['a bad id', { method: 'loadExperiment', id: '../../etc/passwd' }, 'id'],
    ['a bad export format', { method: 'exportExperiment', id: 'x', format: 'exe' }, 'format'],
    ['a non-object', 'listHistory', 'request'],
    ['nothing', undefined, 'request'],
  ])('answers a request with %s with an error naming the field', async (_what, request, field) => {
    const answer = await call(IPC_INVOKE_CHANNEL, invokeEvent(PAGE_URL, window), request);
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatch(new RegExp(`^invalid request: ${field}\\b`));
    expect(service.calls).toEqual([]);
  });

  it('answers a failing call with its message', async () => {
    const answer = await call(IPC_INVOKE_CHANNEL, invokeEvent(PAGE_URL, window), {
      method: 'loadExperiment',
      id: 'missing',
    });
    expect(answer).toEqual({ ok: false, error: "no experiment 'missing'" });
  });

  it('removes its handlers when disposed', () => {
    dispose();
    expect(fake.ipcMain.handlers.size).toBe(0);
    dispose = () => {};
  });
});

describe('IPC: events', () => {
  it('pushes backend events to live windows showing the app, and to nothing else', () => {
    const listeners = new Set<(e: ApiEvent) => void>();
    const backend = {
      handle: vi.fn(),
      subscribe: (l: (e: ApiEvent) => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
    const live = withWindow();
    const gone = withWindow();
    gone.destroy();
    const foreign = withWindow('https://example.com/');
    const crashed = withWindow();
    crashed.webContents.crashed = true;
    const dispose = registerIpc({
      backend: backend as unknown as WorkbenchBackend,
      page: PAGE,
      windows: () => [live, gone, foreign, crashed] as never[],
    });
    const event: ApiEvent = { type: 'finished', experimentId: 'e1' };
    for (const l of listeners) l(event);
    expect(live.webContents.send).toHaveBeenCalledWith(IPC_EVENT_CHANNEL, event);
    for (const w of [gone, foreign, crashed]) expect(w.webContents.send).not.toHaveBeenCalled();
    dispose();
    expect(listeners.size).toBe(0);
  });

  it('sends only known menu commands', () => {
    const w = withWindow();
    sendMenuCommand([w as never], PAGE, 'glossary');
    expect(w.webContents.send).toHaveBeenCalledWith(IPC_MENU_CHANNEL, 'glossary');
    expect(() => sendMenuCommand([w as never], PAGE, 'rm -rf' as never)).toThrow();
  });
});

describe('IPC: the desktop channels', () => {
  let service: FakeService & ExperimentService;
  let window: fake.FakeBrowserWindow;
  let dispose: () => void;
  const ok = () => invokeEvent(PAGE_URL, window);

  beforeEach(() => {
    service = fakeService();
    window = withWindow();
    dispose = registerIpc({
      backend: new WorkbenchBackend(service),
      page: PAGE,
      windows: () => [window as never],
    });
  });
  afterEach(() => dispose());

  it('refuses every desktop request from a foreign sender', async () => {
    for (const channel of Object.values(DESKTOP_CHANNELS)) {
      const answer = await call(channel, invokeEvent('https://evil.example/', window), {
        id: service.history.id,
        format: 'json',
      });
      expect(answer).toEqual({ ok: false, error: REFUSED_SENDER_ERROR });
    }
    expect(fake.dialog.showSaveDialog).not.toHaveBeenCalled();
    expect(fake.dialog.showOpenDialog).not.toHaveBeenCalled();
  });

  it.each([
    ['no id', { format: 'json' }, 'id'],
    ['an unknown format', { id: 'x', format: 'docx' }, 'format'],
    ['an extra field', { id: 'x', format: 'json', path: '/etc/passwd' }, 'request'],
    ['a non-object', 'x', 'request'],
  ])(
    'answers a save request with %s with an error naming the field',
    async (_w, request, field) => {
      const answer = await call(DESKTOP_CHANNELS.saveExport, ok(), request);
      expect(answer.ok).toBe(false);
      expect(answer.error).toContain(`invalid ${DESKTOP_CHANNELS.saveExport} request: ${field}`);
      expect(fake.dialog.showSaveDialog).not.toHaveBeenCalled();
    },
  );

  it('refuses arguments to the open dialogs', async () => {
    const answer = await call(DESKTOP_CHANNELS.openKernel, ok(), { path: '/etc/shadow' });
    expect(answer.ok).toBe(false);
    expect(fake.dialog.showOpenDialog).not.toHaveBeenCalled();
  });

  it('saves an export where the user chooses, whole', async () => {
    const target = path.join(dir, 'documents', 'mine.csv');
    fake.dialog.showSaveDialog.mockResolvedValue({ canceled: false, filePath: target });
    const answer = await call(DESKTOP_CHANNELS.saveExport, ok(), {
      id: service.history.id,
      format: 'csv',
    });
    expect(answer).toEqual({ ok: true, value: { path: target } });
    const [parent, options] = fake.dialog.showSaveDialog.mock.calls[0]! as [
      unknown,
      { defaultPath: string; filters: { extensions: string[] }[] },
    ];
    expect(parent).toBe(window);
    expect(options.defaultPath).toBe(path.join(dir, 'documents', `${service.history.id}.csv`));
    expect(options.filters[0]!.extensions).toEqual(['csv']);
    expect(readFileSync(target, 'utf8').split('\n')[0]).toContain('technique');
    expect(readdirSync(path.join(dir, 'documents'))).toEqual(['mine.csv']);
  });

  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255]).toString(
    'base64',
  );
  it.each([
    ['a folder in the name', { fileName: '../../a.svg', text: '<svg/>' }, 'fileName'],
    ['a Windows path', { fileName: 'C:\\x.svg', text: '<svg/>' }, 'fileName'],
    ['a file that is no image', { fileName: '.bashrc', text: 'rm -rf ~' }, 'fileName'],
    ['a script', { fileName: 'run.cmd', base64: PNG }, 'fileName'],
    ['both text and base64', { fileName: 'a.svg', text: '<svg/>', base64: PNG }, 'request'],
    ['no contents', { fileName: 'a.svg' }, 'request'],
    ['a PNG as text', { fileName: 'a.png', text: '<svg/>' }, 'request'],
    ['a PNG that is not one', { fileName: 'a.png', base64: 'eA==' }, 'request'],
    ['an SVG that is not one', { fileName: 'a.svg', text: '#!/bin/sh' }, 'request'],
    ['bad base64', { fileName: 'a.png', base64: '%%%' }, 'base64'],
    ['an extra field', { fileName: 'a.svg', text: '<svg/>', path: '/etc/passwd' }, 'request'],
  ])('answers a file save with %s with an error naming the field', async (_w, request, field) => {
    const answer = await call(DESKTOP_CHANNELS.saveFile, ok(), request);
    expect(answer.ok).toBe(false);
    expect(answer.error).toContain(`invalid ${DESKTOP_CHANNELS.saveFile} request: ${field}`);
    expect(fake.dialog.showSaveDialog).not.toHaveBeenCalled();
  });

  it('saves a chart image the page made where the user chooses, byte for byte', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 255]);
    const target = path.join(dir, 'documents', 'chart.png');
    fake.dialog.showSaveDialog.mockResolvedValue({ canceled: false, filePath: target });
    const answer = await call(DESKTOP_CHANNELS.saveFile, ok(), {
      fileName: 'x-traps-by-cause.png',
      base64: png.toString('base64'),
    });
    expect(answer).toEqual({ ok: true, value: { path: target } });
    expect(readFileSync(target).equals(png)).toBe(true);
    const [, options] = fake.dialog.showSaveDialog.mock.calls[0]! as [
      unknown,
      { defaultPath: string; filters: { extensions: string[] }[] },
    ];
    expect(options.defaultPath).toBe(path.join(dir, 'documents', 'x-traps-by-cause.png'));
    expect(options.filters[0]!.extensions).toEqual(['png']);

    const svgTarget = path.join(dir, 'documents', 'chart.svg');
    fake.dialog.showSaveDialog.mockResolvedValue({ canceled: false, filePath: svgTarget });
    const svg = '<svg xmlns="http://www.w3.org/2000/svg">é</svg>';
    expect(await call(DESKTOP_CHANNELS.saveFile, ok(), { fileName: 'x.svg', text: svg })).toEqual({
      ok: true,
      value: { path: svgTarget },
    });
    expect(readFileSync(svgTarget, 'utf8')).toBe(svg);
  });

  it('saves nothing when the user cancels', async () => {
    const answer = await call(DESKTOP_CHANNELS.saveExport, ok(), {
      id: service.history.id,
      format: 'json',
    });
    expect(answer).toEqual({ ok: true, value: null });
    expect(readdirSync(path.join(dir, 'documents'))).toEqual([]);
  });

  it('reports an unknown experiment without opening a dialog', async () => {
    const answer = await call(DESKTOP_CHANNELS.saveExport, ok(), { id: 'nope', format: 'html' });
    expect(answer).toEqual({ ok: false, error: "no experiment 'nope'" });
    expect(fake.dialog.showSaveDialog).not.toHaveBeenCalled();
  });

  it('prints the PDF in a hidden, sandboxed window without JavaScript or network', async () => {
    const target = path.join(dir, 'documents', 'report.pdf');
    fake.dialog.showSaveDialog.mockResolvedValue({ canceled: false, filePath: target });
    const answer = await call(DESKTOP_CHANNELS.saveExport, ok(), {
      id: service.history.id,
      format: 'pdf',
    });
    expect(answer).toEqual({ ok: true, value: { path: target } });
    expect(readFileSync(target, 'utf8')).toBe('%PDF-1.7 fake');

    const printer = fake.FakeBrowserWindow.instances.find((w) => w !== window)!;
    expect(printer.options.show).toBe(false);
    expect(printer.options.webPreferences).toMatchObject({
      javascript: false,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
    });
    expect(printer.options.webPreferences!.preload).toBeUndefined();
    const printSession = fake.session.fromPartition(PRINT_PARTITION);
    expect(printer.options.webPreferences!.session).toBe(printSession);
    const decide = (url: string) => {
      let cancel: boolean | undefined;
      printSession.requestListener!({ url }, (r) => (cancel = r.cancel));
      return cancel;
    };
    expect(decide('https://example.com/x.png')).toBe(true);
    expect(decide('file:///tmp/report.html')).toBe(false);
    expect(printer.loadURL.mock.calls[0]![0]).toMatch(/^file:\/\/.*report\.html$/);
    expect(printer.webContents.printToPDF).toHaveBeenCalledWith(
      expect.objectContaining({ printBackground: true }),
    );
    // the page it printed had its charts drawn ahead of time and no scripts
    expect(printer.loadedHtml).toContain(
      '<img class="chart-image" src="data:image/svg+xml;base64,',
    );
    expect(printer.loadedHtml).not.toMatch(/<script|<canvas/);
    expect(printer.isDestroyed()).toBe(true);
    expect(readdirSync(path.join(dir, 'temp'))).toEqual([]);
    // and the print window never gets the app's events
    expect(printer.webContents.send).not.toHaveBeenCalled();
  });

  it('opens an experiment file and imports it through the backend', async () => {
    const file = path.join(dir, 'mine.vmwb.json');
    writeFileSync(file, JSON.stringify(sampleResults()));
    fake.dialog.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: [file] });
    const answer = await call(DESKTOP_CHANNELS.openExperiment, ok(), {});
    expect(answer.ok).toBe(true);
    expect((answer.value as HistoryFile).id).toBe('imported-1');
    expect(service.calls).toEqual(['import']);
  });

  it('names the file when it is not an experiment', async () => {
    const file = path.join(dir, 'notes.json');
    writeFileSync(file, '{"hello": 1}');
    fake.dialog.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: [file] });
    const answer = await call(DESKTOP_CHANNELS.openExperiment, ok());
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatch(/^notes\.json is not a VMM Workbench experiment/);
  });

  it('opens a kernel file as an upload, and refuses one over the limit unread', async () => {
    const file = path.join(dir, 'k.bin');
    writeFileSync(file, Buffer.from([0x02, 0xb0, 0xad, 0x1b]));
    fake.dialog.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: [file] });
    expect(await call(DESKTOP_CHANNELS.openKernel, ok(), {})).toEqual({
      ok: true,
      value: { name: 'k.bin', base64: 'ArCtGw==' },
    });

    const big = path.join(dir, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, MAX_KERNEL_FILE_BYTES + 1);
    fake.dialog.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: [big] });
    const answer = await call(DESKTOP_CHANNELS.openKernel, ok(), {});
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatch(/big\.bin is too large/);

    fake.dialog.showOpenDialog.mockResolvedValue({ canceled: true, filePaths: [] });
    expect(await call(DESKTOP_CHANNELS.openKernel, ok(), {})).toEqual({ ok: true, value: null });
  });
});

describe('experiment files the OS asks the app to open', () => {
  it('imports them once the page is loaded and tells the page', async () => {
    const file = path.join(dir, 'from-finder.vmwb.json');
    writeFileSync(file, JSON.stringify(sampleResults()));
    await start({ argv: ['electron', '--some-flag', file] });
    const w = mainWindow();
    await vi.waitFor(() =>
      expect(w.webContents.send).toHaveBeenCalledWith(
        DESKTOP_OPENED_CHANNEL,
        expect.objectContaining({ fileName: 'from-finder.vmwb.json', id: expect.any(String) }),
      ),
    );
    // a second launch with a broken file: the first instance says what is wrong with it
    const broken = path.join(dir, 'broken.vmwb.json');
    writeFileSync(broken, 'not json');
    fake.app.emit('second-instance', fake.fakeEvent(), ['electron', 'broken.vmwb.json'], dir, {});
    await vi.waitFor(() =>
      expect(w.webContents.send).toHaveBeenCalledWith(
        DESKTOP_OPENED_CHANNEL,
        expect.objectContaining({ fileName: 'broken.vmwb.json', error: expect.any(String) }),
      ),
    );
  });
});
