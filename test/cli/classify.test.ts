// `vmm-workbench classify`: the text report (table of sensitive and privileged forms, the
// verdict, the violators) and --json (the engine's classification as is), in process and as
// a user runs it (the bin script); usage errors exit 2 with a message.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src-main/cli/args';
import { classifyCommand } from '../../src-main/cli/classify-command';
import { type CommandIo } from '../../src-main/cli/io';
import { type Classification } from '../../src-main/engine/classify/classifier';

const BIN = path.resolve(__dirname, '../../bin/vmm-workbench.mjs');

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function inProcess(argv: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const io: CommandIo = {
    stdout: (t) => void (stdout += typeof t === 'string' ? t : Buffer.from(t).toString('utf8')),
    stderr: (t) => void (stderr += t),
  };
  const status = classifyCommand(argv, io);
  return { status, stdout, stderr };
}

/** The table rows of the text report: form → its T P C B columns. */
function rows(text: string): Map<string, string> {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => /^mnemonic +form +T P C B$/.test(l));
  expect(header).toBeGreaterThan(0);
  const out = new Map<string, string>();
  for (const line of lines.slice(header + 1)) {
    if (line === '') break;
    const m = /^(\S+) {2,}(.+?) {2,}([T-] [P-] [C-] [B-])( {2}violator)?$/.exec(line);
    expect(m, line).not.toBeNull();
    out.set(m![2]!, m![3]! + (m![4] ?? ''));
  }
  return out;
}

describe('classifyCommand (in process)', () => {
  it('text, classic: the sensitive and privileged forms, the verdict and the violators', () => {
    const r = inProcess([]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const table = rows(r.stdout);
    expect(table.get('pushfw/pushfd')).toBe('- - - B  violator');
    expect(table.get('popfw/popfd')).toBe('- - C -  violator');
    expect(table.get('mov creg, r32')).toBe('T P C B');
    expect(table.get('cli')).toBe('T P C B');
    expect(table.has('add r/m16/32, r16/32')).toBe(false);
    expect(r.stdout).toMatch(/\n\d+ innocuous forms .*not listed\./);
    expect(r.stdout).toMatch(
      /\nVerdict: NOT virtualizable by trap-and-emulate — \d+ of \d+ sensitive forms do not trap at CPL 1 and 3:\n/,
    );
    const violators = r.stdout.slice(r.stdout.indexOf('\nVerdict:')).split('\n').slice(2);
    for (const form of ['sgdt m16&32', 'sidt m16&32', 'smsw r16/32', 'str r16/32', 'push cs'])
      expect(violators).toContain(`  ${form}`);
  });

  it('text, strict: virtualizable, no violators', () => {
    const r = inProcess(['--isa', 'strict']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /\nVerdict: virtualizable by trap-and-emulate — all \d+ sensitive forms trap at CPL 1 and 3\.\n$/,
    );
    expect(r.stdout).not.toMatch(/violator/);
    expect(rows(r.stdout).get('pushfw/pushfd')).toBe('T P - B');
  });

  it('--json: the classification with its documented shape', () => {
    const r = inProcess(['--json', '--isa=classic']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout) as Classification;
    expect(Object.keys(json)).toEqual([
      'isa',
      'virtualizable',
      'instructions',
      'violators',
      'uncovered',
    ]);
    expect(json.isa).toBe('classic');
    expect(json.virtualizable).toBe(false);
    expect(json.uncovered).toEqual([]);
    const sgdt = json.instructions.find((i) => i.form === 'sgdt m16&32')!;
    expect(sgdt).toMatchObject({
      mnemonic: 'sgdt',
      traps: false,
      privileged: false,
      controlSensitive: false,
      behaviorSensitive: true,
    });
    expect(sgdt.evidence.length).toBeGreaterThan(0);
    expect(json.violators).toContainEqual({ mnemonic: 'sgdt', form: 'sgdt m16&32' });
  });

  it('--help, and usage errors', () => {
    const help = inProcess(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(
      /^usage: vmm-workbench classify \[--isa classic\|strict\] \[--json\]/,
    );
    expect(() => inProcess(['--isa', 'x86'])).toThrow(/--isa must be classic or strict, not 'x86'/);
    expect(() => inProcess(['--isa'])).toThrow(/option '--isa' needs a value/);
    for (const argv of [
      ['--verbose'],
      ['extra'],
      ['--json=yes'],
      ['--isa', 'strict', '--isa', 'classic'],
    ])
      expect(() => inProcess(argv), argv.join(' ')).toThrow(UsageError);
  });
});

describe('vmm-workbench classify (the bin script)', () => {
  it('prints the strict report as JSON', () => {
    const r = cli(['classify', '--isa', 'strict', '--json']);
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout) as Classification;
    expect(json.isa).toBe('strict');
    expect(json.virtualizable).toBe(true);
    expect(json.violators).toEqual([]);
  }, 60_000);

  it('prints the classic report as text', () => {
    const r = cli(['classify']);
    expect(r.status).toBe(0);
    expect(rows(r.stdout).get('sidt m16&32')).toBe('- - - B  violator');
    expect(r.stdout).toMatch(/\nVerdict: NOT virtualizable/);
  }, 60_000);

  it('a bad flag or ISA exits 2 with a message', () => {
    for (const args of [
      ['classify', '--bogus'],
      ['classify', '--isa', 'pentium'],
    ]) {
      const r = cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^vmm-workbench classify: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    }
    expect(cli(['classify', '--bogus']).stderr).toMatch(/unknown option '--bogus'/);
  }, 60_000);

  it('is listed by --help', () => {
    expect(cli(['--help']).stdout).toMatch(/\n {2}classify +Popek–Goldberg classification/);
  }, 60_000);
});
