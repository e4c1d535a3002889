// `vmm-workbench experiment`: one workload (or kernel file) under several techniques side by
// side, through the ExperimentService (one worker thread per technique, the history folder),
// with a progress bar per technique on a terminal (plain lines otherwise), a summary table on
// stdout, the cost derivation with --explain, the report files with --out, and the
// binary-translation run's translation-cache dump with --tc-dump.

import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultDataDir } from '../host/data-dir';
import { describeCulprit } from '../../shared/charts';
import { type HistoryFile, type RunResult, SPEC_DEFAULTS } from '../../shared/results';
import { TranslationCacheDumpSchema } from '../../shared/translation-cache-dump';
import { requireWorkload, WORKLOADS } from '../engine/guest/workloads';
import { sha256Hex } from '../engine/metrics/sha256';
import { writeReports } from '../report';
import {
  type ExperimentProgress,
  ExperimentService,
  SpecError,
  TRANSLATION_CACHE_TECHNIQUE,
} from '../service/experiment-service';
import { optionValue, parseArgs, parseNumberOption, UsageError } from './args';
import {
  parseIsa,
  parseProfile,
  parseTechnique,
  registryHelp,
  techniqueIds,
  usage,
} from './experiment-options';
import { type CommandIo } from './io';
import { parseMemorySize, readKernel } from './run-command';

export function experimentHelp(): string {
  return `usage: vmm-workbench experiment --workload NAME | --kernel FILE [options]

Run one guest under several virtualization techniques side by side (one
worker thread per technique, the same kernel bytes for each) and compare what
each costs: modeled cycles by category, traps by cause, I-cache behaviour,
and whether the guest's output equals the native run's.

  --workload NAME       a workload of the bundled guest kernel (see below)
  --kernel FILE         a multiboot kernel of your own (.bin, or .asm to assemble)
  --techniques LIST     comma-separated technique ids, or all (default all;
                        with --kernel, all but paravirt, which boots its own
                        build of the bundled kernel); native always runs too:
                        it is the baseline
  --append "TEXT"       words for the kernel command line, e.g. "n=1000"
  --isa classic|strict  ISA variant (default ${SPEC_DEFAULTS.isa})
  --profile NAME        CPU profile of the cost model (default ${SPEC_DEFAULTS.profile})
  --memory SIZE         guest RAM (default 64M)
  --max-insns N         instruction budget per run (default ${SPEC_DEFAULTS.maxInstructions})
  --timeout SECONDS     host-time watchdog per run (default ${SPEC_DEFAULTS.timeoutMs / 1000})
  --no-batch            the para-virtual guest issues one page-table entry per
                        mmu_update hypercall instead of batching them (kernel
                        argument mmu_batch=0), to measure what batching saves
  --out DIR             write results.json, results.csv, report.html and
                        charts/*.png|svg into DIR
  --explain             print each run's cycle derivation: every event kind,
                        its count, its unit cost and where the cost comes from
  --tc-dump FILE        write the binary-translation run's translation cache
                        as JSON to FILE (schema: shared/translation-cache-dump.ts):
                        every fragment in translation order, each guest
                        instruction beside the cache instructions it became,
                        the exits open or chained, and the events in order;
                        needs ${TRANSLATION_CACHE_TECHNIQUE} among the techniques
  --data DIR            history folder (default $VMM_WORKBENCH_DATA, else
                        ~/.local/share/vmm-workbench)
  -h, --help            show this help

workloads:
${WORKLOADS.map((w) => `                        ${w.name.padEnd(20)} ${w.description}\n`).join('')}${registryHelp()}
exit status: 0 when every run completed, 1 when one failed or did not finish,
2 for a usage or input error.
`;
}

/** The history folder: --data, $VMM_WORKBENCH_DATA, $XDG_DATA_HOME/vmm-workbench, ~/.local/share/… */

