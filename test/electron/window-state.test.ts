// The remembered window state: only a well-formed file is believed (anything else opens the
// default window, never throws), the saved place is kept when it is on a display, pulled
// onto the display it mostly overlaps, and reset to the primary when its display is gone;
// saving is whole-or-nothing and round-trips.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_WINDOW_SIZE,
  loadWindowState,
  MIN_WINDOW_SIZE,
  parseWindowState,
  placeWindow,
  saveWindowState,
  serializeWindowState,
  type WindowState,
} from '../../src-main/electron/window-state';

const PRIMARY = { x: 0, y: 0, width: 1920, height: 1050 };
const SECOND = { x: 1920, y: 0, width: 1280, height: 1000 };

const state = (x: number, y: number, width: number, height: number, maximized = false) =>
  ({ bounds: { x, y, width, height }, maximized }) satisfies WindowState;

describe('parseWindowState', () => {
  it('reads what serializeWindowState writes', () => {
    const s = state(10, 20, 1000, 700, true);
    expect(parseWindowState(serializeWindowState(s))).toEqual(s);
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['empty', ''],
    ['an array', '[1,2,3]'],
    ['null', 'null'],
    ['another version', '{"version":2,"x":0,"y":0,"width":800,"height":600,"maximized":false}'],
    ['a missing field', '{"version":1,"x":0,"y":0,"width":800,"maximized":false}'],
    ['a string size', '{"version":1,"x":0,"y":0,"width":"800","height":600,"maximized":false}'],
    ['a zero width', '{"version":1,"x":0,"y":0,"width":0,"height":600,"maximized":false}'],
    ['a fraction', '{"version":1,"x":0.5,"y":0,"width":800,"height":600,"maximized":false}'],
    [
      'a huge coordinate',
      '{"version":1,"x":1e12,"y":0,"width":800,"height":600,"maximized":false}',
    ],
    [
      'an extra field',
      '{"version":1,"x":0,"y":0,"width":800,"height":600,"maximized":false,"z":1}',
    ],
    ['a non-boolean', '{"version":1,"x":0,"y":0,"width":800,"height":600,"maximized":"yes"}'],
  ])('ignores %s', (_what, text) => {
    expect(parseWindowState(text)).toBeUndefined();
  });
});

describe('placeWindow', () => {
  it('opens at the default size, to be centred, when nothing was saved', () => {
    expect(placeWindow(undefined, [PRIMARY])).toEqual({
      width: DEFAULT_WINDOW_SIZE.width,
      height: DEFAULT_WINDOW_SIZE.height,
      maximized: false,
    });
  });

  it('keeps a saved place that is on a display', () => {
    expect(placeWindow(state(100, 50, 1200, 800, true), [PRIMARY, SECOND])).toEqual({
      x: 100,
      y: 50,
      width: 1200,
      height: 800,
      maximized: true,
    });
    expect(placeWindow(state(2000, 100, 1000, 700), [PRIMARY, SECOND])).toMatchObject({
      x: 2000,
      y: 100,
    });
  });

  it('pulls a window hanging off a display fully onto the one it overlaps most', () => {
    const p = placeWindow(state(1700, -200, 1000, 700), [PRIMARY, SECOND]);
    // mostly on the second display: moved inside it
    expect(p).toMatchObject({ x: 1920, y: 0, width: 1000, height: 700 });
  });

  it('shrinks a window larger than its display', () => {
    const p = placeWindow(state(0, 0, 4000, 3000), [PRIMARY]);
    expect(p).toMatchObject({ x: 0, y: 0, width: PRIMARY.width, height: PRIMARY.height });
  });

  it('brings a window whose display is gone back to the primary, to be centred', () => {
    const p = placeWindow(state(5000, 3000, 1000, 700, false), [PRIMARY]);
    expect(p).toEqual({ width: 1000, height: 700, maximized: false });
  });

  it('never goes below the minimum size a display can hold', () => {
    const p = placeWindow(state(10, 10, 100, 100), [PRIMARY]);
    expect(p.width).toBe(MIN_WINDOW_SIZE.width);
    expect(p.height).toBe(MIN_WINDOW_SIZE.height);
    const tiny = { x: 0, y: 0, width: 640, height: 480 };
    expect(placeWindow(state(0, 0, 1000, 900), [tiny])).toMatchObject({ width: 640, height: 480 });
  });

  it('copes with no display information at all', () => {
    expect(placeWindow(state(10, 10, 1000, 700), [])).toEqual({
      width: 1000,
      height: 700,
      maximized: false,
    });
  });
});

describe('loading and saving', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'vmm-window-state-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('round-trips through the file, leaving no temporary file', () => {
    const file = path.join(dir, 'window-state.json');
    expect(saveWindowState(file, state(30, 40, 1100, 750, true))).toBe(true);
    expect(loadWindowState(file)).toEqual(state(30, 40, 1100, 750, true));
    expect(readdirSync(dir)).toEqual(['window-state.json']);
  });

  it('treats a missing, corrupt or oversized file as nothing saved', () => {
    const file = path.join(dir, 'window-state.json');
    expect(loadWindowState(file)).toBeUndefined();
    writeFileSync(file, '\u0000\u0001garbage');
    expect(loadWindowState(file)).toBeUndefined();
    writeFileSync(file, ' '.repeat(10_000));
    expect(loadWindowState(file)).toBeUndefined();
    // a folder where the file should be
    expect(loadWindowState(dir)).toBeUndefined();
  });

  it('reports, rather than throws, when it cannot save', () => {
    const file = path.join(dir, 'missing-folder', 'window-state.json');
    expect(saveWindowState(file, state(0, 0, 800, 600))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
