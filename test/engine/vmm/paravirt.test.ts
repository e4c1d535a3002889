// paravirt on the bundled guest kernel's para-virtual build: every workload behaves as on bare
// hardware on both ISAs with no trap on a sensitive instruction, the para-API counts follow
// the workload exactly (n=1000 minus n=0), batching can be switched off, and the overheads
// have the shapes of Barham et al. (SOSP 2003) on the p4-2006 profile.
import { describe, expect, it } from 'vitest';
import { type ExperimentSpec, type RunResult, SPEC_DEFAULTS } from '../../../shared/results';
import { kernelArguments, runExperiment } from '../../../src-main/engine/experiment';
import { WORKLOADS } from '../../../src-main/engine/guest/workloads';
import { type IsaVariant } from '../../../src-main/engine/isa/types';
import { applyEquivalence } from '../../../src-main/engine/metrics/equivalence';
import { listTechniques, requireTechnique } from '../../../src-main/engine/vmm';
import { machineFeatures } from '../../../src-main/engine/vmm/techniques/paravirt/hypervisor';
import { FEATURE_NATIVE_USER_IRET } from '../../../src-main/engine/guest/paravirt-abi';
import { guestKernelImage } from '../../../src-main/host/guest-kernel';

interface Options {
  readonly isa?: IsaVariant;
  readonly mmuBatch?: boolean;
  readonly profile?: string;
  readonly maxInstructions?: number;
}

function spec(workload: string, n: number | null, o: Options = {}): ExperimentSpec {
  return {
    ...SPEC_DEFAULTS,
    kernel: { kind: 'workload', workload },
    techniques: ['native', 'trap-and-emulate', 'paravirt'],
    append: n === null ? '' : `n=${n}`,
    isa: o.isa ?? 'classic',
    profile: o.profile ?? SPEC_DEFAULTS.profile,
    mmuBatch: o.mmuBatch ?? true,
    maxInstructions: o.maxInstructions ?? 50_000_000,
  } as ExperimentSpec;
}

function run(experiment: ExperimentSpec, technique: string): RunResult {
  const build = requireTechnique(technique).kernelBuild;
  const kernel = { name: `guest kernel (${build})`, image: guestKernelImage(build), build };
  return runExperiment({ experiment, technique, kernel, kernelPath: 'vmm-guest.bin' }, () => {});
}

/** native and paravirt (and trap-and-emulate when asked) of one spec, equivalence applied */
function runs(experiment: ExperimentSpec, withTe = false) {
  const results = applyEquivalence([
    run(experiment, 'native'),
    run(experiment, 'paravirt'),
    ...(withTe ? [run(experiment, 'trap-and-emulate')] : []),
  ]);
  return { native: results[0]!, pv: results[1]!, te: results[2] };
}

const traps = (r: RunResult, cause: string): number => r.traps.byCause[cause] ?? 0;
const hypercalls = (r: RunResult, name: string): number => r.paravirt!.hypercalls[name] ?? 0;

