// The machine states the Popek–Goldberg classifier runs instructions from: bare CPUs in paged
// 32-bit protected mode, one per privileged configuration (IF, CR0/CR4, CR3, where the GDT/
// IDT/LDT/TSS live, descriptor bits) and CPL 0, 1 or 3, always with IOPL 0. It owns the
// memory layout those states share, the program window every state maps to the same
// contents, resetting a state before each run, and reading back what a run did to the
// privileged state.
//
// The program's view is identical in every state: the same code, data and stack pages at the
// same linear addresses, the same data-segment selectors. Only privileged state differs, so
// any difference in what an instruction does is caused by privileged state (Popek & Goldberg's
// behaviour sensitivity). CS and SS carry the CPL in their RPL, which is mode, not program
// state. The states are what a trap-and-emulate monitor would set up: the GDT entries the
// program's CS/SS name get DPL = CPL (a shadow GDT), the window maps through other physical
// frames under the second CR3 (relocation), tables move, and the TSS denies all I/O.

import { FLAG_IF } from '../machine/alu';
import {
  CR0_ET,
  CR0_PE,
  CR0_PG,
  CR0_TS,
  CR0_WP,
  CR4_PSE,
  Cpu,
  parseDescriptor,
} from '../machine/cpu';
import { PhysicalMemory } from '../machine/memory';

// ---- the program window (linear addresses, the same in every state) --------------------------
export const CODE = 0x1000;
export const DATA = 0x2000;
export const STACK = 0x3000;
export const WINDOW_PAGES: readonly number[] = [CODE, DATA, STACK];
/** where memory operands point (ModRM disp32, moffs) */
export const MEMORY_OPERAND = 0x2100;
export const STRING_SOURCE = 0x2400;
export const STRING_DESTINATION = 0x2800;
export const EBX_POINTER = 0x2c00;
export const FRAME_POINTER = 0x2e00;
export const STACK_POINTER = 0x3800;

// ---- system area: supervisor-only pages that hold the descriptor tables and TSSs -------------
const SYSTEM_HOME = 0x10000;
const SYSTEM_MOVED = 0x11000;
const SYSTEM_PAGES = [SYSTEM_HOME, SYSTEM_MOVED];

/** GDT selectors the states define (scenarios name them as operands). */
export const SELECTOR = {
  /** the program's code segment: DPL = the state's CPL */
  programCode: 0x08,
  /** the program's data and stack segment: DPL = the state's CPL */
  programData: 0x10,
  kernelCode: 0x18,
  kernelData: 0x20,
  userCode: 0x28,
  userData: 0x30,
  conformingCode: 0x38,
  ldt: 0x40,
  tssA: 0x48,
  tssB: 0x50,
  userReadOnlyData: 0x58,
  /** LDT entry 0 (data, DPL 3), RPL 3 */
  ldtData: 0x07,
} as const;

const GDT_ENTRIES = 12;

/** One combination of privileged state (the CPL is chosen separately). */
export interface PrivilegedConfig {
  readonly name: string;
  readonly interrupts: boolean;
  readonly cr0: number;
  readonly cr4: number;
  /** which physical frames back the page tables, the window and the system area */
  readonly frames: 'A' | 'B';
  /** where the GDT, IDT, LDT and TSSs are, and the GDT/IDT limits */
  readonly tables: 'home' | 'moved';
  readonly ldtLoaded: boolean;
  readonly tr: number;
  /** 'varied': descriptors not yet accessed, and the kernel data segment at DPL 1 */
  readonly descriptors: 'plain' | 'varied';
}

const CR0_BASE = (CR0_PE | CR0_ET | CR0_PG) >>> 0;
const CR0_MP = 1 << 1;
const CR0_NE = 1 << 5;

const BASE: PrivilegedConfig = {
  name: 'base',
  interrupts: true,
  cr0: CR0_BASE,
  cr4: 0,
  frames: 'A',
  tables: 'home',
  ldtLoaded: false,
  tr: SELECTOR.tssA,
  descriptors: 'plain',
};

/**
 * Each configuration differs from `base` in one group of privileged state: IF; CR0 (MP, TS,
 * NE, WP) and CR4.PSE; CR3 (other page tables mapping the same window through other frames);
 * the GDT and IDT at other addresses with other limits, an LDT loaded, the other TSS in TR;
 * descriptors not yet accessed and the DPL-0 data segment at DPL 1.
 */
