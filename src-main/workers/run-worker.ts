// The run worker: one worker thread runs one technique of one experiment. It owns nothing but
// the glue between worker_threads and the engine's one entry point: the spec comes in by
// workerData, the cancel flag is shared memory the pool writes, host time is the thread's
// performance.now(), and progress, the translation-cache dump when asked for one, and the
// result go back as messages (protocol.ts). The same entry also prepares a kernel file a user
// picked (workerData.kind 'prepare-kernel'), so the app bundles one worker script, not two.
// Loaded through worker-bootstrap.mjs, which registers tsx first; the packaged app loads a
// bundled .js of this file instead.

import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type RunHooks, runExperiment } from '../engine/experiment';
import { type CancelSignal, type HostClock, type RunProgress } from '../engine/run-spec';
import { prepareKernelImage } from '../host/kernel-file';
import {
  CANCEL_INDEX,
  type KernelJobData,
  type KernelJobMessage,
  type RunWorkerData,
  type WorkerMessage,
} from './protocol';

function post(message: WorkerMessage | KernelJobMessage): void {
  parentPort!.postMessage(message);
}

function main(): void {
  if (isMainThread || !parentPort) {
    throw new Error('run-worker is a worker_threads entry: start it through WorkerPool');
  }
  const data = workerData as RunWorkerData | KernelJobData;
  if (data.kind === 'prepare-kernel') {
    const { image, assembled } = prepareKernelImage(data.name, data.source);
    post({ type: 'kernel', image, assembled });
    return;
  }
  const { spec, control, translationCache } = data;
  const flag = new Int32Array(control);
  // The engine polls `aborted` between CPU batches; Atomics.load sees the pool's store even
  // though this thread never yields to its event loop while the run goes on.
  const signal: CancelSignal = {
    get aborted() {
      return Atomics.load(flag, CANCEL_INDEX) !== 0;
    },
  };
  const clock: HostClock = { now: () => performance.now() };
  // A first report at once: the pool's watchdog and the service's "running" state start when
  // the run really starts, not when the engine's first 100 ms have gone by.
  const zero: RunProgress = {
    technique: spec.technique,
    instructions: 0,
    traps: 0,
    guestEvents: 0,
    cycles: 0,
    wallMs: 0,
    mips: 0,
  };
  post({ type: 'progress', progress: zero });
  // the dump only when the pool asked for it: building and cloning it costs time and memory
  const hooks: RunHooks = translationCache
    ? { onTranslationCache: (dump) => post({ type: 'translation-cache', dump }) }
    : {};
  const result = runExperiment(
    spec,
    (progress) => post({ type: 'progress', progress }),
    signal,
    clock,
    hooks,
  );
  post({ type: 'result', result });
}

try {
  main();
} catch (e) {
  const error = e instanceof Error ? e : new Error(String(e));
  if (parentPort) post({ type: 'error', message: error.message, stack: error.stack });
  else throw error;
}
