// Benchmark: host MIPS of the native machine on a compute-bound kernel (the lecture's isprime
// loop) and on a paging/interrupt-heavy kernel, each with the ratio to the same algorithm in
// plain JavaScript measured in the same run.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { assemble } from '../src-main/engine/asm/assembler';
import { createMachine } from '../src-main/engine/machine/machine';
import { FileSourceProvider } from '../src-main/host/source-files';
import { type BenchResult } from './assembler';

const KERNELS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), 'kernels');

function build(name: string, defines: [string, string][] = []): Uint8Array {
  const file = path.join(KERNELS, name);
  return assemble(readFileSync(file, 'latin1'), {
    file,
    defines,
    provider: new FileSourceProvider([], KERNELS),
  }).bytes;
}

function runKernel(image: Uint8Array): { instructions: number; seconds: number; output: string } {
  const m = createMachine();
  m.loadKernel(image, 'k.bin');
  const t0 = performance.now();
  const end = m.run({ maxInstructions: 5e9 });
  const seconds = (performance.now() - t0) / 1000;
  if (end.kind !== 'exit') throw new Error(`benchmark kernel ended with ${end.kind}`);
  return {
    instructions: m.cpu.instructions,
    seconds,
    output: Buffer.from(m.serialOutput()).toString('latin1'),
  };
}

/** The same trial division in plain JavaScript, for the ratio. */
function isprimeJs(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = 1;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = 0;
        break;
      }
    }
    count += prime;
  }
  return count;
}

export function benchMachine(): BenchResult {
  const limit = 200_000;
  const isprime = runKernel(build('isprime.asm', [['LIMIT', String(limit)]]));
  const t0 = performance.now();
  let js = 0;
  for (let r = 0; r < 5; r++) js = isprimeJs(limit);
  const jsSeconds = (performance.now() - t0) / 1000 / 5;
  if (String(js) !== isprime.output.trim()) {
    throw new Error(`isprime kernel printed ${isprime.output.trim()}, JavaScript counts ${js}`);
  }
  const paging = runKernel(build('paging-irq.asm'));
  return {
    name: 'machine (native, metrics off)',
    figures: {
      'isprime: guest instructions': isprime.instructions,
      'isprime: seconds': isprime.seconds.toFixed(2),
      'isprime: MIPS': (isprime.instructions / isprime.seconds / 1e6).toFixed(1),
      'isprime: slowdown vs plain JavaScript': `${(isprime.seconds / jsSeconds).toFixed(1)}×`,
      'paging+irq: guest instructions': paging.instructions,
      'paging+irq: MIPS': (paging.instructions / paging.seconds / 1e6).toFixed(1),
      'paging+irq: output': paging.output.trim().replace(/\n/g, ' | '),
    },
  };
}
