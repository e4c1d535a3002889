// trap-and-emulate on the bundled guest kernel: equivalence on the strict ISA, the visible
// failures of classic x86 with their culprits, trap counts that follow the workload exactly,
// and the cost identity of every run.
import { describe, expect, it } from 'vitest';
import { type ExperimentSpec, type RunResult, SPEC_DEFAULTS } from '../../../shared/results';
import { runExperiment } from '../../../src-main/engine/experiment';
import { WORKLOADS } from '../../../src-main/engine/guest/workloads';
import { type IsaVariant } from '../../../src-main/engine/isa/types';
import { applyEquivalence } from '../../../src-main/engine/metrics/equivalence';
import { listTechniques } from '../../../src-main/engine/vmm';
import { guestKernelImage } from '../../../src-main/host/guest-kernel';

const kernel = {
  name: 'guest kernel',
  image: guestKernelImage('native'),
  build: 'native' as const,
};

function spec(workload: string, n: number, isa: IsaVariant, maxInstructions = 50_000_000) {
  const experiment: ExperimentSpec = {
    ...SPEC_DEFAULTS,
    kernel: { kind: 'workload', workload },
    techniques: ['native', 'trap-and-emulate'],
    append: `n=${n}`,
    isa,
    maxInstructions,
  } as ExperimentSpec;
  return experiment;
}

function run(experiment: ExperimentSpec, technique: string): RunResult {
  return runExperiment({ experiment, technique, kernel, kernelPath: 'vmm-guest.bin' }, () => {});
}

function pair(workload: string, n: number, isa: IsaVariant, maxInstructions?: number) {
  const experiment = spec(workload, n, isa, maxInstructions);
  const [native, te] = applyEquivalence([
    run(experiment, 'native'),
    run(experiment, 'trap-and-emulate'),
  ]);
  return { native: native!, te: te! };
}

const traps = (r: RunResult, cause: string): number => r.traps.byCause[cause] ?? 0;

