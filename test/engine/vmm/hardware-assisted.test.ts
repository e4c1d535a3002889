// hardware-assisted and hardware-assisted-npt on the bundled guest kernel and every
// machine-test kernel: equivalence on classic x86 (the guest kernel runs at its own CPL 0, so
// nothing sensitive is silent), exit counts that follow the workload (n=N minus n=0), the
// two-dimensional walk of nested paging, and the shapes of Adams & Agesen on p4-2006.
import { beforeAll, describe, expect, it } from 'vitest';
import { type ExperimentSpec, type RunResult, SPEC_DEFAULTS } from '../../../shared/results';
import { runExperiment } from '../../../src-main/engine/experiment';
import { WORKLOADS } from '../../../src-main/engine/guest/workloads';
import { applyEquivalence } from '../../../src-main/engine/metrics/equivalence';
import { listTechniques } from '../../../src-main/engine/vmm';
import { guestKernelImage } from '../../../src-main/host/guest-kernel';
import { MACHINE_TEST_KERNELS, runKernelPair } from '../../helpers/machine-test-kernels';

const HW = ['hardware-assisted', 'hardware-assisted-npt'] as const;

const kernel = {
  name: 'guest kernel',
  image: guestKernelImage('native'),
  build: 'native' as const,
};

function spec(workload: string, n: number, extra: Partial<ExperimentSpec> = {}): ExperimentSpec {
  return {
    ...SPEC_DEFAULTS,
    kernel: { kind: 'workload', workload },
    techniques: ['native', ...HW],
    append: `n=${n}`,
    maxInstructions: 200_000_000,
    ...extra,
  } as ExperimentSpec;
}

function run(experiment: ExperimentSpec, technique: string): RunResult {
  return runExperiment({ experiment, technique, kernel, kernelPath: 'vmm-guest.bin' }, () => {});
}

const count = (r: RunResult, cause: string): number => r.traps.byCause[cause] ?? 0;
const exits = (r: RunResult): [string, number][] =>
  Object.entries(r.traps.byCause).filter(([cause]) => cause.startsWith('exit:'));

