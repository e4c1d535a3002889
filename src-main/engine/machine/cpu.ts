// The IA-32 CPU: architectural state (registers, EFLAGS, segment registers with their hidden
// descriptor caches, GDTR/IDTR/LDTR/TR, control registers), linear→physical translation with
// 2-level paging and a modeled TLB, the decoded-instruction cache, and the one routine that
// delivers exceptions and interrupts through the IDT (with #DF and triple fault). What each
// instruction does is exec.ts; this module owns the machinery they share.
//
// Authority: Intel SDM vol. 3 (system programming). Where QEMU's visible behaviour differs,
// MACHINE.md says to match QEMU (e.g. data-segment limits are not enforced).

import { Alu, FLAG_DF, FLAG_IF, FLAG_TF } from './alu';
import { CpuException, exceptionClass, fault, gp, VECTOR } from './exceptions';
import { type InterruptController } from './interfaces';
import { LINE_SHIFT, type PhysicalMemory, PAGE_SHIFT } from './memory';
import { decode, type ByteSource, type DecodedInstruction, SEG_CS, SEG_SS } from '../isa/decoder';
import { FORMS } from '../isa/table';
import { type IsaVariant } from '../isa/types';
import { EptViolation, type NestedPaging, type VmxHost } from './vmx';

export { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS } from '../isa/decoder';
export const SEGMENT_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'] as const;

export const CR0_PE = 1 << 0;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_WP = 1 << 16;
export const CR0_PG = 1 << 31;
export const CR4_PSE = 1 << 4;

export const FLAG_IOPL = 0x3000;
export const FLAG_NT = 0x4000;
export const FLAG_RF = 0x10000;
export const FLAG_AC = 0x40000;
export const FLAG_ID = 0x200000;
/** EFLAGS bits this CPU keeps outside the ALU's lazy arithmetic flags. */
export const SYSTEM_FLAGS =
  FLAG_TF | FLAG_IF | FLAG_DF | FLAG_IOPL | FLAG_NT | FLAG_RF | FLAG_AC | FLAG_ID;

/** A segment descriptor as the CPU caches it (SDM 3.4.5). */
export interface Descriptor {
  base: number;
  /** byte-granular limit (G already applied) */
  limit: number;
  /** access byte: P, DPL, S, type */
  access: number;
  /** flags nibble: G, D/B, L, AVL */
  flags: number;
}

export function parseDescriptor(low: number, high: number): Descriptor {
  const base = ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) >>> 0;
  let limit = (low & 0xffff) | (high & 0x000f0000);
  const flags = (high >>> 20) & 0xf;
  if (flags & 0x8) limit = ((limit << 12) | 0xfff) >>> 0;
  return { base, limit, access: (high >>> 8) & 0xff, flags };
}

export const descriptorPresent = (d: Descriptor): boolean => (d.access & 0x80) !== 0;
export const descriptorDpl = (d: Descriptor): number => (d.access >>> 5) & 3;
/** S=1: code or data (not a system descriptor) */
export const isCodeOrData = (d: Descriptor): boolean => (d.access & 0x10) !== 0;
export const isCode = (d: Descriptor): boolean => (d.access & 0x18) === 0x18;
export const isData = (d: Descriptor): boolean => (d.access & 0x18) === 0x10;
export const isConforming = (d: Descriptor): boolean => isCode(d) && (d.access & 0x4) !== 0;
export const isReadable = (d: Descriptor): boolean => isData(d) || (d.access & 0x2) !== 0;
export const isWritableData = (d: Descriptor): boolean => isData(d) && (d.access & 0x2) !== 0;

/** How a delivery started: decides the pushed EIP, DPL checks and #DF escalation. */
export type DeliverySource = 'exception' | 'software' | 'external';

/** What the hypervisor layer may do with an event before the CPU delivers it (later issues). */
export interface DeliveryHook {
  /** return true when the event was handled outside the guest (no IDT delivery) */
  intercept(
    cpu: Cpu,
    vector: number,
    errorCode: number | undefined,
    source: DeliverySource,
  ): boolean;
  /**
   * The hypervisor's own IDT entry for a software interrupt, when it points not into the
   * hypervisor but straight at code that runs the guest's handler (a binary translator's
   * fragment): the CPU then delivers through it without a trap. Undefined: intercept as usual.
   */
  directGate?(vector: number, source: DeliverySource): DirectGate | undefined;
}

/**
 * A gate of the hypervisor's IDT into code of a less privileged ring than the hypervisor's
 * (CPL 1), of trap type (IF kept), with the stack its TSS holds for that ring. The selectors
 * name the guest's kernel segments, read at delivery as the CPU reads any descriptor; the
 * hypervisor's shadow of them has DPL 1 (ring compression), so the DPL is not checked against
 * `cpl`, and the code segment must still have the base the target was placed for. Delivered
 * only from an outer ring.
 */
export interface DirectGate {
  readonly cs: number;
  readonly codeBase: number;
  readonly eip: number;
  readonly cpl: number;
  readonly ss: number;
  readonly esp: number;
}

/**
 * A hypervisor that delivers virtual events with `deliverDirect` sees each fault the delivery
 * itself raises first: a page fault on a page its shadow tables have not mapped yet is its own
 * business (fix the shadow, return true, and the delivery is retried), not the guest's.
 */
export type DeliveryFaultFilter = (e: CpuException) => boolean;

/** Sees every event the CPU delivered through the guest's IDT (the metrics layer counts them). */
export interface DeliveryObserver {
  delivered(vector: number, errorCode: number | undefined, source: DeliverySource): void;
}

/** The instruction-cache model fed with the code lines the CPU fetches (metrics layer). */
export interface InstructionCacheModel {
  /** access one 64-byte line (physical address >> 6); true on a hit */
  access(line: number): boolean;
}

/** The CPU shut down (a fault while delivering #DF): the run ends. */
export class TripleFault {
  constructor(
    readonly eip: number,
    readonly detail: string,
  ) {}

