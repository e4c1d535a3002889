// runExperiment, the one entry point: results are deterministic, valid against the shared
// schema, and their counts are right — checked against what the guest kernel does by
// construction (n=N minus n=0 is exactly N events), against a kernel whose code footprint is
// known (I-cache misses), and against the cost identity (cycles = Σ count × unit cost).
// Progress, the watchdog, the budget and cancel are driven by an injected clock, never a timer.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ExperimentSpec,
  type RunResult,
  RunResultSchema,
  SCHEMA_VERSION,
  SPEC_DEFAULTS,
} from '../../shared/results';
import { assemble } from '../../src-main/engine/asm/assembler';
import { failedRunResult, kernelArguments, runExperiment } from '../../src-main/engine/experiment';
import { type RunProgress, type RunSpec } from '../../src-main/engine/run-spec';
import { sha256Hex } from '../../src-main/engine/metrics/sha256';
import { ENGINE_VERSION } from '../../src-main/engine/version';
import { guestKernelImage } from '../../src-main/host/guest-kernel';
import { FileSourceProvider } from '../../src-main/host/source-files';

const GUEST = guestKernelImage('native');

function workloadSpec(workload: string, n: number, over: Partial<ExperimentSpec> = {}): RunSpec {
  return {
    experiment: {
      ...SPEC_DEFAULTS,
      kernel: { kind: 'workload', workload },
      techniques: ['native'],
      append: `n=${n}`,
      ...over,
    },
    technique: 'native',
    kernel: { name: 'guest kernel', image: GUEST, build: 'native' },
    kernelPath: 'vmm-guest.bin',
  };
}

function run(spec: RunSpec): RunResult {
  const result = runExperiment(spec, () => {});
  const parsed = RunResultSchema.safeParse(result);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues.slice(0, 5)));
  return result;
}

/** A result without the fields that measure the host (the only ones allowed to differ). */
function withoutHost(r: RunResult): unknown {
  return { ...r, host: null };
}

const cause = (r: RunResult, c: string): number => r.guestEvents.byCause[c] ?? 0;

