// The binary-translation hypervisor (lecture §6, VMware): the guest kernel (virtual CPL 0)
// never runs its own code. Whenever the guest is to run kernel code at an address, the
// hypervisor runs that code's compiled fragment in the translation cache instead (translating
// the unit first if it has not been), at real CPL 1 under shadow page tables. Fragments leave
// only through callouts: an open jump whose target is not translated yet (translated, then the
// jump patched: chaining), an instruction the hypervisor emulates for the guest (a CR or
// descriptor-table access, I/O, hlt, iret, a segment load…), an indirect jump, call or return
// looked up, or a pending interrupt after sti/popf. Guest user code (virtual CPL 3) runs
// directly, as under trap-and-emulate.
//
// What still traps is what the shadow paging and the devices cause — hidden and true page
// faults, writes to guest page tables and to pages holding translated code (the fragments
// read from them are dropped when their bytes change), interrupts — and the guest's own
// exceptions. Every event delivered to the guest names a guest address: a fault or interrupt
// in a fragment is mapped back to the guest instruction it came from.

import {
  type DecodedInstruction,
  decode,
  type DecodeResult,
  SEG_CS,
  SEG_DS,
  SEG_SS,
} from '../../../isa/decoder';
import { encode } from '../../../isa/encoder';
import { type IsaVariant } from '../../../isa/types';
import {
  type Cpu,
  type DeliveryHook,
  type DeliverySource,
  type DirectGate,
  TripleFault,
} from '../../../machine/cpu';
import { CpuException, VECTOR, VECTOR_NAMES } from '../../../machine/exceptions';
import { type InterruptController } from '../../../machine/interfaces';
import { Interpreter } from '../../../machine/interpreter';
import { type Machine } from '../../../machine/machine';
import { PAGE_SHIFT } from '../../../machine/memory';
import { type HandlerFootprint, type RunMeter } from '../../../metrics/meter';
import {
  handlerFootprints,
  HYPERVISOR_BYTES,
  reservedArea,
  shadowPool,
} from '../../hypervisor-memory';
import { trapCause } from '../../instruction-cause';
import { reflectEvent } from '../../reflect';
import { ShadowPageTables } from '../../shadow-paging/shadow-page-tables';
import { chargeNestedWork, ShadowWriteWindow } from '../../shadow-paging/write-window';
import { GuestNotVirtualizable } from '../../technique';
import { VirtualCpu } from '../../virtual-cpu';
import { executeForGuest, MAX_ATTEMPTS } from '../../guest-instruction';
import {
  chargeTrap,
  handleShadowPageFault,
  type ShadowFaultHost,
  type TrapWork,
} from '../../shadow-paging/shadow-fault';
import {
  type CompiledCodeFragment,
  DELIVER_STUB,
  GATE_ESP1,
  GATE_SLOTS,
  GATE_SS1,
  GATE_STUB_BYTES,
  GATE_STUBS,
  GATE_TARGETS,
  GUEST_TSS,
  type JumpSite,
  PENDING_HOOK,
  RET_STUB,
  TC_AREA_BYTES,
  TranslationCache,
  VIRTUAL_IF,
  VIRTUAL_IOPL,
  WINDOW_BASE,
  WINDOW_SLOT,
  WRITABLE_WINDOW_PAGES,
} from './translation-cache';
import {
  CALLOUT_BYTES,
  compileUnit,
  FALL_THROUGH_EXIT,
  type GuestInstruction,
  readUnit,
  type TranslatorStatistics,
  unitNeeds,
} from './translator';

const HANDLERS = [
  ['dispatch', 512],
  ['translate', 4096],
  ['callout', 256],
  ['emulate', 3072],
  ['reflect', 1536],
  ['shadowFill', 2048],
  ['shadowSync', 1536],
  ['shadowSwitch', 1024],
] as const;
type HandlerName = (typeof HANDLERS)[number][0];

/** adaptive translation: a copied instruction that takes this many protected-write faults is
 *  retranslated into a callout … */
const ADAPT_AFTER = 4;
/** … and back into a copy after this many callouts in a row that wrote nothing protected */
const ADAPT_BACK = 64;
const ESP = 4;
const FLAG_IF = 0x200;

/** What the translator and its cache did in one run (RunResult.binaryTranslation). */
export interface BinaryTranslationTally extends TranslatorStatistics {
  fragmentBytes: number;
  cacheBytes: number;
  chainsPatched: number;
  fallThroughsElided: number;
  callouts: Record<string, number>;
  invalidations: number;
  retranslations: number;
  flushes: number;
  directGateEntries: number;
}

