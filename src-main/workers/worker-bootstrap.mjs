// Worker bootstrap: a Worker cannot load TypeScript by itself, so this plain module registers
// tsx's ESM loader in the worker thread and then imports the TypeScript entry: the one named
// in workerData.entry (a file: URL; the tests' fake workers), else run-worker.ts next to it.
// Works whether the parent runs under plain node, tsx or vitest: the loader is registered per
// thread, so it does not matter what the parent thread had. The packaged app does not use
// this: it starts a bundled run-worker.js directly.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const entry =
  workerData && typeof workerData.entry === 'string'
    ? workerData.entry
    : new URL('./run-worker.ts', import.meta.url).href;
await import(entry);
