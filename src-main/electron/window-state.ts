// The main window's remembered size, position and maximized state: a small JSON file in the
// user data folder. Pure logic (parse, validate, clamp to the displays there are now) plus a
// synchronous load and save, so it is testable without Electron. A missing, corrupt or
// implausible file is ignored — the window opens at its default size — never a crash; and a
// window saved on a monitor that has since been unplugged comes back on one that exists.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

export const WINDOW_STATE_FILE = 'window-state.json';
export const WINDOW_STATE_VERSION = 1;

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface WindowState {
  /** the window's normal (not maximized) bounds */
  readonly bounds: Rect;
  readonly maximized: boolean;
}

/** Where and how big the window opens; x/y absent: let the window manager centre it. */
export interface WindowPlacement {
  readonly x?: number;
  readonly y?: number;
  readonly width: number;
  readonly height: number;
  readonly maximized: boolean;
}

export const DEFAULT_WINDOW_SIZE = { width: 1280, height: 840 } as const;
export const MIN_WINDOW_SIZE = { width: 800, height: 560 } as const;
/** Larger than any real screen arrangement: such numbers are a corrupt file, not a window. */
const COORDINATE_LIMIT = 100_000;

const coordinate = z.number().int().min(-COORDINATE_LIMIT).max(COORDINATE_LIMIT);
const extent = z.number().int().min(1).max(COORDINATE_LIMIT);

const WindowStateFileSchema = z.strictObject({
  version: z.literal(WINDOW_STATE_VERSION),
  x: coordinate,
  y: coordinate,
  width: extent,
  height: extent,
  maximized: z.boolean(),
});

/** The state a file holds, or undefined when it is not a valid window-state file. */
export function parseWindowState(text: string): WindowState | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = WindowStateFileSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const { x, y, width, height, maximized } = parsed.data;
  return { bounds: { x, y, width, height }, maximized };
}

export function serializeWindowState(state: WindowState): string {
  const { x, y, width, height } = state.bounds;
  return `${JSON.stringify({
    version: WINDOW_STATE_VERSION,
    x: Math.round(x),
    y: Math.round(y),
    width: Math.round(width),
    height: Math.round(height),
    maximized: state.maximized,
  })}\n`;
}

function overlap(a: Rect, b: Rect): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Where the window should open, given the saved state (if any) and the work areas of the
 * displays attached now (the first is the primary). The window keeps its saved place when it
 * is on a display; it is shrunk to fit and moved fully onto the display it overlaps most; with
 * no overlap at all (that display is gone), or nothing saved, it opens centred on the primary.
 */
export function placeWindow(
  saved: WindowState | undefined,
  workAreas: readonly Rect[],
): WindowPlacement {
  const primary = workAreas[0];
  const fit = (size: { width: number; height: number }, area: Rect | undefined) => ({
    width: Math.max(
      Math.min(size.width, area?.width ?? size.width),
      Math.min(MIN_WINDOW_SIZE.width, area?.width ?? MIN_WINDOW_SIZE.width),
    ),
    height: Math.max(
      Math.min(size.height, area?.height ?? size.height),
      Math.min(MIN_WINDOW_SIZE.height, area?.height ?? MIN_WINDOW_SIZE.height),
    ),
  });
  if (!saved) return { ...fit(DEFAULT_WINDOW_SIZE, primary), maximized: false };

  let best: Rect | undefined;
  let bestOverlap = 0;
  for (const area of workAreas) {
    const o = overlap(saved.bounds, area);
    if (o > bestOverlap) {
      best = area;
      bestOverlap = o;
    }
  }
  if (!best) {
    // the display it was on is gone: keep the size (as far as it fits), let it be centred
    return { ...fit(saved.bounds, primary), maximized: saved.maximized };
  }
  const { width, height } = fit(saved.bounds, best);
  const x = Math.min(Math.max(saved.bounds.x, best.x), best.x + best.width - width);
  const y = Math.min(Math.max(saved.bounds.y, best.y), best.y + best.height - height);
  return { x, y, width, height, maximized: saved.maximized };
}

/** The saved state, or undefined when the file is missing, unreadable or invalid. */
export function loadWindowState(file: string): WindowState | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return text.length > 4096 ? undefined : parseWindowState(text);
}

/**
 * Save the state, whole or not at all (a temporary file renamed over the old one). Synchronous
 * because it runs as the window closes, when the app may quit right after. Returns whether
 * it was saved: losing the window's position is never worth an error dialog.
 */
export function saveWindowState(file: string, state: WindowState): boolean {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, serializeWindowState(state));
    renameSync(tmp, file);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}
