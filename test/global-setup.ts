// Before any test: the reference tools the suite compares against must be installed, so that
// a machine without them fails loudly instead of skipping the comparisons.
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  const missing = [
    ['nasm', ['-v'], 'nasm'],
    ['ndisasm', ['-v'], 'nasm'],
    ['qemu-system-i386', ['--version'], 'qemu-system-x86'],
    ['cc', ['--version'], 'gcc'],
    ['/usr/bin/chromium', ['--version'], 'chromium'],
  ].filter(([cmd, args]) => spawnSync(cmd as string, args as string[]).status !== 0);
  if (missing.length > 0) {
    throw new Error(
      `the test suite needs ${missing.map((m) => m[0]).join(', ')} on PATH: apt-get install ${[...new Set(missing.map((m) => m[2]))].join(' ')} (.ci/run does this)`,
    );
  }
}