export const CONFIGS: readonly PrivilegedConfig[] = [
  BASE,
  { ...BASE, name: 'IF=0', interrupts: false },
  {
    ...BASE,
    name: 'CR0.TS/WP, CR4.PSE',
    cr0: (CR0_BASE | CR0_MP | CR0_TS | CR0_NE | CR0_WP) >>> 0,
    cr4: CR4_PSE,
  },
  { ...BASE, name: 'other CR3', frames: 'B' },
  {
    ...BASE,
    name: 'moved GDT/IDT, LDTR, TR',
    tables: 'moved',
    ldtLoaded: true,
    tr: SELECTOR.tssB,
  },
  { ...BASE, name: 'descriptor bits', descriptors: 'varied' },
];

/** The CPLs every configuration is instantiated at: the monitor's and two deprivileged ones. */
export const CPLS: readonly number[] = [0, 1, 3];

interface FrameMap {
  readonly directory: number;
  readonly table: number;
  /** physical frame of each linear page the states map */
  readonly pages: ReadonlyMap<number, number>;
}

const FRAMES: Record<PrivilegedConfig['frames'], FrameMap> = {
  A: {
    directory: 0x08000,
    table: 0x09000,
    pages: new Map([
      [CODE, 0x0a000],
      [DATA, 0x0b000],
      [STACK, 0x0c000],
      [SYSTEM_HOME, 0x0d000],
      [SYSTEM_MOVED, 0x0e000],
    ]),
  },
  B: {
    directory: 0x40000,
    table: 0x23000,
    pages: new Map([
      [CODE, 0x31000],
      [DATA, 0x57000],
      [STACK, 0x44000],
      [SYSTEM_HOME, 0x29000],
      [SYSTEM_MOVED, 0x3c000],
    ]),
  },
};

interface TableLayout {
  readonly gdt: number;
  readonly gdtLimit: number;
  readonly idt: number;
  readonly idtLimit: number;
  readonly ldt: number;
  readonly tssA: number;
  readonly tssB: number;
}

const LAYOUTS: Record<PrivilegedConfig['tables'], TableLayout> = {
  home: {
    gdt: SYSTEM_HOME,
    gdtLimit: GDT_ENTRIES * 8 - 1,
    idt: SYSTEM_HOME + 0x400,
    idtLimit: 0x40 * 8 - 1,
    ldt: SYSTEM_HOME + 0x800,
    tssA: SYSTEM_HOME + 0x900,
    tssB: SYSTEM_HOME + 0x980,
  },
  moved: {
    gdt: SYSTEM_MOVED + 0x200,
    gdtLimit: (GDT_ENTRIES + 4) * 8 - 1,
    idt: SYSTEM_MOVED + 0x600,
    idtLimit: 0x50 * 8 - 1,
    ldt: SYSTEM_MOVED + 0xa00,
    tssA: SYSTEM_MOVED + 0xb00,
    tssB: SYSTEM_MOVED + 0xc00,
  },
};

const TSS_LIMIT = 0x67;
const LDT_LIMIT = 0x0f;
const IO_MAP_BASE = 0x66;

/** The two dwords of a segment or system descriptor. */
function descriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const low = ((limit & 0xffff) | ((base & 0xffff) << 16)) >>> 0;
  const high =
    (((base >>> 16) & 0xff) |
      (access << 8) |
      (limit & 0xf0000) |
      (flags << 20) |
      (base & 0xff000000)) >>>
    0;
  return [low, high];
}

const FLAT = 0xfffff;
const G_D = 0xc;
const ACCESSED = 1;

/** The GDT of a state: the program's CS/SS descriptors carry DPL = CPL, the others are fixed. */
function gdtEntries(
  config: PrivilegedConfig,
  cpl: number,
  layout: TableLayout,
): [number, number][] {
  const a = config.descriptors === 'plain' ? ACCESSED : 0;
  const code = (dpl: number): number => 0x9a | (dpl << 5) | a;
  const data = (dpl: number): number => 0x92 | (dpl << 5) | a;
  const busy = (selector: number): number => (config.tr === selector ? 0x8b : 0x89);
  const entries: [number, number][] = [
    [0, 0],
    // CS and SS are loaded: their descriptors are accessed whatever the variation
    descriptor(0, FLAT, code(cpl) | ACCESSED, G_D),
    descriptor(0, FLAT, data(cpl) | ACCESSED, G_D),
    descriptor(0, FLAT, code(0), G_D),
    descriptor(0, FLAT, data(config.descriptors === 'plain' ? 0 : 1), G_D),
    descriptor(0, FLAT, code(3), G_D),
    descriptor(0, FLAT, data(3), G_D),
    descriptor(0, FLAT, 0x9e | a, G_D),
    descriptor(layout.ldt, LDT_LIMIT, 0x82, 0),
    descriptor(layout.tssA, TSS_LIMIT, busy(SELECTOR.tssA), 0),
    descriptor(layout.tssB, TSS_LIMIT, busy(SELECTOR.tssB), 0),
    descriptor(0, FLAT, 0xf0 | a, G_D),
  ];
  while (entries.length * 8 - 1 < layout.gdtLimit) entries.push([0, 0]);
  return entries;
}

