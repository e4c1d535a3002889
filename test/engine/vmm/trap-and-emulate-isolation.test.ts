// Resource control under trap-and-emulate (TECHNIQUES.md: the hypervisor's own structures
// "live outside every guest's physical range, and no shadow or nested page-table entry maps
// them for guest-originated accesses: that is the resource-control property, and tests attack
// it"). The attacker is test/fixtures/kernels/hunt.asm: it reads every physical page it was
// told about and 20 MiB beyond the end of its RAM (with paging off, through 4 KiB page tables,
// through page tables that themselves lie beyond RAM, through 4 MiB pages), points its GDT and
// IDT beyond its RAM and uses them, reads what sidt and sgdt reveal, and writes a pattern to
// everything it can name. Before it boots, the test fills the hypervisor's pages that are not
// in use (its IDT page and its handler text, whose contents the hypervisor never reads) with a
// 16-byte canary the guest is never given; the guest searches for it everywhere.
//
// Under trap-and-emulate, on both ISAs: the guest finds no canary and sees all ones beyond its
// RAM; the canary pages are unchanged; at every checkpoint of the run no shadow page-table
// entry (walked from the real CR3, and over the whole shadow pool) maps a hypervisor page.
// The same hunt natively, with the canary in guest RAM, or on a machine whose RAM covers the
// same host pages, finds it: the test can fail.

import { beforeAll, describe, expect, it } from 'vitest';
import { type IsaVariant } from '../../../src-main/engine/isa/types';
import { type EndReason } from '../../../src-main/engine/machine/interfaces';
import { createMachine, type Machine } from '../../../src-main/engine/machine/machine';
import {
  multibootCommandLine,
  parseMultibootHeader,
} from '../../../src-main/engine/machine/multiboot';
import { HYPERVISOR_BYTES } from '../../../src-main/engine/vmm/hypervisor-memory';
import { runOurs } from '../../helpers/machine';
import {
  allOnes,
  bootTrapAndEmulate,
  CANARY,
  canaryIntact,
  fixtureKernel,
  hypervisorLayout,
  plantCanary,
  runWithCheckpoints,
  shadowProblems,
} from '../../helpers/trap-and-emulate';

/** The guest's RAM: small, so that reading all of it and 20 MiB more stays quick. */
const GUEST_BYTES = 4 * 1024 * 1024;
/** canaries per page (hunt.asm counts each 16-byte copy) */
const PER_PAGE = 4096 / CANARY.length;
const MAX_INSTRUCTIONS = 100_000_000;
/** lib.inc's EXIT_OK */
const EXIT_OK = 0x10;

const layout = hypervisorLayout(GUEST_BYTES);
const HANDLER_PAGES = (layout.handlerText.to - layout.handlerText.from) / 4096;
const image = fixtureKernel('hunt');

const hex8 = (n: number): string => n.toString(16).toUpperCase().padStart(8, '0');

/** What the hunt printed, read back. */
interface HuntReport {
  text: string;
  toldEnd: number;
  scanEnd: number;
  /** every "canary hits=N" the phases printed, in order */
  phaseHits: number[];
  /** every "not-all-ones=N" the phases printed, in order */
  phaseNotOnes: number[];
  summary: { hits: number; beyondDwords: number; notOnes: number; descriptorMismatches: number };
}

function readHunt(output: Uint8Array): HuntReport {
  const text = Buffer.from(output).toString('latin1');
  const told = /told about RAM up to ([0-9A-F]{8}), looking up to ([0-9A-F]{8})/.exec(text);
  const summary =
    /summary: canary hits=(\d+) beyond-ram dwords=([0-9A-F]{8}) not-all-ones=(\d+) descriptor mismatches=(\d+)/.exec(
      text,
    );
  if (!told || !summary) throw new Error(`the hunt did not finish:\n${text}`);
  return {
    text,
    toldEnd: parseInt(told[1]!, 16),
    scanEnd: parseInt(told[2]!, 16),
    phaseHits: [...text.matchAll(/canary hits=(\d+)/g)].map((m) => Number(m[1])),
    phaseNotOnes: [...text.matchAll(/not-all-ones=(\d+)/g)].map((m) => Number(m[1])),
    summary: {
      hits: Number(summary[1]),
      beyondDwords: parseInt(summary[2]!, 16),
      notOnes: Number(summary[3]),
      descriptorMismatches: Number(summary[4]),
    },
  };
}

interface HuntUnderTrapAndEmulate {
  end: EndReason;
  report: HuntReport;
  machine: Machine;
  checkpoints: number;
  /** shadow problems found at any checkpoint (each with the instruction count), the discard
   *  page aside */
  shadowProblems: string[];
  /** checkpoints at which the unassigned or the discard page did not read all ones */
  notOnes: string[];
  /** checkpoints at which a shadow entry mapped the discard page (outside an emulated write) */
  discardMapped: number;
}

