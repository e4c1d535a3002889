// scripts/start.mjs (`npm start`) with its commands faked: the binary check reads the electron
// package the way its own installer does, a missing binary is downloaded with the package's
// own installer before anything is built, a failed download ends with one clear message that
// names what failed and offers `npm run preview:web`, and a present binary goes straight to
// electron-vite (build, then launch; or the dev server with --dev).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

interface ElectronState {
  version: string;
  installed: boolean;
  executable?: string;
  reason?: string;
}
interface Command {
  command: string;
  args: string[];
}
interface RunResult {
  status: number | null;
  stderr?: string;
  error?: Error;
}
interface StartDeps {
  projectRoot: string;
  env: Record<string, string | undefined>;
  run: (
    cmd: Command,
    how: { captureStderr: boolean; env: Record<string, string | undefined> },
  ) => RunResult;
  log: (text: string) => void;
  error: (text: string) => void;
  state?: (electronDir: string) => ElectronState;
}
interface StartModule {
  PROJECT_ROOT: string;
  electronState(dir: string, options?: { env?: Record<string, string | undefined> }): ElectronState;
  installCommand(dir: string): Command;
  downloadFailedMessage(version: string, detail: string): string;
  lastErrorLine(stderr: string): string;
  parseArgs(args: readonly string[]): { dev: boolean; rest: string[] };
  launchCommand(root: string, options: { dev: boolean; rest: string[] }): Command;
  start(args: readonly string[], deps: StartDeps): number;
}

let m: StartModule;
let dir: string;
let electronDir: string;