describe('trap-and-emulate', () => {
  it('is registered, with its own hypervisor memory', () => {
    const t = listTechniques().find((x) => x.id === 'trap-and-emulate');
    expect(t?.summary).toMatch(/CPL 1/);
  });

  it.each(WORKLOADS.map((w) => [w.name, w.testN] as const))(
    'strict ISA: %s behaves exactly as on bare hardware',
    (name, n) => {
      const { native, te } = pair(name, n, 'strict');
      expect(native.status).toBe('completed');
      expect(te.status, te.end.detail).toBe('completed');
      expect(te.equivalent, JSON.stringify(te.firstDivergence)).toBe(true);
      expect(te.end).toEqual(native.end);
      // deprivileged, the kernel traps; nothing sensitive runs silently on strict
      expect(te.traps.total).toBeGreaterThan(0);
      expect(te.silentSensitive).toBeNull();
      // the guest kernel receives exactly the exceptions and system calls it receives natively;
      // timer interrupts follow modeled time, which the hypervisor's work stretches
      const noIrq = (r: RunResult) =>
        Object.fromEntries(
          Object.entries(r.guestEvents.byCause).filter(([k]) => !k.startsWith('irq')),
        );
      expect(noIrq(te)).toEqual(noIrq(native));
      // every cycle is accounted for: the breakdown sums to the total
      expect(te.costBreakdown.reduce((s, l) => s + l.cycles, 0)).toBe(te.cycles.total);
      expect(te.worldSwitches.count).toBe(te.traps.total);
      expect(te.cycles.worldSwitch).toBe(te.worldSwitches.cycles);
    },
  );

  it('classic ISA: the sensitive probe sees the real machine, and the culprit is named', () => {
    const { native, te } = pair('sensitive', 100, 'classic');
    expect(native.outputText).toMatch(/sensitive: cs=0008 cpl=0 if=0/);
    expect(te.status).toBe('completed');
    expect(te.equivalent).toBe(false);
    expect(te.firstDivergence?.actual).toMatch(/cs=0009 cpl=1 if=1 sidt=04000000\/07FF smsw=0033/);
    expect(te.culprit?.mnemonic).toBe('mov r/m, cs');
    expect(te.culprit?.detail).toMatch(/CPL 1/);
    const silent = te.silentSensitive!;
    expect(silent.byMnemonic['mov r/m, cs']).toBeGreaterThanOrEqual(100);
    expect(silent.byMnemonic['sidt']).toBeGreaterThanOrEqual(100);
    expect(silent.byMnemonic['smsw']).toBeGreaterThanOrEqual(100);
    // the kernel's irqsave pushf/popf run silently too
    expect(silent.byMnemonic['popf']).toBeGreaterThan(0);
    expect(silent.effects.some((e) => e.mnemonic === 'popf' && /would have set IF/.test(e.detail)));
  });

  it('classic ISA: a spinning process is never preempted (iret drops IF): stopped, not equivalent', () => {
    const mix = WORKLOADS.find((w) => w.name === 'mix')!;
    const native = run(spec('mix', mix.testN, 'classic'), 'native');
    expect(native.status).toBe('completed');
    // the same budget, with room to spare: natively it is plenty
    const budget = native.guestInstructions.total * 2;
    const experiment = spec('mix', mix.testN, 'classic', budget);
    const [, te] = applyEquivalence([
      run(experiment, 'native'),
      run(experiment, 'trap-and-emulate'),
    ]);
    expect(te!.status).toBe('did-not-finish');
    expect(te!.equivalent).toBe(false);
    expect(te!.firstDivergence).not.toBeNull();
    expect(te!.culprit?.mnemonic).toBe('iret');
    expect(te!.culprit?.detail).toMatch(/drops its IF=1/);
  });

  it('classic ISA: the workloads that do not look at their privilege still run equivalently', () => {
    for (const name of ['syscall', 'pgfault', 'cr3', 'ptemod']) {
      const w = WORKLOADS.find((x) => x.name === name)!;
      const { te } = pair(name, w.testN, 'classic');
      expect(te.equivalent, name).toBe(true);
      expect(te.silentSensitive!.executed, name).toBeGreaterThan(0);
    }
  });

  it('trap counts follow the workload: n=1000 minus n=0', () => {
    const diff = (workload: string, isa: IsaVariant) => {
      const a = pair(workload, 1000, isa).te;
      const b = pair(workload, 0, isa).te;
      const count = (r: RunResult, cause: string): number =>
        traps(r, cause) + (r.silentSensitive?.byMnemonic[cause] ?? 0);
      return (cause: string) => count(a, cause) - count(b, cause);
    };
    // syscall: every getpid enters the kernel through int 0x80, reflected by the hypervisor
    const sys = diff('syscall', 'classic');
    expect(sys('int 0x80')).toBe(1000);
    // cr3: the lecture's cli; mov cr3; sti, each one a trap
    for (const isa of ['classic', 'strict'] as const) {
      const cr3 = diff('cr3', isa);
      // The kernel's own irqsave sections (pushf; cli … popf: once per printed character,
      // and in a timer tick when one falls in the longer run) add their clis; each comes with
      // a pushf — trapped on strict, silent on classic — so those are subtracted.
      expect(cr3('cli') - cr3('pushf'), isa).toBe(1000);
      expect(cr3('mov cr3'), isa).toBe(1000);
      expect(cr3('sti'), isa).toBe(1000);
    }
    // io: an out and an in on port 0x80 per iteration, each trapped to the virtual device
    const io = diff('io', 'classic');
    expect(io('out port 0x80')).toBe(1000);
    expect(io('in port 0x80')).toBe(1000);
    // strict: the syscall's return (iret to user code) traps as well
    const strict = diff('syscall', 'strict');
    expect(strict('int 0x80')).toBe(1000);
    expect(strict('iret')).toBe(1000);
  });

  it('page faults: true faults are reflected, hidden ones filled, page-table writes trapped', () => {
    const a = pair('pgfault', 300, 'classic').te;
    const b = pair('pgfault', 0, 'classic').te;
    // every demand-zero fault is a true fault the guest kernel handles
    expect(traps(a, '#PF true') - traps(b, '#PF true')).toBe(300);
    expect((a.guestEvents.byCause['pf'] ?? 0) - (b.guestEvents.byCause['pf'] ?? 0)).toBe(300);
    // the kernel maps each page by writing its page table: trapped and resynchronised
    expect(
      traps(a, '#PF page-table write') - traps(b, '#PF page-table write'),
    ).toBeGreaterThanOrEqual(300);
    expect(traps(a, '#PF hidden')).toBeGreaterThan(traps(b, '#PF hidden'));
  });

  it('overhead: much slower than native where the kernel is busy, close to it in user code', () => {
    const ratio = (name: string, n: number): number => {
      const { native, te } = pair(name, n, 'classic', 200_000_000);
      return te.cycles.total / native.cycles.total;
    };
    // sized so the boot (which touches every page once: hidden faults) is a small part
    const isprime = ratio('isprime', 3000);
    const syscall = ratio('syscall', 20000);
    expect(isprime).toBeLessThan(2);
    expect(syscall).toBeGreaterThan(isprime * 1.5);
  });
});