describe('runExperiment on the guest kernel (native)', () => {
  it('gives identical results for the same spec, except host time', () => {
    const a = run(workloadSpec('mix', 2));
    const b = run(workloadSpec('mix', 2));
    expect(a.status).toBe('completed');
    expect(withoutHost(b)).toEqual(withoutHost(a));
    expect(JSON.stringify(withoutHost(b))).toBe(JSON.stringify(withoutHost(a)));
  });

  it('records identity: results format, technique, isa, profile, workload, kernel hash, seed, engine version', () => {
    const r = run(workloadSpec('isprime', 100, { seed: 7, profile: 'core2-2007' }));
    expect(r).toMatchObject({
      schemaVersion: SCHEMA_VERSION,
      technique: 'native',
      isa: 'classic',
      profile: 'core2-2007',
      workload: 'isprime',
      seed: 7,
      engineVersion: ENGINE_VERSION,
      cmdline: 'vmm-guest.bin workload=isprime n=100',
      kernel: { sha256: sha256Hex(GUEST), bytes: GUEST.length, build: 'native' },
      frequencyHz: 2_660_000_000,
    });
    expect(r.end).toMatchObject({ reason: 'exit', exitCode: 0 });
    expect(r.outputText).toContain('isprime: 25 primes below 100');
    expect(r.outputHash).toBe(sha256Hex(Buffer.from(r.outputText, 'latin1')));
    expect(r.output.lines).toBe(r.outputText.split('\n').length - 1);
  });

  it.each([
    ['syscall', 40, { 'int:0x80': 40 }, 0],
    ['pgfault', 40, { pf: 40 }, 0],
    ['divzero', 40, { de: 40 }, 0],
    ['ctxswitch', 40, { 'int:0x80': 80 }, 80],
    ['cr3', 40, {}, 40],
    ['forkwait', 20, { 'int:0x80': 60 }, 40],
  ] as const)('%s: n=N minus n=0 is exactly the workload’s events', (workload, n, events, cr3) => {
    const base = run(workloadSpec(workload, 0));
    const more = run(workloadSpec(workload, n));
    expect(base.status).toBe('completed');
    expect(more.status).toBe('completed');
    for (const c of ['int:0x80', 'pf', 'de', 'irq:0']) {
      expect(cause(more, c) - cause(base, c), c).toBe((events as Record<string, number>)[c] ?? 0);
    }
    expect(more.contextSwitches.count - base.contextSwitches.count).toBe(cr3);
    // natively nothing traps: there is no hypervisor
    expect(more.traps.total).toBe(0);
    expect(more.worldSwitches).toEqual({ count: 0, cycles: 0 });
  });

  it('io: n=N minus n=0 is exactly 2N port accesses, each charged the profile’s I/O cost', () => {
    const io = (r: RunResult) => r.costBreakdown.find((l) => l.kind === 'insn.io')!;
    const base = run(workloadSpec('io', 0));
    const more = run(workloadSpec('io', 300));
    // the UART prints one more digit for n=300 than for n=0 ("300" vs "0"): 2 more bytes
    const uartBytes = more.output.bytes - base.output.bytes;
    expect(io(more).count - io(base).count).toBe(600 + uartBytes * 2);
    expect(io(more).unitCycles).toBe(3800);
  });

  it('prices every cycle: the breakdown sums to the total, per category and overall', () => {
    const r = run(workloadSpec('mix', 1));
    const sum = (f: (l: RunResult['costBreakdown'][number]) => boolean) =>
      r.costBreakdown.filter(f).reduce((s, l) => s + l.cycles, 0);
    expect(sum(() => true)).toBe(r.cycles.total);
    for (const c of ['guest', 'pageWalk', 'cacheMiss', 'idle'] as const) {
      expect(
        sum((l) => l.category === c),
        c,
      ).toBe(r.cycles[c]);
    }
    for (const l of r.costBreakdown) {
      expect(l.cycles).toBe(l.count * l.unitCycles);
      expect(l.source.length).toBeGreaterThan(5);
    }
    const kinds = new Map(r.costBreakdown.map((l) => [l.kind, l.count]));
    // instructions by kind add up to the instructions retired
    const insns = r.costBreakdown
      .filter((l) => l.kind.startsWith('insn.'))
      .reduce((s, l) => s + l.count, 0);
    expect(insns).toBe(r.guestInstructions.total);
    expect(kinds.get('mmu.walk')).toBe(r.tlb.misses);
    expect(kinds.get('cache.icacheMiss')).toBe(r.icache.misses);
    expect(kinds.get('event.pagefault')).toBe(cause(r, 'pf'));
    expect(kinds.get('event.softint')).toBe(cause(r, 'int:0x80'));
  });

  it('keeps a time series that covers the run and adds up', () => {
    const r = run(workloadSpec('syscall', 3000, { sliceInstructions: 10_000 }));
    const slots = r.timeSeries.slots;
    expect(slots.length).toBeGreaterThan(5);
    expect(slots.at(-1)!.instructions).toBe(r.guestInstructions.total);
    expect(slots.reduce((s, x) => s + x.cycles, 0)).toBe(r.cycles.total);
    expect(slots.reduce((s, x) => s + x.guestEvents, 0)).toBe(r.guestEvents.total);
    for (let i = 0; i < slots.length - 1; i++) {
      expect(slots[i]!.instructions % r.timeSeries.sliceInstructions).toBe(0);
    }
  });

  it('merges time-series slots rather than growing without bound', () => {
    const r = run(workloadSpec('syscall', 2000, { sliceInstructions: 100 }));
    expect(r.timeSeries.slots.length).toBeLessThanOrEqual(1024);
    expect(r.timeSeries.sliceInstructions).toBeGreaterThan(100);
    expect(r.timeSeries.slots.reduce((s, x) => s + x.cycles, 0)).toBe(r.cycles.total);
  });

  it('logs the first events with their instruction, bytes and disassembly, bounded', () => {
    const r = run(workloadSpec('syscall', 100, { eventLimit: 50 }));
    expect(r.events.entries).toHaveLength(50);
    expect(r.events.dropped).toBe(r.guestEvents.total - 50);
    const syscall = r.events.entries.find((e) => e.cause === 'int:0x80')!;
    expect(syscall).toMatchObject({ kind: 'guest', bytes: 'cd 80', disasm: 'int 0x80', cost: 889 });
    const faults = run(workloadSpec('pgfault', 3, { eventLimit: 50 }));
    const pf = faults.events.entries.filter((e) => e.cause === 'pf');
    expect(pf.length).toBeGreaterThanOrEqual(3);
    for (const e of pf) {
      expect(e.cost).toBe(1093);
      expect(e.disasm).toMatch(/^(mov|cmp|add|push|call|stos|movs)/);
    }
  });

  it('uses the profile’s clock for guest time: the same guest output on every profile', () => {
    const outputs = ['p4-2006', 'core2-2007', 'modern'].map(
      (profile) => run(workloadSpec('mix', 1, { profile })).outputHash,
    );
    expect(new Set(outputs).size).toBe(1);
  });
});