  get message(): string {
    return `triple fault at EIP=0x${this.eip.toString(16)}: ${this.detail}`;
  }
}

const TLB_WAYS = 4;
const TLB_USER = 1;
const TLB_WRITE = 2;
const TLB_DIRTY = 4;

export interface CpuOptions {
  readonly isa: IsaVariant;
  /** modeled TLB entries (direct-mapped; a power of two) */
  readonly tlbEntries: number;
}

export class Cpu implements ByteSource {
  // ---- architectural state ------------------------------------------------------------------
  readonly regs = new Uint32Array(8);
  eip = 0;
  readonly alu = new Alu();
  /** EFLAGS bits outside the ALU (TF IF DF IOPL NT RF AC ID); bit 1 is added when read */
  systemFlags = 0;
  cpl = 0;
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Uint32Array(6);
  readonly segLimit = new Uint32Array(6);
  readonly segAccess = new Uint8Array(6);
  readonly segFlags = new Uint8Array(6);
  gdtrBase = 0;
  gdtrLimit = 0xffff;
  idtrBase = 0;
  idtrLimit = 0x3ff;
  ldtrSel = 0;
  ldtrBase = 0;
  ldtrLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  /** TSS type: 9 (32-bit available/busy) or 1 (16-bit); 0 when TR was never loaded */
  trType = 0;
  cr0 = CR0_ET;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly msrs = new Map<number, bigint>();

  // ---- execution state ----------------------------------------------------------------------
  /** modeled cycles since reset (also the TSC) */
  cycles = 0;
  instructions = 0;
  userInstructions = 0;
  halted = false;
  /** interrupts are inhibited for one instruction after STI (IF 0→1) and MOV/POP SS */
  interruptShadow = false;
  /** start of the instruction being executed (faults restart here) */
  insnStart = 0;
  /** set by instructions that end the current batch (mode changes, hlt) */
  breakBatch = false;
  pic: InterruptController | undefined;
  hook: DeliveryHook | undefined;
  readonly isa: IsaVariant;

  // ---- cost accounting: set from a CPU profile by the metrics layer (metrics/meter.ts); the
  // defaults are the profile-free machine of MACHINE.md, one cycle per instruction -----------
  /** modeled cycles each instruction form costs, indexed by form id */
  readonly formCycles = new Float64Array(FORMS.length).fill(1);
  /** instructions retired per form id (rep iterations count one each) */
  readonly formCounts = new Float64Array(FORMS.length);
  /** instructions that raised an exception or int n (counted in `instructions` too) */
  faultingInstructions = 0;
  faultingCycles = 1;
  /** cycles one page walk (TLB miss) costs */
  walkCycles = 0;
  /** cycles one reference to a nested page-table entry costs (nested paging) */
  nestedReferenceCycles = 0;
  icache: InstructionCacheModel | undefined;
  icacheMissCycles = 0;
  /** the code line of the last fetch: the I-cache is fed once per line crossing */
  private lastFetchLine = -1;
  observer: DeliveryObserver | undefined;
  /** loads of CR3 (guest context switches, natively) */
  cr3Loads = 0;
  /** cycles that passed halted, waiting for an interrupt */
  idleCycles = 0;

  // ---- TLB (4-way set-associative, round-robin replacement) and decoded-instruction cache ---
  private readonly tlbSetMask: number;
  /** linear page number per entry (set * 4 + way), -1 when empty */
  private readonly tlbTag: Int32Array;
  private readonly tlbPhys: Int32Array;
  private readonly tlbFlags: Uint8Array;
  private readonly tlbNext: Uint8Array;
  tlbMisses = 0;
  tlbLookups = 0;
  /** walks of the guest's own 2-level tables (every TLB miss, except under nested paging
   *  with the guest's paging off, where only the nested table is walked) */
  pageWalks = 0;
  /** nested page-table entries read by two-dimensional walks, and the TLB misses they served */
  nestedReferences = 0;
  nestedWalks = 0;

  // ---- VMX non-root operation (vmx.ts): set by a hardware-assisted hypervisor ---------------
  /** the hypervisor whose control structure this CPU runs under; undefined: root (bare) */
  vmx: VmxHost | undefined;
  /** nested paging: guest-physical addresses go through this table */
  nested: NestedPaging | undefined;
  /** CR0/CR4 bits the hypervisor owns: guest reads see the read shadow there, and a write
   *  leaves them as they are (a write that would change them exits first, SDM 25.3) */
  cr0GuestHostMask = 0;
  cr0ReadShadow = 0;
  cr4GuestHostMask = 0;
  cr4ReadShadow = 0;
  /** CR2 before the last page fault set it (a fault that exits must not change the guest's) */
  cr2BeforeFault = 0;
  codeInvalidations = 0;
  /** decoded instructions per physical page (pre-sized so the array never turns sparse) */
  private readonly codeCache: (DecodedInstruction[] | undefined)[];

  constructor(
    readonly memory: PhysicalMemory,
    readonly io: {
      read(port: number, size: 1 | 2 | 4): number;
      write(port: number, size: 1 | 2 | 4, value: number): void;
    },
    options: CpuOptions,
  ) {
    this.isa = options.isa;
    const n = options.tlbEntries;
    if (!Number.isInteger(n) || n < 4 || (n & (n - 1)) !== 0) {
      throw new RangeError('tlbEntries must be a power of two, at least 4');
    }
    this.tlbSetMask = n / TLB_WAYS - 1;
    this.tlbTag = new Int32Array(n).fill(-1);
    this.tlbPhys = new Int32Array(n);
    this.tlbFlags = new Uint8Array(n);
    this.tlbNext = new Uint8Array(n / TLB_WAYS);
    this.codeCache = new Array<DecodedInstruction[] | undefined>(memory.codePages.length).fill(
      undefined,
    );
    memory.onCodeWrite = (page) => this.invalidateCodePage(page);
  }

