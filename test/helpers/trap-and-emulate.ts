// Test helper for the trap-and-emulate suites: the fixture kernels of test/fixtures/kernels
// assembled by our assembler; a guest booted under trap-and-emulate by hand (not through
// runExperiment), so that a test can plant data in the hypervisor's region before the run and
// look at host-physical memory and the shadow page tables while the guest runs; and a checker
// for the resource-control property of the shadow page tables (TECHNIQUES.md: "no shadow or
// nested page-table entry maps [the hypervisor's structures] for guest-originated accesses").

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { assemble } from '../../src-main/engine/asm/assembler';
import { type IsaVariant } from '../../src-main/engine/isa/types';
import { type EndReason } from '../../src-main/engine/machine/interfaces';
import { createMachine, type Machine } from '../../src-main/engine/machine/machine';
import { PAGE_SHIFT } from '../../src-main/engine/machine/memory';
import { multibootCommandLine } from '../../src-main/engine/machine/multiboot';
import { RunMeter } from '../../src-main/engine/metrics/meter';
import { requireProfile } from '../../src-main/engine/metrics/profiles';
import { type TechniqueSession } from '../../src-main/engine/vmm';
import { trapAndEmulateTechnique } from '../../src-main/engine/vmm/techniques/trap-and-emulate';
import { HYPERVISOR_BYTES } from '../../src-main/engine/vmm/hypervisor-memory';
import { FileSourceProvider } from '../../src-main/host/source-files';

export const KERNELS_DIR = path.resolve(
  path.dirname(new URL(import.meta.url).pathname),
  '../fixtures/kernels',
);

const PAGE = 1 << PAGE_SHIFT;
const images = new Map<string, Uint8Array>();

/** test/fixtures/kernels/NAME.asm, assembled by our assembler (once per test file). */
export function fixtureKernel(name: string): Uint8Array {
  let image = images.get(name);
  if (!image) {
    const file = path.join(KERNELS_DIR, `${name}.asm`);
    image = assemble(readFileSync(file, 'latin1'), {
      file,
      provider: new FileSourceProvider([KERNELS_DIR], KERNELS_DIR),
    }).bytes;
    images.set(name, image);
  }
  return image;
}

/**
 * Where trap-and-emulate keeps what in host-physical memory (hypervisor.ts): the guest's RAM
 * [0, guestBytes), then HYPERVISOR_BYTES: page 0 the hypervisor's IDT (never read), the shadow
 * pool (its first page the "unassigned" all-ones page, its second the discard page), and the
 * modeled handler text in the last 64 KiB (addresses only: its content is never used).
 * Addresses in bytes, pages as page numbers.
 */
export interface HypervisorLayout {
  readonly guestBytes: number;
  readonly idt: { readonly from: number; readonly to: number };
  readonly pool: { readonly first: number; readonly count: number };
  readonly unassignedPage: number;
  readonly discardPage: number;
  readonly handlerText: { readonly from: number; readonly to: number };
  /** end of host-physical memory */
  readonly end: number;
}

/** hypervisor.ts HANDLER_TEXT_OFFSET: the handlers' text is the region's last 64 KiB */
export const HANDLER_TEXT_BYTES = 64 * 1024;

export function hypervisorLayout(guestBytes: number): HypervisorLayout {
  const base = guestBytes;
  const handlerFrom = base + HYPERVISOR_BYTES - HANDLER_TEXT_BYTES;
  const first = (base >>> PAGE_SHIFT) + 1;
  return {
    guestBytes,
    idt: { from: base, to: base + PAGE },
    pool: { first, count: ((HYPERVISOR_BYTES - HANDLER_TEXT_BYTES) >>> PAGE_SHIFT) - 1 },
    unassignedPage: first,
    discardPage: first + 1,
    handlerText: { from: handlerFrom, to: base + HYPERVISOR_BYTES },
    end: base + HYPERVISOR_BYTES,
  };
}

export interface TrapAndEmulateBoot {
  readonly machine: Machine;
  readonly session: TechniqueSession;
  readonly meter: RunMeter;
}

/**
 * Boot `image` under trap-and-emulate the way runExperiment does (same machine, same meter),
 * with `beforeBoot` given the bare machine first (to plant data in the hypervisor's region).
 */
export function bootTrapAndEmulate(
  image: Uint8Array,
  options: {
    isa: IsaVariant;
    memoryBytes: number;
    append?: string;
    beforeBoot?: (machine: Machine) => void;
  },
): TrapAndEmulateBoot {
  const profile = requireProfile('p4-2006');
  const machine = createMachine({
    memoryBytes: options.memoryBytes,
    hypervisorBytes: HYPERVISOR_BYTES,
    isa: options.isa,
    tlbEntries: profile.tlbEntries,
    frequencyHz: profile.frequencyHz,
  });
  options.beforeBoot?.(machine);
  const meter = new RunMeter(machine, profile, { eventLimit: 100, sliceInstructions: 100_000 });
  const session = trapAndEmulateTechnique.boot({
    machine,
    kernel: { name: 'k.bin', image, build: 'native' },
    cmdline: multibootCommandLine('k.bin', options.append ?? ''),
    isa: options.isa,
    profile,
    meter,
  });
  return { machine, session, meter };
}

/** Run a session to its end, calling `checkpoint` every `every` instructions on the way. */
export function runWithCheckpoints(
  session: TechniqueSession,
  machine: Machine,
  options: { maxInstructions: number; every: number; checkpoint: () => void },
): EndReason {
  for (;;) {
    const next = Math.min(options.maxInstructions, machine.cpu.instructions + options.every);
    const end = session.run({ maxInstructions: next, shouldStop: () => false });
    options.checkpoint();
    if (end.kind !== 'instruction-limit' || next >= options.maxInstructions) return end;
  }
}