function huntUnderTrapAndEmulate(isa: IsaVariant): HuntUnderTrapAndEmulate {
  const { machine, session } = bootTrapAndEmulate(image, {
    isa,
    memoryBytes: GUEST_BYTES,
    beforeBoot: (m) => {
      plantCanary(m.memory.bytes, layout.idt.from, layout.idt.to);
      plantCanary(m.memory.bytes, layout.handlerText.from, layout.handlerText.to);
    },
  });
  const bytes = machine.memory.bytes;
  const problems: string[] = [];
  const notOnes: string[] = [];
  let checkpoints = 0;
  let discardMapped = 0;
  const end = runWithCheckpoints(session, machine, {
    maxInstructions: MAX_INSTRUCTIONS,
    every: 500_000,
    checkpoint: () => {
      checkpoints++;
      const at = `at instruction ${machine.cpu.instructions}`;
      // the real CPU runs the guest on the shadow tables, always with paging on
      expect(machine.cpu.cr0 & 0x80000000, at).not.toBe(0);
      const found = shadowProblems(bytes, machine.cpu.cr3, layout, { allowDiscard: false });
      const discard = found.filter((p) => p.endsWith('maps the discard page'));
      if (discard.length > 0) discardMapped++;
      for (const p of found) if (!discard.includes(p)) problems.push(`${at}: ${p}`);
      for (const [name, page] of [
        ['unassigned', layout.unassignedPage],
        ['discard', layout.discardPage],
      ] as const) {
        if (!allOnes(bytes, page << 12, (page + 1) << 12)) notOnes.push(`${at}: ${name} page`);
      }
    },
  });
  return {
    end,
    report: readHunt(machine.serialOutput()),
    machine,
    checkpoints,
    shadowProblems: problems,
    notOnes,
    discardMapped,
  };
}

/** The hunt on the bare machine (no hypervisor), as runExperiment's native run does it. */
function huntNatively(isa: IsaVariant): { end: EndReason; output: string } {
  const r = runOurs(image, { isa, memoryBytes: GUEST_BYTES, maxInstructions: MAX_INSTRUCTIONS });
  return { end: r.end, output: r.serial.toString('latin1') };
}

describe('hunt.asm looks where trap-and-emulate keeps its memory', () => {
  it('the canary pages bracket the shadow pool inside the hypervisor region', () => {
    expect(layout.idt.from).toBe(GUEST_BYTES);
    expect(layout.handlerText.to).toBe(GUEST_BYTES + HYPERVISOR_BYTES);
    // the pool lies between them and holds the unassigned and discard pages
    expect(layout.pool.first << 12).toBe(layout.idt.to);
    expect((layout.pool.first + layout.pool.count) << 12).toBe(layout.handlerText.from);
    const { machine } = bootTrapAndEmulate(image, { isa: 'strict', memoryBytes: GUEST_BYTES });
    expect(machine.memory.size).toBe(layout.end);
  });
});

describe.each(['classic', 'strict'] as const)(
  'trap-and-emulate --isa %s: the guest cannot reach the hypervisor',
  (isa) => {
    let run: HuntUnderTrapAndEmulate;
    beforeAll(() => {
      run = huntUnderTrapAndEmulate(isa);
    });

    it('the hunt runs to its end and covers the whole hypervisor region', () => {
      expect(run.end).toEqual({ kind: 'exit', code: EXIT_OK });
      expect(run.report.toldEnd).toBe(GUEST_BYTES);
      // guest-physical [RAM end, scan end) is where host-physical memory holds the region
      expect(run.report.scanEnd - run.report.toldEnd).toBeGreaterThanOrEqual(HYPERVISOR_BYTES);
      expect(run.checkpoints).toBeGreaterThan(10);
    });

    it('finds no canary, and beyond its RAM reads nothing but all ones', () => {
      const r = run.report;
      expect(r.phaseHits.length).toBeGreaterThanOrEqual(7);
      expect(
        r.phaseHits.filter((n) => n !== 0),
        r.text,
      ).toEqual([]);
      expect(
        r.phaseNotOnes.filter((n) => n !== 0),
        r.text,
      ).toEqual([]);
      expect(r.summary).toMatchObject({ hits: 0, notOnes: 0, descriptorMismatches: 0 });
      expect(r.summary.beyondDwords).toBeGreaterThan(HYPERVISOR_BYTES / 4);
      // its own RAM took its writes: the scan and the writes really ran
      expect(r.text).toMatch(/its RAM: dwords=[0-9A-F]{8} not the pattern=0\n/);
      // page tables beyond RAM read as all-ones entries: present, no page fault through them
      expect(r.text).toContain('  page faults through them=0\n');
      // every probe through the descriptor tables beyond RAM faulted as on bare hardware
      expect(r.text).toContain('  mov ss, 1008: vector=0D error=00001008\n');
      expect(r.text).toContain('  int 40: vector=0D error=00000202\n');
    });

    it('leaves the canary pages (its IDT page, its handler text) byte for byte unchanged', () => {
      const bytes = run.machine.memory.bytes;
      expect(canaryIntact(bytes, layout.idt.from, layout.idt.to)).toBe(true);
      expect(canaryIntact(bytes, layout.handlerText.from, layout.handlerText.to)).toBe(true);
    });

    it('no shadow page-table entry ever maps a hypervisor page', () => {
      expect(run.shadowProblems.slice(0, 10)).toEqual([]);
      // and, between the guest's instructions, not even the discard page: it is mapped only
      // while the hypervisor emulates one write to unassigned memory
      expect(run.discardMapped).toBe(0);
      // the same holds at the end of the run
      const bytes = run.machine.memory.bytes;
      expect(shadowProblems(bytes, run.machine.cpu.cr3, layout, { allowDiscard: false })).toEqual(
        [],
      );
    });

    it('the unassigned page and the discard page read all ones throughout', () => {
      expect(run.notOnes).toEqual([]);
    });

    it('prints what the bare machine prints (classic: except what sidt reveals)', () => {
      const native = huntNatively(isa);
      expect(native.end).toEqual(run.end);
      if (isa === 'strict') {
        // every sensitive instruction traps and is emulated against the virtual CPU
        expect(run.report.text).toBe(native.output);
        return;
      }
      // Classic x86: sidt at CPL 1 does not trap, so it shows the real IDTR — the hypervisor's
      // own (VirtualCpu: base = the first page above the guest's RAM, limit 0x7FF) — instead of
      // the one the guest loaded. That is all it leaks: read as a physical address it is the
      // unassigned bus, 512 dwords of FFFFFFFF (sum FFFFFE00), not the hypervisor's IDT page
      // (which holds canaries here). sgdt shows the guest's own GDTR (the guest runs on its
      // own GDT), so it prints what native prints.
      const expected = native.output
        .replace(
          /^sidt after lidt beyond RAM: .*$/m,
          `sidt after lidt beyond RAM: base=${hex8(GUEST_BYTES)} limit=07FF`,
        )
        .replace(
          /^sidt: .*$/m,
          `sidt: base=${hex8(GUEST_BYTES)} limit=07FF read as physical: sum=FFFFFE00`,
        );
      expect(expected).not.toBe(native.output);
      expect(run.report.text).toBe(expected);
    });
  },
);

