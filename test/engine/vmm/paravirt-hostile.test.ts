// Hostile para-virtual guests under `paravirt` (docs/paravirt-abi.md; TECHNIQUES.md: the
// hypervisor's structures are out of every guest's reach, "and tests attack it"). The guests
// are the pv-*.asm kernels of test/fixtures/kernels (pv-lib.inc): unknown hypercall numbers,
// arguments out of range, mmu_update of frames the guest does not own or of the hypervisor's
// memory, page-table writes into the hypervisor's slot, trap tables and pointers outside the
// guest, a trap table whose handlers lie outside the guest, the guest's stack on the
// hypervisor's descriptor tables, and a flood of hypercalls. Each hypercall must be refused
// with the ABI's error code (printed by the guest, counted in run.paravirt.errors as
// `name:ERR`), or the run ended with a named reason; the hypervisor's memory stays as it was.
//
// What "the hypervisor's memory unchanged" means here (hypervisor.ts, hypervisor-memory.ts,
// descriptor-tables.ts, shadow-page-tables.ts). Host memory is the guest's RAM [0, guestBytes),
// then HYPERVISOR_BYTES of the hypervisor's region:
// - its first page and its handler text (the last 64 KiB) are never written by paravirt (the
//   text is modeled: addresses for the I-cache model only). The test fills both with a canary
//   before boot and hashes them: they must hash the same at the end, and no guest output may
//   hold the canary;
// - the rest is the shadow page-table pool, which the hypervisor rewrites all the time: it is
//   not hashed but checked at checkpoints: no shadow entry maps a hypervisor page
//   (shadowProblems, as for trap-and-emulate), the "unassigned" and "discard" pages read all
//   ones, and no shadow entry maps the hypervisor's descriptor-table frames writable;
// - inside the guest's physical range the hypervisor owns two frames, 0xFD000 (the trap table
//   rendered as an IDT) and 0xFE000 (GDT, TSS, real IDT). The hypervisor itself rewrites 0xFD000
//   on set_trap_table and the TSS on stack_switch; none of these kernels makes a successful
//   stack_switch, so 0xFE000 must hash the same after the run as right after boot, and so must
//   0xFD000 for the kernels that register no trap table;
// - and every write the CPU makes for the guest (its own stores, and the frames the CPU pushes
//   when the hypervisor reflects an event to it) goes through Cpu.translate: the test wraps it
//   and records any write that lands at or above guestBytes (the discard page aside, where a
//   write to unassigned memory is emulated and then wiped) or in those two frames.
//
// Two bugs these tests found, kept as regressions: the frames the hypervisor has the CPU push
// for the guest landed in the 0xFE000 frame when the guest's stack pointed there (the shared
// write window let any write-protected frame through, pinned ones included), and a flood of
// refused mmu_update calls grew mmuUpdate.batchSizes by one key per call.

import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ExperimentSpec, type RunResult, SPEC_DEFAULTS } from '../../../shared/results';
import { runExperiment } from '../../../src-main/engine/experiment';
import {
  ERRNO,
  type ErrorName,
  MMU_UPDATE_MAX_ENTRIES,
} from '../../../src-main/engine/guest/paravirt-abi';
import { type EndReason } from '../../../src-main/engine/machine/interfaces';
import { createMachine, type Machine } from '../../../src-main/engine/machine/machine';
import { multibootCommandLine } from '../../../src-main/engine/machine/multiboot';
import { RunMeter } from '../../../src-main/engine/metrics/meter';
import { requireProfile } from '../../../src-main/engine/metrics/profiles';
import { sha256Hex } from '../../../src-main/engine/metrics/sha256';
import { type HostClock } from '../../../src-main/engine/run-spec';
import { requireTechnique } from '../../../src-main/engine/vmm';
import { HYPERVISOR_BYTES } from '../../../src-main/engine/vmm/hypervisor-memory';
import { paravirtTechnique } from '../../../src-main/engine/vmm/techniques/paravirt';
import {
  TABLES_FRAME,
  TRAP_IDT_FRAME,
} from '../../../src-main/engine/vmm/techniques/paravirt/descriptor-tables';
import {
  allOnes,
  fixtureKernel,
  hypervisorLayout,
  runWithCheckpoints,
  shadowProblems,
} from '../../helpers/trap-and-emulate';