/** A physical byte range that holds privileged state, and how to name it in evidence. */
export interface SystemRange {
  readonly name: string;
  /** linear address of its first byte (-1: page tables, not mapped) */
  readonly linear: number;
  readonly physical: number;
  /** a multiple of 4 */
  readonly length: number;
  /** its dwords as built */
  readonly built: Uint32Array;
}

/** Privileged registers, compared before and after a run. */
interface PrivilegedRegisters {
  readonly cpl: number;
  readonly IF: number;
  readonly IOPL: number;
  readonly cr0: number;
  readonly cr2: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly gdtrBase: number;
  readonly gdtrLimit: number;
  readonly idtrBase: number;
  readonly idtrLimit: number;
  readonly ldtr: number;
  readonly ldtrBase: number;
  readonly ldtrLimit: number;
  readonly tr: number;
  readonly trBase: number;
  readonly trLimit: number;
  readonly trType: number;
}

function privilegedRegisters(cpu: Cpu): PrivilegedRegisters {
  return {
    cpl: cpu.cpl,
    IF: (cpu.systemFlags & FLAG_IF) !== 0 ? 1 : 0,
    IOPL: cpu.iopl,
    cr0: cpu.cr0 >>> 0,
    cr2: cpu.cr2 >>> 0,
    cr3: cpu.cr3 >>> 0,
    cr4: cpu.cr4 >>> 0,
    gdtrBase: cpu.gdtrBase >>> 0,
    gdtrLimit: cpu.gdtrLimit,
    idtrBase: cpu.idtrBase >>> 0,
    idtrLimit: cpu.idtrLimit,
    ldtr: cpu.ldtrSel,
    ldtrBase: cpu.ldtrBase >>> 0,
    ldtrLimit: cpu.ldtrLimit,
    tr: cpu.trSel,
    trBase: cpu.trBase >>> 0,
    trLimit: cpu.trLimit,
    trType: cpu.trType,
  };
}

interface SavedCpu {
  readonly eip: number;
  readonly systemFlags: number;
  readonly segSel: Uint16Array;
  readonly segBase: Uint32Array;
  readonly segLimit: Uint32Array;
  readonly segAccess: Uint8Array;
  readonly segFlags: Uint8Array;
  readonly registers: PrivilegedRegisters;
}

/**
 * RAM that notes the dwords every write touches, so a run's effect on memory is read from its
 * writes (not from comparing pages) and undone the same way.
 */
export class WatchedMemory extends PhysicalMemory {
  /** dword indices (physical address / 4) written since the list was last emptied */
  readonly written: number[] = [];

  override write8(addr: number, value: number): void {
    this.written.push(addr >>> 2);
    super.write8(addr, value);
  }
  override write16(addr: number, value: number): void {
    this.written.push(addr >>> 2, (addr + 1) >>> 2);
    super.write16(addr, value);
  }
  override write32(addr: number, value: number): void {
    this.written.push(addr >>> 2, (addr + 3) >>> 2);
    super.write32(addr, value);
  }
}

/** What a physical page is to the classifier (ClassifierState.pageKind). */
export const PAGE_SYSTEM = 3;
export const PAGE_OTHER = -1;

