// Test helper: boot a kernel image on our simulated PC, the way `vmm-workbench run` does, and
// return what QEMU's harness returns (serial output and exit value) for side-by-side checks.
import { createMachine } from '../../src-main/engine/machine/machine';
import { multibootCommandLine } from '../../src-main/engine/machine/multiboot';
import { type EndReason } from '../../src-main/engine/machine/interfaces';
import { type IsaVariant } from '../../src-main/engine/isa/types';

export interface OurRun {
  serial: Buffer;
  end: EndReason;
  exitValue: number | undefined;
  instructions: number;
}

export function runOurs(
  image: Uint8Array,
  options: {
    kernelPath?: string;
    append?: string;
    maxInstructions?: number;
    isa?: IsaVariant;
    memoryBytes?: number;
  } = {},
): OurRun {
  const m = createMachine({
    ...(options.isa ? { isa: options.isa } : {}),
    ...(options.memoryBytes ? { memoryBytes: options.memoryBytes } : {}),
  });
  const path = options.kernelPath ?? 'k.bin';
  m.loadKernel(image, multibootCommandLine(path, options.append ?? ''));
  const end = m.run({ maxInstructions: options.maxInstructions ?? 200_000_000 });
  return {
    serial: Buffer.from(m.serialOutput()),
    end,
    exitValue: end.kind === 'exit' ? end.code : undefined,
    instructions: m.cpu.instructions,
  };
}