describe('runExperiment: I-cache misses on a kernel whose footprint is known', () => {
  const source = path.resolve(__dirname, '../fixtures/metrics/icache-sled.asm');
  const sled = (lines: number, rounds: number): RunResult => {
    const image = assemble(readFileSync(source, 'latin1'), {
      file: source,
      defines: [
        ['SLED_LINES', String(lines)],
        ['ROUNDS', String(rounds)],
      ],
      provider: new FileSourceProvider([path.resolve(__dirname, '../fixtures/kernels')]),
    }).bytes;
    return run({
      experiment: {
        ...SPEC_DEFAULTS,
        profile: 'core2-2007', // 32 KiB, 8-way: 512 lines in 64 sets
        kernel: { kind: 'file', name: 'icache-sled.bin', sha256: sha256Hex(image) },
        techniques: ['native'],
      },
      technique: 'native',
      kernel: { name: 'icache-sled.bin', image, build: 'native' },
      kernelPath: 'icache-sled.bin',
    });
  };

  it('a loop that fits misses only on its first round', () => {
    const once = sled(64, 1);
    const many = sled(64, 10);
    expect(many.status).toBe('completed');
    expect(many.icache.misses - once.icache.misses).toBe(0);
    expect(many.icache.accesses - once.icache.accesses).toBe(9 * 64);
    expect(many.icache.footprintLines).toBe(once.icache.footprintLines);
  });

  it('a loop twice the cache misses on every line of every round (LRU)', () => {
    const once = sled(1024, 1);
    const many = sled(1024, 4);
    expect(many.icache.misses - once.icache.misses).toBe(3 * 1024);
    expect(many.icache.footprintLines).toBe(once.icache.footprintLines);
    expect(once.icache.footprintLines).toBeGreaterThanOrEqual(1024);
    const miss = many.costBreakdown.find((l) => l.kind === 'cache.icacheMiss')!;
    expect(miss.count).toBe(many.icache.misses);
    expect(miss.unitCycles).toBe(14);
  });
});