/** A machine in one privileged configuration at one CPL, reset before every run. */
export interface ClassifierState {
  readonly config: PrivilegedConfig;
  readonly cpl: number;
  /** e.g. "CPL 3 in 'IF=0'" */
  readonly label: string;
  readonly cpu: Cpu;
  readonly memory: WatchedMemory;
  /** all of RAM as dwords */
  readonly words: Uint32Array;
  /** per physical page: its index in WINDOW_PAGES, PAGE_SYSTEM (tables, PD, PT) or PAGE_OTHER */
  readonly pageKind: Int8Array;
  /** the physical frame behind each page of WINDOW_PAGES */
  readonly windowFrames: readonly number[];
  /** descriptor tables, TSSs and the used page-table entries */
  readonly systemRanges: readonly SystemRange[];
  /** the pages of privileged structures as built: PD, PT and the system pages */
  readonly systemImage: readonly { readonly physical: number; readonly bytes: Uint8Array }[];
  readonly saved: SavedCpu;
  /** which scenario's data and stack pages the window holds (-1: unknown, reload) */
  loadedScenario: number;
  /** a run wrote to a PAGE_SYSTEM page: compare and restore the tables */
  systemDirty: boolean;
  /** the instruction bytes at CODE (reloading them drops the decoded-instruction cache) */
  readonly loadedCode: Uint8Array;
}

/** Every port reads all ones and writes go nowhere: no devices, I/O results are not compared. */
const noDevices = {
  read: (_port: number, size: 1 | 2 | 4): number =>
    size === 4 ? 0xffffffff : (1 << (size * 8)) - 1,
  write: (): void => {},
};

