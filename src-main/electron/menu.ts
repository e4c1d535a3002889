// The application menu. Commands that concern the experiment on screen (new, open, save,
// export, the glossary, about) are not handled here: they go to the renderer as MenuCommands
// (IPC_MENU_CHANNEL), which knows what is selected and shows its own pages. Reload and the
// developer tools exist only in development; the theme follows the system unless chosen.

import { Menu, type MenuItemConstructorOptions, nativeTheme } from 'electron';
import { type MenuCommand } from '../../shared/api';

export type ThemeSource = 'system' | 'light' | 'dark';

export interface MenuOptions {
  readonly appName: string;
  readonly platform: NodeJS.Platform;
  readonly isDev: boolean;
  /** deliver a command to the renderer */
  readonly send: (command: MenuCommand) => void;
}

function command(
  label: string,
  cmd: MenuCommand,
  send: (command: MenuCommand) => void,
  accelerator?: string,
): MenuItemConstructorOptions {
  return { label, ...(accelerator ? { accelerator } : {}), click: () => send(cmd) };
}

function themeItem(label: string, source: ThemeSource): MenuItemConstructorOptions {
  return {
    label,
    type: 'radio',
    checked: nativeTheme.themeSource === source,
    click: () => {
      nativeTheme.themeSource = source;
    },
  };
}

/** The menu as a template (pure apart from reading the current theme). */
export function menuTemplate(options: MenuOptions): MenuItemConstructorOptions[] {
  const { appName, platform, isDev, send } = options;
  const mac = platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [];

  if (mac) {
    template.push({
      label: appName,
      submenu: [
        command(`About ${appName}`, 'about', send),
        { type: 'separator' },
        { role: 'services' },
        { type: 'separator' },
        { role: 'hide' },
        { role: 'hideOthers' },
        { role: 'unhide' },
        { type: 'separator' },
        { role: 'quit' },
      ],
    });
  }

  template.push({
    label: '&File',
    submenu: [
      command('&New experiment', 'new', send, 'CmdOrCtrl+N'),
      command('&Open experiment…', 'open', send, 'CmdOrCtrl+O'),
      command('&Save experiment…', 'save', send, 'CmdOrCtrl+S'),
      // Ctrl+E alone is the page's own shortcut (HTML export): the menu must not take it
      command('&Export report…', 'export-report', send, 'CmdOrCtrl+Shift+E'),
      { type: 'separator' },
      mac ? { role: 'close' } : { role: 'quit', label: '&Quit' },
    ],
  });

  // text fields need the edit roles for copy and paste to work at all on macOS
  template.push({
    label: '&Edit',
    submenu: [
      { role: 'undo' },
      { role: 'redo' },
      { type: 'separator' },
      { role: 'cut' },
      { role: 'copy' },
      { role: 'paste' },
      { role: 'selectAll' },
    ],
  });

  const view: MenuItemConstructorOptions[] = [];
  if (isDev) {
    view.push({ role: 'reload' }, { role: 'forceReload' }, { role: 'toggleDevTools' });
    view.push({ type: 'separator' });
  }
  view.push(
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
    { type: 'separator' },
    {
      label: '&Theme',
      submenu: [
        themeItem('Follow the system', 'system'),
        themeItem('Light', 'light'),
        themeItem('Dark', 'dark'),
      ],
    },
  );
  template.push({ label: '&View', submenu: view });

  if (mac) template.push({ role: 'windowMenu' });

  template.push({
    label: '&Help',
    role: 'help',
    submenu: [
      command('The lecture &glossary', 'glossary', send, 'F1'),
      ...(mac ? [] : [{ type: 'separator' } as const, command(`&About ${appName}`, 'about', send)]),
    ],
  });
  return template;
}

/** Build the menu and make it the application menu. */
export function installMenu(options: MenuOptions): Menu {
  const menu = Menu.buildFromTemplate(menuTemplate(options));
  Menu.setApplicationMenu(menu);
  return menu;
}
