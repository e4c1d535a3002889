// The preload with Electron replaced: it exposes exactly the two bridges (functions only, never
// ipcRenderer), requests go out on the shared channels, listeners get the payload and never
// the IPC event, unsubscribing removes the very handler it added (once), and menu commands or
// events that are not what the contract says are dropped.

import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ApiEvent,
  IPC_EVENT_CHANNEL,
  IPC_INVOKE_CHANNEL,
  IPC_MENU_CHANNEL,
  type WorkbenchBridge,
} from '../../shared/api';
import {
  DESKTOP_CHANNELS,
  DESKTOP_OPENED_CHANNEL,
  type WorkbenchDesktopBridge,
} from '../../src-main/electron/desktop-channels';
import * as fake from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));

let exposed: Record<string, unknown>;

beforeAll(async () => {
  fake.resetFakeElectron();
  await import('../../src-main/electron/preload');
  exposed = Object.fromEntries(
    fake.contextBridge.exposeInMainWorld.mock.calls.map(([k, v]) => [k as string, v]),
  );
});

beforeEach(() => {
  fake.ipcRenderer.invoke.mockClear();
  fake.ipcRenderer.on.mockClear();
  fake.ipcRenderer.removeListener.mockClear();
});

const api = () => exposed.vmmWorkbench as WorkbenchBridge;
const desktop = () => exposed.vmmWorkbenchDesktop as WorkbenchDesktopBridge;

/** The handler the preload registered last on `channel`. */
function handlerOn(channel: string): (event: unknown, payload: unknown) => void {
  const call = fake.ipcRenderer.on.mock.calls
    .filter((args: unknown[]) => args[0] === channel)
    .at(-1);
  if (!call) throw new Error(`nothing listens on ${channel}`);
  return call[1] as (event: unknown, payload: unknown) => void;
}

describe('the preload', () => {
  it('exposes the two bridges, made of functions only, and not ipcRenderer', () => {
    expect(Object.keys(exposed).sort()).toEqual(['vmmWorkbench', 'vmmWorkbenchDesktop']);
    expect(Object.keys(api()).sort()).toEqual(['invoke', 'onEvent']);
    expect(Object.keys(desktop()).sort()).toEqual([
      'onExperimentOpened',
      'onMenuCommand',
      'openExperiment',
      'openKernel',
      'saveExport',
      'saveFile',
    ]);
    for (const bridge of [api(), desktop()]) {
      for (const value of Object.values(bridge)) expect(typeof value).toBe('function');
      expect(Object.values(bridge)).not.toContain(fake.ipcRenderer);
    }
  });

  it('sends requests on the shared channels', async () => {
    fake.ipcRenderer.invoke.mockResolvedValueOnce({ ok: true, value: 'answer' });
    await expect(api().invoke({ method: 'catalog' })).resolves.toEqual({
      ok: true,
      value: 'answer',
    });
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(IPC_INVOKE_CHANNEL, { method: 'catalog' });
    await desktop().saveExport({ id: 'e1', format: 'pdf' });
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(DESKTOP_CHANNELS.saveExport, {
      id: 'e1',
      format: 'pdf',
    });
    await desktop().saveFile({ fileName: 'a.svg', text: '<svg/>' });
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(DESKTOP_CHANNELS.saveFile, {
      fileName: 'a.svg',
      text: '<svg/>',
    });
    await desktop().openExperiment();
    await desktop().openKernel();
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(DESKTOP_CHANNELS.openExperiment, {});
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(DESKTOP_CHANNELS.openKernel, {});
  });

  it('passes events on without the IPC event, and unsubscribes once', () => {
    const listener = vi.fn();
    const unsubscribe = api().onEvent(listener);
    const handler = handlerOn(IPC_EVENT_CHANNEL);
    const event: ApiEvent = { type: 'failed', experimentId: 'e', error: 'boom' };
    handler({ sender: fake.ipcRenderer }, event);
    handler({}, 'not an event');
    expect(listener.mock.calls).toEqual([[event]]);
    unsubscribe();
    unsubscribe();
    expect(fake.ipcRenderer.removeListener).toHaveBeenCalledTimes(1);
    expect(fake.ipcRenderer.removeListener).toHaveBeenCalledWith(IPC_EVENT_CHANNEL, handler);
  });

  it('passes on known menu commands only', () => {
    const listener = vi.fn();
    desktop().onMenuCommand(listener);
    const handler = handlerOn(IPC_MENU_CHANNEL);
    handler({}, 'export-report');
    handler({}, 'format-disk');
    handler({}, { command: 'new' });
    expect(listener.mock.calls).toEqual([['export-report']]);
  });

  it('passes on opened experiment files', () => {
    const listener = vi.fn();
    desktop().onExperimentOpened(listener);
    handlerOn(DESKTOP_OPENED_CHANNEL)({}, { fileName: 'a.vmwb.json', id: 'x' });
    expect(listener).toHaveBeenCalledWith({ fileName: 'a.vmwb.json', id: 'x' });
  });

  it('refuses a listener that is not a function', () => {
    expect(() => api().onEvent('alert(1)' as never)).toThrow(TypeError);
  });
});
