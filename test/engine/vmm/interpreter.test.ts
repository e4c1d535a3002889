// interpreter on the bundled guest kernel and every machine-test kernel: equivalent to native on
// both ISAs (all privileged state is the interpreter's data, so nothing sensitive can show the
// real machine), no trap ever, every instruction priced with the interpreter's dispatch, and
// the shapes on p4-2006 — slowest of all techniques wherever the others run the guest directly.
import { beforeAll, describe, expect, it } from 'vitest';
import { type ExperimentSpec, type RunResult, SPEC_DEFAULTS } from '../../../shared/results';
import { runExperiment } from '../../../src-main/engine/experiment';
import { WORKLOADS } from '../../../src-main/engine/guest/workloads';
import { type IsaVariant } from '../../../src-main/engine/isa/types';
import { applyEquivalence } from '../../../src-main/engine/metrics/equivalence';
import { listTechniques } from '../../../src-main/engine/vmm';
import { guestKernelImage } from '../../../src-main/host/guest-kernel';
import { MACHINE_TEST_KERNELS, runKernelPair } from '../../helpers/machine-test-kernels';

const kernels = {
  native: { name: 'guest kernel', image: guestKernelImage('native'), build: 'native' as const },
  paravirt: {
    name: 'guest kernel (paravirt)',
    image: guestKernelImage('paravirt'),
    build: 'paravirt' as const,
  },
};

function spec(workload: string, n: number, isa: IsaVariant = 'classic'): ExperimentSpec {
  return {
    ...SPEC_DEFAULTS,
    kernel: { kind: 'workload', workload },
    techniques: listTechniques().map((t) => t.id),
    append: `n=${n}`,
    isa,
    maxInstructions: 200_000_000,
  } as ExperimentSpec;
}

function run(experiment: ExperimentSpec, technique: string): RunResult {
  const kernel = technique === 'paravirt' ? kernels.paravirt : kernels.native;
  return runExperiment({ experiment, technique, kernel, kernelPath: 'vmm-guest.bin' }, () => {});
}

const line = (r: RunResult, kind: string): number =>
  r.costBreakdown.find((l) => l.kind === kind)?.count ?? 0;

describe('interpreter', () => {
  it('is registered', () => {
    const t = listTechniques().find((x) => x.id === 'interpreter');
    expect(t?.summary).toMatch(/no direct execution/);
  });

  it.each(
    WORKLOADS.flatMap((w) =>
      (['classic', 'strict'] as const).map((isa) => [w.name, isa, w.testN] as const),
    ),
  )('%s, --isa %s: exactly as on bare hardware, nothing trapped', (name, isa, n) => {
    const e = spec(name, n, isa);
    const [native, r] = applyEquivalence([run(e, 'native'), run(e, 'interpreter')]);
    expect(r!.status, r!.end.detail).toBe('completed');
    expect(r!.equivalent, JSON.stringify(r!.firstDivergence)).toBe(true);
    expect(r!.end).toEqual(native!.end);
    expect(r!.traps.total).toBe(0);
    expect(r!.worldSwitches.count).toBe(0);
    // every instruction (each rep iteration too) went through the interpreter's dispatch
    expect(line(r!, 'interp.dispatch')).toBeGreaterThanOrEqual(r!.guestInstructions.total);
    expect(line(r!, 'mmu.walk')).toBe(0);
    expect(line(r!, 'interp.event')).toBe(r!.guestEvents.total);
    expect(r!.costBreakdown.reduce((s, l) => s + l.cycles, 0)).toBe(r!.cycles.total);
    expect(r!.cycles.total).toBeGreaterThan(native!.cycles.total);
  });

  it('shapes on p4-2006, in the steady state (n=2N minus n=N)', () => {
    const others = listTechniques()
      .map((t) => t.id)
      .filter((id) => id !== 'interpreter' && id !== 'native');
    const memo = new Map<string, number>();
    const perIteration = (workload: string, technique: string): number => {
      const key = `${workload} ${technique}`;
      const known = memo.get(key);
      if (known !== undefined) return known;
      const n = WORKLOADS.find((w) => w.name === workload)!.testN;
      const at = (k: number) => run(spec(workload, k), technique).cycles.total;
      const value = at(2 * n) - at(n);
      memo.set(key, value);
      return value;
    };
    // slowest of all wherever the others run most guest instructions directly
    for (const w of ['syscall', 'callret', 'pgfault', 'forkwait', 'kcode']) {
      const interp = perIteration(w, 'interpreter');
      for (const t of others)
        expect(interp, `${w}: interpreter vs ${t}`).toBeGreaterThan(perIteration(w, t));
    }
    // where every iteration is an exit for the hardware-assisted techniques (an in/out pair on
    // port 0x80; a CR3 load with shadow paging), interpreting costs less than exiting: the
    // model reports it as it is
    expect(perIteration('io', 'interpreter')).toBeLessThan(perIteration('io', 'hardware-assisted'));
    expect(perIteration('cr3', 'interpreter')).toBeLessThan(
      perIteration('cr3', 'hardware-assisted'),
    );
    expect(perIteration('cr3', 'interpreter')).toBeGreaterThan(perIteration('cr3', 'native') * 2);
  }, 300_000);
});

describe.each(['classic', 'strict'] as const)('machine-test kernels, --isa %s', (isa) => {
  const results = new Map<string, { native: RunResult; run: RunResult }>();
  beforeAll(() => {
    for (const name of MACHINE_TEST_KERNELS)
      results.set(name, runKernelPair(name, 'interpreter', isa));
  });
  for (const name of MACHINE_TEST_KERNELS) {
    it(name, () => {
      const { native, run: r } = results.get(name)!;
      expect(r.status, r.end.detail).toBe(native.status);
      expect(r.equivalent, JSON.stringify(r.firstDivergence)).toBe(true);
      expect(r.end).toEqual(native.end);
      expect(r.traps.total).toBe(0);
    });
  }
});