export async function experimentCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, [
    { name: 'workload', value: true },
    { name: 'kernel', value: true },
    { name: 'techniques', value: true },
    { name: 'append', value: true },
    { name: 'isa', value: true },
    { name: 'profile', value: true },
    { name: 'memory', value: true },
    { name: 'max-insns', value: true },
    { name: 'timeout', value: true },
    { name: 'out', value: true },
    { name: 'data', value: true },
    { name: 'tc-dump', value: true },
    { name: 'explain' },
    { name: 'no-batch' },
    { name: 'help', short: 'h' },
  ]);
  if (args.flags.has('help')) {
    io.stdout(experimentHelp());
    return 0;
  }
  if (args.positional.length > 0) {
    throw new UsageError(`unexpected argument '${args.positional[0]!}'`);
  }
  const workload = optionValue(args, 'workload');
  const kernelFile = optionValue(args, 'kernel');
  if ((workload === undefined) === (kernelFile === undefined)) {
    throw new UsageError('give exactly one of --workload NAME and --kernel FILE');
  }
  if (workload !== undefined) usage(() => requireWorkload(workload));
  const techniquesText = optionValue(args, 'techniques') ?? 'all';
  const techniques =
    techniquesText === 'all'
      ? techniqueIds(kernelFile !== undefined)
      : techniquesText.split(',').map((t) => parseTechnique(t.trim()));
  const tcDump = optionValue(args, 'tc-dump');
  // checked before anything runs: a dump that cannot be written would be noticed only after
  // the whole experiment (and it would be in the history already)
  if (tcDump !== undefined) checkTcDump(tcDump, techniques);
  const memoryText = optionValue(args, 'memory');
  const maxText = optionValue(args, 'max-insns');
  const timeoutText = optionValue(args, 'timeout');
  const spec = {
    ...SPEC_DEFAULTS,
    techniques,
    append: optionValue(args, 'append') ?? '',
    isa: parseIsa(optionValue(args, 'isa')),
    profile: parseProfile(optionValue(args, 'profile')),
    mmuBatch: !args.flags.has('no-batch'),
    ...(memoryText !== undefined ? { memoryBytes: parseMemorySize(memoryText) } : {}),
    ...(maxText !== undefined ? { maxInstructions: positive(maxText, '--max-insns') } : {}),
    ...(timeoutText !== undefined ? { timeoutMs: positive(timeoutText, '--timeout') * 1000 } : {}),
  };
  let file: { name: string; bytes: Uint8Array } | undefined;
  let kernel: HistoryFile['spec']['kernel'];
  if (kernelFile !== undefined) {
    const bytes = readKernel(kernelFile);
    file = { name: path.basename(kernelFile), bytes };
    kernel = { kind: 'file', name: file.name, sha256: sha256Hex(bytes) };
  } else {
    kernel = { kind: 'workload', workload: workload! };
  }
  const service = new ExperimentService({ dataDir: optionValue(args, 'data') ?? defaultDataDir() });
  try {
    let handle;
    try {
      handle = service.start({ ...spec, kernel }, file);
    } catch (e) {
      if (e instanceof SpecError) throw new UsageError(e.message);
      throw e;
    }
    const progress = new ProgressDisplay(io, handle.spec.techniques);
    const unsubscribe = handle.onProgress((p) => progress.update(p));
    const onSigint = (): void => {
      io.stderr('\ncancelling (the runs keep their partial metrics)…\n');
      handle.cancel();
    };
    process.once('SIGINT', onSigint);
    let result: HistoryFile;
    try {
      result = await handle.done;
    } finally {
      process.off('SIGINT', onSigint);
      unsubscribe();
      progress.finish();
    }
    io.stdout(summaryTable(result.runs));
    if (args.flags.has('explain')) io.stdout(result.runs.map(explainRun).join(''));
    const out = optionValue(args, 'out');
    if (out !== undefined) {
      const written = await writeReports(result, out);
      io.stderr(
        `wrote ${written.length} files to ${out} (open ${path.join(out, 'report.html')})\n`,
      );
    }
    let dumped = true;
    if (tcDump !== undefined) dumped = writeTcDump(io, tcDump, handle.translationCache(), result);
    io.stderr(`saved as experiment ${result.id}\n`);
    return dumped && result.runs.every((r) => r.status === 'completed') ? 0 : 1;
  } finally {
    await service.close();
  }
}