describe('hardware-assisted techniques', () => {
  it('are registered', () => {
    const ids = listTechniques().map((t) => t.id);
    for (const id of HW) expect(ids).toContain(id);
  });

  it.each(WORKLOADS.flatMap((w) => HW.map((t) => [w.name, t, w.testN] as const)))(
    'classic ISA: %s under %s behaves exactly as on bare hardware',
    (name, technique, n) => {
      const e = spec(name, n);
      const [native, r] = applyEquivalence([run(e, 'native'), run(e, technique)]);
      expect(native!.status).toBe('completed');
      expect(r!.status, r!.end.detail).toBe('completed');
      expect(r!.equivalent, JSON.stringify(r!.firstDivergence)).toBe(true);
      expect(r!.end).toEqual(native!.end);
      // (guest instructions may differ: the exits' cycles let the timer interrupt more often)
      // every trap is a VM exit, and the cost identity holds
      for (const [cause] of Object.entries(r!.traps.byCause)) expect(cause).toMatch(/^exit:/);
      const sum = r!.costBreakdown.reduce((s, l) => s + l.cycles, 0);
      expect(sum).toBe(r!.cycles.total);
    },
  );

  it.each(HW.map((t) => [t] as const))(
    'strict ISA: the sensitive probes and the mix under %s behave as on bare hardware',
    (technique) => {
      for (const name of ['sensitive', 'mix']) {
        const w = WORKLOADS.find((x) => x.name === name)!;
        const e = spec(name, w.testN, { isa: 'strict' });
        const [native, r] = applyEquivalence([run(e, 'native'), run(e, technique)]);
        expect(r!.equivalent, `${name}: ${JSON.stringify(r!.firstDivergence)}`).toBe(true);
        expect(r!.end).toEqual(native!.end);
      }
    },
  );

  it('exit counts follow the workload: n=1000 minus n=0', () => {
    const diff = (workload: string, technique: string) => {
      const a = run(spec(workload, 1000), technique);
      const b = run(spec(workload, 0), technique);
      return { a, b, of: (cause: string) => count(a, cause) - count(b, cause) };
    };
    for (const t of HW) {
      // io: an out and an in on port 0x80 per iteration, each an I/O exit
      const io = diff('io', t);
      expect(io.of('exit:io out port 0x80'), t).toBe(1000);
      expect(io.of('exit:io in port 0x80'), t).toBe(1000);
      // syscall: int 0x80 and its iret stay in the guest; what differs is the timer's
      // interrupts and the serial port of the longer output, nothing per call
      const sys = diff('syscall', t);
      expect(sys.a.guestEvents.byCause['int:0x80']! - sys.b.guestEvents.byCause['int:0x80']!).toBe(
        1000,
      );
      const perCall = exits(sys.a).filter(
        ([cause, n]) =>
          n !== count(sys.b, cause) &&
          !/external-interrupt|port 0x3f8|port 0x3fd|port 0x20$/.test(cause),
      );
      expect(perCall, t).toEqual([]);
    }
    // cr3: the lecture's cli; mov cr3; sti — a CR3-load exit each with shadow paging, none
    // with nested paging (the guest owns CR3), and cli/sti never exit
    const shadow = diff('cr3', 'hardware-assisted');
    expect(shadow.of('exit:mov cr3')).toBe(1000);
    const nested = diff('cr3', 'hardware-assisted-npt');
    expect(exits(nested.a).filter(([c]) => /cr3|invlpg|#PF/.test(c))).toEqual([]);
    expect(nested.a.contextSwitches.count - nested.b.contextSwitches.count).toBe(1000);
  });

  it("logs each exit's qualification: the port and width, the CR value, the fault's address", () => {
    const io = run(spec('io', 5), 'hardware-assisted-npt');
    const out = io.events.entries.find((e) => e.cause === 'exit:io out port 0x80');
    expect(out?.detail).toBe('port 0x80, 1 byte, out');
    const cr3 = run(spec('cr3', 5), 'hardware-assisted');
    const load = cr3.events.entries.find((e) => e.cause === 'exit:mov cr3');
    expect(load?.detail).toMatch(/^CR3 ← 0x[0-9a-f]+$/);
    const pf = cr3.events.entries.find((e) => e.cause === 'exit:#PF hidden');
    expect(pf?.detail).toMatch(/^linear 0x[0-9a-f]+, error code 0x[0-9a-f]+$/);
  });

  it('nested paging walks in two dimensions: 8 references per 2-level TLB miss, 2 unpaged', () => {
    const r = run(spec('ctxswitch', 200), 'hardware-assisted-npt');
    const line = (kind: string) => r.costBreakdown.find((l) => l.kind === kind)?.count ?? 0;
    const guestWalks = line('mmu.walk');
    const unpagedMisses = r.tlb.misses - guestWalks;
    expect(guestWalks).toBeGreaterThan(1000);
    // n·m + n + m = 8: the guest's 2 (mmu.walk) and 6 nested per paged miss, 2 per unpaged;
    // a walk that ends in a guest page fault stops early (fewer nested references)
    const full = 6 * guestWalks + 2 * unpagedMisses;
    expect(line('mmu.nestedReference')).toBeLessThanOrEqual(full);
    expect(line('mmu.nestedReference')).toBeGreaterThan(0.999 * full);
    // and no page-fault, CR3 or invlpg exit at all
    expect(exits(r).filter(([c]) => /cr3|invlpg|#PF/.test(c))).toEqual([]);
  });

  it('shapes on p4-2006 (Adams & Agesen), in the steady state (n=2N minus n=N)', () => {
    const cache = new Map<string, number>();
    const cycles = (workload: string, technique: string, n: number): number => {
      const key = `${workload} ${technique} ${n}`;
      if (!cache.has(key)) cache.set(key, run(spec(workload, n), technique).cycles.total);
      return cache.get(key)!;
    };
    // the second N iterations: boot, first touches and first translations are in both runs
    const perIteration = (workload: string, technique: string): number => {
      const n = WORKLOADS.find((w) => w.name === workload)!.testN * 2;
      return cycles(workload, technique, 2 * n) - cycles(workload, technique, n);
    };
    const overhead = (workload: string, technique: string): number =>
      perIteration(workload, technique) / perIteration(workload, 'native');
    // hardware-assisted within 10% of native on syscall and call/ret
    for (const t of HW) {
      expect(overhead('syscall', t), t).toBeLessThan(1.1);
      expect(overhead('callret', t), t).toBeLessThan(1.1);
    }
    // binary translation faster than hardware assistance (shadow paging) on ptemod, pgfault, io
    for (const w of ['ptemod', 'pgfault', 'io']) {
      expect(overhead(w, 'binary-translation'), w).toBeLessThan(overhead(w, 'hardware-assisted'));
    }
    // nested paging pays on TLB-miss-heavy work: every context switch flushes the TLB, and
    // each refill is a two-dimensional walk
    expect(overhead('ctxswitch', 'hardware-assisted-npt')).toBeGreaterThan(1.2);
    // forkwait: far slower than native with shadow paging, better with nested paging
    expect(overhead('forkwait', 'hardware-assisted')).toBeGreaterThan(2);
    expect(overhead('forkwait', 'hardware-assisted-npt')).toBeLessThan(
      overhead('forkwait', 'hardware-assisted'),
    );
  }, 300_000);
});

describe('machine-test kernels, --isa classic', () => {
  const results = new Map<string, { native: RunResult; run: RunResult }>();
  beforeAll(() => {
    for (const name of MACHINE_TEST_KERNELS)
      for (const t of HW) results.set(`${name} ${t}`, runKernelPair(name, t, 'classic'));
  });

  for (const name of MACHINE_TEST_KERNELS) {
    for (const t of HW) {
      it(`${name} under ${t}`, () => {
        const { native, run: r } = results.get(`${name} ${t}`)!;
        expect(r.status, r.end.detail).toBe(native.status);
        expect(r.equivalent, JSON.stringify(r.firstDivergence)).toBe(true);
        expect(r.end).toEqual(native.end);
      });
    }
  }
});
