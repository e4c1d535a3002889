// The `asm` and `disasm` commands as a user runs them: the real bin script, real files, nasm
// as the reference, exit statuses as MACHINE.md gives them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nasm } from '../helpers/nasm';

const BIN = path.resolve(__dirname, '../../bin/vmm-workbench.mjs');

function cli(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'latin1' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('vmm-workbench asm / disasm', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-cli-'));
  mkdirSync(path.join(dir, 'inc'));
  mkdirSync(path.join(dir, 'src'));
  writeFileSync(path.join(dir, 'inc', 'consts.inc'), 'PORT equ 0x3f8\n%define GREETING "hi"\n');
  writeFileSync(
    path.join(dir, 'src', 'local.inc'),
    '%macro outb 2\n  mov dx, %1\n  mov al, %2\n  out dx, al\n%endmacro\n',
  );
  const source = [
    'bits 32',
    'org 0x100000',
    '%include "local.inc"',
    '%include "consts.inc"',
    'start:',
    '  outb PORT, 0x41',
    '%ifdef EXTRA',
    '  mov eax, EXTRA',
    '%endif',
    '  jmp start',
    'msg: db GREETING, 0',
  ].join('\n');
  writeFileSync(path.join(dir, 'src', 'k.asm'), source + '\n');

  it('assembles with -I and -D to the bytes nasm makes, and writes a listing', () => {
    const r = cli(
      ['asm', 'src/k.asm', '-o', 'k.bin', '-I', 'inc', '-D', 'EXTRA=7', '--listing', 'k.lst'],
      dir,
    );
    expect(r.stderr).not.toMatch(/error/);
    expect(r.status).toBe(0);
    const ref = nasm(source + '\n', {
      args: ['-I', path.join(dir, 'inc') + '/', '-I', path.join(dir, 'src') + '/', '-D', 'EXTRA=7'],
    });
    expect(ref.stderr).toBe('');
    expect([...readFileSync(path.join(dir, 'k.bin'))]).toEqual([...ref.bytes]);
    const listing = readFileSync(path.join(dir, 'k.lst'), 'latin1');
    expect(listing).toMatch(/00100000 66BAF803/);
    expect(listing).toMatch(/<1>/);
  });

  it('disassembles into a source that reassembles to the same bytes', () => {
    const d = cli(['disasm', 'k.bin', '--org', '0x100000'], dir);
    expect(d.status).toBe(0);
    writeFileSync(path.join(dir, 'k2.asm'), d.stdout);
    const back = cli(['asm', 'k2.asm', '-o', 'k2.bin'], dir);
    expect(back.status).toBe(0);
    expect([...readFileSync(path.join(dir, 'k2.bin'))]).toEqual([
      ...readFileSync(path.join(dir, 'k.bin')),
    ]);
    expect([...nasm(d.stdout).bytes]).toEqual([...readFileSync(path.join(dir, 'k.bin'))]);
  });

  it('gives usage errors exit status 2 with a message', () => {
    for (const args of [
      ['asm'],
      ['asm', 'src/k.asm'],
      ['asm', 'src/k.asm', '-o', 'x.bin', '--frobnicate'],
      ['asm', 'missing.asm', '-o', 'x.bin'],
      ['disasm'],
      ['disasm', 'k.bin', '--org', 'zebra'],
      ['nosuchcommand'],
    ]) {
      const r = cli(args, dir);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr.length, args.join(' ')).toBeGreaterThan(10);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(cli(['asm', 'missing.asm', '-o', 'x.bin'], dir).stderr).toMatch(
      /'missing\.asm' does not exist/,
    );
  });

  it('reports an assembly error as file:line:col with status 2', () => {
    writeFileSync(path.join(dir, 'bad.asm'), 'nop\n  mov eax, ebx, ecx\n');
    const r = cli(['asm', 'bad.asm', '-o', 'bad.bin'], dir);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^bad\.asm:2:\d+: error: /);
  });

  it('prints help for each command', () => {
    for (const c of ['asm', 'disasm']) {
      const r = cli([c, '--help'], dir);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`usage: vmm-workbench ${c}`));
    }
    expect(cli(['--help'], dir).stdout).toMatch(/commands:/);
  });
});
