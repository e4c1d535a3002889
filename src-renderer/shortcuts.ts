// The keyboard shortcuts: Ctrl/Cmd+Enter runs the experiment of the Experiment form,
// Escape cancels the running one, Ctrl/Cmd+E exports the current experiment's HTML report.
// Matching is a pure function of the key event so it is tested without a window.

export type Shortcut = 'run' | 'cancel' | 'export';

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
}

export function isMac(): boolean {
  return typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.userAgent);
}

/** The shortcut an event means, if any. Ctrl and Cmd both count, on every platform. */
export function matchShortcut(e: KeyLike): Shortcut | null {
  const mod = e.ctrlKey || e.metaKey;
  if (mod && !e.altKey && e.key === 'Enter') return 'run';
  if (mod && !e.altKey && !e.shiftKey && (e.key === 'e' || e.key === 'E')) return 'export';
  if (!mod && !e.altKey && !e.shiftKey && e.key === 'Escape') return 'cancel';
  return null;
}

/** How a shortcut is written on this platform ("Ctrl+Enter", "⌘↩"). */
export function shortcutLabel(shortcut: Shortcut): string {
  const mac = isMac();
  switch (shortcut) {
    case 'run':
      return mac ? '⌘↩' : 'Ctrl+Enter';
    case 'export':
      return mac ? '⌘E' : 'Ctrl+E';
    case 'cancel':
      return 'Esc';
  }
}