beforeAll(async () => {
  // a plain .mjs without type declarations: imported by URL and typed here
  const url = pathToFileURL(path.resolve('scripts', 'start.mjs')).href;
  m = (await import(url)) as StartModule;
});

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vmm-start-'));
  electronDir = path.join(dir, 'node_modules', 'electron');
  mkdirSync(electronDir, { recursive: true });
  writeFileSync(
    path.join(electronDir, 'package.json'),
    JSON.stringify({
      version: '42.11.18',
      bin: { electron: 'cli.js', 'install-electron': 'install.js' },
    }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Put a downloaded binary in place, as install.js leaves it. */
function install(version = '42.11.18'): string {
  mkdirSync(path.join(electronDir, 'dist'), { recursive: true });
  writeFileSync(path.join(electronDir, 'path.txt'), 'electron');
  writeFileSync(path.join(electronDir, 'dist', 'version'), `v${version}`);
  const exe = path.join(electronDir, 'dist', 'electron');
  writeFileSync(exe, '#!/bin/sh\n');
  return exe;
}

describe('electronState', () => {
  it('sees a freshly installed package, with no binary, as not installed', () => {
    expect(m.electronState(electronDir, { env: {} })).toMatchObject({
      version: '42.11.18',
      installed: false,
      reason: expect.stringContaining('not been downloaded'),
    });
  });

  it('sees the downloaded binary', () => {
    const exe = install();
    expect(m.electronState(electronDir, { env: {} })).toEqual({
      version: '42.11.18',
      installed: true,
      executable: exe,
    });
  });

  it('does not accept a binary of another version, or a missing executable', () => {
    install('41.0.0');
    expect(m.electronState(electronDir, { env: {} })).toMatchObject({
      installed: false,
      reason: expect.stringContaining('41.0.0'),
    });
    install();
    rmSync(path.join(electronDir, 'dist', 'electron'));
    expect(m.electronState(electronDir, { env: {} }).installed).toBe(false);
  });

  it('honours ELECTRON_OVERRIDE_DIST_PATH as the electron package does', () => {
    install();
    const other = path.join(dir, 'elsewhere');
    mkdirSync(other);
    expect(
      m.electronState(electronDir, { env: { ELECTRON_OVERRIDE_DIST_PATH: other } }).installed,
    ).toBe(false);
    writeFileSync(path.join(other, 'electron'), '');
    expect(
      m.electronState(electronDir, { env: { ELECTRON_OVERRIDE_DIST_PATH: other } }),
    ).toMatchObject({
      installed: true,
      executable: path.join(other, 'electron'),
    });
  });

  it('reports a missing electron package', () => {
    expect(m.electronState(path.join(dir, 'nothing'), { env: {} })).toMatchObject({
      installed: false,
    });
  });
});

describe('the commands', () => {
  it("downloads with the package's own installer, run by this Node", () => {
    expect(m.installCommand(electronDir)).toEqual({
      command: process.execPath,
      args: [path.join(electronDir, 'install.js')],
    });
  });

  it("uses the installed electron package's installer bin", async () => {
    const real = path.resolve('node_modules', 'electron');
    const { args } = m.installCommand(real);
    const { readFileSync } = await import('node:fs');
    const bin = (
      JSON.parse(readFileSync(path.join(real, 'package.json'), 'utf8')) as {
        bin: Record<string, string>;
      }
    ).bin;
    expect(bin['install-electron']).toBeDefined();
    expect(args).toEqual([path.join(real, bin['install-electron']!)]);
  });

  it('builds and launches with electron-vite preview, or dev with --dev', () => {
    const root = '/project';
    const bin = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
    expect(m.launchCommand(root, m.parseArgs([]))).toEqual({
      command: process.execPath,
      args: [bin, 'preview'],
    });
    expect(m.launchCommand(root, m.parseArgs(['--dev', '--inspect']))).toEqual({
      command: process.execPath,
      args: [bin, 'dev', '--inspect'],
    });
  });

  it("finds electron-vite's bin in this project", async () => {
    const { existsSync } = await import('node:fs');
    const { args } = m.launchCommand(m.PROJECT_ROOT, { dev: false, rest: [] });
    expect(existsSync(args[0]!)).toBe(true);
  });

  it('picks the error out of a stack trace', () => {
    const stderr =
      'TypeError: fetch failed\n    at node:internal/deps/undici:1:1\n    at async X (file:///a.js:1:1)\n';
    expect(m.lastErrorLine(stderr)).toBe('TypeError: fetch failed');
    expect(m.lastErrorLine('HTTPError: Response code 404 (Not Found) for https://x\n')).toMatch(
      /404/,
    );
    expect(m.lastErrorLine('')).toBe('');
  });
});

describe('start', () => {
  function deps(results: RunResult[]) {
    const runs: {
      cmd: Command;
      how: { captureStderr: boolean; env: Record<string, string | undefined> };
    }[] = [];
    const out: string[] = [];
    const err: string[] = [];
    const d: StartDeps = {
      projectRoot: dir,
      env: { PATH: '/usr/bin' },
      run: (cmd, how) => {
        runs.push({ cmd, how });
        return results.shift() ?? { status: 0 };
      },
      log: (t) => out.push(t),
      error: (t) => err.push(t),
    };
    return { d, runs, out, err };
  }

  it('launches at once when the binary is there, telling electron-vite where it is', () => {
    const exe = install();
    const { d, runs } = deps([{ status: 0 }]);
    expect(m.start([], d)).toBe(0);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.cmd.args.slice(1)).toEqual(['preview']);
    expect(runs[0]!.how.env).toMatchObject({ PATH: '/usr/bin', ELECTRON_EXEC_PATH: exe });
  });

  it('downloads a missing binary first, then launches', () => {
    const { d, runs, out } = deps([]);
    // the fake installer "downloads" the binary
    d.run = (cmd, how) => {
      runs.push({ cmd, how });
      if (cmd.args[0]?.endsWith('install.js')) install();
      return { status: 0 };
    };
    expect(m.start(['--dev'], d)).toBe(0);
    expect(runs.map((r) => r.cmd.args.at(-1))).toEqual([
      path.join(electronDir, 'install.js'),
      'dev',
    ]);
    expect(runs[0]!.how.captureStderr).toBe(true);
    expect(out.join('')).toMatch(/not installed.*\n.*Downloading/s);
  });

  it('says what failed and offers the web preview when the download fails (offline)', () => {
    const stderr = 'TypeError: fetch failed\n    at node:internal/deps/undici/undici:14976:13\n';
    const { d, runs, err } = deps([{ status: 1, stderr }]);
    expect(m.start([], d)).toBe(1);
    expect(runs).toHaveLength(1); // nothing built, nothing launched
    const message = err.join('');
    expect(message).toContain('could not download the Electron binary (electron@42.11.18)');
    expect(message).toContain('What failed: TypeError: fetch failed');
    expect(message).toContain('npm run preview:web');
  });

  it('fails the same way when the installer cannot even run, or leaves no binary', () => {
    const a = deps([{ status: null, error: new Error('spawn EACCES') }]);
    expect(m.start([], a.d)).toBe(1);
    expect(a.err.join('')).toContain('What failed: spawn EACCES');
    expect(a.err.join('')).toContain('npm run preview:web');

    const b = deps([{ status: 0 }]);
    expect(m.start([], b.d)).toBe(1);
    expect(b.runs).toHaveLength(1);
    expect(b.err.join('')).toContain('npm run preview:web');
  });

  it("passes electron-vite's exit status on", () => {
    install();
    expect(m.start([], deps([{ status: 3 }]).d)).toBe(3);
    expect(m.start([], deps([{ status: null }]).d)).toBe(1);
    const e = deps([{ status: null, error: new Error('ENOENT') }]);
    expect(m.start([], e.d)).toBe(1);
    expect(e.err.join('')).toContain('could not run electron-vite: ENOENT');
  });
});