/** pv-hostile-hypercalls.asm's GUEST_BYTES: the frame at 4 MiB is the hypervisor's first. */
const GUEST_BYTES = 4 * 1024 * 1024;
const MAX_INSTRUCTIONS = 2_000_000;
/** pv-lib.inc's exit values */
const EXIT_OK = 0x10;
const EXIT_NOT_PARAVIRT = 0x7d;
const CANARY = Buffer.from('pv-canary:#hv!9Z', 'latin1');
const PAGE = 4096;
const layout = hypervisorLayout(GUEST_BYTES);

const hex8 = (n: number): string => (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
/** What EAX holds after a hypercall refused with `name`, as the guest prints it. */
const refused = (name: ErrorName): string => hex8(-ERRNO[name].value);

function spec(
  name: string,
  image: Uint8Array,
  o: { maxInstructions?: number; timeoutMs?: number } = {},
): ExperimentSpec {
  return {
    ...SPEC_DEFAULTS,
    kernel: { kind: 'file', name: `${name}.bin`, sha256: sha256Hex(image) },
    techniques: ['paravirt'],
    memoryBytes: GUEST_BYTES,
    maxInstructions: o.maxInstructions ?? MAX_INSTRUCTIONS,
    timeoutMs: o.timeoutMs ?? SPEC_DEFAULTS.timeoutMs,
  };
}

function run(
  name: string,
  technique = 'paravirt',
  o: { maxInstructions?: number; timeoutMs?: number; clock?: HostClock } = {},
): RunResult {
  const image = fixtureKernel(name);
  const build = requireTechnique(technique).kernelBuild;
  return runExperiment(
    {
      experiment: { ...spec(name, image, o), techniques: [technique] },
      technique,
      kernel: { name: `${name}.bin`, image, build },
      kernelPath: 'k.bin',
    },
    () => {},
    undefined,
    o.clock,
  );
}

const lines = (r: RunResult): string[] => r.outputText.split('\n');

// ---- booting by hand, to look at host memory ---------------------------------------------------

interface Region {
  readonly name: string;
  readonly from: number;
  readonly to: number;
}

interface GuardedRun {
  readonly end: EndReason;
  readonly output: string;
  readonly machine: Machine;
  /** regions whose hash after the run differs from the one before */
  readonly changed: string[];
  /** guest writes that landed in the hypervisor's memory (the first few) */
  readonly badWrites: string[];
  /** problems found at checkpoints in the shadow pool */
  readonly shadow: string[];
  readonly checkpoints: number;
}

const sha = (bytes: Uint8Array, r: Region): string =>
  createHash('sha256').update(bytes.subarray(r.from, r.to)).digest('hex');

const hypervisorFrame = (page: number): boolean => page === TABLES_FRAME || page === TRAP_IDT_FRAME;

/**
 * Boot `name` under paravirt as runExperiment does (same machine, meter and boot), with the
 * canaries planted before boot, run it with checkpoints, and report what changed.
 * `trapTableSet`: the kernel registers a trap table (0xFD000 then changes legitimately).
 */
function guardedRun(
  name: string,
  o: { trapTableSet: boolean; maxInstructions?: number },
): GuardedRun {
  const image = fixtureKernel(name);
  const profile = requireProfile(SPEC_DEFAULTS.profile);
  const machine = createMachine({
    memoryBytes: GUEST_BYTES,
    hypervisorBytes: HYPERVISOR_BYTES,
    isa: 'classic',
    tlbEntries: profile.tlbEntries,
    frequencyHz: profile.frequencyHz,
  });
  const bytes = machine.memory.bytes;
  const canaryRegions: Region[] = [
    { name: 'the first page of the hypervisor region', from: GUEST_BYTES, to: GUEST_BYTES + PAGE },
    { name: 'the handler text', ...layout.handlerText },
  ];
  for (const r of canaryRegions) {
    for (let at = r.from; at < r.to; at += CANARY.length) bytes.set(CANARY, at);
  }
  const meter = new RunMeter(machine, profile, { eventLimit: 100, sliceInstructions: 100_000 });
  const session = paravirtTechnique.boot({
    machine,
    kernel: { name: `${name}.bin`, image, build: 'paravirt' },
    cmdline: multibootCommandLine('k.bin', ''),
    isa: 'classic',
    profile,
    meter,
  });
  // after boot: the hypervisor has written its descriptor tables
  const regions: Region[] = [
    ...canaryRegions,
    {
      name: 'the GDT/TSS/IDT frame 0xFE000',
      from: TABLES_FRAME * PAGE,
      to: (TABLES_FRAME + 1) * PAGE,
    },
    ...(o.trapTableSet
      ? []
      : [
          {
            name: 'the trap-table IDT frame 0xFD000',
            from: TRAP_IDT_FRAME * PAGE,
            to: (TRAP_IDT_FRAME + 1) * PAGE,
          },
        ]),
  ];
  const before = regions.map((r) => sha(bytes, r));

  // every write the CPU makes for the guest goes through translate
  const cpu = machine.cpu;
  const translate = cpu.translate.bind(cpu);
  const badWrites: string[] = [];
  cpu.translate = (linear: number, write: boolean, user: boolean): number => {
    const phys = translate(linear, write, user);
    if (write) {
      const page = phys >>> 12;
      const beyond = phys >= GUEST_BYTES && page !== layout.discardPage;
      if ((beyond || hypervisorFrame(page)) && badWrites.length < 10) {
        badWrites.push(
          `a write at EIP 0x${cpu.insnStart.toString(16)} to linear 0x${(linear >>> 0).toString(16)} landed at host 0x${phys.toString(16)}`,
        );
      }
    }
    return phys;
  };

  const shadow: string[] = [];
  let checkpoints = 0;
  const end = runWithCheckpoints(session, machine, {
    maxInstructions: o.maxInstructions ?? MAX_INSTRUCTIONS,
    every: 1000,
    checkpoint: () => {
      checkpoints++;
      const at = `at instruction ${cpu.instructions}`;
      for (const p of shadowProblems(bytes, cpu.cr3, layout)) shadow.push(`${at}: ${p}`);
      for (const page of [layout.unassignedPage, layout.discardPage]) {
        if (!allOnes(bytes, page * PAGE, (page + 1) * PAGE))
          shadow.push(`${at}: page 0x${page.toString(16)} is not all ones`);
      }
      // no shadow entry maps the hypervisor's descriptor-table frames writable
      const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
      for (let p = layout.pool.first + 2; p < layout.pool.first + layout.pool.count; p++) {
        for (let i = 0; i < 1024; i++) {
          const e = words[p * 1024 + i]!;
          if (e & 1 && e & 2 && hypervisorFrame(e >>> 12)) {
            shadow.push(
              `${at}: shadow page 0x${p.toString(16)} entry ${i} maps frame 0x${(e >>> 12).toString(16)} writable`,
            );
          }
        }
      }
    },
  });
  const after = regions.map((r) => sha(bytes, r));
  return {
    end,
    output: Buffer.from(machine.serialOutput()).toString('latin1'),
    machine,
    changed: regions.filter((_, i) => before[i] !== after[i]).map((r) => r.name),
    badWrites,
    shadow,
    checkpoints,
  };
}

function expectHypervisorIntact(g: GuardedRun): void {
  expect(g.checkpoints).toBeGreaterThan(0);
  expect(g.changed).toEqual([]);
  expect(g.badWrites).toEqual([]);
  expect(g.shadow).toEqual([]);
  expect(g.output).not.toContain(CANARY.toString('latin1'));
}

// ---- the kernels ---------------------------------------------------------------------------------

it('the pv kernels are no para-virtual guests elsewhere: natively and under trap-and-emulate they exit at once', () => {
  // (pv-lib.inc checks shared_info.abi_version before its first vmcall, so that
  // trap-and-emulate-kernels.test.ts, which runs every kernel of the folder, sees them agree)
  for (const name of [
    'pv-hostile-hypercalls',
    'pv-hypercall-flood',
    'pv-trap-outside',
    'pv-hypervisor-frames',
  ]) {
    for (const technique of ['native', 'trap-and-emulate']) {
      const r = run(name, technique);
      expect(r.end, `${name} ${technique}`).toMatchObject({
        reason: 'exit',
        exitCode: EXIT_NOT_PARAVIRT,
      });
      expect(r.outputText).toBe('');
    }
  }
});

/**
 * What pv-hostile-hypercalls prints, line by line: a plain line, or [the case's label, the
 * hypercall it makes, what EAX holds after it: an error name (docs/paravirt-abi.md) or a value].
 */
type Line = string | readonly [label: string, call: string, result: ErrorName | string];

const HOSTILE: readonly Line[] = [
  'pv-hostile-hypercalls: phase 1, paging off',
  // "An unknown number returns -ENOSYS"
  ['unknown 0000000C', 'unknown', 'ENOSYS'],
  ['unknown FFFFFFFF', 'unknown', 'ENOSYS'],
  ['unknown 80000002', 'unknown', 'ENOSYS'],
  'console_write works',
  ['console_write ok', 'console_write', '00000014'],
  // CONSOLE_WRITE_MAX (65536) bytes per console_write, -EINVAL beyond
  ['console_write length 00010001', 'console_write', 'EINVAL'],
  ['console_write length FFFFFFFF', 'console_write', 'EINVAL'],
  // paging off, a buffer beyond the guest's RAM (the hypervisor's first page in host memory,
  // where the canary is): the guest reads the unassigned bus, all ones, as natively — not a
  // byte of the hypervisor's (the ABI does not say whether this is -EFAULT: it is "mapped one
  // to one" and reads as the machine would)
  `[${'\xff'.repeat(8)}]`,
  ['console_write buffer 00400000', 'console_write', '00000008'],
  // TIMER_PERIOD_MAX (0xFFFF) for set_timer
  ['set_timer 00010000', 'set_timer', 'EINVAL'],
  ['set_timer FFFFFFFF', 'set_timer', 'EINVAL'],
  // "size is 1, 2 or 4"; a port beyond 16 bits is malformed (and must not alias port 0xF4)
  ['io_out size 3', 'io_out', 'EINVAL'],
  ['io_out size 0', 'io_out', 'EINVAL'],
  ['io_out port 000100F4', 'io_out', 'EINVAL'],
  ['io_in size 3', 'io_in', 'EINVAL'],
  // "ss must be FLAT_KERNEL_SS, else -EPERM"
  ['stack_switch ss 0023', 'stack_switch', 'EPERM'],
  ['stack_switch ss 0010', 'stack_switch', 'EPERM'],
  // "CS must be FLAT_KERNEL_CS or FLAT_USER_CS (else -EINVAL with the stack untouched)"
  ['iret cs 0008', 'iret', 'EINVAL'],
  ['iret cs 0008 stack moved by', '', '00000010'],
  // bad flags, more than MMU_UPDATE_MAX_ENTRIES (4096) entries
  ['mmu_update flags 00000002', 'mmu_update', 'EINVAL'],
  ['mmu_update count 00001001', 'mmu_update', 'EINVAL'],
  // ptr: "4-byte aligned; low 2 bits = 0" (only MMU_NORMAL_PT_UPDATE is defined)
  ['mmu_update ptr command 1', 'mmu_update', 'EINVAL'],
  ['mmu_update ptr misaligned', 'mmu_update', 'EINVAL'],
  // val: "if present, its frame must lie in guest RAM" (else -EPERM)
  ['mmu_update val frame 00400000', 'mmu_update', 'EPERM'],
  ['mmu_update val frame FFFFF000', 'mmu_update', 'EPERM'],
  // the entry itself in the hypervisor's memory, or in its descriptor tables
  ['mmu_update ptr 00400010', 'mmu_update', 'EPERM'],
  ['mmu_update ptr 00400010 val 0', 'mmu_update', 'EPERM'],
  ['mmu_update ptr 000FE008', 'mmu_update', 'EPERM'],
  // "neither may be mapped writable (-EPERM)" ...
  ['mmu_update val frame 000FE000 writable', 'mmu_update', 'EPERM'],
  ['mmu_update val frame 000FD000 writable', 'mmu_update', 'EPERM'],
  // ... read-only they may
  ['mmu_update val frame 000FE000 read-only ok', 'mmu_update', '00000000'],
  ['PT0[100] after', '', '000FE001'],
  // "at the first bad one the call stops and returns the error (earlier entries stay applied)"
  ['mmu_update batch of 3, second bad', 'mmu_update', 'EPERM'],
  ['PT0[101] after', '', '00101003'],
  ['PT0[102] after', '', '00000000'],
  ['PT0[103] after', '', '00000000'],
  // set_cr3: a misaligned directory; a frame outside the guest's memory or the hypervisor's
  ['set_cr3 misaligned', 'set_cr3', 'EINVAL'],
  ['set_cr3 00400000', 'set_cr3', 'EPERM'],
  ['set_cr3 FFFFF000', 'set_cr3', 'EPERM'],
  ['set_cr3 000FE000', 'set_cr3', 'EPERM'],
  // trap_info: "cs must be FLAT_KERNEL_CS, address must be nonzero, vectors must not repeat
  // (else -EINVAL)"; event vectors must set TRAP_INFO_MASK_EVENTS; flags beyond DPL and the mask
  ['set_trap_table cs 0011', 'set_trap_table', 'EINVAL'],
  ['set_trap_table cs 0008', 'set_trap_table', 'EINVAL'],
  ['set_trap_table cs 001B', 'set_trap_table', 'EINVAL'],
  ['set_trap_table event vector unmasked', 'set_trap_table', 'EINVAL'],
  ['set_trap_table repeated vector', 'set_trap_table', 'EINVAL'],
  ['set_trap_table flags 08', 'set_trap_table', 'EINVAL'],
  'phase 2: paging on',
  ['set_cr3 ok', 'set_cr3', '00000000'],
  // "Page-directory slot 1023 ... is the hypervisor's: an mmu_update of that PDE is -EPERM"
  ['mmu_update PD[1023]', 'mmu_update', 'EPERM'],
  ['mmu_update PD[1023] val 0', 'mmu_update', 'EPERM'],
  ['mmu_update PD[1] ok', 'mmu_update', '00000000'],
  ['mmu_update PD[1] clear ok', 'mmu_update', '00000000'],
  // in a page table of the directory in use
  ['mmu_update PT0[FE] writable', 'mmu_update', 'EPERM'],
  ['mmu_update PT0[FD] writable', 'mmu_update', 'EPERM'],
  ['mmu_update PT0[200] frame 00400000', 'mmu_update', 'EPERM'],
  ['mmu_update PD[2] table 00400000', 'mmu_update', 'EPERM'],
  // "a guest-virtual pointer argument is not mapped (or not readable)": -EFAULT
  ['console_write buffer 40000000', 'console_write', 'EFAULT'],
  ['console_write buffer 003FFFFE', 'console_write', 'EFAULT'],
  ['mmu_update requests 40000000', 'mmu_update', 'EFAULT'],
  ['set_trap_table table 40000000', 'set_trap_table', 'EFAULT'],
  ['set_trap_table table F0000000', 'set_trap_table', 'EFAULT'],
  ['set_trap_table table 003FFFF8', 'set_trap_table', 'EFAULT'],
  'done',
  '',
];

const isError = (s: string): s is ErrorName => s in ERRNO;

describe('pv-hostile-hypercalls: every refusal with the ABI’s error code', () => {
  let r: RunResult;
  beforeAll(() => {
    r = run('pv-hostile-hypercalls');
  });

  it('runs to its end: the guest survives every refusal and exits with EXIT_OK', () => {
    expect(r.status, r.end.detail).toBe('completed');
    expect(r.end).toMatchObject({ reason: 'exit', exitCode: EXIT_OK });
  });

  it('prints, line by line, the result each hypercall returned', () => {
    const expected = HOSTILE.map((l) =>
      typeof l === 'string' ? l : `${l[0]}=${isError(l[2]) ? refused(l[2]) : l[2]}`,
    );
    const actual = lines(r);
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      expect(actual[i], `line ${i + 1}`).toBe(expected[i]);
    }
  });

  it('counts every refusal as name:ERROR, and nothing else', () => {
    const errors: Record<string, number> = {};
    for (const l of HOSTILE) {
      if (typeof l !== 'string' && isError(l[2])) {
        const key = `${l[1]}:${l[2]}`;
        errors[key] = (errors[key] ?? 0) + 1;
      }
    }
    expect(r.paravirt!.errors).toEqual(errors);
    // an unknown number is counted as the hypercall `unknown`, and is a world switch like any
    expect(r.paravirt!.hypercalls.unknown).toBe(3);
    expect(r.traps.byCause['hypercall:unknown']).toBe(3);
    // only the accepted entries were applied: the read-only map, the first of the batch, PD[1]
    // set and cleared
    expect(r.paravirt!.mmuUpdate.entries).toBe(4);
  });

  it('leaves the hypervisor’s memory as it was, and no guest write lands in it', () => {
    const g = guardedRun('pv-hostile-hypercalls', { trapTableSet: false });
    expect(g.end).toEqual({ kind: 'exit', code: EXIT_OK });
    expect(g.output).toBe(r.outputText);
    expectHypervisorIntact(g);
  });
});

