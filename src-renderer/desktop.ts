// The desktop-only extras (native save/open dialogs, PDF, menu commands) the Electron preload
// exposes as `window.vmmWorkbenchDesktop`. The web preview has none: callers fall back to
// downloads, <input type=file> and the browser's own print dialog. Tests set a fake here.

import type { WorkbenchDesktopBridge } from '../src-main/electron/desktop-channels';

export type { WorkbenchDesktopBridge };

let override: WorkbenchDesktopBridge | null | undefined;

/** Use `bridge` instead of the window's (tests); undefined goes back to the window's. */
export function setDesktopBridge(bridge: WorkbenchDesktopBridge | null | undefined): void {
  override = bridge;
}

/** The desktop bridge, or null in a browser. */
export function desktopBridge(): WorkbenchDesktopBridge | null {
  if (override !== undefined) return override;
  if (typeof window === 'undefined') return null;
  const candidate = window.vmmWorkbenchDesktop;
  return candidate && typeof candidate.saveExport === 'function' ? candidate : null;
}

/** Unwrap a desktop answer: its value, or an Error with its message. */
export function desktopValue<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}
