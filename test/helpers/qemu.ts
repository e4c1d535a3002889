// Test helper: boot a multiboot kernel image on qemu-system-i386 (the reference machine) and
// capture what it printed on COM1 and how the run ended.
//
// The command line is the one MACHINE.md's boot state was read from, plus what keeps the run
// self-contained:
//   qemu-system-i386 -kernel K -m 64 -display none -no-reboot -monitor none
//     -serial file:OUT -device isa-debug-exit,iobase=0xf4,iosize=0x04
//     -nic none -device e1000 -d cpu_reset -D LOG [-append TEXT]
// - `-nic none -device e1000`: no network at all, but the default machine's NIC is still
//   there. Its option ROM matters: the firmware places the multiboot loader's ROM after it, so
//   without it the GDT QEMU hands over moves (GDTR base 0xca2b8 with `-nic none`, 0xc02b8 with
//   `-nodefaults`, instead of the documented 0xcb2b8). `-device e1000` without a peer makes
//   QEMU warn "nic e1000.0 has no peer"; that warning is dropped from `stderr` here.
// - `-d cpu_reset -D LOG`: QEMU logs "Triple fault" there when the guest triple-faults (the
//   only way to tell a triple fault from other resets: with -no-reboot every reset request
//   ends QEMU with status 0 and nothing on stderr).
// - No -nodefaults: it removes the VGA and NIC ROMs and so changes the boot state too.
//
// How a run ends, and what this helper reports:
// - the guest writes V to port 0xf4: QEMU exits with status (V << 1) | 1 (only the low 8 bits
//   of that reach us, so V is known modulo 128): exitValue = status >> 1;
// - triple fault (or any reset) with -no-reboot: status 0, exitValue undefined, tripleFault
//   true when the log says so;
// - `cli; hlt`: QEMU waits forever; the timeout kills it: timedOut true.
// The timeout runs QEMU under coreutils `timeout`, which puts it in its own process group and
// signals the whole group (SIGTERM, then SIGKILL 2 s later); spawnSync's own timeout is a
// last resort behind it.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const QEMU = 'qemu-system-i386';

export interface QemuOptions {
  /** the multiboot command line after the kernel path (QEMU's -append) */
  append?: string;
  /** RAM in MiB, as QEMU's -m takes it; default '64' */
  memory?: string;
  /** kill QEMU after this long; default 20 s */
  timeoutMs?: number;
  /** QEMU's working directory (the kernel path is passed as given, and QEMU puts exactly that
   *  string at the start of the multiboot command line) */
  cwd?: string;
}

export interface QemuResult {
  /** every byte the guest sent to COM1 */
  serial: Buffer;
  /** the value the guest wrote to isa-debug-exit (modulo 128), or undefined when it did not */
  exitValue: number | undefined;
  /** QEMU's exit status (null when a signal ended it) */
  status: number | null;
  timedOut: boolean;
  /** QEMU logged a triple fault (the guest's shutdown; with -no-reboot QEMU then exits) */
  tripleFault: boolean;
  /** QEMU's stderr, without the expected "has no peer" warning */
  stderr: string;
  /** wall-clock time of the run */
  elapsedMs: number;
}

export function qemuAvailable(): boolean {
  return spawnSync(QEMU, ['--version']).status === 0;
}

export function qemuVersion(): string {
  return (spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0]!;
}

/** Boot `kernelPath` on QEMU and wait until it exits or the timeout kills it. */
export function qemuRun(kernelPath: string, options: QemuOptions = {}): QemuResult {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-qemu-'));
  try {
    const serialFile = path.join(dir, 'serial.out');
    const logFile = path.join(dir, 'qemu.log');
    const qemuArgs = [
      '-kernel',
      kernelPath,
      '-m',
      options.memory ?? '64',
      '-display',
      'none',
      '-no-reboot',
      '-monitor',
      'none',
      '-serial',
      `file:${serialFile}`,
      '-device',
      'isa-debug-exit,iobase=0xf4,iosize=0x04',
      '-nic',
      'none',
      '-device',
      'e1000',
      '-d',
      'cpu_reset',
      '-D',
      logFile,
      ...(options.append !== undefined ? ['-append', options.append] : []),
    ];
    const seconds = (timeoutMs / 1000).toFixed(3);
    const started = Date.now();
    const r = spawnSync('timeout', ['--kill-after=2', seconds, QEMU, ...qemuArgs], {
      cwd: options.cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs + 10_000,
      killSignal: 'SIGKILL',
      maxBuffer: 16 * 1024 * 1024,
    });
    const elapsedMs = Date.now() - started;
    if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
    const status = r.status;
    // timeout(1) exits 124 when it had to stop the command (137 if SIGKILL was needed). Both
    // are also (V << 1) | 1 for V = 61 or 68, so the elapsed time decides.
    const timedOut =
      r.signal !== null || ((status === 124 || status === 137) && elapsedMs >= timeoutMs - 50);
    const stderr = (r.stderr ?? '')
      .split('\n')
      .filter((line) => !/warning: nic .* has no peer/.test(line))
      .join('\n');
    // status 1 is both "the guest wrote 0" and "QEMU failed to start" (which says why)
    const qemuFailed =
      status === 1 &&
      stderr.split('\n').some((line) => line.startsWith(`${QEMU}:`) && !line.includes('warning:'));
    const exitValue =
      !timedOut && !qemuFailed && status !== null && (status & 1) === 1 ? status >> 1 : undefined;
    const serial = existsSync(serialFile) ? readFileSync(serialFile) : Buffer.alloc(0);
    const log = existsSync(logFile) ? readFileSync(logFile, 'latin1') : '';
    return {
      serial,
      exitValue,
      status,
      timedOut,
      tripleFault: log.includes('Triple fault'),
      stderr,
      elapsedMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Write `image` as `name` in a fresh folder and boot it from there with qemuRun, so that the
 *  multiboot command line starts with `name` (QEMU puts the -kernel string there as given). */
export function qemuRunImage(
  image: Uint8Array,
  name = 'k.bin',
  options: Omit<QemuOptions, 'cwd'> = {},
): QemuResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-image-'));
  try {
    writeFileSync(path.join(dir, name), image);
    return qemuRun(name, { ...options, cwd: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