describe('pv-hypercall-flood: hypercalls forever', () => {
  it('is ended by the instruction budget, every call answered', () => {
    const r = run('pv-hypercall-flood', 'paravirt', { maxInstructions: 200_000 });
    expect(r.status).toBe('did-not-finish');
    expect(r.end).toEqual({
      reason: 'instruction-limit',
      exitCode: null,
      eip: null,
      detail: 'the instruction budget (200000) ran out',
    });
    expect(r.guestInstructions.total).toBe(200_000);
    expect(lines(r)).toEqual(['pv-hypercall-flood: hypercalls forever', '']);
    const pv = r.paravirt!;
    const calls = Object.values(pv.hypercalls).reduce((s, n) => s + n, 0);
    // sixteen instructions a round (a vmcall is one), four of them hypercalls
    expect(Math.abs(calls - (200_000 / 16) * 4)).toBeLessThan(8);
    expect(pv.errors['unknown:ENOSYS']).toBe(pv.hypercalls.unknown);
    expect(pv.errors['mmu_update:EINVAL']).toBe(pv.hypercalls.mmu_update);
    expect(pv.errors['console_write:EINVAL']! + 1).toBe(pv.hypercalls.console_write);
    expect(pv.mmuUpdate.entries).toBe(0);
    // each one a world switch
    expect(r.worldSwitches.count).toBeGreaterThanOrEqual(calls);
  });

  it('is ended by the host-time watchdog', () => {
    let now = 0;
    const clock: HostClock = { now: () => (now += 50) };
    const r = run('pv-hypercall-flood', 'paravirt', {
      maxInstructions: 2_000_000_000,
      timeoutMs: 1000,
      clock,
    });
    expect(r.status).toBe('did-not-finish');
    expect(r.end).toEqual({
      reason: 'watchdog',
      exitCode: null,
      eip: null,
      detail: 'the watchdog stopped the run after 1000 ms of host time',
    });
    expect(r.paravirt!.hypercalls.yield).toBeGreaterThan(0);
  });

  it('leaves the hypervisor’s memory as it was', () => {
    const g = guardedRun('pv-hypercall-flood', { trapTableSet: false, maxInstructions: 50_000 });
    expect(g.end).toEqual({ kind: 'instruction-limit' });
    expectHypervisorIntact(g);
  });

  // a refused count is no batch size: were it recorded, each refused call with a new count
  // would add a key (about 19,000 in 300,000 instructions of this flood, and the default
  // budget of 2e9 instructions would make the results object itself exhaust the host)
  it('a flood of refused mmu_update calls does not grow the results', () => {
    const r = run('pv-hypercall-flood', 'paravirt', { maxInstructions: 200_000 });
    const sizes = Object.keys(r.paravirt!.mmuUpdate.batchSizes).map(Number);
    expect(sizes.filter((n) => n > MMU_UPDATE_MAX_ENTRIES)).toEqual([]);
  });
});