/** Build the machine of `config` at `cpl` (IOPL 0, paging on, flat segments). */
export function buildState(config: PrivilegedConfig, cpl: number): ClassifierState {
  const memory = new WatchedMemory(1 << 20);
  const cpu = new Cpu(memory, noDevices, { isa: 'classic', tlbEntries: 64 });
  const frames = FRAMES[config.frames];
  const layout = LAYOUTS[config.tables];
  const physical = (linear: number): number =>
    frames.pages.get(linear & ~0xfff)! + (linear & 0xfff);

  // Page tables: accessed and dirty bits preset, so no ordinary access ever writes them (the
  // walk's A/D update would otherwise count as a change of the page tables).
  const PDE = 0x27; // P RW US A
  const USER = 0x67; // P RW US A D
  const SUPERVISOR = 0x63; // P RW A D
  memory.write32(frames.directory, (frames.table | PDE) >>> 0);
  for (const [linear, frame] of frames.pages) {
    const flags = WINDOW_PAGES.includes(linear) ? USER : SUPERVISOR;
    memory.write32(frames.table + (linear >>> 12) * 4, (frame | flags) >>> 0);
  }

  const gdt = gdtEntries(config, cpl, layout);
  gdt.forEach(([low, high], i) => {
    memory.write32(physical(layout.gdt + i * 8), low);
    memory.write32(physical(layout.gdt + i * 8 + 4), high);
  });
  // LDT: entry 0 a DPL-3 data segment, entry 1 a DPL-3 code segment
  const ldt = [descriptor(0, FLAT, 0xf3, G_D), descriptor(0, FLAT, 0xfb, G_D)];
  ldt.forEach(([low, high], i) => {
    memory.write32(physical(layout.ldt + i * 8), low);
    memory.write32(physical(layout.ldt + i * 8 + 4), high);
  });
  // IDT: interrupt gates to the kernel code segment (never used: runs stop at the fault)
  for (let v = 0; v * 8 <= layout.idtLimit; v++) {
    const offset = 0x1800 + v * 16;
    memory.write32(
      physical(layout.idt + v * 8),
      ((SELECTOR.kernelCode << 16) | (offset & 0xffff)) >>> 0,
    );
    memory.write32(physical(layout.idt + v * 8 + 4), ((offset & 0xffff0000) | 0x8e00) >>> 0);
  }
  // TSSs: ring-0 stack, and an I/O map base beyond the limit, so every port is denied above IOPL
  for (const tss of [layout.tssA, layout.tssB]) {
    memory.write32(physical(tss + 4), 0x3f00);
    memory.write32(physical(tss + 8), SELECTOR.kernelData);
    memory.write16(physical(tss + IO_MAP_BASE), TSS_LIMIT + 1);
  }

  cpu.cr0 = config.cr0;
  cpu.cr3 = frames.directory;
  cpu.cr4 = config.cr4;
  cpu.gdtrBase = layout.gdt;
  cpu.gdtrLimit = layout.gdtLimit;
  cpu.idtrBase = layout.idt;
  cpu.idtrLimit = layout.idtLimit;
  if (config.ldtLoaded) {
    cpu.ldtrSel = SELECTOR.ldt;
    cpu.ldtrBase = layout.ldt;
    cpu.ldtrLimit = LDT_LIMIT;
  }
  cpu.trSel = config.tr;
  cpu.trBase = config.tr === SELECTOR.tssA ? layout.tssA : layout.tssB;
  cpu.trLimit = TSS_LIMIT;
  cpu.trType = 11;
  cpu.cpl = cpl;
  cpu.systemFlags = config.interrupts ? FLAG_IF : 0;
  const entry = (selector: number): ReturnType<typeof parseDescriptor> => {
    const [low, high] = gdt[selector >>> 3]!;
    return parseDescriptor(low, high);
  };
  for (let seg = 0; seg < 6; seg++) {
    // CS and SS carry the CPL in their RPL; the data selectors are the program's, unchanged
    const selector =
      seg === 1
        ? SELECTOR.programCode | cpl
        : seg === 2
          ? SELECTOR.programData | cpl
          : SELECTOR.programData;
    cpu.loadSegmentCache(seg, selector, entry(selector));
  }
  cpu.eip = CODE;

  const systemRanges: SystemRange[] = [
    { name: 'GDT', linear: layout.gdt, length: layout.gdtLimit + 1 },
    { name: 'IDT', linear: layout.idt, length: layout.idtLimit + 1 },
    { name: 'LDT', linear: layout.ldt, length: LDT_LIMIT + 1 },
    { name: 'TSS 0x48', linear: layout.tssA, length: TSS_LIMIT + 1 },
    { name: 'TSS 0x50', linear: layout.tssB, length: TSS_LIMIT + 1 },
    { name: 'page directory', linear: -1, length: 4 },
    { name: 'page table', linear: -1, length: ((SYSTEM_MOVED >>> 12) + 1) * 4 },
  ].map((r, i) => {
    const at = i === 5 ? frames.directory : i === 6 ? frames.table : physical(r.linear);
    return {
      ...r,
      physical: at,
      built: new Uint32Array(memory.bytes.slice(at, at + r.length).buffer),
    };
  });
  const pageKind = new Int8Array(memory.size >>> 12).fill(PAGE_OTHER);
  WINDOW_PAGES.forEach((linear, i) => (pageKind[physical(linear) >>> 12] = i));
  for (const p of [frames.directory, frames.table, ...SYSTEM_PAGES.map(physical)])
    pageKind[p >>> 12] = PAGE_SYSTEM;
  memory.written.length = 0;
  const systemImage = [frames.directory, frames.table, ...SYSTEM_PAGES.map(physical)].map((p) => ({
    physical: p,
    bytes: memory.bytes.slice(p, p + 0x1000),
  }));

  return {
    config,
    cpl,
    label: `CPL ${cpl} in '${config.name}'`,
    cpu,
    memory,
    words: new Uint32Array(memory.bytes.buffer, memory.bytes.byteOffset, memory.size >>> 2),
    pageKind,
    windowFrames: WINDOW_PAGES.map(physical),
    systemRanges,
    systemImage,
    saved: {
      eip: cpu.eip,
      systemFlags: cpu.systemFlags,
      segSel: cpu.segSel.slice(),
      segBase: cpu.segBase.slice(),
      segLimit: cpu.segLimit.slice(),
      segAccess: cpu.segAccess.slice(),
      segFlags: cpu.segFlags.slice(),
      registers: privilegedRegisters(cpu),
    },
    loadedScenario: -1,
    systemDirty: false,
    loadedCode: new Uint8Array(16),
  };
}

/**
 * Put the state back as built (registers, system tables, page tables, TLB, counters) so a
 * run sees nothing of the runs before it. The window is the caller's: it loads the program.
 */
