// Differential fuzzing against QEMU: a seeded random kernel (fuzz-kernel.ts) that prints every
// register and the defined EFLAGS after each instruction, run on qemu-system-i386 and on our
// machine; the serial outputs must be byte-identical. Used by the test suite (10,000
// instructions in CI) and by `npm run fuzz:qemu -- --count N` for longer runs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assemble } from '../../src-main/engine/asm/assembler';
import { FileSourceProvider } from '../../src-main/host/source-files';
import { generateFuzzProgram } from './fuzz-kernel';
import { runOurs } from './machine';
import { qemuRun } from './qemu';

const KERNELS = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '../fixtures/kernels',
);

export interface DifferentialResult {
  seed: number;
  count: number;
  equal: boolean;
  lines: number;
  /** the first line that differs (0-based), with context, when not equal */
  firstDifference?: { line: number; ours: string; qemu: string; instruction: string | undefined };
  oursEnd: string;
  qemuExit: number | undefined;
}

export function differentialRun(seed: number, count: number): DifferentialResult {
  const program = generateFuzzProgram(seed, count);
  const source = program.source;
  const image = assemble(source, {
    file: path.join(KERNELS, `fuzz-${seed}.asm`),
    provider: new FileSourceProvider([KERNELS], KERNELS),
  }).bytes;
  const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-fuzz-'));
  try {
    const kernel = path.join(dir, 'fuzz.bin');
    writeFileSync(kernel, image);
    const ours = runOurs(image, { kernelPath: kernel, maxInstructions: 50_000_000 + count * 5000 });
    const q = qemuRun(kernel, { timeoutMs: 120_000 + count * 10 });
    const a = ours.serial.toString('latin1').split('\n');
    const b = q.serial.toString('latin1').split('\n');
    const result: DifferentialResult = {
      seed,
      count,
      equal: ours.serial.equals(q.serial) && ours.exitValue === q.exitValue,
      lines: b.length,
      oursEnd: ours.end.kind,
      qemuExit: q.exitValue,
    };
    if (!result.equal) {
      let line = 0;
      while (line < Math.max(a.length, b.length) && a[line] === b[line]) line++;
      // line 0 is the header, line 1 the initial state, line k+2 follows instruction k
      result.firstDifference = {
        line,
        ours: a[line] ?? '<end>',
        qemu: b[line] ?? '<end>',
        instruction: line >= 2 ? program.instructions[line - 2] : undefined,
      };
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
