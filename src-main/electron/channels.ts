// The IPC channel names and menu commands, in a module with no runtime imports at all: the
// preload bundles this and nothing else of ours, so the sandboxed preload stays a few
// kilobytes (shared/api.ts and desktop-channels.ts would bring zod along). The names of the
// workbench API's channels are declared with the types of shared/api.ts's constants, so the
// compiler refuses any difference between the two.

import type {
  IPC_EVENT_CHANNEL as ApiEventChannel,
  IPC_INVOKE_CHANNEL as ApiInvokeChannel,
  IPC_MENU_CHANNEL as ApiMenuChannel,
  MenuCommand,
} from '../../shared/api';

export const INVOKE_CHANNEL: typeof ApiInvokeChannel = 'vmm-workbench:invoke';
export const EVENT_CHANNEL: typeof ApiEventChannel = 'vmm-workbench:event';
export const MENU_CHANNEL: typeof ApiMenuChannel = 'vmm-workbench:menu';

/** Desktop request channels (renderer → main, ipcRenderer.invoke). */
export const DESKTOP_CHANNELS = {
  /** save an experiment as json / csv / html / pdf where the user chooses */
  saveExport: 'vmm-workbench-desktop:save-export',
  /** save a file the renderer made (a chart image) where the user chooses */
  saveFile: 'vmm-workbench-desktop:save-file',
  /** pick an experiment file and add it to the history */
  openExperiment: 'vmm-workbench-desktop:open-experiment',
  /** pick a kernel file (image or NASM source) to run */
  openKernel: 'vmm-workbench-desktop:open-kernel',
} as const;

export type DesktopChannel = (typeof DESKTOP_CHANNELS)[keyof typeof DESKTOP_CHANNELS];

/** Desktop event channel (main → renderer): an experiment file the OS asked the app to open. */
export const DESKTOP_OPENED_CHANNEL = 'vmm-workbench-desktop:experiment-opened';

/** Every MenuCommand of shared/api.ts, once. */
export const MENU_COMMANDS = [
  'new',
  'open',
  'save',
  'export-report',
  'glossary',
  'about',
] as const satisfies readonly MenuCommand[];

// …and no MenuCommand missing from the list
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const allMenuCommands: Same<(typeof MENU_COMMANDS)[number], MenuCommand> = true;
void allMenuCommands;