/**
 * A direct gate: the hypervisor's IDT entry for a vector user code raises with `int`, pointing
 * straight at the fragment of the guest's handler (through an entry stub that clears the
 * virtual IF, for an interrupt gate), so that a system call enters the translated kernel
 * without a world switch — the lecture's "it does not incur context switch penalties" (§6).
 * It stands for the guest's gate as read when armed: the frame holding that gate is traced
 * (write-protected like translated code); a write that changes it, a new IDTR or new paging
 * (a CR0/CR3/CR4 load, invlpg) after which the guest's gate is no longer at that place, or
 * the fragment's invalidation disarms it; the next such int then traps and arms it again.
 */
interface ArmedGate {
  readonly vector: number;
  /** the guest's gate descriptor, its two dwords */
  readonly low: number;
  readonly high: number;
  /** guest-physical address of the gate descriptor, and its frame (traced) */
  readonly phys: number;
  readonly frame: number;
  readonly fragment: CompiledCodeFragment;
  /** where the CPU enters the cache: an entry stub (interrupt gate) or the fragment */
  readonly entry: number;
}

export class BinaryTranslationHypervisor implements DeliveryHook, ShadowFaultHost {
  readonly technique = 'binary translation';
  readonly vcpu: VirtualCpu;
  readonly shadow: ShadowPageTables;
  readonly tc: TranslationCache;
  private readonly cpu: Cpu;
  readonly executor: Interpreter;
  private readonly handlers: Record<HandlerName, HandlerFootprint>;
  readonly writes: ShadowWriteWindow;
  private handling = false;
  private readonly translator: TranslatorStatistics = {
    units: 0,
    guestInstructions: 0,
    ident: 0,
    controlFlow: 0,
    inline: 0,
    callout: 0,
  };
  private readonly calloutsByKind = new Map<string, number>();
  /** the fragment being run was dropped by a write it made: leave it at the next instruction */
  private runningInvalidated = false;
  /** the guest kernel's code selector the cache was translated for (reads of CS show it) */
  private cacheCs = -1;
  /** whether the cache was translated for a guest DS of base 0 (see checkFlatSegments) */
  private cacheFlatData = true;
  private pendingHook = RET_STUB;
  /** adaptive translation (Adams & Agesen §3.3): guest instructions translated as callouts
   *  because they keep writing protected pages, their fault counts, and their quiet streaks */
  private readonly adaptive = new Set<number>();
  private readonly protectedFaults = new Map<number, number>();
  private readonly quietCallouts = new Map<number, number>();
  private retranslations = 0;
  /** writes the hypervisor let through to protected pages (page tables, translated code) */
  private protectedWrites = 0;
  /** direct gates by vector, and their entry-stub slots */
  private readonly gates = new Map<number, ArmedGate>();
  private readonly gateSlots = new Map<number, number>();
  private guestTssSlot = 0;

  constructor(
    readonly machine: Machine,
    private readonly meter: RunMeter,
    private readonly isa: IsaVariant,
  ) {
    this.cpu = machine.cpu;
    const guestBytes = machine.guestMemoryBytes;
    if (machine.memory.size < guestBytes + HYPERVISOR_BYTES) {
      throw new Error('binary translation needs its hypervisor region above the guest RAM');
    }
    this.vcpu = new VirtualCpu(this.cpu, { idtrBase: guestBytes, idtrLimit: 0x7ff });
    this.shadow = new ShadowPageTables(
      this.cpu,
      machine.memory,
      guestBytes,
      shadowPool(guestBytes, TC_AREA_BYTES),
    );
    this.tc = new TranslationCache(
      machine.memory,
      reservedArea(guestBytes, TC_AREA_BYTES),
      CALLOUT_BYTES,
      encode('ret', [], 0).bytes,
    );
    this.tc.onFrameUsed = (frame) => this.shadow.protectCode(frame);
    this.tc.onFrameReleased = (frame) => this.shadow.unprotectCode(frame);
    this.writes = new ShadowWriteWindow(this.cpu, this.shadow);
    this.writes.onCodeWritten = (frame) => this.codeWritten(frame);
    this.executor = new Interpreter(this.cpu);
    this.handlers = handlerFootprints('binary-translation', guestBytes, HANDLERS);
  }

