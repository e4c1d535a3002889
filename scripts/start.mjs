// `npm start`: make sure the Electron binary is there, then build the app and launch it.
//
// Electron ≥ 42 has no postinstall script: `npm install` gives the `electron` package without
// its binary, which it downloads (from GitHub, or $ELECTRON_MIRROR) the first time something
// needs it. Doing that here, before building, turns "no binary and no network" into one clear
// message — with the way to run the same app without Electron (`npm run preview:web`) —
// instead of a stack trace from deep inside the launcher.
//
//   npm start            build (electron-vite) and launch the built app
//   npm start -- --dev   the electron-vite dev server with hot reload instead
//   other arguments after `--` are passed on to electron-vite.
//
// Plain JavaScript with no dependencies, so it runs before anything is built; every step is
// an exported function the tests drive with fakes.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * @typedef {object} ElectronState
 * @property {string} version        the electron package's version
 * @property {boolean} installed     whether its binary is present and of that version
 * @property {string} [executable]   the binary's path, once installed
 * @property {string} [reason]       why it is not (for the message)
 */

/**
 * Whether the electron package at `electronDir` has its binary, checked the way the package
 * itself checks (install.js): path.txt names the executable under dist/, and dist/version is
 * the package's version. Reads files only; never downloads (unlike `require('electron')`,
 * which starts a download when the binary is missing).
 * @param {string} electronDir
 * @param {{ env?: Record<string, string | undefined>, fs?: { existsSync: (p: string) => boolean, readFileSync: (p: string, e: 'utf8') => string } }} [options]
 * @returns {ElectronState}
 */
export function electronState(electronDir, options = {}) {
  const fs = options.fs ?? { existsSync, readFileSync };
  const env = options.env ?? process.env;
  let version;
  try {
    version = JSON.parse(fs.readFileSync(path.join(electronDir, 'package.json'), 'utf8')).version;
  } catch {
    return {
      version: 'unknown',
      installed: false,
      reason: `no electron package in ${electronDir}`,
    };
  }
  let executablePath;
  try {
    executablePath = fs.readFileSync(path.join(electronDir, 'path.txt'), 'utf8').trim();
  } catch {
    return { version, installed: false, reason: 'its binary has not been downloaded yet' };
  }
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const executable = path.join(env.ELECTRON_OVERRIDE_DIST_PATH, executablePath || 'electron');
    return fs.existsSync(executable)
      ? { version, installed: true, executable }
      : {
          version,
          installed: false,
          reason: `${executable} (ELECTRON_OVERRIDE_DIST_PATH) does not exist`,
        };
  }
  let distVersion = '';
  try {
    distVersion = fs.readFileSync(path.join(electronDir, 'dist', 'version'), 'utf8').trim();
  } catch {
    // an interrupted download: treated as no binary
  }
  if (distVersion.replace(/^v/, '') !== version) {
    return {
      version,
      installed: false,
      reason: distVersion
        ? `the downloaded binary is version ${distVersion}, not ${version}`
        : 'its binary is incomplete',
    };
  }
  const executable = path.join(electronDir, 'dist', executablePath);
  if (!fs.existsSync(executable)) {
    return { version, installed: false, reason: `${executable} is missing` };
  }
  return { version, installed: true, executable };
}

/**
 * The command that downloads the binary: the package's own `install-electron` bin (install.js),
 * run with this Node.
 * @param {string} electronDir
 * @param {{ readFileSync: (p: string, e: 'utf8') => string }} [fs]
 * @returns {{ command: string, args: string[] }}
 */
export function installCommand(electronDir, fs = { readFileSync }) {
  let script = 'install.js';
  try {
    const bin = JSON.parse(fs.readFileSync(path.join(electronDir, 'package.json'), 'utf8')).bin;
    if (bin && typeof bin === 'object' && typeof bin['install-electron'] === 'string') {
      script = bin['install-electron'];
    }
  } catch {
    // the package's own default
  }
  return { command: process.execPath, args: [path.join(electronDir, script)] };
}

/**
 * What the user reads when the binary cannot be had.
 * @param {string} version
 * @param {string} detail  what failed (the downloader's last error line)
 */
