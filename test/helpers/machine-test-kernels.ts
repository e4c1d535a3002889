// Test helper for the suites that run every machine-test kernel of test/fixtures/kernels under
// a technique (trap-and-emulate-kernels, binary-translation, …): the kernels in the folder
// (one added later is covered without a change), how each is booted, and a native run and a
// technique's run of one through runExperiment, compared by applyEquivalence.

import { readdirSync } from 'node:fs';
import { type RunResult, SPEC_DEFAULTS } from '../../shared/results';
import { runExperiment } from '../../src-main/engine/experiment';
import { type IsaVariant } from '../../src-main/engine/isa/types';
import { applyEquivalence } from '../../src-main/engine/metrics/equivalence';
import { sha256Hex } from '../../src-main/engine/metrics/sha256';
import { fixtureKernel, KERNELS_DIR } from './trap-and-emulate';

/** Every kernel in the folder, sorted. */
export const MACHINE_TEST_KERNELS: readonly string[] = readdirSync(KERNELS_DIR)
  .filter((f) => f.endsWith('.asm'))
  .map((f) => f.slice(0, -'.asm'.length))
  .sort();

/** How a kernel is booted, when not with the defaults (64 MiB, nothing appended). */
export const KERNEL_BOOT: Readonly<Record<string, { append?: string; memoryBytes?: number }>> = {
  // as test/engine/machine/qemu-kernels.test.ts boots it
  syscall: { append: 'n=5' },
  // it reads all of its RAM and 20 MiB beyond: the smallest RAM keeps it quick
  hunt: { memoryBytes: 4 * 1024 * 1024 },
};

/** One run of a machine-test kernel under `technique` (native, or the one compared with it). */
export function runFixtureKernel(name: string, technique: string, isa: IsaVariant): RunResult {
  const image = fixtureKernel(name);
  const boot = KERNEL_BOOT[name] ?? {};
  return runExperiment(
    {
      experiment: {
        ...SPEC_DEFAULTS,
        isa,
        append: boot.append ?? '',
        memoryBytes: boot.memoryBytes ?? SPEC_DEFAULTS.memoryBytes,
        maxInstructions: 100_000_000,
        kernel: { kind: 'file', name: `${name}.bin`, sha256: sha256Hex(image) },
        techniques: ['native', technique],
      },
      technique,
      kernel: { name: `${name}.bin`, image, build: 'native' },
      kernelPath: 'k.bin',
    },
    () => {},
  );
}

/** A kernel natively and under `technique`, the second compared with the first. */
export function runKernelPair(
  name: string,
  technique: string,
  isa: IsaVariant,
): { native: RunResult; run: RunResult } {
  const [native, run] = applyEquivalence([
    runFixtureKernel(name, 'native', isa),
    runFixtureKernel(name, technique, isa),
  ]);
  return { native: native!, run: run! };
}
