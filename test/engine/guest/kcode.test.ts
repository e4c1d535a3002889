// The kcode workload (src-main/engine/guest/kcode.inc): a system call through 256 generated
// kernel routines, meant to need more instruction cache than the profiles have. Checked here:
// - its kernel text is at least 64 KiB in both builds (symbol addresses of the built images),
//   the same size in both, and the size the workload prints;
// - what it prints equals a computation of the routines in TypeScript, written from kcode.inc's
//   description alone (not from the assembled bytes), on our machine and on qemu-system-i386,
//   for an n that runs every cold block at least twice (so slot[k] feeds back into x);
// - the hot path of one call is clearly more than 32 KiB: the I-cache footprint (distinct
//   lines ever fetched) of n=1 minus n=0 on the native run, and the I-cache misses a lot on
//   every profile's cache, where ptemod's kernel fits;
// - it runs equivalently under trap-and-emulate on the classic ISA too (nothing in it looks at
//   its privilege). Strict trap-and-emulate and paravirt on both ISAs are covered for every
//   workload by test/engine/vmm/.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../src-main/engine/asm/assembler';
import { FileSourceProvider } from '../../../src-main/host/source-files';
import { type ExperimentSpec, type RunResult, SPEC_DEFAULTS } from '../../../shared/results';
import { runExperiment } from '../../../src-main/engine/experiment';
import { requireWorkload } from '../../../src-main/engine/guest/workloads';
import { applyEquivalence } from '../../../src-main/engine/metrics/equivalence';
import { listProfiles } from '../../../src-main/engine/metrics/profiles';
import { type IsaVariant } from '../../../src-main/engine/isa/types';
import { guestKernelImage } from '../../../src-main/host/guest-kernel';
import { qemuAvailable, qemuRunImage } from '../../helpers/qemu';
import { runOurs } from '../../helpers/machine';

const GUEST = path.resolve(__dirname, '../../../src-main/engine/guest');
const MAIN = path.join(GUEST, 'kernel.asm');
const KERNEL_BASE = 0x100000;
const LINE = 64;

function build(paravirt: boolean) {
  return assemble(readFileSync(MAIN, 'latin1'), {
    file: MAIN,
    provider: new FileSourceProvider([GUEST]),
    defines: paravirt ? [['PARAVIRT', '']] : [],
  });
}

// ---- the routines, as kcode.inc describes them
const ROUTINES = 256;
const STRIDE = 77;
const COLD_PERIOD = 64;
const HOT_ROUNDS = 4;
const COLD_ROUNDS = 7;
const SEED = 0x2545f491;

type Round = readonly [number, number, number, number];
interface Routine {
  readonly hotA: readonly Round[];
  readonly cold: readonly Round[];
  readonly hotB: readonly Round[];
}

const ROUTINE_CONSTANTS: readonly Routine[] = (() => {
  let seed = SEED;
  const draw = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  const rounds = (n: number): Round[] =>
    Array.from({ length: n }, () => [draw(), draw(), draw(), draw()] as const);
  // drawn in layout order: routine 0 first, and in each its hot part, cold block, hot part
  return Array.from({ length: ROUTINES }, () => ({
    hotA: rounds(HOT_ROUNDS),
    cold: rounds(COLD_ROUNDS),
    hotB: rounds(HOT_ROUNDS),
  }));
})();

function mix(x: number, rounds: readonly Round[]): number {
  for (const [c0, c1, c2, c3] of rounds) {
    x = Math.imul(x, c0 | 1) >>> 0;
    x = (x + c1) >>> 0;
    const r = (c2 >>> 27) | 1;
    x = ((x << r) | (x >>> (32 - r))) >>> 0;
    x = (x ^ c3) >>> 0;
  }
  return x;
}

/** The workload's result for n calls: the final x and the cold blocks run. */
function model(n: number): { x: number; cold: number } {
  const slots = new Array<number>(ROUTINES).fill(0);
  let x = 0;
  let cold = 0;
  for (let call = 0; call < n; call++) {
    for (let step = 0, k = 0; step < ROUTINES; step++, k = (k + STRIDE) % ROUTINES) {
      const r = ROUTINE_CONSTANTS[k]!;
      x = mix(x, r.hotA);
      if ((call + k) % COLD_PERIOD === 0) {
        cold++;
        x = mix((x ^ slots[k]!) >>> 0, r.cold);
        slots[k] = x;
      }
      x = (x + slots[k]!) >>> 0;
      x = mix(x, r.hotB);
    }
  }
  return { x, cold };
}

const hex = (v: number) => v.toString(16).toUpperCase().padStart(8, '0');

function expectedOutput(n: number, codeBytes: number): string {
  const { x, cold } = model(n);
  return (
    `kcode: ${n} calls through ${ROUTINES} kernel routines (${codeBytes} bytes of code), ` +
    `cold blocks run: ${cold}\nchecksum=${hex(x)}\n`
  );
}

// ---- runs through the experiment engine (RunResult: icache, equivalence)
function spec(n: number, o: { isa?: IsaVariant; profile?: string } = {}): ExperimentSpec {
  return {
    ...SPEC_DEFAULTS,
    kernel: { kind: 'workload', workload: 'kcode' },
    techniques: ['native', 'trap-and-emulate'],
    append: `n=${n}`,
    isa: o.isa ?? 'classic',
    profile: o.profile ?? SPEC_DEFAULTS.profile,
    maxInstructions: 50_000_000,
  } as ExperimentSpec;
}

