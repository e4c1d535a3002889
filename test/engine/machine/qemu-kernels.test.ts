// The test kernels of test/fixtures/kernels booted on qemu-system-i386, the reference machine:
// each one's serial output must equal its committed NAME.expected (generated on QEMU and read
// line by line against the SDM), and it must end the way the table says. The same images are
// what our own machine has to reproduce byte for byte: each case builds the image once, so a
// comparison `ours = runOnOurMachine(image, kernel)` sits right next to the QEMU run.
//
// After a deliberate change to a kernel (or lib.inc), regenerate the expected files with
//   UPDATE_KERNEL_EXPECTED=1 npx vitest run test/engine/machine/qemu-kernels.test.ts
// and read the diff before committing it.
//
// The fuzz kernel (test/helpers/fuzz-kernel.ts) has no expected file: it is checked for
// completing on QEMU with the same output twice; the comparison with our machine is what
// matters for it.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assemble } from '../../../src-main/engine/asm/assembler';
import { FileSourceProvider } from '../../../src-main/host/source-files';
import { generateFuzzProgram } from '../../helpers/fuzz-kernel';
import { nasm } from '../../helpers/nasm';
import { qemuAvailable, qemuRun, type QemuResult } from '../../helpers/qemu';
import { type OurRun, runOurs } from '../../helpers/machine';

const KERNELS_DIR = path.resolve(__dirname, '../../fixtures/kernels');
const UPDATE = process.env.UPDATE_KERNEL_EXPECTED === '1';

/** The value lib.inc's EXIT_OK writes to port 0xF4. */
const EXIT_OK = 0x10;

/** How a run ends: a write to isa-debug-exit, `cli; hlt` (QEMU waits until killed; our
 *  machine reports "halted"), or a triple fault (QEMU with -no-reboot exits with status 0). */
type KernelEnd = { kind: 'exit'; value: number } | { kind: 'halted' } | { kind: 'triple-fault' };

interface KernelCase {
  /** test/fixtures/kernels/NAME.asm, with NAME.expected beside it */
  name: string;
  /** the multiboot command line after the kernel path (QEMU -append, our --append) */
  append?: string;
  end: KernelEnd;
  /** QEMU's time limit; a halted kernel runs until it */
  timeoutMs?: number;
}

const KERNELS: readonly KernelCase[] = [
  { name: 'rings', end: { kind: 'exit', value: EXIT_OK } },
  { name: 'syscall', append: 'n=5', end: { kind: 'exit', value: EXIT_OK } },
  { name: 'paging', end: { kind: 'exit', value: EXIT_OK } },
  { name: 'timer', end: { kind: 'exit', value: EXIT_OK } },
  { name: 'sensitive', end: { kind: 'exit', value: EXIT_OK } },
  { name: 'strings', end: { kind: 'exit', value: EXIT_OK } },
  { name: 'doublefault', end: { kind: 'exit', value: EXIT_OK } },
  { name: 'triple', end: { kind: 'triple-fault' } },
  { name: 'halt', end: { kind: 'halted' }, timeoutMs: 1500 },
  { name: 'smc', end: { kind: 'exit', value: EXIT_OK } },
  { name: 'idtgate', end: { kind: 'exit', value: EXIT_OK } },
];

/** The kernel's image, assembled by nasm (the reference); our assembler must agree. */
function assembleWithNasm(source: string): Uint8Array {
  const r = nasm(source, { args: ['-I', KERNELS_DIR + '/'] });
  if (!r.ok) throw new Error(`nasm failed:\n${r.stderr}`);
  return r.bytes;
}