export function resetState(state: ClassifierState): void {
  const { cpu, saved } = state;
  const r = saved.registers;
  if (state.systemDirty) {
    for (const image of state.systemImage) state.memory.bytes.set(image.bytes, image.physical);
    state.systemDirty = false;
  }
  cpu.eip = saved.eip;
  cpu.systemFlags = saved.systemFlags;
  for (let seg = 0; seg < 6; seg++) {
    cpu.segSel[seg] = saved.segSel[seg]!;
    cpu.segBase[seg] = saved.segBase[seg]!;
    cpu.segLimit[seg] = saved.segLimit[seg]!;
    cpu.segAccess[seg] = saved.segAccess[seg]!;
    cpu.segFlags[seg] = saved.segFlags[seg]!;
  }
  cpu.cpl = r.cpl;
  cpu.cr0 = r.cr0;
  cpu.cr2 = r.cr2;
  cpu.cr3 = r.cr3;
  cpu.cr4 = r.cr4;
  cpu.gdtrBase = r.gdtrBase;
  cpu.gdtrLimit = r.gdtrLimit;
  cpu.idtrBase = r.idtrBase;
  cpu.idtrLimit = r.idtrLimit;
  cpu.ldtrSel = r.ldtr;
  cpu.ldtrBase = r.ldtrBase;
  cpu.ldtrLimit = r.ldtrLimit;
  cpu.trSel = r.tr;
  cpu.trBase = r.trBase;
  cpu.trLimit = r.trLimit;
  cpu.trType = r.trType;
  if (cpu.msrs.size > 0) cpu.msrs.clear();
  cpu.halted = false;
  cpu.interruptShadow = false;
  cpu.breakBatch = false;
  // rdtsc reads the cycle counter: every run starts at the same time
  cpu.cycles = 0;
  cpu.instructions = 0;
  cpu.flushTlb();
}

const hex = (v: number): string => `0x${(v >>> 0).toString(16)}`;
/** Small numbers (CPL, IF, IOPL) in decimal, the rest in hex. */
const num = (v: number): string => (v >>> 0 < 10 ? String(v) : hex(v));

/** Whether a descriptor table, TSS or page-table entry differs from the built state. */
function systemTablesChanged(state: ClassifierState): boolean {
  const words = state.words;
  for (const range of state.systemRanges) {
    const built = range.built;
    const base = range.physical >>> 2;
    for (let w = 0; w < built.length; w++) if (words[base + w] !== built[w]) return true;
  }
  return false;
}

const IF = FLAG_IF;

function registersChanged(a: PrivilegedRegisters, cpu: Cpu): boolean {
  return (
    a.cpl !== cpu.cpl ||
    a.IF !== ((cpu.systemFlags & IF) !== 0 ? 1 : 0) ||
    a.IOPL !== cpu.iopl ||
    a.cr0 !== cpu.cr0 >>> 0 ||
    a.cr2 !== cpu.cr2 >>> 0 ||
    a.cr3 !== cpu.cr3 >>> 0 ||
    a.cr4 !== cpu.cr4 >>> 0 ||
    a.gdtrBase !== cpu.gdtrBase >>> 0 ||
    a.gdtrLimit !== cpu.gdtrLimit ||
    a.idtrBase !== cpu.idtrBase >>> 0 ||
    a.idtrLimit !== cpu.idtrLimit ||
    a.ldtr !== cpu.ldtrSel ||
    a.ldtrBase !== cpu.ldtrBase >>> 0 ||
    a.ldtrLimit !== cpu.ldtrLimit ||
    a.tr !== cpu.trSel ||
    a.trBase !== cpu.trBase >>> 0 ||
    a.trLimit !== cpu.trLimit ||
    a.trType !== cpu.trType
  );
}

const NO_CHANGES: readonly string[] = [];

/**
 * What the last run changed in the privileged state (empty: nothing): registers by name with
 * old → new, the first changed byte of each table. MSRs count as privileged state too.
 */
export function privilegedChanges(state: ClassifierState): readonly string[] {
  const cpu = state.cpu;
  const before = state.saved.registers;
  const tables = state.systemDirty && systemTablesChanged(state);
  if (!tables && cpu.msrs.size === 0 && !registersChanged(before, cpu)) return NO_CHANGES;
  const changes: string[] = [];
  const after = privilegedRegisters(cpu);
  for (const key of Object.keys(before) as (keyof PrivilegedRegisters)[]) {
    if (before[key] !== after[key]) changes.push(`${key} ${num(before[key])}→${num(after[key])}`);
  }
  for (const [msr, value] of cpu.msrs) changes.push(`MSR ${hex(msr)} := 0x${value.toString(16)}`);
  if (tables) {
    const bytes = state.memory.bytes;
    for (const range of state.systemRanges) {
      for (let k = 0; k < range.length; k++) {
        const old = (range.built[k >>> 2]! >>> ((k & 3) * 8)) & 0xff;
        const now = bytes[range.physical + k]!;
        if (old !== now) {
          changes.push(`${range.name} byte ${hex(k)} ${hex(old)}→${hex(now)}`);
          break;
        }
      }
    }
  }
  return changes;
}