function run(experiment: ExperimentSpec, technique: string, workload = 'kcode'): RunResult {
  const kernel = {
    name: 'guest kernel',
    image: guestKernelImage('native'),
    build: 'native' as const,
  };
  const e = { ...experiment, kernel: { kind: 'workload' as const, workload } };
  return runExperiment({ experiment: e, technique, kernel, kernelPath: 'vmm-guest.bin' }, () => {});
}

const native = build(false);
const paravirt = build(true);
const sym = (r: ReturnType<typeof build>, name: string): number => {
  const v = r.symbols.get(name);
  if (v === undefined) throw new Error(`no symbol ${name}`);
  return v;
};
const codeBytes = sym(native, 'kc_text_end') - sym(native, 'kc_text_start');

describe('kcode: the kernel text', () => {
  it('is at least 64 KiB, the same in both builds', () => {
    expect(codeBytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(sym(paravirt, 'kc_text_end') - sym(paravirt, 'kc_text_start')).toBe(codeBytes);
    // at the same place in both: what follows (user text, data, the IDT that sidt shows) too
    for (const name of ['kc_text_start', 'user_text_start', 'load_end']) {
      expect(sym(paravirt, name), name).toBe(sym(native, name));
    }
    // the whole kernel (everything below the user programs) too
    expect(sym(native, 'user_text_start') - KERNEL_BASE).toBeGreaterThan(codeBytes);
    // 256 routines, each with its own cold block in the middle
    for (const k of [0, 1, 128, 255]) {
      const start = sym(native, `kc_r${k}`);
      const hot = sym(native, `kc_r${k}.hot`);
      expect(start).toBeGreaterThanOrEqual(sym(native, 'kc_text_start'));
      expect(hot - start).toBeGreaterThan(130); // the first hot part and the cold block
    }
    expect(native.symbols.has(`kc_r${ROUTINES - 1}`)).toBe(true);
    expect(native.symbols.has(`kc_r${ROUTINES}`)).toBe(false);
    // what the workload list says of it
    expect(requireWorkload('kcode').description).toContain(
      `${ROUTINES} kernel routines: ${Math.round(codeBytes / 1024)} KiB of code`,
    );
  });
});

describe('kcode: the result', () => {
  const image = native.bytes;
  // n=130: every cold block runs twice, those of k = 0 and 63 (mod 64) three times
  const n = 130;

  it('matches the TypeScript computation of the routines (the testN run too)', () => {
    const w = requireWorkload('kcode');
    for (const count of [0, 1, w.testN, n]) {
      const ours = runOurs(image, { append: `workload=kcode n=${count}` });
      const text = ours.serial.toString('latin1');
      expect(ours.exitValue).toBe(0);
      expect(text.slice(text.indexOf('kcode: '))).toBe(expectedOutput(count, codeBytes));
    }
    expect(model(1).cold).toBe(ROUTINES / COLD_PERIOD);
    expect(model(n).cold).toBe((n * ROUTINES) / COLD_PERIOD);
  });

  it.skipIf(!qemuAvailable())('QEMU prints the same', () => {
    const append = `workload=kcode n=${n}`;
    const qemu = qemuRunImage(image, 'k.bin', { append, timeoutMs: 15_000 });
    expect(qemu.timedOut).toBe(false);
    expect(qemu.exitValue).toBe(0);
    const text = qemu.serial.toString('latin1');
    expect(text.slice(text.indexOf('kcode: '))).toBe(expectedOutput(n, codeBytes));
    expect(text).toBe(runOurs(image, { kernelPath: 'k.bin', append }).serial.toString('latin1'));
  });
});

describe('kcode: the instruction cache', () => {
  it('one call fetches clearly more than 32 KiB of distinct kernel code', () => {
    const zero = run(spec(0), 'native');
    const one = run(spec(1), 'native');
    expect(one.status).toBe('completed');
    const lines = one.icache.footprintLines - zero.icache.footprintLines;
    // four cold blocks run in the call (about 150 bytes each): the rest is the hot path
    expect(lines * LINE).toBeGreaterThan(40 * 1024);
    // every line of the routines, once each cold block has run (n = 64)
    const all = run(spec(64), 'native');
    const allLines = all.icache.footprintLines - zero.icache.footprintLines;
    expect(allLines).toBeGreaterThanOrEqual(Math.floor(codeBytes / LINE));
    expect(allLines).toBeGreaterThan(lines);
  });

  it('misses on every profile, where ptemod fits', () => {
    for (const profile of listProfiles()) {
      // a chain of about 61 KiB of lines, run through an LRU cache of at most 32 KiB
      const r = run(spec(64, { profile: profile.id }), 'native');
      expect(r.icache.sizeBytes, profile.id).toBeLessThanOrEqual(32 * 1024);
      expect(r.icache.hitRate, profile.id).toBeLessThan(0.25);
      expect(r.icache.mpki, profile.id).toBeGreaterThan(60);
      const ptemod = run({ ...spec(150, { profile: profile.id }) }, 'native', 'ptemod');
      expect(ptemod.icache.hitRate, profile.id).toBeGreaterThan(0.99);
    }
  });
});

describe('kcode under trap-and-emulate', () => {
  it.each(['classic', 'strict'] as const)('%s ISA: equivalent to native', (isa) => {
    const experiment = spec(requireWorkload('kcode').testN, { isa });
    const [n, te] = applyEquivalence([
      run(experiment, 'native'),
      run(experiment, 'trap-and-emulate'),
    ]);
    expect(n!.status).toBe('completed');
    expect(te!.status, te!.end.detail).toBe('completed');
    expect(te!.equivalent, JSON.stringify(te!.firstDivergence)).toBe(true);
    expect(te!.outputHash).toBe(n!.outputHash);
  });
});