  // ---- registers ------------------------------------------------------------------------------
  getReg(n: number, size: number): number {
    if (size === 32) return this.regs[n]!;
    if (size === 16) return this.regs[n]! & 0xffff;
    return n < 4 ? this.regs[n]! & 0xff : (this.regs[n - 4]! >>> 8) & 0xff;
  }

  setReg(n: number, size: number, value: number): void {
    if (size === 32) this.regs[n] = value;
    else if (size === 16) this.regs[n] = (this.regs[n]! & 0xffff0000) | (value & 0xffff);
    else if (n < 4) this.regs[n] = (this.regs[n]! & 0xffffff00) | (value & 0xff);
    else this.regs[n - 4] = (this.regs[n - 4]! & 0xffff00ff) | ((value & 0xff) << 8);
  }

  get eflags(): number {
    return (this.alu.arithFlags() | this.systemFlags | 2) >>> 0;
  }

  /** Write EFLAGS bits selected by `mask` (the caller decides which it may change). */
  setEflags(value: number, mask: number): void {
    const arith = mask & 0x8d5;
    if (arith) this.alu.setArithFlags((this.alu.arithFlags() & ~arith) | (value & arith));
    const sys = mask & SYSTEM_FLAGS;
    this.systemFlags = ((this.systemFlags & ~sys) | (value & sys)) >>> 0;
  }

  get iopl(): number {
    return (this.systemFlags >>> 12) & 3;
  }

  get interruptsEnabled(): boolean {
    return (this.systemFlags & FLAG_IF) !== 0;
  }

  // ---- paging ---------------------------------------------------------------------------------
  flushTlb(): void {
    this.tlbTag.fill(-1);
  }

  invalidatePage(linear: number): void {
    const vpn = linear >>> PAGE_SHIFT;
    const base = (vpn & this.tlbSetMask) * TLB_WAYS;
    for (let w = 0; w < TLB_WAYS; w++)
      if (this.tlbTag[base + w] === vpn) this.tlbTag[base + w] = -1;
  }

  private pageFault(linear: number, present: boolean, write: boolean, user: boolean): CpuException {
    this.cr2BeforeFault = this.cr2;
    this.cr2 = linear >>> 0;
    const code = (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0);
    return new CpuException(
      VECTOR.PF,
      code,
      () =>
        `page fault at 0x${(linear >>> 0).toString(16)} (${present ? 'protection' : 'not present'}, ${write ? 'write' : 'read'}, ${user ? 'user' : 'supervisor'})`,
    );
  }

  /** Linear → physical for an access; raises #PF as the SDM says (4.7) and sets A/D bits. */
  translate(linear: number, write: boolean, user: boolean): number {
    if ((this.cr0 & CR0_PG) === 0 && this.nested === undefined) return linear >>> 0;
    const vpn = linear >>> PAGE_SHIFT;
    const base = (vpn & this.tlbSetMask) * TLB_WAYS;
    this.tlbLookups++;
    const tags = this.tlbTag;
    const slot =
      tags[base] === vpn
        ? base
        : tags[base + 1] === vpn
          ? base + 1
          : tags[base + 2] === vpn
            ? base + 2
            : tags[base + 3] === vpn
              ? base + 3
              : -1;
    if (slot >= 0) {
      const f = this.tlbFlags[slot]!;
      if (
        (!user || f & TLB_USER) &&
        (!write || (f & TLB_DIRTY && (f & TLB_WRITE || (!user && !(this.cr0 & CR0_WP)))))
      ) {
        return ((this.tlbPhys[slot]! << PAGE_SHIFT) | (linear & 0xfff)) >>> 0;
      }
      tags[slot] = -1; // refilled by the walk (which checks permissions and sets A/D)
    }
    return this.walk(linear, write, user);
  }

  /**
   * The physical address a write to `linear` would reach through a TLB hit, without counting
   * the lookup; undefined when the write would miss (or fault). With paging off (and no
   * nested paging) there is no TLB: the address itself.
   */
  peekTlbWrite(linear: number, user: boolean): number | undefined {
    if ((this.cr0 & CR0_PG) === 0 && this.nested === undefined) return linear >>> 0;
    const vpn = linear >>> PAGE_SHIFT;
    const base = (vpn & this.tlbSetMask) * TLB_WAYS;
    for (let slot = base; slot < base + TLB_WAYS; slot++) {
      if (this.tlbTag[slot] !== vpn) continue;
      const f = this.tlbFlags[slot]!;
      const hit =
        (!user || f & TLB_USER) &&
        f & TLB_DIRTY &&
        (f & TLB_WRITE || (!user && !(this.cr0 & CR0_WP)));
      return hit ? ((this.tlbPhys[slot]! << PAGE_SHIFT) | (linear & 0xfff)) >>> 0 : undefined;
    }
    return undefined;
  }

