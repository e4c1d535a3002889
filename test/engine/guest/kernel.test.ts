// The guest kernel (src-main/engine/guest/kernel.asm): our assembler builds the same bytes as
// nasm, and every workload prints the same serial output and exits with the same value on
// qemu-system-i386 (the reference PC) as on our simulated machine. The runs use small n so
// that the whole file stays quick; an unknown workload must give the clear message and its
// own exit value on both.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../src-main/engine/asm/assembler';
import { FileSourceProvider } from '../../../src-main/host/source-files';
import { nasm, nasmAvailable } from '../../helpers/nasm';
import { qemuAvailable, qemuRunImage } from '../../helpers/qemu';
import { runOurs } from '../../helpers/machine';
import { WORKLOADS } from '../../../src-main/engine/guest/workloads';

const GUEST = path.resolve(__dirname, '../../../src-main/engine/guest');
const MAIN = path.join(GUEST, 'kernel.asm');
const INCLUDES = ['sensitive.inc', 'console.inc', 'kcode.inc', 'user.inc'];
const EXIT_UNKNOWN_WORKLOAD = 3;

function buildOurs(): Uint8Array {
  return assemble(readFileSync(MAIN, 'latin1'), {
    file: MAIN,
    provider: new FileSourceProvider([GUEST]),
  }).bytes;
}

const image = buildOurs();

/** What each workload prints for its small n (WORKLOADS' testN): its result line(s). */
const RESULTS: Readonly<Record<string, RegExp>> = {
  syscall: /^syscall: 200 getpid calls, pid 1$/m,
  isprime: /^isprime: 62 primes below 300$/m,
  pgfault: /^pgfault: 150 demand-zero faults, non-zero pages: 0$/m,
  ctxswitch: /^ctxswitch: 200 yields each, child counted 200$/m,
  forkwait: /^forkwait: 40 children forked, exited and reaped$/m,
  divzero: /^divzero: 100 divide errors handled; a child without a handler exited with 136$/m,
  ptemod: /^ptemod: 150 map\/unmap pairs$/m,
  cr3: /^cr3: 500 CR3 loads between cli and sti$/m,
  io: /^io: 500 out\/in pairs on port 0x80$/m,
  callret: /^callret: 50 calls of depth 64, f\(64\)=D49DCAA1$/m,
  // pids 2, 5, 8 make the system calls (50 each); 0+1+...+15 per fault child; 46 primes < 200;
  // then pid 11 spins (never printed), 12 writes to kernel memory (#PF, error 7: present,
  // write, user; 128 + 14) and 13 runs clts at CPL 3 (#GP; 128 + 13)
  mix: /^process 12 killed: page fault at 00100000 \(error 7\)\nprocess 13 killed: exception 13\nmix: 3 rounds of 3 children; getpid sum 750, faulted words sum 360, primes 138\nmix: wild pointer child exited with 142, privileged instruction child with 141; the spinner was preempted$/m,
  // natively the kernel sees itself at CPL 0 with interrupts masked, paging and protection on
  sensitive:
    /^sensitive: cs=0008 cpl=0 if=0 sidt=[0-9A-F]{8}\/07FF smsw=[0-9A-F]{3}[13579BDF]\nsensitive: 100 rounds of mov-from-cs, pushf, sidt, smsw in the kernel$/m,
  // every routine's cold block once (kcode.test.ts checks the code size and the checksum)
  kcode:
    /^kcode: 64 calls through 256 kernel routines \(\d+ bytes of code\), cold blocks run: 256\nchecksum=31CD691C$/m,
  // 25 = 5 × 5: not prime
  lecture: /^lecture: isPrime\(25\) = 0\nchecksum=00000000$/m,
};

/** The kernel's own workload table (user.inc): name and default n, in table order. */
function kernelTable(): Array<{ name: string; defaultN: number }> {
  const user = readFileSync(path.join(GUEST, 'user.inc'), 'latin1');
  const names = new Map<string, string>();
  for (const m of user.matchAll(/^(wn_\w+):\s*db '([^']*)', 0$/gm)) names.set(m[1]!, m[2]!);
  const start = user.indexOf('workload_table:');
  const end = user.indexOf('    dd 0\n', start);
  return [...user.slice(start, end).matchAll(/^\s*dd (wn_\w+), w_\w+, (\d+)$/gm)].map((m) => ({
    name: names.get(m[1]!) ?? `?${m[1]!}`,
    defaultN: Number(m[2]),
  }));
}

describe('the workload list', () => {
  it('workloads.ts matches the kernel table: names, order and default n', () => {
    expect(kernelTable()).toEqual(WORKLOADS.map((w) => ({ name: w.name, defaultN: w.defaultN })));
  });

  it('every workload has an expected result here, and one-line descriptions', () => {
    expect(Object.keys(RESULTS).sort()).toEqual(WORKLOADS.map((w) => w.name).sort());
    for (const w of WORKLOADS) {
      expect(w.description).not.toMatch(/\n/);
      expect(w.testN).toBeLessThan(w.defaultN);
    }
  });
});

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
  for (const { name, testN: n } of WORKLOADS) {
    it(`workload=${name} n=${n}: identical output, exit 0`, () => {
      const result = RESULTS[name] ?? /^never$/;
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
    const names = WORKLOADS.map((w) => w.name).join(' ');
    expect(text).toContain(`unknown workload "nosuch"; choose one with workload=NAME: ${names}\n`);
    expect(ours.exitValue).toBe(EXIT_UNKNOWN_WORKLOAD);
    expect(qemu.exitValue).toBe(EXIT_UNKNOWN_WORKLOAD);
    expect(qemu.serial.toString('latin1')).toBe(text);
  });
});