describe('runExperiment: budget, watchdog, cancel, progress, bad kernels', () => {
  /** A clock that moves `step` ms each time it is read. */
  const ticking = (step: number) => {
    let t = 0;
    return { now: () => (t += step) };
  };

  it('reports progress at least 5 times a second of host time', () => {
    const clock = ticking(10);
    const seen: RunProgress[] = [];
    const r = runExperiment(workloadSpec('syscall', 3000), (p) => seen.push(p), undefined, clock);
    expect(r.status).toBe('completed');
    const span = r.host.wallMs;
    expect(span).toBeGreaterThan(1000);
    expect(seen.length).toBeGreaterThanOrEqual(Math.floor(span / 200));
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.wallMs - seen[i - 1]!.wallMs).toBeLessThanOrEqual(200);
      expect(seen[i]!.instructions).toBeGreaterThanOrEqual(seen[i - 1]!.instructions);
    }
    expect(seen.at(-1)!.instructions).toBe(r.guestInstructions.total);
    expect(seen.at(-1)!.guestEvents).toBe(r.guestEvents.total);
  });

  it('a guest that never exits ends at the instruction budget as did-not-finish, with metrics', () => {
    const r = run(workloadSpec('syscall', 1_000_000, { maxInstructions: 300_000 }));
    expect(r.status).toBe('did-not-finish');
    expect(r.end.reason).toBe('instruction-limit');
    expect(r.guestInstructions.total).toBe(300_000);
    expect(cause(r, 'int:0x80')).toBeGreaterThan(1000);
    expect(r.cycles.total).toBeGreaterThan(0);
  });

  it('the watchdog ends a run that takes too long in host time, with partial metrics', () => {
    const r = runExperiment(
      workloadSpec('syscall', 1_000_000, { timeoutMs: 500 }),
      () => {},
      undefined,
      ticking(1),
    );
    expect(r.status).toBe('did-not-finish');
    expect(r.end.reason).toBe('watchdog');
    expect(r.end.detail).toContain('500 ms');
    expect(r.guestInstructions.total).toBeGreaterThan(0);
    expect(RunResultSchema.safeParse(r).success).toBe(true);
  });

  it('cancel stops the run between batches', () => {
    const signal = { aborted: false };
    const r = runExperiment(
      workloadSpec('syscall', 1_000_000),
      (p) => {
        if (p.instructions > 100_000) signal.aborted = true;
      },
      signal,
      ticking(5),
    );
    expect(r.status).toBe('did-not-finish');
    expect(r.end.reason).toBe('cancelled');
    expect(r.guestInstructions.total).toBeGreaterThan(100_000);
  });

  it('a kernel that is not multiboot fails with a message naming the kernel and the problem', () => {
    const junk = new Uint8Array(4096).fill(0x90);
    const r = run({
      ...workloadSpec('syscall', 1),
      kernel: { name: 'junk.bin', image: junk, build: 'native' },
    });
    expect(r.status).toBe('failed');
    expect(r.end.reason).toBe('error');
    expect(r.end.detail).toMatch(/^kernel 'junk\.bin': .*multiboot/i);
  });

  it('an unknown technique or profile fails the run with the list of those there are', () => {
    const t = run({ ...workloadSpec('syscall', 1), technique: 'warp-drive' });
    expect(t.status).toBe('failed');
    expect(t.end.detail).toContain("unknown technique 'warp-drive' (available: native");
    const p = run(workloadSpec('syscall', 1, { profile: 'pentium-pro' }));
    expect(p.end.detail).toContain('p4-2006, core2-2007, modern');
  });

  it('failedRunResult is a valid result', () => {
    const failed = failedRunResult(workloadSpec('io', 1), 'worker crashed');
    expect(RunResultSchema.safeParse(failed).success).toBe(true);
    expect(failed.paravirt).toBeNull();
    expect(failed.binaryTranslation).toBeNull();
  });
});

describe('the kernel command line', () => {
  it('asks for one page-table entry per mmu_update only when batching is off', () => {
    const batched = workloadSpec('forkwait', 3).experiment;
    expect(kernelArguments(batched)).toBe('workload=forkwait n=3');
    expect(kernelArguments({ ...batched, mmuBatch: false })).toBe(
      'workload=forkwait n=3 mmu_batch=0',
    );
    const file = { ...batched, kernel: { kind: 'file', name: 'k.bin', sha256: '0'.repeat(64) } };
    expect(kernelArguments({ ...file, append: '', mmuBatch: false } as ExperimentSpec)).toBe(
      'mmu_batch=0',
    );
  });

  it('the native kernel ignores mmu_batch=0: the same output, no para-API metrics', () => {
    const batched = run(workloadSpec('forkwait', 3));
    const unbatched = run(workloadSpec('forkwait', 3, { mmuBatch: false }));
    expect(unbatched.cmdline).toBe('vmm-guest.bin workload=forkwait n=3 mmu_batch=0');
    expect(unbatched.status).toBe('completed');
    expect(unbatched.outputHash).toBe(batched.outputHash);
    expect([batched.paravirt, unbatched.paravirt]).toEqual([null, null]);
    expect([batched.binaryTranslation, unbatched.binaryTranslation]).toEqual([null, null]);
  });
});

describe('engine version', () => {
  it('equals package.json', () => {
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
    expect(ENGINE_VERSION).toBe(pkg.version);
  });
});