  /** Take over a CPU in the guest's boot state and start running the kernel translated. */
  boot(): void {
    const cpu = this.cpu;
    this.vcpu.adopt();
    const pages = new Map<number, { hostPage: number; writable: boolean }>();
    const hostFirst = this.tc.hostBase >>> PAGE_SHIFT;
    for (let i = 0; i < TC_AREA_BYTES >>> PAGE_SHIFT; i++) {
      pages.set((WINDOW_BASE >>> PAGE_SHIFT) + i, {
        hostPage: hostFirst + i,
        writable: WRITABLE_WINDOW_PAGES.has(i),
      });
    }
    this.shadow.reserveHostWindow(WINDOW_SLOT, pages);
    cpu.cr3 = this.shadow.switchTo(this.vcpu.paging);
    cpu.flushTlb();
    this.shadow.tlbFlushed();
    cpu.hook = this;
    this.tc.write32(PENDING_HOOK, RET_STUB);
    const pic = this.machine.pic;
    const tc = this.tc;
    // the virtual interrupt window: the virtual IF is in the monitor's data page (fragments
    // set it inline); in a fragment, only where a guest instruction starts
    const window: InterruptController = {
      hasInterrupt: () => {
        const pending = pic.hasInterrupt();
        const hook = pending ? DELIVER_STUB : RET_STUB;
        if (hook !== this.pendingHook) {
          this.pendingHook = hook;
          tc.write32(PENDING_HOOK, hook);
        }
        if (!pending || (tc.read32(VIRTUAL_IF) & FLAG_IF) === 0) return false;
        return cpu.cpl !== 1 || tc.isBoundary(cpu.eip);
      },
      acknowledge: () => pic.acknowledge(),
    };
    cpu.pic = window;
    this.pushFlags();
    this.dispatch();
  }

  // ---- the virtual flags in the monitor's data page --------------------------------------------
  private pullFlags(): void {
    this.vcpu.interruptFlag = (this.tc.read32(VIRTUAL_IF) & FLAG_IF) !== 0;
    this.vcpu.iopl = (this.tc.read32(VIRTUAL_IOPL) >>> 12) & 3;
  }

  private pushFlags(): void {
    this.tc.write32(VIRTUAL_IF, this.vcpu.interruptFlag ? FLAG_IF : 0);
    this.tc.write32(VIRTUAL_IOPL, this.vcpu.iopl << 12);
  }

  // ---- the trap entry -------------------------------------------------------------------------
  intercept(_cpu: Cpu, vector: number, errorCode: number | undefined, source: DeliverySource) {
    if (this.handling) throw new Error('binary translation: a trap while handling a trap');
    this.handling = true;
    const cpu = this.cpu;
    try {
      this.pullFlags();
      this.vcpu.syncFromCpu();
      // a direct gate enters the cache at CPL 1 without the hypervisor: kernel code again
      if (cpu.cpl === 1 && this.tc.inWindow(cpu.eip)) this.vcpu.cpl = 0;
      const start = cpu.insnStart;
      const fromUser = source === 'software' && cpu.cpl === 3;
      if (source === 'software' && this.tc.inWindow(start)) {
        this.callout(start);
      } else if (source === 'external') {
        this.trap(`irq ${this.machine.pic.lastIrq}`, 'reflect', [['vmm.reflect', 1]]);
        this.reflect(vector, undefined, 'external');
      } else if (source === 'software') {
        this.trap(`int 0x${vector.toString(16)}`, 'reflect', [['vmm.reflect', 1]]);
        this.reflect(vector, undefined, 'software');
      } else if (vector === VECTOR.PF) {
        this.pageFault(cpu.cr2, errorCode ?? 0);
      } else if (vector === VECTOR.GP && !this.tc.contains(start)) {
        if (cpu.cpl === 1) {
          this.notVirtualizable(`guest kernel code ran untranslated at EIP=0x${hex(start)}`);
        }
        this.emulateUser();
      } else {
        // the guest's own exception, raised by a copied instruction or by its user code
        this.trap(`${exceptionName(vector)} reflect`, 'reflect', [['vmm.reflect', 1]]);
        this.reflect(vector, errorCode, 'exception');
      }
      this.dispatch();
      this.tc.applySeams();
      if (fromUser && this.vcpu.cpl === 0) this.armGate(vector);
      this.pushFlags();
      this.syncGateStack();
    } finally {
      this.handling = false;
    }
    return true;
  }

  // ---- direct gates -----------------------------------------------------------------------------
  /** The CPU asks before it traps a software interrupt: through a direct gate, if armed. */
  directGate(vector: number, source: DeliverySource): DirectGate | undefined {
    if (this.handling || source !== 'software' || this.cpu.cpl !== 3) return undefined;
    const g = this.gates.get(vector);
    if (!g) return undefined;
    if (!g.fragment.valid) {
      this.disarm(g);
      return undefined;
    }
    // user code runs with the real IF set and IOPL 0: what the CPU pushes is the guest's
    // flags only while the virtual ones are the same (else the hypervisor builds the frame)
    const tc = this.tc;
    if (tc.read32(VIRTUAL_IF) !== FLAG_IF || tc.read32(VIRTUAL_IOPL) !== 0) return undefined;
    const ss = tc.read32(GATE_SS1);
    if ((ss & 0xfffc) === 0) return undefined;
    return {
      cs: this.cacheCs,
      codeBase: 0,
      eip: g.entry,
      cpl: 1,
      ss,
      esp: tc.read32(GATE_ESP1),
    };
  }