describe('pv-trap-outside: every handler outside the guest', () => {
  let r: RunResult;
  beforeAll(() => {
    r = run('pv-trap-outside');
  });

  it('the table is accepted (its form is right), and the int3 ends the run with a named reason', () => {
    expect(lines(r).slice(0, 3)).toEqual([
      'pv-trap-outside: every handler at F0000000',
      'set_trap_table=00000000',
      'int3',
    ]);
    // nothing after the int3: no handler of the guest's ever ran
    expect(lines(r).slice(3)).toEqual(['']);
    expect(r.status).toBe('completed');
    expect(r.end.reason).toBe('triple-fault');
    expect(r.end.detail).toMatch(/fault|crash/);
    expect(r.traps.byCause['int 0x3']).toBe(1);
  });

  // the handler at 0xF0000000 reads all ones, #UD, reflected to 0xF0000000 again, each
  // reflection pushing a frame 12 bytes lower: the stack walks down through the kernel and the
  // shared-info page to the 0xFE000 frame, where the pushes must fault rather than overwrite
  // the hypervisor's GDT and TSS descriptor
  it('leaves the hypervisor’s memory as it was, and no guest write lands in it', () => {
    const g = guardedRun('pv-trap-outside', { trapTableSet: true });
    expect(g.end.kind).toBe('triple-fault');
    expectHypervisorIntact(g);
  });

  it('ends with the hypervisor’s memory above the guest untouched and its shadow sound', () => {
    const g = guardedRun('pv-trap-outside', { trapTableSet: true });
    expect(g.changed.filter((c) => !c.includes('0xFE000'))).toEqual([]);
    expect(g.badWrites.filter((w) => !/landed at host 0xfe/.test(w))).toEqual([]);
    expect(g.shadow).toEqual([]);
  });
});

