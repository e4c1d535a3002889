// Benchmark: the wall time of a whole experiment (`experiment --techniques all` on isprime,
// through the service and its worker threads, as the CLI runs it), and the speedup of the
// worker pool over running the same technique runs one after another (a pool of one), both
// measured in the same run of the benchmark.

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { type RunSpec } from '../src-main/engine/run-spec';
import { listTechniques } from '../src-main/engine/vmm';
import { ExperimentService } from '../src-main/service/experiment-service';
import { prepareExperiment } from '../src-main/service/experiment-spec';
import { WorkerPool } from '../src-main/workers/pool';
import { type BenchResult } from './assembler';

const N = 6000; // isprime's default n: about a second natively

const SPEC = {
  kernel: { kind: 'workload', workload: 'isprime' },
  techniques: listTechniques().map((t) => t.id),
  append: `n=${N}`,
} as const;

async function timed(size: number, specs: readonly RunSpec[]): Promise<number> {
  const pool = new WorkerPool({ size });
  try {
    const t0 = performance.now();
    const results = await Promise.all(specs.map((s) => pool.run(s, () => {}).result));
    const ms = performance.now() - t0;
    const bad = results.find((r) => r.status !== 'completed');
    if (bad) throw new Error(`${bad.technique}: ${bad.status} (${bad.end.detail})`);
    return ms;
  } finally {
    await pool.close();
  }
}

export async function benchExperiment(): Promise<BenchResult> {
  const cores = availableParallelism();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vmm-bench-'));
  const service = new ExperimentService({ dataDir });
  let experimentMs: number;
  try {
    const t0 = performance.now();
    const handle = service.start(SPEC);
    const file = await handle.done;
    experimentMs = performance.now() - t0;
    const bad = file.runs.find((r) => r.status !== 'completed');
    if (bad) throw new Error(`${bad.technique}: ${bad.status}`);
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  // The pool's speedup: the techniques' runs, and (while fewer techniques than cores are
  // registered) as many copies of them as there are cores, since that is the parallelism an
  // experiment with that many techniques gets.
  const planned = prepareExperiment(SPEC).runs.map((r) => r.runSpec);
  const specs = Array.from(
    { length: Math.max(cores, planned.length) },
    (_, i) => planned[i % planned.length]!,
  );
  const sequentialMs = await timed(1, specs);
  const parallelMs = await timed(cores, specs);
  return {
    name: `experiment: isprime n=${N}, techniques all (${SPEC.techniques.join(', ')})`,
    figures: {
      'experiment wall time': `${(experimentMs / 1000).toFixed(2)} s (service + worker threads)`,
      'runs for the pool figure': `${specs.length} (${specs.map((s) => s.technique).join(', ')})`,
      'one after another (pool of 1)': `${(sequentialMs / 1000).toFixed(2)} s`,
      [`pool of ${cores}`]: `${(parallelMs / 1000).toFixed(2)} s`,
      'pool speedup': `${(sequentialMs / parallelMs).toFixed(2)}× on ${cores} cores`,
    },
  };
}