  /**
   * User code's `int vector` was just delivered to the guest's handler, which the CPU is about
   * to run from the cache: arm a direct gate for it when the guest's gate allows one (a
   * present 32-bit interrupt or trap gate of DPL 3 into the kernel code segment the cache is
   * translated for, flat, with a TSS to take the stack from).
   */
  private armGate(vector: number): void {
    const cpu = this.cpu;
    const vcpu = this.vcpu;
    const known = this.gates.get(vector);
    if (known) {
      if (known.fragment.valid) return;
      this.disarm(known);
    }
    if (vector * 8 + 7 > vcpu.idtrLimit || this.guestTss() === 0) return;
    const f = this.tc.fragmentAt(cpu.eip);
    if (!f?.valid || f.tcStart !== cpu.eip) return;
    const at = (vcpu.idtrBase + vector * 8) >>> 0;
    const phys = this.codePhysical(at);
    if (phys === undefined || phys + 8 > this.machine.guestMemoryBytes || (phys & 7) !== 0) return;
    const memory = this.machine.memory;
    const low = memory.read32(phys);
    const high = memory.read32(phys + 4);
    const type = (high >>> 8) & 0x1f;
    const selector = low >>> 16;
    const offset = ((high & 0xffff0000) | (low & 0xffff)) >>> 0;
    if ((type !== 0x0e && type !== 0x0f) || (high & 0x8000) === 0) return;
    if (((high >>> 13) & 3) !== 3 || (selector & 0xfffc) !== this.cacheCs) return;
    if (offset !== f.guestEip) return;
    let entry = f.tcStart;
    if (type === 0x0e) {
      // an interrupt gate clears IF: the entry stub clears the virtual one (the real gate is
      // of trap type; no interrupt is taken in the stub, which starts no guest instruction)
      let slot = this.gateSlots.get(vector);
      if (slot === undefined) {
        slot = this.gateSlots.size;
        if (slot >= GATE_SLOTS) return;
        this.gateSlots.set(vector, slot);
        const stub = GATE_STUBS + slot * GATE_STUB_BYTES;
        this.tc.writeBytes(stub, [
          ...encode('mov', [absolute(VIRTUAL_IF), immediate32(0)], stub).bytes,
          ...encode('jmp', [absolute(GATE_TARGETS + slot * 4)], stub).bytes,
        ]);
      }
      this.tc.write32(GATE_TARGETS + slot * 4, f.tcStart);
      entry = GATE_STUBS + slot * GATE_STUB_BYTES;
    }
    const frame = phys >>> PAGE_SHIFT;
    this.shadow.protectCode(frame);
    this.gates.set(vector, { vector, low, high, phys, frame, fragment: f, entry });
  }

  private disarm(g: ArmedGate): void {
    if (this.gates.get(g.vector) !== g) return;
    this.gates.delete(g.vector);
    this.shadow.unprotectCode(g.frame);
  }

  /**
   * The guest's IDT may have moved (a new IDTR) or be mapped elsewhere (new paging, an invlpg):
   * a gate stays armed where the guest's gate descriptor is still the one it was armed from,
   * at the same guest-physical place (its frame is traced, so its bytes are the same).
   */
  private revalidateGates(): void {
    const vcpu = this.vcpu;
    for (const g of [...this.gates.values()]) {
      const inside = g.vector * 8 + 7 <= vcpu.idtrLimit;
      const at = (vcpu.idtrBase + g.vector * 8) >>> 0;
      if (!inside || this.codePhysical(at) !== g.phys) this.disarm(g);
    }
  }

  /** The linear base of the guest's TSS when it is a 32-bit one holding SS0:ESP0, else 0. */
  private guestTss(): number {
    const v = this.vcpu;
    const busyOrAvailable32 = v.trType === 9 || v.trType === 11;
    return v.trSel !== 0 && busyOrAvailable32 && v.trLimit >= 11 ? v.trBase >>> 0 : 0;
  }

  /**
   * Leaving the hypervisor: the TSS base the fragments' returns to user code read, and, when
   * the guest is about to run user code now, the gates' stack (what those returns copy).
   */
  private syncGateStack(): void {
    const tss = this.guestTss();
    if (tss !== this.guestTssSlot) {
      this.guestTssSlot = tss;
      this.tc.write32(GUEST_TSS, tss);
    }
    if (this.vcpu.cpl !== 3) return;
    const esp = tss === 0 ? undefined : this.guestRead32(tss + 4);
    const ss = tss === 0 ? undefined : this.guestRead32(tss + 8);
    this.tc.write32(GATE_ESP1, esp ?? 0);
    this.tc.write32(GATE_SS1, esp === undefined || ss === undefined ? 0 : ss & 0xffff);
  }

