// `vmm-workbench guest`: build gives the bytes nasm makes of the guest kernel (native, and
// the para-virtual build once it assembles; until then a clear error with status 2), and
// `workloads` lists exactly the workloads of src-main/engine/guest/workloads.ts. The command
// runs in process (guestCommand) and, once src-main/cli.ts registers it, as a user runs it:
// the real bin script.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src-main/cli/args';
import { guestCommand } from '../../src-main/cli/guest-command';
import { type CommandIo } from '../../src-main/cli/io';
import { WORKLOADS } from '../../src-main/engine/guest/workloads';
import { nasm } from '../helpers/nasm';

const BIN = path.resolve(__dirname, '../../bin/vmm-workbench.mjs');
const GUEST = path.resolve(__dirname, '../../src-main/engine/guest');

function cli(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'latin1' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function inProcess(argv: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = {
    stdout: (t) => void (stdout += typeof t === 'string' ? t : Buffer.from(t).toString('latin1')),
    stderr: (t) => void (stderr += t),
  };
  const status = guestCommand(argv, io);
  return { status, stdout, stderr };
}

/** nasm -f bin of kernel.asm (with -D PARAVIRT for the para-virtual build). */
function nasmKernel(paravirt: boolean): ReturnType<typeof nasm> {
  return nasm(readFileSync(path.join(GUEST, 'kernel.asm'), 'latin1'), {
    args: ['-I', GUEST + '/', ...(paravirt ? ['-D', 'PARAVIRT'] : [])],
  });
}

const EXPECTED_LIST = WORKLOADS.map((w) => w.name);
const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-guest-'));

function listedNames(stdout: string): string[] {
  const lines = stdout.split('\n').filter((l) => l !== '');
  for (const line of lines) expect(line).toMatch(/^\S+ {2,}\S.*$/);
  return lines.map((l) => l.split(' ')[0]!);
}

describe('guestCommand (in process)', () => {
  it('build: the bytes nasm makes of kernel.asm', () => {
    const out = path.join(dir, 'k-inproc.bin');
    const r = inProcess(['build', '-o', out]);
    expect(r.stderr).toMatch(/native build/);
    expect(r.status).toBe(0);
    const ref = nasmKernel(false);
    expect(ref.stderr).toBe('');
    expect(Buffer.from(readFileSync(out)).equals(Buffer.from(ref.bytes))).toBe(true);
  });

  it('workloads: one line per workload of workloads.ts, in order', () => {
    const r = inProcess(['workloads']);
    expect(r.status).toBe(0);
    expect(listedNames(r.stdout)).toEqual(EXPECTED_LIST);
    for (const w of WORKLOADS) expect(r.stdout).toContain(`  ${w.description}\n`);
  });

  it('--help, and usage errors', () => {
    const help = inProcess(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: vmm-workbench guest build/);
    for (const argv of [
      [],
      ['bogus'],
      ['build'],
      ['build', '-o'],
      ['workloads', 'extra'],
      ['workloads', '--paravirt'],
      ['build', '-o', 'x.bin', '--nope'],
    ]) {
      expect(() => inProcess(argv), argv.join(' ')).toThrow(UsageError);
    }
  });
});

describe('vmm-workbench guest (the bin script)', () => {
  it('build -o: the bytes nasm makes of kernel.asm', () => {
    const r = cli(['guest', 'build', '-o', 'k.bin'], dir);
    expect(r.status).toBe(0);
    const ref = nasmKernel(false);
    expect(Buffer.from(readFileSync(path.join(dir, 'k.bin'))).equals(Buffer.from(ref.bytes))).toBe(
      true,
    );
  });

  it('build --paravirt: nasm -D PARAVIRT bytes, or a clear error with status 2', () => {
    const r = cli(['guest', 'build', '--paravirt', '-o', 'kp.bin'], dir);
    const ref = nasmKernel(true);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    if (ref.ok) {
      expect(r.status).toBe(0);
      expect(
        Buffer.from(readFileSync(path.join(dir, 'kp.bin'))).equals(Buffer.from(ref.bytes)),
      ).toBe(true);
    } else {
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/para-virtual kernel does not assemble:\n.*: error: /);
    }
  });

  it('workloads lists exactly the workloads of workloads.ts', () => {
    const r = cli(['guest', 'workloads'], dir);
    expect(r.status).toBe(0);
    expect(listedNames(r.stdout)).toEqual(EXPECTED_LIST);
  });

  it('usage errors exit 2 with a message, --help exits 0', () => {
    expect(cli(['guest', '--help'], dir).status).toBe(0);
    for (const args of [['guest'], ['guest', 'build'], ['guest', 'frobnicate'], ['guest', '-x']]) {
      const r = cli(args, dir);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^vmm-workbench guest: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('vmm-workbench --help', () => {
  it('lists the guest command', () => {
    expect(cli(['--help'], dir).stdout).toMatch(/\n {2}guest +build the guest kernel/);
  });
});