/** --tc-dump FILE can be written: a binary-translation run, an existing folder. */
function checkTcDump(file: string, techniques: readonly string[]): void {
  if (!techniques.includes(TRANSLATION_CACHE_TECHNIQUE)) {
    throw new UsageError(
      `--tc-dump writes the translation cache of the ${TRANSLATION_CACHE_TECHNIQUE} run, and --techniques (${techniques.join(',')}) has none: add ${TRANSLATION_CACHE_TECHNIQUE}`,
    );
  }
  const folder = path.dirname(path.resolve(file));
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // does not exist (or cannot be looked at): said below
  }
  if (!isFolder) {
    throw new UsageError(`--tc-dump: the folder '${path.dirname(file)}' does not exist`);
  }
}

/** Write the dump checked against its schema; false (said on stderr) when there is none. */
function writeTcDump(io: CommandIo, file: string, dump: unknown, result: HistoryFile): boolean {
  const run = result.runs.find((r) => r.technique === TRANSLATION_CACHE_TECHNIQUE);
  if (dump === null) {
    io.stderr(
      `no translation-cache dump written to ${file}: the ${TRANSLATION_CACHE_TECHNIQUE} run ended without one (${run ? `${run.status}: ${run.end.detail}` : 'no such run'})\n`,
    );
    return false;
  }
  const checked = TranslationCacheDumpSchema.parse(dump);
  writeFileSync(file, `${JSON.stringify(checked, null, 1)}\n`);
  io.stderr(
    `wrote the translation cache of the ${TRANSLATION_CACHE_TECHNIQUE} run to ${file} (${checked.fragments.length} fragments, ${checked.events.length} events)\n`,
  );
  return true;
}

function positive(text: string, option: string): number {
  const n = parseNumberOption(text, option);
  if (n <= 0) throw new UsageError(`${option} must be at least 1`);
  return n;
}

// ---- progress ----------------------------------------------------------------------------------

const BAR = 24;

/** One line per technique: redrawn in place on a terminal, plain lines (≤ 1/s each) otherwise. */
class ProgressDisplay {
  private readonly latest = new Map<string, ExperimentProgress>();
  private readonly lastPrinted = new Map<string, number>();
  private drawn = 0;

  constructor(
    private readonly io: CommandIo,
    private readonly techniques: readonly string[],
  ) {}

  update(p: ExperimentProgress): void {
    this.latest.set(p.technique, p);
    if (this.io.stderrIsTTY) {
      this.redraw();
      return;
    }
    const last = this.lastPrinted.get(p.technique) ?? -Infinity;
    if (p.state === 'finished' || p.wallMs - last >= 1000) {
      this.lastPrinted.set(p.technique, p.wallMs);
      this.io.stderr(`${line(p)}\n`);
    }
  }