/** What a host page is, for a message. */
export function describeHostPage(layout: HypervisorLayout, page: number): string {
  const at = page << PAGE_SHIFT;
  if (at < layout.guestBytes) return `guest RAM page 0x${page.toString(16)}`;
  if (at >= layout.end) return `host page 0x${page.toString(16)}, beyond host memory`;
  if (at < layout.idt.to) return 'the hypervisor IDT page';
  if (page === layout.unassignedPage) return 'the unassigned page';
  if (page === layout.discardPage) return 'the discard page';
  if (at >= layout.handlerText.from) return `handler text page 0x${page.toString(16)}`;
  return `shadow pool page 0x${page.toString(16)}`;
}

/**
 * Every way the shadow page tables in host memory could let the guest reach a hypervisor page.
 * Rules (hypervisor.ts, shadow-page-tables.ts): the real CR3 names a pool page; a shadow
 * directory's present entries name shadow tables (pool pages other than the unassigned and
 * discard pages), never a 4 MiB page; a shadow table's present entries map a guest-RAM frame,
 * the unassigned page read-only, or the discard page (only while one write to unassigned
 * memory is emulated). The pool is scanned as a whole, not just the live directory: a pool
 * page some other pool page points to is a table (its entries must be leaves); one no pool
 * page points to is a directory (the live one, a cached one) or empty. Returns one line per
 * problem (empty: the property holds).
 */
export function shadowProblems(
  memory: Uint8Array,
  cr3: number,
  layout: HypervisorLayout,
  options: { allowDiscard: boolean } = { allowDiscard: true },
): string[] {
  const words = new Uint32Array(memory.buffer, memory.byteOffset, memory.byteLength >>> 2);
  const problems: string[] = [];
  const guestPages = layout.guestBytes >>> PAGE_SHIFT;
  const { first, count } = layout.pool;
  const special = (p: number): boolean => p === layout.unassignedPage || p === layout.discardPage;
  const isTablePage = (p: number): boolean => p >= first && p < first + count && !special(p);
  const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
  const leafProblem = (entry: number): string | undefined => {
    const frame = entry >>> PAGE_SHIFT;
    if (frame < guestPages) return undefined;
    if (frame === layout.unassignedPage) {
      return entry & 2 ? 'maps the unassigned page writable' : undefined;
    }
    if (frame === layout.discardPage && options.allowDiscard) return undefined;
    return `maps ${describeHostPage(layout, frame)}`;
  };
  const checkTable = (page: number, where: string): void => {
    for (let i = 0; i < 1024; i++) {
      const e = words[(page << 10) + i]!;
      if (!(e & 1)) continue;
      const p = leafProblem(e);
      if (p) problems.push(`${where}: shadow table ${hex(page)} entry ${i} (${hex(e)}) ${p}`);
    }
  };

  // 1. the walk the MMU does, from the real CR3
  const root = cr3 >>> PAGE_SHIFT;
  if (!isTablePage(root)) {
    problems.push(`CR3 ${hex(cr3)} names ${describeHostPage(layout, root)}, not a shadow page`);
  } else {
    for (let i = 0; i < 1024; i++) {
      const pde = words[(root << 10) + i]!;
      if (!(pde & 1)) continue;
      const table = pde >>> PAGE_SHIFT;
      if (pde & 0x80) problems.push(`CR3 walk: directory entry ${i} (${hex(pde)}) is a 4 MiB page`);
      else if (!isTablePage(table)) {
        problems.push(
          `CR3 walk: directory entry ${i} (${hex(pde)}) names ${describeHostPage(layout, table)} as a table`,
        );
      } else checkTable(table, `CR3 walk, directory entry ${i}`);
    }
  }

  // 2. the whole pool: which pages are tables (pointed to by another pool page)
  const tables = new Set<number>();
  for (let p = first; p < first + count; p++) {
    if (special(p)) continue;
    for (let i = 0; i < 1024; i++) {
      const e = words[(p << 10) + i]!;
      if (!(e & 1)) continue;
      const frame = e >>> PAGE_SHIFT;
      if (isTablePage(frame)) tables.add(frame);
    }
  }
  for (let p = first; p < first + count; p++) {
    if (special(p)) continue;
    if (tables.has(p)) {
      checkTable(p, 'pool');
      continue;
    }
    // a directory (or an empty page): every present entry names a shadow table
    for (let i = 0; i < 1024; i++) {
      const e = words[(p << 10) + i]!;
      if (!(e & 1)) continue;
      const frame = e >>> PAGE_SHIFT;
      if (!isTablePage(frame) || e & 0x80) {
        problems.push(
          `pool: shadow directory ${hex(p)} entry ${i} (${hex(e)}) names ${describeHostPage(layout, frame)}`,
        );
      }
    }
  }
  return problems;
}

/** Whether every byte of [from, to) is 0xFF. */
export function allOnes(memory: Uint8Array, from: number, to: number): boolean {
  return memory.subarray(from, to).every((b) => b === 0xff);
}

/** hunt.asm builds the canary from the complements of these bytes; nothing else tells it. */
export const CANARY = Buffer.from('hv-canary:7Q#x@Z', 'latin1');

/** Fill [from, to) of host memory with the canary. */
export function plantCanary(memory: Uint8Array, from: number, to: number): void {
  for (let at = from; at < to; at += CANARY.length) memory.set(CANARY, at);
}

/** Whether [from, to) holds nothing but canaries. */
export function canaryIntact(memory: Uint8Array, from: number, to: number): boolean {
  for (let at = from; at < to; at += CANARY.length) {
    if (!CANARY.equals(memory.subarray(at, at + CANARY.length))) return false;
  }
  return true;
}