function assembleWithOurs(source: string, file: string): Uint8Array {
  return assemble(source, { file, provider: new FileSourceProvider([KERNELS_DIR], KERNELS_DIR) })
    .bytes;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

let workDir = '';

/** Write the image as k.bin in a fresh folder and boot it there (so that the multiboot command
 *  line is "k.bin " + append, as in MACHINE.md). */
function bootOnQemu(
  image: Uint8Array,
  kernel: Pick<KernelCase, 'append' | 'timeoutMs'>,
): QemuResult {
  const dir = mkdtempSync(path.join(workDir, 'k-'));
  writeFileSync(path.join(dir, 'k.bin'), image);
  return qemuRun('k.bin', {
    cwd: dir,
    ...(kernel.append !== undefined ? { append: kernel.append } : {}),
    ...(kernel.timeoutMs !== undefined ? { timeoutMs: kernel.timeoutMs } : {}),
  });
}

function expectEnd(result: QemuResult, end: KernelEnd): void {
  switch (end.kind) {
    case 'exit':
      expect(result.timedOut, result.stderr).toBe(false);
      expect(result.exitValue, result.stderr).toBe(end.value);
      expect(result.status).toBe((end.value << 1) | 1);
      break;
    case 'halted':
      // QEMU has no "halted" end: -no-reboot and `cli; hlt` leave it waiting until killed
      expect(result.timedOut).toBe(true);
      expect(result.exitValue).toBeUndefined();
      break;
    case 'triple-fault':
      expect(result.timedOut, result.stderr).toBe(false);
      expect(result.tripleFault).toBe(true);
      expect(result.status).toBe(0);
      expect(result.exitValue).toBeUndefined();
      break;
  }
}

function expectOurEnd(ours: OurRun, end: KernelEnd): void {
  switch (end.kind) {
    case 'exit':
      expect(ours.end).toEqual({ kind: 'exit', code: end.value });
      break;
    case 'halted':
      expect(ours.end.kind).toBe('halted');
      break;
    case 'triple-fault':
      expect(ours.end.kind).toBe('triple-fault');
      break;
  }
}

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'vmwb-kernels-'));
});
afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe('test kernels on QEMU', () => {
  it('qemu-system-i386 is installed (.ci/run installs qemu-system-x86)', () => {
    expect(qemuAvailable()).toBe(true);
  });

  for (const kernel of KERNELS) {
    describe(kernel.name, () => {
      const file = path.join(KERNELS_DIR, `${kernel.name}.asm`);
      const expectedFile = path.join(KERNELS_DIR, `${kernel.name}.expected`);
      let image: Uint8Array = new Uint8Array();

      beforeAll(() => {
        image = assembleWithNasm(readFileSync(file, 'latin1'));
      });

      it('our assembler gives nasm’s bytes', () => {
        const ours = assembleWithOurs(readFileSync(file, 'latin1'), file);
        expect(hex(ours)).toBe(hex(image));
      });

      it(`prints ${kernel.name}.expected and ends with ${kernel.end.kind}`, () => {
        const qemu = bootOnQemu(image, kernel);
        if (UPDATE) writeFileSync(expectedFile, qemu.serial);
        expectEnd(qemu, kernel.end);
        expect(qemu.serial.toString('latin1')).toBe(readFileSync(expectedFile, 'latin1'));
      });

      it('our machine prints the same bytes and ends the same way', () => {
        const ours = runOurs(image, {
          kernelPath: 'k.bin',
          ...(kernel.append !== undefined ? { append: kernel.append } : {}),
        });
        expect(ours.serial.toString('latin1')).toBe(readFileSync(expectedFile, 'latin1'));
        expectOurEnd(ours, kernel.end);
      });
    });
  }
});

describe('fuzz kernel on QEMU', () => {
  const SEED = 20240601;
  const COUNT = 10_000;
  const program = generateFuzzProgram(SEED, COUNT);

  it('is the same program for the same seed', () => {
    expect(generateFuzzProgram(SEED, COUNT).source).toBe(program.source);
    expect(program.instructions).toHaveLength(COUNT);
  });

  it('our assembler gives nasm’s bytes', () => {
    const file = path.join(KERNELS_DIR, 'fuzz.asm');
    expect(hex(assembleWithOurs(program.source, file))).toBe(hex(assembleWithNasm(program.source)));
  });

  it(`runs ${COUNT} instructions, one line each, the same twice`, () => {
    const image = assembleWithNasm(program.source);
    const first = bootOnQemu(image, { timeoutMs: 30_000 });
    expectEnd(first, { kind: 'exit', value: EXIT_OK });
    const lines = first.serial.toString('latin1').split('\n');
    // header, initial state, one line per instruction, 'fuzz done', and the final ''
    expect(lines).toHaveLength(COUNT + 4);
    expect(lines[0]).toBe(`fuzz seed=${SEED} count=${COUNT}`);
    expect(lines[COUNT + 2]).toBe('fuzz done');
    const dump = /^([0-9A-F]{8} ){8}[0-9A-F]{8}( \| ([0-9A-F]{8} ){3}[0-9A-F]{8})?$/;
    expect(lines.slice(1, COUNT + 2).filter((line) => !dump.test(line))).toEqual([]);
    const second = bootOnQemu(image, { timeoutMs: 30_000 });
    expect(second.serial.equals(first.serial)).toBe(true);

    // Differential check: our machine prints the same bytes, line for line.
    const ours = runOurs(image, { kernelPath: 'k.bin', maxInstructions: 100_000_000 });
    expect(ours.end).toEqual({ kind: 'exit', code: EXIT_OK });
    const mine = ours.serial.toString('latin1').split('\n');
    const firstDiff = lines.findIndex((line, k) => line !== mine[k]);
    const culprit = firstDiff > 1 ? program.instructions[firstDiff - 2] : undefined;
    expect(
      firstDiff < 0
        ? 'identical'
        : `line ${firstDiff} after '${String(culprit)}':\n  qemu: ${lines[firstDiff]}\n  ours: ${mine[firstDiff]}`,
    ).toBe('identical');
    expect(mine.length).toBe(lines.length);
  });
});