export function downloadFailedMessage(version, detail) {
  return [
    `npm start: could not download the Electron binary (electron@${version}).`,
    `  What failed: ${detail || 'the download ended with an error'}`,
    '  Electron fetches its binary (about 100 MB, from GitHub or $ELECTRON_MIRROR) the first time',
    '  the app starts; this needs internet access once. Try again when online, or point',
    '  ELECTRON_MIRROR at a mirror you can reach.',
    '',
    '  The same app runs in a browser without Electron:',
    '    npm run preview:web',
    '',
  ].join('\n');
}

/**
 * The meaningful line of the downloader's error output (its error, not the stack frames).
 * @param {string} stderr
 */
export function lastErrorLine(stderr) {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('at '));
  return lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '';
}

/**
 * `npm start` arguments: --dev chooses the dev server, the rest goes to electron-vite.
 * @param {readonly string[]} args
 */
export function parseArgs(args) {
  const rest = args.filter((a) => a !== '--dev');
  return { dev: rest.length !== args.length, rest };
}

/**
 * The command that builds and launches: `electron-vite preview` (build, then start Electron on
 * the built files) or `electron-vite dev`, with electron-vite's own bin run by this Node.
 * @param {string} projectRoot
 * @param {{ dev: boolean, rest: string[] }} options
 * @returns {{ command: string, args: string[] }}
 */
export function launchCommand(projectRoot, options) {
  const bin = path.join(projectRoot, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  return {
    command: process.execPath,
    args: [bin, options.dev ? 'dev' : 'preview', ...options.rest],
  };
}

/**
 * @typedef {object} RunResult
 * @property {number | null} status
 * @property {string} [stderr]
 * @property {Error} [error]
 */

/**
 * @typedef {object} StartDeps
 * @property {string} projectRoot
 * @property {Record<string, string | undefined>} env
 * @property {(cmd: { command: string, args: string[] }, how: { captureStderr: boolean, env: Record<string, string | undefined> }) => RunResult} run
 * @property {(text: string) => void} log
 * @property {(text: string) => void} error
 * @property {(electronDir: string) => ElectronState} [state]
 */

/**
 * Ensure the binary, then build and launch. Returns the exit status.
 * @param {readonly string[]} args
 * @param {StartDeps} deps
 */
export function start(args, deps) {
  const electronDir = path.join(deps.projectRoot, 'node_modules', 'electron');
  const check = deps.state ?? ((dir) => electronState(dir, { env: deps.env }));
  let state = check(electronDir);
  if (!state.installed) {
    deps.log(
      `npm start: the Electron binary (electron@${state.version}) is not installed: ${state.reason ?? 'missing'}.\n` +
        'Downloading it (once)…\n',
    );
    const result = deps.run(installCommand(electronDir), { captureStderr: true, env: deps.env });
    if (result.stderr)
      deps.error(result.stderr.endsWith('\n') ? result.stderr : `${result.stderr}\n`);
    if (result.error || result.status !== 0) {
      const detail = result.error?.message ?? lastErrorLine(result.stderr ?? '');
      deps.error(downloadFailedMessage(state.version, detail));
      return 1;
    }
    state = check(electronDir);
    if (!state.installed) {
      deps.error(
        downloadFailedMessage(state.version, state.reason ?? 'the binary is still missing'),
      );
      return 1;
    }
  }
  const env = { ...deps.env, ELECTRON_EXEC_PATH: state.executable };
  const launched = deps.run(launchCommand(deps.projectRoot, parseArgs(args)), {
    captureStderr: false,
    env,
  });
  if (launched.error) {
    deps.error(`npm start: could not run electron-vite: ${launched.error.message}\n`);
    return 1;
  }
  return launched.status ?? 1;
}

/** @type {StartDeps['run']} */
function run(cmd, how) {
  const result = spawnSync(cmd.command, cmd.args, {
    stdio: ['inherit', 'inherit', how.captureStderr ? 'pipe' : 'inherit'],
    env: how.env,
    encoding: 'utf8',
  });
  return {
    status: result.status,
    ...(typeof result.stderr === 'string' ? { stderr: result.stderr } : {}),
    ...(result.error ? { error: result.error } : {}),
  };
}

const invokedDirectly =
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;

if (invokedDirectly) {
  process.exitCode = start(process.argv.slice(2), {
    projectRoot: PROJECT_ROOT,
    env: process.env,
    run,
    log: (t) => process.stdout.write(t),
    error: (t) => process.stderr.write(t),
  });
}
