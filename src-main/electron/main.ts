// The desktop app's entry point (bundled by electron-vite to out/main/index.js, package.json's
// `main`). It only finds the built files next to itself and starts the app (app.ts); a failure
// to start is shown to the user and ends the process, rather than leaving it running with no
// window.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, dialog } from 'electron';
import { type RunningApp, startApp } from './app';
import { appPaths } from './paths';

const mainDir = path.dirname(fileURLToPath(import.meta.url));

/** The running app (null in a second instance, which quits). */
export const started: Promise<RunningApp | null> = startApp({ paths: appPaths(mainDir) }).catch(
  (e: unknown) => {
    const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
    dialog.showErrorBox('VMM Workbench could not start', message);
    app.exit(1);
    return null;
  },
);