  /** A dword of guest memory at a kernel linear address (undefined: not mapped). */
  private guestRead32(linear: number): number | undefined {
    if (((linear >>> 0) & 0xfff) > 0xffc) return undefined;
    const phys = this.codePhysical(linear >>> 0);
    if (phys === undefined || phys + 4 > this.machine.guestMemoryBytes) return undefined;
    return this.machine.memory.read32(phys);
  }

  // ---- running the guest kernel from the cache -------------------------------------------------
  /** Where the guest is to run kernel code at a guest address, run its fragment instead. */
  private dispatch(): void {
    const cpu = this.cpu;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (this.vcpu.cpl !== 0) return;
      if (this.tc.inWindow(cpu.eip)) {
        if (!this.runningInvalidated || !this.tc.contains(cpu.eip)) return;
        // the fragment running dropped itself: go on from the guest's next instruction
        this.runningInvalidated = false;
        cpu.eip = this.guestAddress(cpu.eip);
        continue;
      }
      this.checkFlatSegments();
      const f = this.fragmentFor(cpu.eip);
      if (f) {
        cpu.eip = f.tcStart;
        return;
      }
      // the kernel's next instruction cannot be read: its own page fault on the fetch
      const linear = cpu.eip;
      const code = this.guestFetchFault(linear);
      this.trap('#PF true', 'shadowFill', [
        ['vmm.shadowFill', 1],
        ['vmm.reflect', 1],
      ]);
      this.vcpu.cr2 = linear;
      cpu.insnStart = linear;
      this.reflect(VECTOR.PF, code, 'exception');
    }
    throw new TripleFault(cpu.eip, 'binary translation: the guest kernel faults on every fetch');
  }

  private checkFlatSegments(): void {
    const cpu = this.cpu;
    const cs = cpu.segSel[SEG_CS]! & 0xfffc;
    if (cpu.segBase[SEG_CS] !== 0) {
      this.notVirtualizable(
        `the guest kernel runs with CS base 0x${hex(cpu.segBase[SEG_CS]!)}: fragments are placed ` +
          'for a flat code segment',
      );
    }
    // a DS that is not flat: the inline sequences (which address the monitor's data through
    // DS) become callouts, in a cache translated afresh
    const flat = cpu.segBase[SEG_DS] === 0;
    if (flat !== this.cacheFlatData) {
      this.flush();
      this.cacheFlatData = flat;
    }
    if (cs !== this.cacheCs) {
      // reads of CS were translated for the old selector
      if (this.cacheCs >= 0) this.flush();
      this.cacheCs = cs;
    }
  }

  /** The live fragment for guest address `eip`, translated now if need be; undefined when
   *  the guest cannot fetch its first instruction. */
  private fragmentFor(eip: number, elide?: JumpSite): CompiledCodeFragment | undefined {
    const known = this.tc.lookup(eip);
    if (known && this.stillTheSame(known)) return known;
    if (known) this.tc.invalidate(known, FALL_THROUGH_EXIT);
    return this.translate(eip, elide);
  }

  /** Whether the guest's mapping of a fragment's start still leads to the bytes translated. */
  private stillTheSame(f: CompiledCodeFragment): boolean {
    const phys = this.codePhysical(f.guestEip);
    return phys === f.pieces[0]!.phys;
  }

  private translate(eip: number, elide?: JumpSite): CompiledCodeFragment | undefined {
    const context = { adaptive: this.adaptive, flatData: this.cacheFlatData };
    const unit = readUnit(eip, (e) => this.readGuestInstruction(e), this.isa, context);
    if (!unit) return undefined;
    if (elide && this.tc.elisionPoint(elide) !== undefined) this.tc.retract(elide);
    const needs = unitNeeds(unit, this.isa, context);
    let placement = this.tc.reserve(needs.bytes, needs.stubs);
    if (!placement) {
      this.flush();
      placement = this.tc.reserve(needs.bytes, needs.stubs);
      if (!placement) throw new Error('a translation unit larger than the whole cache');
    }
    const self: { fragment: CompiledCodeFragment | undefined } = { fragment: undefined };
    const compiled = compileUnit(
      unit,
      placement,
      this.cacheCs,
      this.isa,
      (g) => this.tc.lookup(g),
      self,
      context,
    );
    const guestBytes = new Uint8Array(unit.instructions.flatMap((gi) => [...gi.bytes]));
    const f = this.tc.install({
      guestEip: unit.start,
      guestBytes,
      pieces: unit.instructions.flatMap((gi) => gi.pieces),
      tcStart: placement.start,
      instructions: compiled.instructions,
      sites: compiled.sites,
      fallThrough: compiled.fallThrough,
      bytes: compiled.bytes,
      callouts: compiled.callouts,
      stubCode: compiled.stubCode,
      owners: compiled.owners,
    });
    self.fragment = f;
    for (const [site, to] of compiled.chains) this.tc.link(site, to);
    const s = this.translator;
    s.units++;
    s.guestInstructions += unit.instructions.length;
    for (const t of compiled.instructions) {
      if (t.treatment === 'ident') s.ident++;
      else if (t.treatment === 'control-flow') s.controlFlow++;
      else if (t.treatment === 'inline') s.inline++;
      else s.callout++;
    }
    this.meter.charge('bt.translate', unit.instructions.length);
    this.meter.runHandler(this.handlers.translate);
    return f;
  }

  private flush(): void {
    this.tc.flush();
    // every traced frame is ordinary memory again, the gates' with the rest
    this.shadow.unprotectAllCode();
    this.gates.clear();
  }

  // ---- reading guest code ---------------------------------------------------------------------
  /** The guest-physical address behind a kernel code address, filling the shadow on the way;
   *  undefined when the guest's own tables do not map it. */
  private codePhysical(linear: number): number | undefined {
    const cpu = this.cpu;
    for (let attempt = 0; attempt < 4; attempt++) {
      try {
        return cpu.translate(linear >>> 0, false, false);
      } catch (e) {
        if (!(e instanceof CpuException) || e.vector !== VECTOR.PF) throw e;
        const r = this.shadow.resolve(linear >>> 0, false, false, this.vcpu.paging);
        if (r.kind !== 'mapped') return undefined;
        this.meter.charge('vmm.shadowFill');
        cpu.invalidatePage(linear >>> 0);
      }
    }
    return undefined;
  }

  private readGuestInstruction(eip: number): GuestInstruction | null {
    if (this.tc.inWindow(eip)) return null;
    const bytes: number[] = [];
    const pieces: { phys: number; length: number }[] = [];
    const memory = this.machine.memory;
    const guestBytes = this.machine.guestMemoryBytes;
    let failed = false;
    const source = {
      byteAt: (linear: number): number => {
        const phys = this.codePhysical(linear);
        if (phys === undefined || phys >= guestBytes) {
          failed = true;
          return -1;
        }
        const last = pieces[pieces.length - 1];
        if (last && last.phys + last.length === phys) last.length++;
        else pieces.push({ phys, length: 1 });
        const b = memory.read8(phys);
        bytes.push(b);
        return b;
      },
    };
    const result = decodeAt(source, eip);
    if (failed && (!result.ok || bytes.length === 0)) return null;
    if (!result.ok) return bytes.length === 0 ? null : { eip, insn: undefined, bytes, pieces };
    return { eip, insn: result.insn, bytes: bytes.slice(0, result.insn.length), pieces };
  }

  /** The error code of the guest's fault fetching at `linear` (its tables do not map it). */
  private guestFetchFault(linear: number): number {
    const r = this.shadow.resolve(linear, false, false, this.vcpu.paging);
    return r.kind === 'guest-fault' ? r.errorCode : 0;
  }

  // ---- callouts -------------------------------------------------------------------------------
  private callout(at: number): void {
    const cpu = this.cpu;
    const c = this.tc.callout(at);
    if (!c) throw new Error(`binary translation: no callout at 0x${hex(at)}`);
    // the callout's int is the hypervisor's entry, not a guest instruction (an emulated
    // instruction is counted once, by its emulation)
    if (c.kind !== 'emulate') cpu.instructions--;
    switch (c.kind) {
      case 'exit': {
        const site = c.site;
        const known = this.tc.lookup(site.target);
        const found = known !== undefined && this.stillTheSame(known);
        this.calloutWork(found ? 'chain' : 'translate', found ? 'callout' : 'translate', [
          ['bt.chain', 1],
        ]);
        const to = found ? known : this.fragmentFor(site.target, site);
        if (!to) {
          // the target's first instruction cannot be fetched: the guest's fault, there
          cpu.eip = site.target;
          return;
        }
        if (site.elided) this.tc.elided(site, to);
        else if (site.from.valid) this.tc.link(site, to);
        cpu.eip = to.tcStart;
        return;
      }
      case 'pending': {
        // `call [PENDING_HOOK]` came here: return past it; the window delivers the interrupt
        const sp = cpu.regs[ESP]!;
        cpu.eip = cpu.read32((cpu.segBase[SEG_SS]! + sp) >>> 0);
        cpu.regs[ESP] = (sp + 4) >>> 0;
        // end the batch: the CPU looks at the interrupt window when the next one starts
        cpu.breakBatch = true;
        this.calloutWork('pending-interrupt', 'callout', []);
        return;
      }
      case 'emulate': {
        cpu.eip = c.guestEip;
        cpu.insnStart = c.guestEip;
        const insn = this.instructionAt(c.guestEip);
        if (c.name === 'adaptive') {
          this.calloutWork(`adaptive:${insn ? trapCause(cpu, insn) : '?'}`, 'emulate', [
            ['vmm.emulate', 1],
          ]);
          const before = this.protectedWrites;
          executeForGuest(this, true, insn);
          this.adaptBack(c.guestEip, at, this.protectedWrites !== before);
          return;
        }
        if (c.name === 'lookup:ret' || c.name === 'lookup:call' || c.name === 'lookup:jmp') {
          // the inline lookup missed: do the transfer for it, and remember where it went
          this.calloutWork(c.name, 'callout', [['bt.lookup', 1]]);
          executeForGuest(this, true, insn);
          const target = cpu.eip;
          this.dispatch();
          const f = this.vcpu.cpl === 0 ? this.tc.fragmentAt(cpu.eip) : undefined;
          if (f && f.tcStart === cpu.eip && f.guestEip === target)
            this.tc.rememberReturn(target, f);
          return;
        }
        if (c.name.startsWith('lookup:')) {
          this.calloutWork(c.name, 'callout', [['bt.lookup', 1]]);
        } else {
          const work: [string, number][] = [['vmm.emulate', 1]];
          if (insn?.form.op === 'mov-to-cr' && insn.reg === 3) work.push(['vmm.shadowSwitch', 1]);
          this.calloutWork(`emulate:${insn ? trapCause(cpu, insn) : '#UD'}`, 'emulate', work);
        }
        const v = this.vcpu;
        const before = [v.cr0, v.cr3, v.cr4, v.idtrBase, v.idtrLimit];
        executeForGuest(this, true, insn);
        const after = [v.cr0, v.cr3, v.cr4, v.idtrBase, v.idtrLimit];
        if (insn?.form.mnemonic === 'invlpg' || after.some((x, i) => x !== before[i]))
          this.revalidateGates();
        return;
      }
    }
  }

  private instructionAt(eip: number): DecodedInstruction | undefined {
    const cpu = this.cpu;
    cpu.eip = eip;
    try {
      return cpu.fetch();
    } catch {
      return undefined;
    } finally {
      cpu.eip = eip;
    }
  }

  // ---- page faults ------------------------------------------------------------------------------
  private pageFault(linear: number, errorCode: number): void {
    handleShadowPageFault(this, linear, errorCode, {
      beforeGuestFault: (at, user) => {
        if (!user && this.tc.inWindow(at)) {
          this.notVirtualizable(
            `the guest kernel accessed 0x${hex(at)} at EIP=0x${hex(this.guestAddress(this.cpu.insnStart))}: ` +
              'the top 4 MiB of the address space belong to the translation cache (as to VMware’s monitor)',
          );
        }
      },
      tracedWriteCause: (frame) =>
        this.tc.fragmentsOf(frame).some((f) => f.valid)
          ? '#PF write to translated code'
          : '#PF write to a traced IDT gate',
      beforeProtectedWrite: (pageTable, traced) => {
        this.protectedWrites++;
        if (pageTable || traced) this.adaptOn(this.cpu.insnStart);
      },
    });
  }

  resolveNested(e: CpuException, savedCr2: number): boolean {
    const work = this.writes.resolveNested(e, savedCr2, this.vcpu.paging);
    if (work === undefined) return false;
    if (work === 'shadowSync' || work === 'writeOnce') this.protectedWrites++;
    chargeNestedWork(this.meter, work, this.handlers.shadowFill);
    return true;
  }

  // ---- adaptive translation ---------------------------------------------------------------------
  /**
   * A copied instruction in the cache took a protected-write fault (a guest page table, or a
   * page holding translated code): after ADAPT_AFTER of them it is retranslated into a
   * callout, which the hypervisor emulates without a trap.
   */
  private adaptOn(at: number): void {
    if (!this.tc.contains(at)) return;
    const f = this.tc.fragmentAt(at);
    const g = this.tc.guestAddress(at);
    if (!f?.valid || g === undefined) return;
    if (f.instructions.find((t) => t.guestEip === g)?.treatment !== 'ident') return;
    const n = (this.protectedFaults.get(g) ?? 0) + 1;
    this.protectedFaults.set(g, n);
    if (n < ADAPT_AFTER) return;
    this.protectedFaults.delete(g);
    this.adaptive.add(g);
    this.quietCallouts.set(g, 0);
    this.retranslate(f);
  }

  /** An adaptive callout ran: after ADAPT_BACK quiet ones in a row, a copy again. */
  private adaptBack(g: number, at: number, wrote: boolean): void {
    if (wrote) {
      this.quietCallouts.set(g, 0);
      return;
    }
    const quiet = (this.quietCallouts.get(g) ?? 0) + 1;
    this.quietCallouts.set(g, quiet);
    if (quiet < ADAPT_BACK) return;
    this.adaptive.delete(g);
    this.quietCallouts.delete(g);
    const f = this.tc.fragmentAt(at);
    if (f?.valid) this.retranslate(f);
  }

  private retranslate(f: CompiledCodeFragment): void {
    this.tc.invalidate(f, FALL_THROUGH_EXIT);
    this.meter.charge('bt.invalidate');
    this.retranslations++;
    if (f === this.tc.fragmentAt(this.cpu.insnStart)) this.runningInvalidated = true;
  }

  /** A guest write reached a frame of translated code: drop the fragments whose bytes changed
   *  (self-modifying or freshly loaded code then runs as it is now). */
  private codeWritten(frame: number): void {
    const memory = this.machine.memory;
    for (const g of [...this.gates.values()]) {
      if (g.frame !== frame) continue;
      if (memory.read32(g.phys) !== g.low || memory.read32(g.phys + 4) !== g.high) this.disarm(g);
    }
    const running = this.tc.fragmentAt(this.cpu.insnStart);
    for (const f of this.tc.fragmentsOf(frame)) {
      if (!f.valid) continue;
      let same = true;
      let k = 0;
      for (const p of f.pieces) {
        for (let i = 0; i < p.length && same; i++)
          same = memory.read8(p.phys + i) === f.guestBytes[k++];
        if (!same) break;
      }
      if (same) continue;
      this.tc.invalidate(f, FALL_THROUGH_EXIT);
      this.meter.charge('bt.invalidate');
      if (f === running) this.runningInvalidated = true;
    }
  }

  // ---- guest user code's #GP -------------------------------------------------------------------
  private emulateUser(): void {
    const insn = this.instructionAt(this.cpu.insnStart);
    this.trap(`#GP in user mode: ${insn ? trapCause(this.cpu, insn) : '?'}`, 'emulate', [
      ['vmm.emulate', 1],
    ]);
    executeForGuest(this, true, insn);
  }

  // ---- reflecting events into the guest --------------------------------------------------------
  /** The guest instruction a cache address stands for (a guest address passes unchanged). */
  private guestAddress(linear: number): number {
    if (!this.tc.contains(linear)) return linear;
    const g = this.tc.guestAddress(linear);
    if (g === undefined) {
      throw new Error(`binary translation: 0x${hex(linear)} is no translated guest instruction`);
    }
    return g;
  }

  reflect(vector: number, errorCode: number | undefined, source: DeliverySource): void {
    const cpu = this.cpu;
    const vcpu = this.vcpu;
    // the guest sees its own addresses: a fault or interrupt in a fragment happened at the
    // guest instruction it translates
    cpu.eip = this.guestAddress(cpu.eip);
    cpu.insnStart = this.guestAddress(cpu.insnStart);
    vcpu.enter();
    const savedCr2 = vcpu.cr2;
    try {
      reflectEvent(cpu, this.writes, vector, errorCode, source, (e) =>
        this.resolveNested(e, savedCr2),
      );
    } finally {
      vcpu.leave();
    }
  }

  private notVirtualizable(why: string): never {
    throw new GuestNotVirtualizable(`binary translation: ${why}`);
  }

  // ---- accounting -------------------------------------------------------------------------------
  trap(cause: string, handler: HandlerName, work: TrapWork): void {
    chargeTrap(this.meter, this.handlers.dispatch, cause, this.handlers[handler], work);
  }

  /** A callout from the cache: no world switch, the monitor's entry and the work it did. */
  private calloutWork(
    kind: string,
    handler: HandlerName,
    work: readonly (readonly [string, number])[],
  ): void {
    this.calloutsByKind.set(kind, (this.calloutsByKind.get(kind) ?? 0) + 1);
    this.meter.trap(
      `callout:${kind}`,
      [['bt.callout', 1], ...work.filter(([, n]) => n > 0)],
      this.handlers[handler],
    );
  }

  metrics(): BinaryTranslationTally {
    const t = this.tc.stats;
    return {
      ...this.translator,
      fragmentBytes: t.fragmentBytes,
      cacheBytes: this.tc.capacity,
      chainsPatched: t.chainsPatched,
      fallThroughsElided: t.fallThroughsElided,
      callouts: Object.fromEntries([...this.calloutsByKind].sort((a, b) => b[1] - a[1])),
      invalidations: t.invalidations,
      retranslations: this.retranslations,
      flushes: t.flushes,
      directGateEntries: this.cpu.directDeliveries,
    };
  }
}

const absolute = (disp: number) =>
  ({
    type: 'mem',
    size: 32,
    scale: 1,
    disp: { value: disp | 0, relocatable: false },
  }) as const;
const immediate32 = (value: number) =>
  ({ type: 'imm', value: { value, relocatable: false }, size: 32, strict: true }) as const;

function decodeAt(source: { byteAt(offset: number): number }, eip: number): DecodeResult {
  return decode(source, eip);
}

function hex(n: number): string {
  return (n >>> 0).toString(16);
}

function exceptionName(vector: number): string {
  return VECTOR_NAMES[vector] ?? `vector ${vector}`;
}