/** The trap causes a para-virtual guest may have: none names a sensitive instruction. */
const PARAVIRT_CAUSE =
  /^(hypercall:[a-z0-9_]+|#PF (hidden|true|page-table write)|irq \d+|#[A-Z]+ reflect)$/;

describe('paravirt', () => {
  it('is registered and boots the para-virtual build', () => {
    const t = listTechniques().find((x) => x.id === 'paravirt');
    expect(t?.kernelBuild).toBe('paravirt');
    expect(t?.summary).toMatch(/CPL 1/);
  });

  it('tells the guest where a real iret to user mode does not trap: classic, not strict', () => {
    expect(machineFeatures('classic') & FEATURE_NATIVE_USER_IRET).toBe(FEATURE_NATIVE_USER_IRET);
    expect(machineFeatures('strict') & FEATURE_NATIVE_USER_IRET).toBe(0);
  });

  for (const isa of ['classic', 'strict'] as const) {
    it.each(WORKLOADS.map((w) => [w.name, w.testN] as const))(
      `${isa} ISA: %s behaves exactly as on bare hardware, with no trap on a sensitive instruction`,
      (name, n) => {
        const { native, pv } = runs(spec(name, n, { isa }));
        expect(native.status).toBe('completed');
        expect(pv.status, pv.end.detail).toBe('completed');
        expect(pv.equivalent, JSON.stringify(pv.firstDivergence)).toBe(true);
        expect(pv.end).toEqual(native.end);
        const unexpected = Object.keys(pv.traps.byCause).filter((c) => !PARAVIRT_CAUSE.test(c));
        expect(unexpected).toEqual([]);
        expect(pv.silentSensitive).toBeNull();
        // the guest kernel receives the exceptions and system calls it receives natively
        const noIrq = (r: RunResult) =>
          Object.fromEntries(
            Object.entries(r.guestEvents.byCause).filter(([k]) => !k.startsWith('irq')),
          );
        expect(noIrq(pv)).toEqual(noIrq(native));
        // every cycle accounted for; every trap is a world switch, and every hypercall is one
        expect(pv.costBreakdown.reduce((s, l) => s + l.cycles, 0)).toBe(pv.cycles.total);
        expect(pv.worldSwitches.count).toBe(pv.traps.total);
        const calls = Object.values(pv.paravirt!.hypercalls).reduce((s, c) => s + c, 0);
        const hypercallTraps = Object.entries(pv.traps.byCause)
          .filter(([c]) => c.startsWith('hypercall:'))
          .reduce((s, [, c]) => s + c, 0);
        expect(hypercallTraps).toBe(calls);
        // the kernel's console is console_write, never a port per byte
        expect(hypercalls(pv, 'console_write')).toBeGreaterThan(0);
        expect(hypercalls(pv, 'io_in')).toBe(name === 'io' ? n : 0);
      },
    );
  }

  describe('counts follow the workload: n=1000 minus n=0', () => {
    const diff = (workload: string, o: Options = {}) => {
      const a = run(spec(workload, 1000, o), 'paravirt');
      const b = run(spec(workload, 0, o), 'paravirt');
      return { a, b, d: (f: (r: RunResult) => number) => f(a) - f(b) };
    };

    it('syscall: the fast gate and a real iret back, no world switch at all (classic)', () => {
      const { d } = diff('syscall');
      expect(d((r) => r.worldSwitches.count)).toBe(0);
      expect(d((r) => r.traps.total)).toBe(0);
      expect(d((r) => r.guestEvents.byCause['int:0x80'] ?? 0)).toBe(1000);
    });

    it('syscall on strict: the way back is the iret hypercall, one per call, the way in still free', () => {
      const { d } = diff('syscall', { isa: 'strict' });
      // (every upcall — a timer tick in the longer run — comes back by iret too)
      expect(d((r) => hypercalls(r, 'iret') - r.paravirt!.upcalls)).toBe(1000);
      expect(d((r) => r.worldSwitches.count - hypercalls(r, 'iret'))).toBe(
        d((r) => r.traps.total - hypercalls(r, 'iret')),
      );
      expect(d((r) => hypercalls(r, 'iret'))).toBeLessThan(1010);
      expect(d((r) => traps(r, '#GP reflect'))).toBe(0);
    });

    it('ptemod: one mmu_update entry per map and per unmap, and an invlpg per unmap', () => {
      const batched = diff('ptemod');
      // (and the directory entry of the page table the first map allocates)
      expect(batched.d((r) => r.paravirt!.mmuUpdate.entries)).toBe(2001);
      expect(batched.d((r) => hypercalls(r, 'invlpg'))).toBe(1000);
      // no page-table write goes around the para-API
      expect(batched.a.paravirt!.directPageTableWrites).toBe(0);
      const unbatched = diff('ptemod', { mmuBatch: false });
      expect(unbatched.d((r) => r.paravirt!.mmuUpdate.entries)).toBe(2001);
      const one = unbatched.a.paravirt!.mmuUpdate;
      expect(one.calls).toBe(one.entries);
      expect(Object.keys(one.batchSizes)).toEqual(['1']);
      expect(unbatched.a.outputText).toBe(batched.a.outputText);
    });

    it('forkwait: each fork copies its address space in one mmu_update, each exit frees it in one', () => {
      const batched = diff('forkwait');
      const unbatched = diff('forkwait', { mmuBatch: false });
      const entries = batched.d((r) => r.paravirt!.mmuUpdate.entries);
      expect(entries).toBe(unbatched.d((r) => r.paravirt!.mmuUpdate.entries));
      // the child's page table and page (two entries), and its directory entry cleared at exit
      expect(entries).toBe(3000);
      // one call per fork's copy and one per exit (and, once, a table of the parent's own)
      const calls = batched.d((r) => r.paravirt!.mmuUpdate.calls);
      expect(calls).toBeGreaterThanOrEqual(2000);
      expect(calls).toBeLessThanOrEqual(2002);
      expect(unbatched.d((r) => r.paravirt!.mmuUpdate.calls)).toBe(entries);
      expect(batched.a.paravirt!.mmuUpdate.batchSizes['2']).toBeGreaterThanOrEqual(1000);
      expect(batched.a.cycles.total).toBeLessThan(unbatched.a.cycles.total);
      expect(batched.a.outputText).toBe(unbatched.a.outputText);
    });

    it('the guest is told mmu_batch=0 on its command line, and only then', () => {
      expect(kernelArguments(spec('ptemod', 5, { mmuBatch: false }))).toMatch(/mmu_batch=0/);
      expect(kernelArguments(spec('ptemod', 5))).not.toMatch(/mmu_batch/);
    });

    it('pgfault: the fault goes through the hypervisor, the new entry needs no second fault', () => {
      const { d } = diff('pgfault');
      expect(d((r) => traps(r, '#PF true'))).toBe(1000);
      expect(d((r) => r.paravirt!.mmuUpdate.entries)).toBeGreaterThanOrEqual(1000);
      // a hidden fault fills a whole table: a few for the 4 MiB the faults walk through
      expect(d((r) => traps(r, '#PF hidden'))).toBeLessThan(5);
    });

    it('cr3: cli and sti are stores (no trap); each mov cr3 is one set_cr3', () => {
      const { d } = diff('cr3');
      expect(d((r) => hypercalls(r, 'set_cr3'))).toBe(1000);
      expect(d((r) => hypercalls(r, 'yield'))).toBeGreaterThanOrEqual(0);
      expect(d((r) => r.traps.total - hypercalls(r, 'set_cr3') - hypercalls(r, 'yield'))).toBe(
        d((r) => traps(r, 'irq 0') + traps(r, '#PF hidden')),
      );
    });
  });

  it('shapes with p4-2006 (Barham et al.): close to native in user code, slower in the kernel, ahead of trap-and-emulate', () => {
    const ratio = (name: string, n: number | null) => {
      const { native, pv, te } = runs(
        spec(name, n, { profile: 'p4-2006', maxInstructions: 400_000_000 }),
        true,
      );
      for (const r of [pv, te!]) expect(r.equivalent, `${name} ${r.technique}`).toBe(true);
      return {
        pv: pv.cycles.total / native.cycles.total,
        te: te!.cycles.total / native.cycles.total,
      };
    };
    const isprime = ratio('isprime', null);
    expect(isprime.pv).toBeLessThan(1.05);
    expect(ratio('ctxswitch', 5000).pv).toBeGreaterThan(1.2);
    expect(ratio('forkwait', 200).pv).toBeGreaterThan(1.2);
    for (const [name, n] of [
      ['syscall', 20000],
      ['ptemod', 3000],
      ['io', 3000],
    ] as const) {
      const r = ratio(name, n);
      expect(r.pv, name).toBeLessThan(r.te);
    }
  });
});