describe('the hunt can fail: natively, it finds a canary it can reach', () => {
  /** A page of guest RAM above the kernel's image and bss. */
  const RAM_CANARY = 0x300000;

  it('a canary planted in guest RAM beyond the kernel', () => {
    const header = parseMultibootHeader(image);
    expect(RAM_CANARY).toBeGreaterThanOrEqual(header.bssEndAddr);
    expect(RAM_CANARY + 4096).toBeLessThanOrEqual(GUEST_BYTES - 128 * 1024);
    const machine = createMachine({ memoryBytes: GUEST_BYTES, isa: 'classic' });
    machine.loadKernel(image, multibootCommandLine('k.bin'));
    plantCanary(machine.memory.bytes, RAM_CANARY, RAM_CANARY + 4096);
    const end = machine.run({ maxInstructions: MAX_INSTRUCTIONS });
    expect(end).toEqual({ kind: 'exit', code: EXIT_OK });
    const r = readHunt(machine.serialOutput());
    // phase 1 (paging off) and phase 2 (paged) read all RAM; phase 8 then overwrites it
    expect(r.text).toContain(`  physical memory: canary hits=${PER_PAGE} `);
    expect(r.text).toContain(`  through page tables: canary hits=${PER_PAGE} `);
    expect(r.summary.hits).toBe(2 * PER_PAGE);
    expect(r.summary.notOnes).toBe(0);
  });

  it('the same host pages, when they are plain RAM the guest is not told about', () => {
    // No hypervisor: the machine's memory runs on past the RAM the memory map describes, all
    // ones (what the unassigned bus shows) except the canaries, which sit exactly where
    // trap-and-emulate keeps its IDT page and handler text.
    const machine = createMachine({
      memoryBytes: GUEST_BYTES,
      hypervisorBytes: HYPERVISOR_BYTES,
      isa: 'classic',
    });
    machine.loadKernel(image, multibootCommandLine('k.bin'));
    const bytes = machine.memory.bytes;
    bytes.fill(0xff, GUEST_BYTES);
    plantCanary(bytes, layout.idt.from, layout.idt.to);
    plantCanary(bytes, layout.handlerText.from, layout.handlerText.to);
    const end = machine.run({ maxInstructions: MAX_INSTRUCTIONS });
    expect(end).toEqual({ kind: 'exit', code: EXIT_OK });
    const r = readHunt(machine.serialOutput());
    // phase 1 reads every dword: the IDT page's canaries and the handler text's
    expect(r.text).toContain(
      `  physical memory: canary hits=${PER_PAGE + HANDLER_PAGES * PER_PAGE} `,
    );
    expect(r.summary.hits).toBeGreaterThan(0);
    expect(r.summary.notOnes).toBeGreaterThan(0);
    // the GDT it loads at the end of its RAM is made of canaries; the page table it finds
    // there holds entries that are not present
    expect(r.summary.descriptorMismatches).toBeGreaterThan(0);
    expect(r.text).not.toContain('  page faults through them=0\n');
    // and its writes land there
    expect(canaryIntact(bytes, layout.idt.from, layout.idt.to)).toBe(false);
    expect(canaryIntact(bytes, layout.handlerText.from, layout.handlerText.to)).toBe(false);
  });
});
