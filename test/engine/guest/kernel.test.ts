// The guest kernel (src-main/engine/guest/kernel.asm): our assembler builds the same bytes as
// nasm, and every workload prints the same serial output and exits with the same value on
// qemu-system-i386 (the reference PC) as on our simulated machine. The runs use small n so
// that the whole file stays quick; an unknown workload must give the clear message and its
// own exit value on both.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../src-main/engine/asm/assembler';
import { FileSourceProvider } from '../../../src-main/cli/files';
import { nasm, nasmAvailable } from '../../helpers/nasm';
import { qemuAvailable, qemuRunImage } from '../../helpers/qemu';
import { runOurs } from '../../helpers/machine';

const GUEST = path.resolve(__dirname, '../../../src-main/engine/guest');
const MAIN = path.join(GUEST, 'kernel.asm');
const INCLUDES = ['sensitive.inc', 'console.inc', 'user.inc'];
const EXIT_UNKNOWN_WORKLOAD = 3;

function buildOurs(): Uint8Array {
  return assemble(readFileSync(MAIN, 'latin1'), {
    file: MAIN,
    provider: new FileSourceProvider([GUEST]),
  }).bytes;
}

const image = buildOurs();

/** Each workload with a small n (a few thousand instructions to a few million). */
const WORKLOADS: ReadonlyArray<readonly [name: string, n: number, result: RegExp]> = [
  ['syscall', 200, /^syscall: 200 getpid calls, pid 1$/m],
  ['isprime', 300, /^isprime: 62 primes below 300$/m],
  ['pgfault', 150, /^pgfault: 150 demand-zero faults, non-zero pages: 0$/m],
  ['ctxswitch', 200, /^ctxswitch: 200 yields each, child counted 200$/m],
  ['forkwait', 40, /^forkwait: 40 children forked, exited and reaped$/m],
  [
    'divzero',
    100,
    /^divzero: 100 divide errors handled; a child without a handler exited with 136$/m,
  ],
  ['ptemod', 150, /^ptemod: 150 map\/unmap pairs$/m],
];

describe('guest kernel build', () => {
  it.skipIf(!nasmAvailable())('our assembler and nasm give identical bytes', () => {
    const files: Record<string, string> = {};
    for (const name of INCLUDES) files[name] = readFileSync(path.join(GUEST, name), 'latin1');
    const reference = nasm(readFileSync(MAIN, 'latin1'), { files });
    expect(reference.stderr).toBe('');
    expect(reference.ok).toBe(true);
    expect(Buffer.from(image).equals(Buffer.from(reference.bytes))).toBe(true);
  });
});

describe.skipIf(!qemuAvailable())('guest kernel on QEMU and on our machine', () => {
  for (const [name, n, result] of WORKLOADS) {
    it(`workload=${name} n=${n}: identical output, exit 0`, () => {
      const append = `workload=${name} n=${n}`;
      const ours = runOurs(image, { kernelPath: 'k.bin', append });
      const qemu = qemuRunImage(image, 'k.bin', { append, timeoutMs: 15_000 });
      const text = ours.serial.toString('latin1');
      expect(text).toMatch(result);
      expect(text).toMatch(/\nchecksum=[0-9A-F]{8}\n$/);
      expect(ours.exitValue).toBe(0);
      expect(qemu.timedOut).toBe(false);
      expect(qemu.exitValue).toBe(0);
      expect(qemu.serial.toString('latin1')).toBe(text);
    });
  }

  it('the output does not depend on the timer rate', () => {
    const outputs = [19, 100, 5000].map((hz) =>
      runOurs(image, { append: `workload=ctxswitch n=300 hz=${hz}` }).serial.toString('latin1'),
    );
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[2]).toBe(outputs[0]);
  });

  it('an unknown workload: the list of workloads and its own exit value', () => {
    const append = 'workload=nosuch n=5';
    const ours = runOurs(image, { kernelPath: 'k.bin', append });
    const qemu = qemuRunImage(image, 'k.bin', { append, timeoutMs: 15_000 });
    const text = ours.serial.toString('latin1');
    expect(text).toContain(
      'unknown workload "nosuch"; choose one with workload=NAME: syscall isprime',
    );
    expect(ours.exitValue).toBe(EXIT_UNKNOWN_WORKLOAD);
    expect(qemu.exitValue).toBe(EXIT_UNKNOWN_WORKLOAD);
    expect(qemu.serial.toString('latin1')).toBe(text);
  });
});