  private redraw(): void {
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    const lines = this.techniques.map((t) => {
      const p = this.latest.get(t);
      return `\x1b[2K${p ? line(p) : `${t.padEnd(20)} queued`}`;
    });
    this.io.stderr(`${up}${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  finish(): void {
    if (this.io.stderrIsTTY && this.latest.size > 0) this.redraw();
  }
}

function line(p: ExperimentProgress): string {
  const name = p.technique.padEnd(20);
  if (p.state === 'queued') return `${name} queued`;
  const fraction =
    p.state === 'finished' ? 1 : p.etaMs !== null ? p.wallMs / (p.wallMs + p.etaMs) : null;
  const bar =
    fraction === null
      ? `[${'?'.repeat(BAR)}]`
      : `[${'#'.repeat(Math.round(fraction * BAR)).padEnd(BAR, '.')}]`;
  const eta =
    p.state === 'finished'
      ? 'done'
      : p.etaMs !== null
        ? `eta ${(p.etaMs / 1000).toFixed(1)} s`
        : 'eta unknown';
  return `${name} ${bar} ${compact(p.instructions)} insns  ${compact(p.traps)} traps  ${p.mips.toFixed(1)} MIPS  ${eta}`;
}

function compact(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

// ---- summary and explanation -------------------------------------------------------------------

const grouped = (n: number): string => Math.round(n).toLocaleString('en-US');

/** One row per run: what a person compares first. */
export function summaryTable(runs: readonly RunResult[]): string {
  const native = runs.find((r) => r.technique === 'native');
  const header = [
    'technique',
    'status',
    'instructions',
    'cycles',
    'modeled ms',
    'vs native',
    'traps',
    'guest events',
    'I-cache hit',
    'MPKI',
    'equivalent',
  ];
  const rows = runs.map((r) => [
    r.technique,
    r.status === 'completed' ? r.end.reason : `${r.status} (${r.end.reason})`,
    grouped(r.guestInstructions.total),
    grouped(r.cycles.total),
    ((r.cycles.total / r.frequencyHz) * 1000).toFixed(3),
    native && native.cycles.total > 0
      ? `${(r.cycles.total / native.cycles.total).toFixed(2)}×`
      : '—',
    grouped(r.traps.total),
    grouped(r.guestEvents.total),
    `${(r.icache.hitRate * 100).toFixed(2)}%`,
    r.icache.mpki.toFixed(2),
    r.equivalent === null
      ? 'n/a'
      : r.equivalent
        ? 'yes'
        : `NO: line ${r.firstDivergence?.line ?? '?'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const lines = [fmt(header), ...rows.map(fmt)];
  for (const r of runs) {
    if (r.status === 'failed') lines.push(`${r.technique}: ${r.end.detail}`);
    if (r.equivalent === false && r.firstDivergence) {
      const d = r.firstDivergence;
      lines.push(
        `${r.technique}: output differs from native at line ${d.line}: expected ${JSON.stringify(d.expected)}, got ${JSON.stringify(d.actual)}`,
      );
    }
    if (r.culprit) {
      lines.push(`${r.technique}: likely culprit: ${describeCulprit(r.culprit, true)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** The derivation of a run's cycles: every event kind × its unit cost, and the sources. */
export function explainRun(r: RunResult): string {
  const head = `\n== ${r.technique} on ${r.profile}: ${grouped(r.cycles.total)} cycles = ${((r.cycles.total / r.frequencyHz) * 1000).toFixed(3)} ms at ${(r.frequencyHz / 1e9).toFixed(2)} GHz\n`;
  if (r.costBreakdown.length === 0) return `${head}   (no cycles: ${r.end.detail})\n`;
  const rows = r.costBreakdown.map((l) => [
    l.kind,
    grouped(l.count),
    grouped(l.unitCycles),
    grouped(l.cycles),
    l.category,
    l.source,
  ]);
  const w = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const body = rows
    .map(
      (row) =>
        `   ${row[0]!.padEnd(w[0]!)}  ${row[1]!.padStart(w[1]!)} × ${row[2]!.padStart(w[2]!)} = ${row[3]!.padStart(w[3]!)}  ${row[4]!.padEnd(w[4]!)}  ${row[5]}`,
    )
    .join('\n');
  const categories = Object.entries(r.cycles)
    .filter(([k, v]) => k !== 'total' && v > 0)
    .map(([k, v]) => `${k} ${grouped(v)}`)
    .join(', ');
  const traps = Object.entries(r.traps.byCause);
  const trapLines =
    traps.length === 0
      ? ''
      : `   traps into the hypervisor: ${grouped(r.traps.total)} (world switches ${grouped(r.worldSwitches.count)}, ${grouped(r.worldSwitches.cycles)} cycles)\n` +
        traps
          .map(([cause, n]) => `     ${cause.padEnd(24)} ${grouped(n).padStart(12)}`)
          .join('\n') +
        '\n';
  const silent = r.silentSensitive;
  const silentLines =
    silent && silent.executed > 0
      ? `   sensitive instructions that ran deprivileged without a trap (invisible to the hypervisor): ${grouped(silent.executed)}\n` +
        Object.entries(silent.byMnemonic)
          .map(([m, n]) => `     ${m.padEnd(24)} ${grouped(n).padStart(12)}`)
          .join('\n') +
        '\n'
      : '';
  return `${head}${body}\n   total ${grouped(r.cycles.total)} cycles (${categories})\n${trapLines}${silentLines}`;
}

export { defaultDataDir };
