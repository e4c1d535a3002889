// `vmm-workbench run` as a user runs it: serial output alone on stdout, MACHINE.md's exit
// statuses, and a clear message for every kind of bad kernel.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = path.resolve(__dirname, '../../bin/vmm-workbench.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-run-'));

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'latin1' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A multiboot kernel (a.out kludge) around `body`. */
function kernel(body: string, extra = ''): string {
  return `bits 32
org 0x100000
header:
    dd 0x1BADB002, 0x10003, -(0x1BADB002 + 0x10003)
    dd header, header, load_end, bss_end, start
start:
${body}
${extra}
load_end:
bss_end:
`;
}

function write(name: string, text: string | Uint8Array): string {
  writeFileSync(path.join(dir, name), text);
  return name;
}

const print = (s: string): string =>
  [...s].map((c) => `    mov al, ${c.charCodeAt(0)}\n    mov dx, 0x3f8\n    out dx, al`).join('\n');

describe('vmm-workbench run', () => {
  it('writes the serial output alone on stdout and exits with the guest value', () => {
    const k = write(
      'hello.asm',
      kernel(`${print('hi\n')}\n    mov al, 42\n    out 0xf4, al\n    hlt`),
    );
    const r = cli(['run', k]);
    expect(r.stdout).toBe('hi\n');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(42);
  });

  it('passes the command line as QEMU does (path, space, -append text)', () => {
    // print the multiboot command line (info->cmdline at offset 16 of the info structure)
    const k = write(
      'cmdline.asm',
      kernel(`    mov esi, [ebx + 16]
.next:
    lodsb
    test al, al
    jz .done
    mov dx, 0x3f8
    out dx, al
    jmp .next
.done:
    mov al, 0
    out 0xf4, al`),
    );
    expect(cli(['run', k, '--append', 'workload=syscall n=5']).stdout).toBe(
      'cmdline.asm workload=syscall n=5',
    );
  });

  it('ends a kernel that loops forever at --max-insns with status 124', () => {
    const k = write('loop.asm', kernel('    jmp $'));
    const r = cli(['run', k, '--max-insns', '10000']);
    expect(r.status).toBe(124);
    expect(r.stderr).toMatch(/instruction budget/);
  });

  it('ends a halted machine with status 125', () => {
    const r = cli(['run', write('halt.asm', kernel('    cli\n    hlt'))]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/halted/);
  });

  it('ends sti; hlt with the timer masked at the PIC as halted (nothing can wake it)', () => {
    const r = cli([
      'run',
      write('idle.asm', kernel('    mov al, 0xff\n    out 0x21, al\n    sti\n    hlt')),
    ]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/halted/);
  });

  it('reports a triple fault with status 125 and the EIP', () => {
    const r = cli([
      'run',
      write('triple.asm', kernel('    lidt [idt]\n    ud2', 'idt: dw 0\n    dd 0')),
    ]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/triple fault at EIP=0x10/);
  });

  it('survives a jump into unmapped memory (a fault, then a triple fault: no crash)', () => {
    const r = cli([
      'run',
      write(
        'wild.asm',
        kernel(
          '    lidt [idt]\n    mov eax, cr0\n    or eax, 0x80000000\n    mov cr0, eax',
          'idt: dw 0\n    dd 0',
        ),
      ),
    ]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/triple fault/);
  });

  it('rejects bad kernels with a clear message and status 2', () => {
    const random = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) & 0xff);
    const cases: [string, RegExp][] = [
      [write('random.bin', random), /no multiboot header/i],
      [write('empty.bin', new Uint8Array()), /empty|no multiboot header/i],
      [write('noheader.asm', 'bits 32\nnop\nhlt\n'), /no multiboot header/i],
      [
        write(
          'outside.asm',
          kernel('    hlt').replace('org 0x100000', 'org 0x7f000000').replace(/^/, ''),
        ),
        /RAM|memory|beyond/i,
      ],
      [write('bad.asm', 'bits 32\n  frobnicate eax\n'), /bad\.asm:2:3: error: unknown instruction/],
      ['missing.bin', /does not exist/],
    ];
    for (const [file, message] of cases) {
      const r = cli(['run', file]);
      expect(r.status, file).toBe(2);
      expect(r.stderr, file).toMatch(message);
      expect(r.stderr, file).not.toMatch(/\n\s+at /);
    }
  });

  it('rejects bad options with status 2', () => {
    const k = write('ok.asm', kernel('    hlt'));
    for (const args of [
      ['run', k, '--technique', 'warp-drive'],
      ['run', k, '--isa', 'arm'],
      ['run', k, '--memory', 'lots'],
      ['run', k, '--max-insns', '-5'],
      ['run'],
    ]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.length).toBeGreaterThan(10);
    }
  });
});
