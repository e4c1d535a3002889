// The application menu: its commands reach the renderer as the MenuCommands of shared/api.ts,
// reload and the developer tools exist only in development, the page's own Ctrl+E shortcut is
// left alone, and the theme follows the choice.

import { beforeEach, describe, expect, it, vi } from 'vitest';
import { type MenuCommand } from '../../shared/api';
import { menuTemplate } from '../../src-main/electron/menu';
import * as fake from './fake-electron';

vi.mock('electron', () => import('./fake-electron'));

interface Item {
  label?: string;
  role?: string;
  accelerator?: string;
  type?: string;
  click?: () => void;
  submenu?: Item[];
}

function flatten(items: readonly Item[]): Item[] {
  return items.flatMap((i) => [i, ...flatten(i.submenu ?? [])]);
}

function build(platform: NodeJS.Platform, isDev: boolean) {
  const sent: MenuCommand[] = [];
  const template = menuTemplate({
    appName: 'VMM Workbench',
    platform,
    isDev,
    send: (c) => sent.push(c),
  });
  return { template: template as Item[], items: flatten(template as Item[]), sent };
}

beforeEach(() => fake.resetFakeElectron());

describe('the application menu', () => {
  it('has File, Edit, View and Help', () => {
    const { template } = build('linux', false);
    expect(template.map((m) => m.label)).toEqual(['&File', '&Edit', '&View', '&Help']);
  });

  it.each(['linux', 'win32', 'darwin'] as const)(
    'sends every command to the renderer (%s)',
    (platform) => {
      const { items, sent } = build(platform, false);
      for (const item of items) if (item.click && item.type !== 'radio') item.click();
      expect([...sent].sort()).toEqual(
        ['about', 'export-report', 'glossary', 'new', 'open', 'save'].sort(),
      );
    },
  );

  it('offers reload and the developer tools in development only', () => {
    const devOnly = ['reload', 'forceReload', 'toggleDevTools'];
    const roles = (isDev: boolean) => build('linux', isDev).items.map((i) => i.role);
    for (const role of devOnly) {
      expect(roles(true)).toContain(role);
      expect(roles(false)).not.toContain(role);
    }
    expect(roles(false)).toEqual(
      expect.arrayContaining(['zoomIn', 'zoomOut', 'resetZoom', 'togglefullscreen', 'quit']),
    );
  });

  it("does not take Ctrl+E, the page's own export shortcut", () => {
    const accelerators = build('linux', false)
      .items.map((i) => i.accelerator)
      .filter(Boolean);
    expect(accelerators).not.toContain('CmdOrCtrl+E');
    expect(new Set(accelerators).size).toBe(accelerators.length);
  });

  it('switches the theme', () => {
    const { items } = build('linux', false);
    items.find((i) => i.label === 'Dark')!.click!();
    expect(fake.nativeTheme.themeSource).toBe('dark');
    items.find((i) => i.label === 'Follow the system')!.click!();
    expect(fake.nativeTheme.themeSource).toBe('system');
  });

  it('has the macOS application menu on macOS only', () => {
    expect(build('darwin', false).template[0]!.label).toBe('VMM Workbench');
    expect(build('darwin', false).items.map((i) => i.role)).toContain('windowMenu');
    expect(build('win32', false).template[0]!.label).toBe('&File');
  });
});
