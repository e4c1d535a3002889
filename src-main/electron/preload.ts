// The preload: the only code that sees both the page and Electron's IPC. It runs sandboxed
// (it can require nothing but 'electron'; electron-vite bundles the rest into one CommonJS
// file) and exposes two small objects through the context bridge, never ipcRenderer itself:
//   window.vmmWorkbench        — the WorkbenchBridge of shared/api.ts (requests and events)
//   window.vmmWorkbenchDesktop — the desktop-only extras of desktop-channels.ts
// Listeners get the message's payload only, never the IPC event (which holds the sender).

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { type ApiEvent, type MenuCommand, type WorkbenchBridge } from '../../shared/api';
import {
  DESKTOP_CHANNELS,
  DESKTOP_OPENED_CHANNEL,
  EVENT_CHANNEL,
  INVOKE_CHANNEL,
  MENU_CHANNEL,
  MENU_COMMANDS,
} from './channels';
import { type ExperimentOpened, type WorkbenchDesktopBridge } from './desktop-channels';

const menuCommands: ReadonlySet<string> = new Set(MENU_COMMANDS);

/** Listen on `channel`, passing the payload on if `accept` takes it; returns the unsubscribe. */
function subscribe<T>(
  channel: string,
  listener: (payload: T) => void,
  accept: (payload: unknown) => boolean = () => true,
): () => void {
  if (typeof listener !== 'function') throw new TypeError('the listener must be a function');
  const handler = (_event: IpcRendererEvent, payload: unknown): void => {
    if (accept(payload)) listener(payload as T);
  };
  ipcRenderer.on(channel, handler);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    ipcRenderer.removeListener(channel, handler);
  };
}

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null;

const bridge: WorkbenchBridge = {
  invoke: (request) => ipcRenderer.invoke(INVOKE_CHANNEL, request),
  onEvent: (listener) => subscribe<ApiEvent>(EVENT_CHANNEL, listener, isObject),
};

const desktopBridge: WorkbenchDesktopBridge = {
  saveExport: (request) => ipcRenderer.invoke(DESKTOP_CHANNELS.saveExport, request),
  saveFile: (request) => ipcRenderer.invoke(DESKTOP_CHANNELS.saveFile, request),
  openExperiment: () => ipcRenderer.invoke(DESKTOP_CHANNELS.openExperiment, {}),
  openKernel: () => ipcRenderer.invoke(DESKTOP_CHANNELS.openKernel, {}),
  onMenuCommand: (listener) =>
    subscribe<MenuCommand>(
      MENU_CHANNEL,
      listener,
      (c) => typeof c === 'string' && menuCommands.has(c),
    ),
  onExperimentOpened: (listener) =>
    subscribe<ExperimentOpened>(DESKTOP_OPENED_CHANNEL, listener, isObject),
};

contextBridge.exposeInMainWorld('vmmWorkbench', bridge);
contextBridge.exposeInMainWorld('vmmWorkbenchDesktop', desktopBridge);
