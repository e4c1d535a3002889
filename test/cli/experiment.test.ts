// `vmm-workbench experiment` and `run --metrics` as a user runs them: the summary on stdout,
// plain progress lines on a non-terminal stderr, the cost derivation with --explain, the report
// files with --out, the translation-cache dump with --tc-dump, the history folder, and status 2
// with a clear message for bad input.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseResultsFile, RunResultSchema } from '../../shared/results';
import { TranslationCacheDumpSchema, TreatmentSchema } from '../../shared/translation-cache-dump';
import { listTechniques } from '../../src-main/engine/vmm';

const BIN = path.resolve(__dirname, '../../bin/vmm-workbench.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-exp-'));
const data = path.join(dir, 'data');

function cli(args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, VMM_WORKBENCH_DATA: data },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('vmm-workbench experiment', () => {
  it('runs a workload, prints the summary and the derivation, writes the reports and the history', () => {
    const out = path.join(dir, 'out');
    const r = cli([
      'experiment',
      '--workload',
      'syscall',
      '--append',
      'n=300',
      '--techniques',
      'all',
      '--explain',
      '--out',
      out,
    ]);
    expect(r.stderr).toMatch(/^native\s+\[#+\].* done$/m);
    expect(r.status, r.stderr).toBe(0);
    const [header, native] = r.stdout.split('\n');
    expect(header).toMatch(/^technique\s+status\s+instructions\s+cycles/);
    expect(native).toMatch(/^native\s+exit\s+[\d,]+\s+[\d,]+\s+[\d.]+\s+1\.00×\s+0\s+[\d,]+.*yes$/);
    // --explain: each kind with count × unit = cycles and its source; the total
    expect(r.stdout).toMatch(/== native on p4-2006: [\d,]+ cycles/);
    expect(r.stdout).toMatch(/event\.softint\s+3\d\d ×\s+889 = [\d,]+\s+guest\s+assumption/);
    expect(r.stdout).toMatch(/event\.pagefault\s+\d+ ×\s+1,093 = .*\[AA06\]/);
    expect(r.stdout).toMatch(/^ {3}total [\d,]+ cycles \(guest/m);
    // the files
    const results = parseResultsFile(readFileSync(path.join(out, 'results.json'), 'utf8'));
    // `all`: every registered technique, native first
    expect(results.runs.map((x) => x.technique)).toEqual(listTechniques().map((t) => t.id));
    expect(results.runs.every((x) => x.equivalent === true)).toBe(true);
    expect(results.runs[0]!.guestEvents.byCause['int:0x80']).toBeGreaterThanOrEqual(300);
    const csv = readFileSync(path.join(out, 'results.csv'), 'utf8').split('\r\n');
    expect(csv[0]).toContain('cycles.total');
    expect(csv[1]).toMatch(/^native,/);
    expect(readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('<canvas');
    expect(readdirSync(path.join(out, 'charts')).filter((f) => f.endsWith('.png')).length).toBe(
      readdirSync(path.join(out, 'charts')).filter((f) => f.endsWith('.svg')).length,
    );
    // the history folder has it
    const saved = readdirSync(path.join(data, 'experiments')).filter((f) => f.endsWith('.json'));
    expect(saved.length).toBeGreaterThanOrEqual(1);
    expect(r.stderr).toMatch(/saved as experiment \S+/);
  });

  it('runs a kernel file of the user’s own', () => {
    const k = path.join(dir, 'hello.asm');
    writeFileSync(
      k,
      [
        'bits 32',
        'org 0x100000',
        'hdr: dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000)',
        '    dd hdr, hdr, end, end, start',
        'start:',
        '    mov dx, 0x3f8',
        "    mov al, 'k'",
        '    out dx, al',
        '    mov al, 7',
        '    out 0xf4, al',
        'end:',
        '',
      ].join('\n'),
    );
    const r = cli(['experiment', '--kernel', k, '--profile', 'modern']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^native\s+exit\s+/m);
  });

  it('--no-batch asks the para-virtual guest for one page-table entry per mmu_update', () => {
    const run = (extra: string[]) => {
      const out = path.join(dir, `batch${extra.length}`);
      const r = cli([
        'experiment',
        '--workload',
        'forkwait',
        '--append',
        'n=2',
        '--techniques',
        'native',
        ...extra,
        '--out',
        out,
      ]);
      expect(r.status, r.stderr).toBe(0);
      return parseResultsFile(readFileSync(path.join(out, 'results.json'), 'utf8'));
    };
    const batched = run([]);
    expect(batched.spec.mmuBatch).toBe(true);
    expect(batched.runs[0]!.cmdline).toBe('vmm-guest.bin workload=forkwait n=2');
    const unbatched = run(['--no-batch']);
    expect(unbatched.spec.mmuBatch).toBe(false);
    expect(unbatched.runs[0]!.cmdline).toBe('vmm-guest.bin workload=forkwait n=2 mmu_batch=0');
    // the native kernel ignores the word
    expect(unbatched.runs[0]!.outputHash).toBe(batched.runs[0]!.outputHash);
    expect(cli(['experiment', '--help']).stdout).toMatch(/--no-batch {12}the para-virtual guest/);
  });

  it('--tc-dump writes the binary-translation run’s translation cache, and keeps it in the history', () => {
    const file = path.join(dir, 'syscall.tc.json');
    const r = cli([
      'experiment',
      '--workload',
      'syscall',
      '--append',
      'n=5',
      '--techniques',
      'binary-translation',
      '--tc-dump',
      file,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const dump = TranslationCacheDumpSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    expect(r.stderr).toContain(
      `wrote the translation cache of the binary-translation run to ${file} (${dump.fragments.length} fragments, ${dump.events.length} events)`,
    );
    expect(dump.fragments.length).toBeGreaterThan(10);
    // lecture §6.2: copied, rewritten for the new layout, made safe inline or by a callout
    const treatments = new Set(
      dump.fragments.flatMap((f) => f.instructions.map((i) => i.treatment)),
    );
    expect([...treatments].sort()).toEqual([...TreatmentSchema.options].sort());
    // every instruction became something in the cache, at an address inside its fragment
    for (const f of dump.fragments) {
      for (const i of f.instructions) {
        expect(i.cache.length, `fragment ${f.id} at ${i.guestEip}`).toBeGreaterThan(0);
        for (const c of i.cache) {
          expect(c.address).toBeGreaterThanOrEqual(f.tcStart);
          expect(c.address).toBeLessThan(f.tcEnd + 5);
        }
      }
    }
    // the events name fragments of the dump (no flush in so short a run), chain events an exit
    // of theirs that leads to the target fragment's guest address
    const byId = new Map(dump.fragments.map((f) => [f.id, f]));
    expect(dump.flushes).toBe(0);
    const chains = dump.events.filter((e) => e.kind === 'chain');
    expect(chains.length).toBeGreaterThan(0);
    for (const e of chains) {
      const from = byId.get(e.from);
      const to = byId.get(e.to);
      expect(from, JSON.stringify(e)).toBeDefined();
      expect(to, JSON.stringify(e)).toBeDefined();
      expect(from!.exits[e.exit]?.target).toBe(to!.guestEip);
    }
    const translated = dump.events.flatMap((e) => (e.kind === 'translate' ? [e.fragment] : []));
    expect(translated).toEqual(dump.fragments.map((f) => f.id));
    // the experiment keeps the same dump beside it in the history
    const id = /saved as experiment (\S+)/.exec(r.stderr)![1]!;
    const kept = JSON.parse(readFileSync(path.join(data, 'experiments', `${id}.tc.json`), 'utf8'));
    expect(kept).toEqual(dump);
  });

  it('--tc-dump refuses, before running anything, without binary translation or a folder to write in', () => {
    const experiments = (): string[] => {
      try {
        return readdirSync(path.join(data, 'experiments'));
      } catch {
        return [];
      }
    };
    const before = experiments();
    const noBt = cli([
      'experiment',
      '--workload',
      'syscall',
      '--techniques',
      'native,trap-and-emulate',
      '--tc-dump',
      path.join(dir, 'never.json'),
    ]);
    expect(noBt.status).toBe(2);
    expect(noBt.stderr).toMatch(
      /--tc-dump writes the translation cache of the binary-translation run, and --techniques \(native,trap-and-emulate\) has none/,
    );
    const noFolder = cli([
      'experiment',
      '--workload',
      'syscall',
      '--techniques',
      'binary-translation',
      '--tc-dump',
      path.join(dir, 'missing-folder', 'd.json'),
    ]);
    expect(noFolder.status).toBe(2);
    expect(noFolder.stderr).toMatch(/--tc-dump: the folder '.*missing-folder' does not exist/);
    for (const r of [noBt, noFolder]) {
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/queued|saved as experiment|\n\s+at /);
    }
    expect(existsSync(path.join(dir, 'never.json'))).toBe(false);
    expect(experiments()).toEqual(before);
    expect(cli(['experiment', '--help']).stdout).toMatch(
      /--tc-dump FILE {8}write the binary-translation run's translation cache/,
    );
  });

  it.each([
    [['--workload', 'syscall', '--no-batch=1'], /option '--no-batch' takes no value/],
    [['--workload', 'nope'], /unknown workload 'nope' \(available: syscall, isprime/],
    [['--workload', 'syscall', '--kernel', 'k.bin'], /exactly one of --workload/],
    [[], /exactly one of --workload/],
    [
      ['--workload', 'syscall', '--techniques', 'native,warp'],
      /unknown technique 'warp' \(available: native/,
    ],
    [
      ['--workload', 'syscall', '--profile', 'z80'],
      /unknown CPU profile 'z80' \(available: p4-2006/,
    ],
    [['--workload', 'syscall', '--isa', 'risc'], /--isa must be classic or strict/],
    [['--kernel', 'missing.bin'], /kernel 'missing.bin' does not exist/],
    [['--workload', 'syscall', '--bogus'], /--bogus/],
  ])('rejects %j with status 2 and a clear message', (args, message) => {
    const r = cli(['experiment', ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a kernel file that is not multiboot fails its run, named, with status 1', () => {
    const junk = path.join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(2048, 0x90));
    const r = cli(['experiment', '--kernel', junk]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/native: kernel 'junk\.bin': .*multiboot/i);
  });
});

describe('vmm-workbench run --metrics', () => {
  it('writes one RunResult with the authoritative end reason', () => {
    const k = path.join(dir, 'loop.asm');
    writeFileSync(
      k,
      [
        'bits 32',
        'org 0x100000',
        'hdr: dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000)',
        '    dd hdr, hdr, end, end, start',
        'start: jmp start',
        'end:',
        '',
      ].join('\n'),
    );
    const metrics = path.join(dir, 'm.json');
    const r = cli([
      'run',
      k,
      '--max-insns',
      '5000',
      '--metrics',
      metrics,
      '--profile',
      'core2-2007',
    ]);
    expect(r.status).toBe(124);
    expect(existsSync(metrics)).toBe(true);
    const result = RunResultSchema.parse(JSON.parse(readFileSync(metrics, 'utf8')));
    expect(result).toMatchObject({
      technique: 'native',
      profile: 'core2-2007',
      status: 'did-not-finish',
      end: { reason: 'instruction-limit' },
      guestInstructions: { total: 5000 },
    });
    expect(result.cycles.total).toBe(result.costBreakdown.reduce((s, l) => s + l.cycles, 0));
  });
});
