// Where the built app's parts are, relative to the main bundle (out/main/index.js): the layout
// electron.vite.config.ts writes. No Electron import, so the build-layout test can check it.

import path from 'node:path';

export interface AppPaths {
  /** out/preload/index.cjs: CommonJS, as sandboxed preloads must be */
  readonly preload: string;
  /** out/renderer/index.html */
  readonly rendererFile: string;
  /** out/main/run-worker.js: the worker entry electron-vite bundles next to the main one */
  readonly workerScript: string;
}

export function appPaths(mainDir: string): AppPaths {
  return {
    preload: path.join(mainDir, '..', 'preload', 'index.cjs'),
    rendererFile: path.join(mainDir, '..', 'renderer', 'index.html'),
    workerScript: path.join(mainDir, 'run-worker.js'),
  };
}