describe('pv-hypervisor-frames: writing the hypervisor’s descriptor tables', () => {
  let r: RunResult;
  beforeAll(() => {
    r = run('pv-hypervisor-frames');
  });

  it('a plain store to the GDT frame is a page fault reflected to the guest, cr2 in shared_info', () => {
    expect(lines(r).slice(0, 4)).toEqual([
      'pv-hypervisor-frames: plain store to FE008',
      'set_trap_table=00000000',
      // present, write, supervisor
      '#PF error code=00000003',
      '#PF cr2=000FE008',
    ]);
    expect(r.traps.byCause['#PF true']).toBeGreaterThanOrEqual(1);
  });

  // with ESP just above the GDT, `int3` is reflected and the CPU's pushes for it fault on the
  // read-only frame: a fault of the guest's (ShadowWriteWindow.resolveNested never opens a
  // pinned frame), so delivery fails and the run ends; had the write been let through, the
  // handler would run and print "int3 handler ran, frame at=000FE024"
  it('the frames the hypervisor pushes for the guest do not land there either: the run ends', () => {
    expect(lines(r)).toEqual([...lines(r).slice(0, 4), 'int3 with ESP above the GDT', '']);
    expect(r.end.reason).toBe('triple-fault');
    const g = guardedRun('pv-hypervisor-frames', { trapTableSet: true });
    expectHypervisorIntact(g);
  });

  it('the plain store itself wrote nothing: the hypervisor region above the guest is untouched', () => {
    const g = guardedRun('pv-hypervisor-frames', { trapTableSet: true });
    expect(g.output).toContain('#PF cr2=000FE008\n');
    expect(g.changed.filter((c) => !c.includes('0xFE000'))).toEqual([]);
    expect(g.badWrites.filter((w) => !/landed at host 0xfe/.test(w))).toEqual([]);
    expect(g.shadow).toEqual([]);
  });
});