  /**
   * Linear → physical as the page tables say, with no side effect at all (no TLB fill, no
   * A/D bits, no fault, no count): for logs and debuggers. Undefined when not mapped or
   * beyond RAM.
   */
  peekPhysical(linear: number): number | undefined {
    const host = (guestPhysical: number): number | undefined =>
      this.nested === undefined ? guestPhysical : this.peekNested(guestPhysical);
    let phys: number | undefined = linear >>> 0;
    if (this.cr0 & CR0_PG) {
      const mem = this.memory;
      const pdeAddr = host(((this.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0);
      if (pdeAddr === undefined || pdeAddr + 4 > mem.size) return undefined;
      const pde = mem.read32(pdeAddr);
      if (!(pde & 1)) return undefined;
      if (pde & 0x80 && this.cr4 & CR4_PSE) {
        phys = ((pde & 0xffc00000) | (linear & 0x3fffff)) >>> 0;
      } else {
        const pteAddr = host(((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0);
        if (pteAddr === undefined || pteAddr + 4 > mem.size) return undefined;
        const pte = mem.read32(pteAddr);
        if (!(pte & 1)) return undefined;
        phys = ((pte & 0xfffff000) | (linear & 0xfff)) >>> 0;
      }
    }
    phys = host(phys);
    return phys !== undefined && phys < this.memory.size ? phys : undefined;
  }

  /** Guest-physical → host-physical through the nested table, without side effects. */
  private peekNested(guestPhysical: number): number | undefined {
    const mem = this.memory;
    const pde = mem.read32((this.nested!.root + ((guestPhysical >>> 22) << 2)) >>> 0);
    if (!(pde & 1)) return undefined;
    const pte = mem.read32(((pde & 0xfffff000) + (((guestPhysical >>> 12) & 0x3ff) << 2)) >>> 0);
    if (!(pte & 1)) return undefined;
    return ((pte & 0xfffff000) | (guestPhysical & 0xfff)) >>> 0;
  }

  /** CR0 as the guest reads it (mov from CR0, smsw): the read shadow in the bits the
   *  hypervisor owns */
  get visibleCr0(): number {
    const m = this.cr0GuestHostMask;
    return ((this.cr0 & ~m) | (this.cr0ReadShadow & m)) >>> 0;
  }

  get visibleCr4(): number {
    const m = this.cr4GuestHostMask;
    return ((this.cr4 & ~m) | (this.cr4ReadShadow & m)) >>> 0;
  }

  /**
   * A TLB miss: the 2-level walk (SDM 4.3). Under nested paging (SDM 28.3.2, AMD's
   * "two-dimensional page walk") each guest page-table reference is itself a guest-physical
   * address translated through the nested table, and so is the final one: n·m + n + m
   * references, 8 for 2-level on 2-level (the guest's n = 2 are the walk's, the rest are
   * nested); with the guest's paging off only the final translation is walked (m = 2). The
   * TLB caches linear → host-physical.
   */
  private walk(linear: number, write: boolean, user: boolean): number {
    this.tlbMisses++;
    const nested = this.nested !== undefined;
    if (nested) {
      this.nestedWalks++;
      if ((this.cr0 & CR0_PG) === 0) {
        const host = this.nestedTranslate(linear >>> 0, write);
        this.fillTlb(linear, host >>> PAGE_SHIFT, true, this.nestedWritable, true);
        return host;
      }
    }
    this.pageWalks++;
    this.cycles += this.walkCycles;
    const mem = this.memory;
    const pdeGuest = ((this.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0;
    const pdeAddr = nested ? this.nestedTranslate(pdeGuest, false) : pdeGuest;
    // A/D bits of tables the nested table maps read-only (beyond the guest's RAM) are lost,
    // as writes there are natively
    const pdeWritable = !nested || this.nestedWritable;
    const pde = mem.read32(pdeAddr);
    if (!(pde & 1)) throw this.pageFault(linear, false, write, user);
    let physPage: number;
    let allowUser: boolean;
    let allowWrite: boolean;
    let entryAddr = pdeAddr;
    let entryWritable = pdeWritable;
    let entry = pde;
    if (pde & 0x80 && this.cr4 & CR4_PSE) {
      physPage = ((pde & 0xffc00000) >>> PAGE_SHIFT) | ((linear >>> PAGE_SHIFT) & 0x3ff);
      allowUser = (pde & 4) !== 0;
      allowWrite = (pde & 2) !== 0;
    } else {
      const pteGuest = ((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
      entryAddr = nested ? this.nestedTranslate(pteGuest, false) : pteGuest;
      entryWritable = !nested || this.nestedWritable;
      const pte = mem.read32(entryAddr);
      if (!(pte & 1)) throw this.pageFault(linear, false, write, user);
      physPage = pte >>> PAGE_SHIFT;
      allowUser = (pde & 4) !== 0 && (pte & 4) !== 0;
      allowWrite = (pde & 2) !== 0 && (pte & 2) !== 0;
      entry = pte;
      if (!(pde & 0x20) && pdeWritable) mem.write32(pdeAddr, pde | 0x20);
    }
    if (user && !allowUser) throw this.pageFault(linear, true, write, user);
    if (write && !allowWrite && (user || this.cr0 & CR0_WP))
      throw this.pageFault(linear, true, write, user);
    if (nested) {
      physPage = this.nestedTranslate((physPage << PAGE_SHIFT) >>> 0, write) >>> PAGE_SHIFT;
      allowWrite &&= this.nestedWritable;
    }
    // Accessed on every walk; dirty on the first write through this translation (SDM 4.8).
    const updated = entry | 0x20 | (write ? 0x40 : 0);
    if (updated !== entry && entryWritable) mem.write32(entryAddr, updated);
    this.fillTlb(linear, physPage, allowUser, allowWrite, (updated & 0x40) !== 0);
    return ((physPage << PAGE_SHIFT) | (linear & 0xfff)) >>> 0;
  }

  private fillTlb(
    linear: number,
    physPage: number,
    allowUser: boolean,
    allowWrite: boolean,
    dirty: boolean,
  ): void {
    const set = (linear >>> PAGE_SHIFT) & this.tlbSetMask;
    let slot = set * TLB_WAYS;
    while (slot < set * TLB_WAYS + TLB_WAYS && this.tlbTag[slot] !== -1) slot++;
    if (slot === set * TLB_WAYS + TLB_WAYS) {
      slot = set * TLB_WAYS + this.tlbNext[set]!;
      this.tlbNext[set] = (this.tlbNext[set]! + 1) % TLB_WAYS;
    }
    this.tlbTag[slot] = linear >>> PAGE_SHIFT;
    this.tlbPhys[slot] = physPage;
    this.tlbFlags[slot] =
      (allowUser ? TLB_USER : 0) | (allowWrite ? TLB_WRITE : 0) | (dirty ? TLB_DIRTY : 0);
  }

  /** set by `nestedTranslate`: the nested entry allows writes */
  private nestedWritable = false;

  /**
   * Guest-physical → host-physical through the nested table (m = 2 references). A write the
   * nested entry forbids is an EPT violation, for the hypervisor.
   */
  private nestedTranslate(guestPhysical: number, write: boolean): number {
    const mem = this.memory;
    const root = this.nested!.root;
    this.nestedReferences += 2;
    this.cycles += 2 * this.nestedReferenceCycles;
    const pde = mem.read32((root + ((guestPhysical >>> 22) << 2)) >>> 0);
    const pte =
      pde & 1
        ? mem.read32(((pde & 0xfffff000) + (((guestPhysical >>> 12) & 0x3ff) << 2)) >>> 0)
        : 0;
    if (!(pte & 1) || (write && !(pde & pte & 2)))
      throw new EptViolation(guestPhysical >>> 0, write);
    this.nestedWritable = (pde & pte & 2) !== 0;
    return ((pte & 0xfffff000) | (guestPhysical & 0xfff)) >>> 0;
  }

  // ---- memory access by linear address (data: user check follows CPL) ------------------------
  read8(linear: number): number {
    return this.memory.read8(this.translate(linear, false, this.cpl === 3));
  }
  read16(linear: number): number {
    if ((linear & 0xfff) === 0xfff) return this.read8(linear) | (this.read8(linear + 1) << 8);
    return this.memory.read16(this.translate(linear, false, this.cpl === 3));
  }
  read32(linear: number): number {
    if ((linear & 0xfff) > 0xffc) {
      return (this.read16(linear) | (this.read16((linear + 2) >>> 0) << 16)) >>> 0;
    }
    return this.memory.read32(this.translate(linear, false, this.cpl === 3));
  }
  write8(linear: number, value: number): void {
    this.memory.write8(this.translate(linear, true, this.cpl === 3), value);
  }
  write16(linear: number, value: number): void {
    if ((linear & 0xfff) === 0xfff) {
      // check both pages before writing either, so a fault leaves memory untouched
      const a = this.translate(linear, true, this.cpl === 3);
      const b = this.translate((linear + 1) >>> 0, true, this.cpl === 3);
      this.memory.write8(a, value & 0xff);
      this.memory.write8(b, (value >>> 8) & 0xff);
      return;
    }
    this.memory.write16(this.translate(linear, true, this.cpl === 3), value);
  }
  write32(linear: number, value: number): void {
    if ((linear & 0xfff) > 0xffc) {
      const user = this.cpl === 3;
      const phys = [0, 1, 2, 3].map((i) => this.translate((linear + i) >>> 0, true, user));
      phys.forEach((p, i) => this.memory.write8(p, (value >>> (8 * i)) & 0xff));
      return;
    }
    this.memory.write32(this.translate(linear, true, this.cpl === 3), value);
  }
  readSized(linear: number, size: number): number {
    return size === 32
      ? this.read32(linear)
      : size === 16
        ? this.read16(linear)
        : this.read8(linear);
  }
  writeSized(linear: number, size: number, value: number): void {
    if (size === 32) this.write32(linear, value);
    else if (size === 16) this.write16(linear, value);
    else this.write8(linear, value);
  }

  /** Supervisor ("implicit") accesses: descriptor tables, IDT, TSS — never a user access. */
  private systemRead32(linear: number): number {
    const saved = this.cpl;
    this.cpl = 0;
    try {
      return this.read32(linear >>> 0);
    } finally {
      this.cpl = saved;
    }
  }
  systemWrite8(linear: number, value: number): void {
    const saved = this.cpl;
    this.cpl = 0;
    try {
      this.write8(linear >>> 0, value);
    } finally {
      this.cpl = saved;
    }
  }
  systemRead16(linear: number): number {
    const saved = this.cpl;
    this.cpl = 0;
    try {
      return this.read16(linear >>> 0);
    } finally {
      this.cpl = saved;
    }
  }

  // ---- instruction fetch and the decoded-instruction cache -----------------------------------
  byteAt(linear: number): number {
    return this.memory.read8(this.translate(linear >>> 0, false, this.cpl === 3));
  }

  /** The decoded instruction at CS:EIP (from the cache when it can be). */
  fetch(): DecodedInstruction {
    const linear = (this.segBase[SEG_CS]! + this.eip) >>> 0;
    const phys = this.translate(linear, false, this.cpl === 3);
    const page = phys >>> PAGE_SHIFT;
    const cached = this.codeCache[page]?.[phys & 0xfff];
    if (cached) {
      if (this.icache !== undefined) this.fetchLines(phys, cached.length);
      return cached;
    }
    const result = decode(this, linear);
    if (!result.ok) {
      throw fault(result.vector, `${result.reason} at EIP=0x${this.eip.toString(16)}`);
    }
    const insn = result.insn;
    // Instructions that cross a page boundary are not cached (a write to either page would
    // have to drop them).
    if ((linear & 0xfff) + insn.length <= 0x1000 && page < this.memory.codePages.length) {
      let slots = this.codeCache[page];
      if (!slots) {
        slots = new Array<DecodedInstruction>(4096);
        this.codeCache[page] = slots;
        this.memory.codePages[page] = 1;
      }
      slots[phys & 0xfff] = insn;
      const lines = this.memory.codeLines;
      for (let l = phys >>> LINE_SHIFT; l <= (phys + insn.length - 1) >>> LINE_SHIFT; l++)
        lines[l] = 1;
    }
    if (this.icache !== undefined) this.fetchLines(phys, insn.length);
    return insn;
  }

  /** Feed the I-cache the lines an instruction is fetched from, once per line crossing. An
   *  instruction that crosses a page boundary is charged by its first physical page. */
  private fetchLines(phys: number, length: number): void {
    const first = phys >>> LINE_SHIFT;
    const last = (phys + length - 1) >>> LINE_SHIFT;
    const icache = this.icache!;
    if (first !== this.lastFetchLine && !icache.access(first)) this.cycles += this.icacheMissCycles;
    if (last !== first && !icache.access(last)) this.cycles += this.icacheMissCycles;
    this.lastFetchLine = last;
  }

  /** A write hit decoded code in `page`: drop the page's decoded instructions. */
  invalidateCodePage(page: number): void {
    this.codeCache[page] = undefined;
    this.memory.codePages[page] = 0;
    const first = (page << PAGE_SHIFT) >>> LINE_SHIFT;
    this.memory.codeLines.fill(0, first, first + (1 << (PAGE_SHIFT - LINE_SHIFT)));
    this.codeInvalidations++;
  }

  // ---- segments -------------------------------------------------------------------------------
  /** Read the descriptor a selector names (GDT or LDT), or raise `errorVector` with the selector. */
  readDescriptor(selector: number, errorVector: number = VECTOR.GP): Descriptor {
    const ti = selector & 4;
    const index = selector & 0xfff8;
    const base = ti ? this.ldtrBase : this.gdtrBase;
    const limit = ti ? this.ldtrLimit : this.gdtrLimit;
    if ((ti && this.ldtrSel === 0) || index + 7 > limit) {
      throw fault(
        errorVector,
        `selector 0x${selector.toString(16)} is beyond the ${ti ? 'LDT' : 'GDT'} limit`,
        selector & 0xfffc,
      );
    }
    const low = this.systemRead32(base + index);
    const high = this.systemRead32(base + index + 4);
    return parseDescriptor(low, high);
  }

  /** Set the accessed bit of a code/data descriptor (the CPU writes it on a segment load). */
  markAccessed(selector: number, d: Descriptor): void {
    if (d.access & 1) return;
    const base = selector & 4 ? this.ldtrBase : this.gdtrBase;
    this.systemWrite8(base + (selector & 0xfff8) + 5, d.access | 1);
    d.access |= 1;
  }

  loadSegmentCache(seg: number, selector: number, d: Descriptor): void {
    this.segSel[seg] = selector;
    this.segBase[seg] = d.base;
    this.segLimit[seg] = d.limit;
    this.segAccess[seg] = d.access;
    this.segFlags[seg] = d.flags;
  }

  /** A null selector in DS/ES/FS/GS: loads fine, faults on use (we keep a flat base). */
  loadNullSegment(seg: number, selector: number): void {
    this.segSel[seg] = selector;
    this.segBase[seg] = 0;
    this.segLimit[seg] = 0;
    this.segAccess[seg] = 0;
    this.segFlags[seg] = 0;
  }

  /** MOV/POP to DS, ES, FS, GS, SS with the checks of SDM vol. 2 "MOV—Move to segment register". */
  loadDataSegment(seg: number, selector: number): void {
    const rpl = selector & 3;
    if ((selector & 0xfffc) === 0) {
      if (seg === SEG_SS) throw gp('null selector loaded into SS', 0);
      this.loadNullSegment(seg, selector);
      return;
    }
    const d = this.readDescriptor(selector);
    const code = selector & 0xfffc;
    if (seg === SEG_SS) {
      if (rpl !== this.cpl || descriptorDpl(d) !== this.cpl || !isWritableData(d)) {
        throw gp(
          `selector 0x${selector.toString(16)} is not a writable data segment at CPL ${this.cpl} for SS`,
          code,
        );
      }
      if (!descriptorPresent(d))
        throw fault(VECTOR.SS, `stack segment 0x${selector.toString(16)} not present`, code);
    } else {
      if (!isCodeOrData(d) || !isReadable(d)) {
        throw gp(
          `selector 0x${selector.toString(16)} is not a readable code or data segment`,
          code,
        );
      }
      if (!isConforming(d) && (rpl > descriptorDpl(d) || this.cpl > descriptorDpl(d))) {
        throw gp(
          `segment 0x${selector.toString(16)} DPL ${descriptorDpl(d)} < max(CPL ${this.cpl}, RPL ${rpl})`,
          code,
        );
      }
      if (!descriptorPresent(d))
        throw fault(VECTOR.NP, `segment 0x${selector.toString(16)} not present`, code);
    }
    this.markAccessed(selector, d);
    this.loadSegmentCache(seg, selector, d);
    if (seg === SEG_SS) {
      this.interruptShadow = true;
      this.breakBatch = true;
    }
  }

  /** Load CS for a far jump/call/return or an interrupt: checks are the caller's; sets CPL. */
  loadCodeSegment(selector: number, d: Descriptor, cpl: number): void {
    this.markAccessed(selector, d);
    this.loadSegmentCache(SEG_CS, (selector & 0xfffc) | cpl, d);
    this.cpl = cpl;
  }

  /** Check a selector names a present code segment usable as a far-transfer target. */
  codeDescriptor(selector: number, what: string): Descriptor {
    if ((selector & 0xfffc) === 0) throw gp(`${what}: null code selector`, 0);
    const d = this.readDescriptor(selector);
    if (!isCode(d))
      throw gp(
        `${what}: selector 0x${selector.toString(16)} is not a code segment`,
        selector & 0xfffc,
      );
    if (!descriptorPresent(d))
      throw fault(
        VECTOR.NP,
        `${what}: code segment 0x${selector.toString(16)} not present`,
        selector & 0xfffc,
      );
    return d;
  }

  // ---- stack ----------------------------------------------------------------------------------
  push(size: number, value: number): void {
    const esp = (this.regs[4]! - size / 8) >>> 0;
    this.writeSized((this.segBase[SEG_SS]! + esp) >>> 0, size, value);
    this.regs[4] = esp;
  }
  pop(size: number): number {
    const esp = this.regs[4]!;
    const v = this.readSized((this.segBase[SEG_SS]! + esp) >>> 0, size);
    this.regs[4] = (esp + size / 8) >>> 0;
    return v;
  }
  /** Read the stack at ESP+offset without popping (instructions that must not fault halfway). */
  peek(size: number, offset: number): number {
    return this.readSized((this.segBase[SEG_SS]! + this.regs[4]! + offset) >>> 0, size);
  }

  // ---- TSS --------------------------------------------------------------------------------
  /** SS:ESP for privilege level `dpl` from the 32-bit TSS (SDM 7.2.1). */
  stackForPrivilege(dpl: number): { ss: number; esp: number } {
    if (this.trType === 0 || this.trSel === 0)
      throw fault(VECTOR.TS, 'no TSS loaded for a privilege change', this.trSel & 0xfffc);
    const offset = 4 + dpl * 8;
    if (offset + 5 > this.trLimit)
      throw fault(
        VECTOR.TS,
        `TSS limit 0x${this.trLimit.toString(16)} too small for SS${dpl}:ESP${dpl}`,
        this.trSel & 0xfffc,
      );
    return {
      esp: this.systemRead32(this.trBase + offset),
      ss: this.systemRead16(this.trBase + offset + 4),
    };
  }

  /** IN/OUT permission at CPL > IOPL: the TSS I/O permission bitmap, as QEMU applies it. */
  checkIoPermission(port: number, size: number): void {
    if (this.cpl <= this.iopl) return;
    const deny = (): CpuException =>
      gp(`I/O to port 0x${port.toString(16)} denied at CPL ${this.cpl} (IOPL ${this.iopl})`, 0);
    if (this.trType !== 9 && this.trType !== 11) throw deny();
    if (this.trLimit < 0x67) throw deny();
    const bitmapBase = this.systemRead16(this.trBase + 0x66);
    const byte = bitmapBase + (port >>> 3);
    if (byte + 1 > this.trLimit) throw deny();
    const bits = this.systemRead16(this.trBase + byte);
    const mask = ((1 << size) - 1) << (port & 7);
    if (bits & mask) throw deny();
  }

  // ---- exception and interrupt delivery ------------------------------------------------------
  /** vector of the event being delivered, for #DF escalation; -1 outside delivery */
  private delivering = -1;

  /**
   * Deliver an exception or interrupt through the IDT (SDM 6.12). A fault while delivering
   * becomes #DF by the rules of table 6-5; a fault while delivering #DF is a triple fault.
   */
  deliver(vector: number, errorCode: number | undefined, source: DeliverySource): void {
    const gate = this.hook?.directGate?.(vector, source);
    if (gate && this.deliverThroughDirectGate(gate)) {
      this.observer?.delivered(vector, errorCode, source);
      return;
    }
    if (this.hook?.intercept(this, vector, errorCode, source)) return;
    this.deliverDirect(vector, errorCode, source);
  }

  /**
   * Deliver through a hypervisor's direct gate (SDM 6.12.1: the inter-privilege case, the
   * outer SS:ESP, EFLAGS, CS and EIP pushed on the inner stack). A fault while pushing
   * undoes it all and returns false: the event then traps to the hypervisor like any other
   * (which fills its shadow tables and delivers it itself).
   */
  private deliverThroughDirectGate(g: DirectGate): boolean {
    if (g.cpl >= this.cpl) return false;
    const oldSs = this.segSel[SEG_SS]!;
    const oldEsp = this.regs[4]!;
    const savedCpl = this.cpl;
    const savedSs = this.saveSegment(SEG_SS);
    const flags = this.eflags;
    const returnCs = this.segSel[SEG_CS]!;
    let code: Descriptor;
    try {
      code = this.readDescriptor(g.cs);
      const stack = this.readDescriptor(g.ss);
      if (!isCode(code) || !descriptorPresent(code) || code.base !== g.codeBase) return false;
      if (!isWritableData(stack) || !descriptorPresent(stack)) return false;
      this.cpl = g.cpl;
      this.loadSegmentCache(SEG_SS, g.ss, stack);
      this.regs[4] = g.esp;
      this.push(32, oldSs);
      this.push(32, oldEsp);
      this.push(32, flags);
      this.push(32, returnCs);
      this.push(32, this.eip);
    } catch (e) {
      this.cpl = savedCpl;
      this.restoreSegment(SEG_SS, savedSs);
      this.regs[4] = oldEsp;
      if (e instanceof CpuException) return false;
      throw e;
    }
    this.loadSegmentCache(SEG_CS, (g.cs & 0xfffc) | g.cpl, code);
    this.cpl = g.cpl;
    this.eip = g.eip;
    this.systemFlags &= ~(FLAG_TF | FLAG_NT | FLAG_RF);
    this.halted = false;
    this.directDeliveries++;
    return true;
  }

  /** Count the instruction at `insnStart` as one that raised an exception or int n (it is
   *  counted, and charged its issue slot; the delivery is charged on its own). */
  retireFaulting(): void {
    this.instructions++;
    this.faultingInstructions++;
    this.cycles += this.faultingCycles;
  }

  /** events delivered through a hypervisor's direct gates */
  directDeliveries = 0;

  /** set by a hypervisor around its own `deliverDirect` calls */
  deliveryFaultFilter: DeliveryFaultFilter | undefined;

  /**
   * Deliver through the IDT in IDTR without asking the hook: the bare CPU's path, and the one a
   * hypervisor uses for a virtual event once it has loaded the virtual CPU's state (its IDT, its
   * CPL, its IF) into the CPU. Escalation to #DF and triple fault stays inside.
   */
  deliverDirect(vector: number, errorCode: number | undefined, source: DeliverySource): void {
    const outer = this.delivering;
    this.delivering = source === 'exception' ? vector : -1;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          this.deliverThroughIdt(vector, errorCode, source);
          break;
        } catch (e) {
          // a fault the hypervisor resolves (a shadow page not built yet): deliver again
          if (!(e instanceof CpuException) || attempt >= 8 || !this.deliveryFaultFilter?.(e))
            throw e;
        }
      }
      this.observer?.delivered(vector, errorCode, source);
    } catch (e) {
      if (!(e instanceof CpuException)) throw e;
      this.delivering = outer;
      this.eip = this.insnStart;
      const first = source === 'exception' ? exceptionClass(vector) : 'benign';
      const second = exceptionClass(e.vector);
      if (first === 'double-fault') {
        throw new TripleFault(
          this.insnStart,
          `fault during double-fault delivery: ${e.toString()}`,
        );
      }
      const double =
        (first === 'contributory' && second === 'contributory') ||
        (first === 'page-fault' && (second === 'contributory' || second === 'page-fault'));
      if (double) {
        this.deliverDirect(VECTOR.DF, 0, 'exception');
      } else {
        this.deliverDirect(e.vector, e.errorCode, 'exception');
      }
      return;
    } finally {
      this.delivering = outer;
    }
  }

  private deliverThroughIdt(
    vector: number,
    errorCode: number | undefined,
    source: DeliverySource,
  ): void {
    const idtCode = vector * 8 + 2 + (source === 'external' ? 1 : 0);
    if (vector * 8 + 7 > this.idtrLimit) {
      throw gp(
        `vector ${vector} is beyond the IDT limit 0x${this.idtrLimit.toString(16)}`,
        idtCode,
      );
    }
    const low = this.systemRead32(this.idtrBase + vector * 8);
    const high = this.systemRead32(this.idtrBase + vector * 8 + 4);
    const type = (high >>> 8) & 0x1f;
    const gateDpl = (high >>> 13) & 3;
    // 0x0E/0x0F: 32-bit interrupt/trap gate; 0x06/0x07: 16-bit (not supported here)
    if (type !== 0x0e && type !== 0x0f) {
      throw gp(
        `IDT entry ${vector} is not a 32-bit interrupt or trap gate (type 0x${type.toString(16)})`,
        idtCode,
      );
    }
    if (source === 'software' && gateDpl < this.cpl) {
      throw gp(`int 0x${vector.toString(16)}: gate DPL ${gateDpl} < CPL ${this.cpl}`, idtCode);
    }
    if (!(high & 0x8000)) throw fault(VECTOR.NP, `IDT entry ${vector} not present`, idtCode);
    const selector = low >>> 16;
    const offset = ((high & 0xffff0000) | (low & 0xffff)) >>> 0;
    const d = this.codeDescriptor(selector, `interrupt ${vector}`);
    const dpl = descriptorDpl(d);
    if (dpl > this.cpl)
      throw gp(`interrupt ${vector}: handler DPL ${dpl} > CPL ${this.cpl}`, selector & 0xfffc);
    const newCpl = isConforming(d) ? this.cpl : dpl;
    const flags = this.eflags;
    const returnCs = this.segSel[SEG_CS]!;
    const returnEip = this.eip;
    if (newCpl < this.cpl) {
      // Inter-privilege: switch to the inner stack from the TSS, push the outer SS:ESP.
      const { ss, esp } = this.stackForPrivilege(newCpl);
      if ((ss & 0xfffc) === 0) throw fault(VECTOR.TS, 'TSS stack selector is null', 0);
      const ssDesc = this.readDescriptor(ss, VECTOR.TS);
      if ((ss & 3) !== newCpl || descriptorDpl(ssDesc) !== newCpl || !isWritableData(ssDesc)) {
        throw fault(
          VECTOR.TS,
          `TSS stack segment 0x${ss.toString(16)} is not a writable data segment at DPL ${newCpl}`,
          ss & 0xfffc,
        );
      }
      if (!descriptorPresent(ssDesc))
        throw fault(VECTOR.SS, `TSS stack segment 0x${ss.toString(16)} not present`, ss & 0xfffc);
      const oldSs = this.segSel[SEG_SS]!;
      const oldEsp = this.regs[4]!;
      const savedCpl = this.cpl;
      // The pushes go to the new stack with supervisor rights; restore everything on a fault.
      const savedSs = this.saveSegment(SEG_SS);
      try {
        this.cpl = newCpl;
        this.loadSegmentCache(SEG_SS, ss, ssDesc);
        this.regs[4] = esp;
        this.push(32, oldSs);
        this.push(32, oldEsp);
        this.push(32, flags);
        this.push(32, returnCs);
        this.push(32, returnEip);
        if (errorCode !== undefined) this.push(32, errorCode);
      } catch (e) {
        this.cpl = savedCpl;
        this.restoreSegment(SEG_SS, savedSs);
        this.regs[4] = oldEsp;
        throw e;
      }
      this.markAccessed(ss, ssDesc);
    } else {
      const oldEsp = this.regs[4]!;
      try {
        this.push(32, flags);
        this.push(32, returnCs);
        this.push(32, returnEip);
        if (errorCode !== undefined) this.push(32, errorCode);
      } catch (e) {
        this.regs[4] = oldEsp;
        throw e;
      }
    }
    this.loadCodeSegment(selector, d, newCpl);
    this.eip = offset;
    // Interrupt gates clear IF; both clear TF, NT, RF (SDM 6.12.1.2).
    let clear = FLAG_TF | FLAG_NT | FLAG_RF;
    if (type === 0x0e) clear |= FLAG_IF;
    this.systemFlags &= ~clear;
    this.halted = false;
  }

  saveSegment(seg: number): Descriptor & { selector: number } {
    return {
      selector: this.segSel[seg]!,
      base: this.segBase[seg]!,
      limit: this.segLimit[seg]!,
      access: this.segAccess[seg]!,
      flags: this.segFlags[seg]!,
    };
  }
  restoreSegment(seg: number, s: Descriptor & { selector: number }): void {
    this.segSel[seg] = s.selector;
    this.segBase[seg] = s.base;
    this.segLimit[seg] = s.limit;
    this.segAccess[seg] = s.access;
    this.segFlags[seg] = s.flags;
  }
}
