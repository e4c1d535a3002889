// The translation cache (lecture §6; VMware's "TC"): where compiled code fragments live, in the
// hypervisor's own host-physical memory above the guest's RAM, reached by the CPU through the
// top 4 MiB of every address space (page-directory slot 1023, kept out of the guest's hands by
// the shadow page tables, as VMware kept its monitor at the top of the guest's address space).
// It owns the layout of that window, the fragments and the map from guest addresses to them,
// the open jumps and their patching (chaining), the callout sites, the map back from a
// translation-cache address to the guest instruction it stands for (precise exceptions and
// interrupts), and invalidation and flushing. What a fragment contains is the translator's.
//
// Window layout (linear, from WINDOW_BASE; the same offsets in the host area):
//   page 0  monitor constants, read-only to the guest kernel: the pending-interrupt hook
//   page 1  the virtual CPU's flags as fragments read and write them, and two scratch words
//   page 2  shared stubs: a `ret`, and the callout that delivers a pending interrupt
//   page 3… fragments, growing up from the bottom; exit stubs, growing down from the top

import {
  type DumpEvent,
  DUMP_VERSION,
  type DumpedFragment,
  type TranslationCacheDump,
} from '../../../../../shared/translation-cache-dump';
import { decodeBytes } from '../../../isa/decoder';
import { formatInstruction } from '../../../isa/disasm';
import { type PhysicalMemory } from '../../../machine/memory';

/** the page-directory slot of the window: the top 4 MiB of the linear address space */
export const WINDOW_SLOT = 1023;
export const WINDOW_BASE = 0xffc00000;
/** bytes of the window the cache uses (the host area of the same size lies below the
 *  hypervisor's handler text) */
export const TC_AREA_BYTES = 2 * 1024 * 1024;

const PAGE = 4096;
/** the pending-interrupt hook: the address `call [PENDING_HOOK]` goes to (RET_STUB or
 *  DELIVER_STUB) */
export const PENDING_HOOK = WINDOW_BASE;
/** the return-target cache, in the same read-only page: 256 negated guest return addresses
 *  and the cache addresses of their fragments, indexed by the address's low byte */
export const RETURN_TAGS = WINDOW_BASE + 0x400;
export const RETURN_TARGETS = WINDOW_BASE + 0x800;
export const RETURN_ENTRIES = 256;
/** the linear base of the guest's TSS (0 while it has none the direct gates can use), and,
 *  indexed by gate slot, the cache address an interrupt gate's entry stub jumps to */
export const GUEST_TSS = WINDOW_BASE + 4;
export const GATE_TARGETS = WINDOW_BASE + 0xc00;
/** the virtual IF (0 or 0x200) and IOPL (IOPL << 12), as EFLAGS bits */
export const VIRTUAL_IF = WINDOW_BASE + PAGE;
export const VIRTUAL_IOPL = WINDOW_BASE + PAGE + 4;
/** scratch words for the registers an inline sequence borrows */
export const SCRATCH0 = WINDOW_BASE + PAGE + 8;
export const SCRATCH1 = WINDOW_BASE + PAGE + 12;
/** where an inline return puts its target for the indirect jmp that leaves */
export const RETURN_TARGET = WINDOW_BASE + PAGE + 16;
/** the stack of a direct gate (the hypervisor's TSS.SS1:ESP1): the guest's TSS.SS0:ESP0,
 *  copied by every return to guest user code (SS 0: no usable stack, no direct gate) */
export const GATE_ESP1 = WINDOW_BASE + PAGE + 20;
export const GATE_SS1 = WINDOW_BASE + PAGE + 24;
export const RET_STUB = WINDOW_BASE + 2 * PAGE;
export const DELIVER_STUB = WINDOW_BASE + 2 * PAGE + 16;
/** entry stubs of direct gates for the guest's interrupt gates: the virtual IF cleared, then
 *  `jmp [GATE_TARGETS + 4 × slot]` (16 bytes each) */
export const GATE_STUBS = WINDOW_BASE + 2 * PAGE + 0x100;
export const GATE_STUB_BYTES = 16;
export const GATE_SLOTS = 240;
const ARENA_START = WINDOW_BASE + 3 * PAGE;
const ARENA_END = WINDOW_BASE + TC_AREA_BYTES;
/** pages of the window that the guest kernel's fragments may write */
export const WRITABLE_WINDOW_PAGES: ReadonlySet<number> = new Set([1]);

/** One guest instruction as translated: where it is and what became of it. */
export interface TranslatedInstruction {
  readonly guestEip: number;
  readonly guestLength: number;
  /** offset of its translation from the fragment's start, and its length there */
  readonly tcOffset: number;
  readonly tcLength: number;
  readonly treatment: Treatment;
  /** the guest instruction, disassembled */
  readonly text: string;
}

/** What the translator did with a guest instruction (lecture §6.2). */
export type Treatment = 'ident' | 'control-flow' | 'inline' | 'callout';

/** A jump out of a fragment to guest code: open (through its stub) until its target is
 *  translated, then patched to jump to the target's fragment directly. */
export interface JumpSite {
  readonly from: CompiledCodeFragment;
  readonly target: number;
  readonly kind: 'jump' | 'fall-through';
  /** linear address of the rel32 of a patchable jump (a jump site) */
  readonly relAt: number;
  /** linear address of the stub's callout: for a fall-through exit, the exit itself */
  readonly stub: number;
  /** the fragment the site jumps to once chained */
  linked: CompiledCodeFragment | undefined;
  /** a fall-through whose target fragment was placed right after it */
  elided: boolean;
}

/** A translation unit's compiled code fragment, placed in the cache. */
export interface CompiledCodeFragment {
  readonly id: number;
  readonly guestEip: number;
  /** the guest bytes translated, and the guest-physical address of each run of them */
  readonly guestBytes: Uint8Array;
  readonly pieces: readonly { readonly phys: number; readonly length: number }[];
  readonly tcStart: number;
  tcEnd: number;
  readonly instructions: readonly TranslatedInstruction[];
  readonly sites: readonly JumpSite[];
  readonly fallThrough: JumpSite | undefined;
  valid: boolean;
  /** sites elsewhere that jump straight here */
  readonly incoming: Set<JumpSite>;
}

/** What the hypervisor does when a fragment's callout instruction runs. */
export type Callout =
  | { readonly kind: 'exit'; readonly site: JumpSite }
  | {
      readonly kind: 'emulate';
      readonly guestEip: number;
      /** what the callout is counted as: `emulate:<mnemonic>` or `lookup:<flow>` */
      readonly name: string;
    }
  | { readonly kind: 'pending' };

export interface TranslationCacheStatistics {
  fragmentBytes: number;
  chainsPatched: number;
  fallThroughsElided: number;
  invalidations: number;
  flushes: number;
}

/** Where a fragment will go: the cache hands out room for one, and its stubs. */
export interface Placement {
  readonly start: number;
  readonly stubs: readonly number[];
}

export class TranslationCache {
  private top = ARENA_START;
  private stubTop = ARENA_END;
  private nextId = 0;
  /** the live fragment of each guest address */
  private readonly byGuest = new Map<number, CompiledCodeFragment>();
  /** fragments (live or not) whose translation read each guest frame */
  private readonly byFrame = new Map<number, Set<CompiledCodeFragment>>();
  private readonly callouts = new Map<number, Callout>();
  /** per byte of the arena: 1 + the guest address of the instruction it belongs to (0: none) */
  private readonly owner: Int32Array;
  /** per byte: 1 where a guest instruction's translation (or an exit) starts */
  private readonly boundary: Uint8Array;
  /** the fragments in the cache, in placement order (for the dump and for flushing) */
  private readonly fragments: CompiledCodeFragment[] = [];
  readonly stats: TranslationCacheStatistics = {
    fragmentBytes: 0,
    chainsPatched: 0,
    fallThroughsElided: 0,
    invalidations: 0,
    flushes: 0,
  };
  /** exits to write at the seams of dropped fragments (see invalidate) */
  private seams: {
    frag: CompiledCodeFragment;
    site: JumpSite;
    at: number;
    guest: number;
    exit: readonly number[];
  }[] = [];
  /** what happened, in order, for the dump's replay (bounded) */
  private readonly events: DumpEvent[] = [];
  private eventsDropped = 0;
  /** told of each guest frame the cache stops (or starts) holding translations of */
  onFrameReleased: (frame: number) => void = () => {};
  onFrameUsed: (frame: number) => void = () => {};

  constructor(
    private readonly memory: PhysicalMemory,
    /** host-physical address of the area behind WINDOW_BASE */
    readonly hostBase: number,
    /** the translator's callout instruction, for the shared pending-interrupt stub */
    calloutBytes: readonly number[],
    /** the translator's `ret`, for the other shared stub */
    retBytes: readonly number[],
  ) {
    this.owner = new Int32Array(TC_AREA_BYTES);
    this.boundary = new Uint8Array(TC_AREA_BYTES);
    memory.bytes.fill(0, hostBase, hostBase + TC_AREA_BYTES);
    this.writeBytes(RET_STUB, retBytes);
    this.writeBytes(DELIVER_STUB, calloutBytes);
    this.callouts.set(DELIVER_STUB, { kind: 'pending' });
  }

  get capacity(): number {
    return ARENA_END - ARENA_START;
  }

  get used(): number {
    return this.top - ARENA_START + (ARENA_END - this.stubTop);
  }

  /** Whether a linear address lies in the window's fragment arena. */
  contains(linear: number): boolean {
    return linear >= ARENA_START && linear < ARENA_END;
  }

  /** Whether a linear address lies anywhere in the window. */
  inWindow(linear: number): boolean {
    return linear >>> 0 >= WINDOW_BASE;
  }

  lookup(guestEip: number): CompiledCodeFragment | undefined {
    return this.byGuest.get(guestEip);
  }

  callout(linear: number): Callout | undefined {
    return this.callouts.get(linear);
  }

  /** The guest instruction a cache address belongs to (its address), or undefined. */
  guestAddress(linear: number): number | undefined {
    if (!this.contains(linear)) return undefined;
    const v = this.owner[linear - ARENA_START]!;
    return v === 0 ? undefined : (v - 1) >>> 0;
  }

  /** Whether an interrupt may be taken at this cache address: the start of a guest
   *  instruction's translation (or of an exit), so the guest sees a precise EIP. */
  isBoundary(linear: number): boolean {
    return this.contains(linear) && this.boundary[linear - ARENA_START] === 1;
  }

  /** The fragment whose bytes hold this address, or undefined. */
  fragmentAt(linear: number): CompiledCodeFragment | undefined {
    // fragments are placed in increasing order: binary search
    const list = this.fragments;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const f = list[mid]!;
      if (linear < f.tcStart) hi = mid - 1;
      else if (linear >= f.tcEnd) lo = mid + 1;
      else return f;
    }
    return undefined;
  }

  get allFragments(): readonly CompiledCodeFragment[] {
    return this.fragments;
  }

  // ---- placing ------------------------------------------------------------------------------
  /** Room for a fragment of at most `bytes` and `stubs` exit stubs (2 bytes each), or
   *  undefined when the cache is full (the caller flushes and asks again). */
  reserve(bytes: number, stubs: number): Placement | undefined {
    if (this.top + bytes > this.stubTop - stubs * 2) return undefined;
    const at: number[] = [];
    for (let i = 0; i < stubs; i++) {
      this.stubTop -= 2;
      at.push(this.stubTop);
    }
    return { start: this.top, stubs: at };
  }

  /**
   * Where a fall-through exit's own target can go instead: over the exit itself, when the
   * exit is the last thing in the cache (the fall-through then costs nothing: "elided").
   */
  elisionPoint(site: JumpSite): number | undefined {
    if (site.kind !== 'fall-through' || site.linked || !site.from.valid) return undefined;
    return site.stub + FALL_THROUGH_BYTES === this.top && site.from.tcEnd === this.top
      ? site.stub
      : undefined;
  }

  /** Give the room of an elided exit back: its target's fragment is placed there next. */
  retract(site: JumpSite): void {
    this.callouts.delete(site.stub);
    this.top = site.stub;
    site.from.tcEnd = site.stub;
    site.elided = true;
    this.stats.fallThroughsElided++;
  }

  /** The fragment placed over an elided exit: recorded for the replay. */
  elided(site: JumpSite, to: CompiledCodeFragment): void {
    this.record({ kind: 'elide', from: site.from.id, to: to.id });
  }

  private record(e: DumpEvent): void {
    if (this.events.length < EVENT_LIMIT) this.events.push(e);
    else this.eventsDropped++;
  }

  /** Put a translated fragment into the cache at its placement. */
  install(
    fragment: Omit<CompiledCodeFragment, 'id' | 'valid' | 'incoming' | 'tcEnd'> & {
      readonly bytes: readonly number[];
      readonly callouts: readonly (readonly [number, Callout])[];
      readonly stubCode: readonly (readonly [number, readonly number[], number])[];
      readonly owners: readonly (readonly [number, number, number, boolean])[];
    },
  ): CompiledCodeFragment {
    const f: CompiledCodeFragment = {
      id: this.nextId++,
      guestEip: fragment.guestEip,
      guestBytes: fragment.guestBytes,
      pieces: fragment.pieces,
      tcStart: fragment.tcStart,
      tcEnd: fragment.tcStart + fragment.bytes.length,
      instructions: fragment.instructions,
      sites: fragment.sites,
      fallThrough: fragment.fallThrough,
      valid: true,
      incoming: new Set(),
    };
    this.writeBytes(f.tcStart, fragment.bytes);
    for (const [at, code, target] of fragment.stubCode) {
      this.writeBytes(at, code);
      this.mark(at, code.length, target, true);
    }
    for (const [at, length, guest, first] of fragment.owners) this.mark(at, length, guest, first);
    for (const [at, c] of fragment.callouts) this.callouts.set(at, c);
    this.top = Math.max(this.top, f.tcEnd);
    this.stats.fragmentBytes += fragment.bytes.length + fragment.stubCode.length * 2;
    this.byGuest.set(f.guestEip, f);
    this.fragments.push(f);
    this.record({ kind: 'translate', fragment: f.id });
    for (const p of f.pieces) {
      const frame = p.phys >>> 12;
      let set = this.byFrame.get(frame);
      if (!set) this.byFrame.set(frame, (set = new Set()));
      if (set.size === 0) this.onFrameUsed(frame);
      set.add(f);
      const last = (p.phys + p.length - 1) >>> 12;
      if (last !== frame) {
        let s2 = this.byFrame.get(last);
        if (!s2) this.byFrame.set(last, (s2 = new Set()));
        if (s2.size === 0) this.onFrameUsed(last);
        s2.add(f);
      }
    }
    return f;
  }

  private mark(at: number, length: number, guest: number, first: boolean): void {
    const o = at - ARENA_START;
    this.owner.fill(guest + 1, o, o + length);
    this.boundary.fill(0, o, o + length);
    if (first) this.boundary[o] = 1;
  }

  // ---- the return-target cache -----------------------------------------------------------------
  /** A return to `guest` was looked up and found `to`: inline returns find it from now on. */
  rememberReturn(guest: number, to: CompiledCodeFragment): void {
    if (!to.valid || guest === 0) return;
    const i = guest & (RETURN_ENTRIES - 1);
    this.write32(RETURN_TAGS + i * 4, -guest | 0);
    this.write32(RETURN_TARGETS + i * 4, to.tcStart);
  }

  private forgetReturnsTo(tcStart: number | undefined): void {
    for (let i = 0; i < RETURN_ENTRIES; i++) {
      if (tcStart === undefined || this.read32(RETURN_TARGETS + i * 4) === tcStart) {
        this.write32(RETURN_TAGS + i * 4, 0);
        this.write32(RETURN_TARGETS + i * 4, 0);
      }
    }
  }

  // ---- chaining -----------------------------------------------------------------------------
  /** Patch an open jump to go straight to `to` (the lecture's jumps "filled in"). */
  link(site: JumpSite, to: CompiledCodeFragment): void {
    if (!site.from.valid || !to.valid || site.elided) return;
    if (site.kind === 'jump') {
      this.writeRel32(site.relAt, to.tcStart);
    } else {
      // the fall-through exit becomes a jmp rel32 to the target
      const rel = (to.tcStart - (site.stub + 5)) | 0;
      this.writeBytes(site.stub, [
        0xe9,
        rel & 0xff,
        (rel >>> 8) & 0xff,
        (rel >>> 16) & 0xff,
        (rel >>> 24) & 0xff,
      ]);
      this.callouts.delete(site.stub);
    }
    site.linked = to;
    to.incoming.add(site);
    this.stats.chainsPatched++;
    const from = site.from;
    const exit = site.kind === 'jump' ? from.sites.indexOf(site) : from.sites.length;
    this.record({ kind: 'chain', from: from.id, exit, to: to.id });
  }

  /** Put a site back to its stub: its target's fragment is gone. */
  private unlink(site: JumpSite, exit: readonly number[]): void {
    const to = site.linked;
    site.linked = undefined;
    to?.incoming.delete(site);
    if (!site.from.valid) return;
    if (site.kind === 'jump') {
      this.writeRel32(site.relAt, site.stub);
    } else {
      this.writeBytes(site.stub, exit);
      this.callouts.set(site.stub, { kind: 'exit', site });
    }
  }

  // ---- coherence ------------------------------------------------------------------------------
  /** Fragments whose translation read guest frame `frame`. */
  fragmentsOf(frame: number): readonly CompiledCodeFragment[] {
    return [...(this.byFrame.get(frame) ?? [])];
  }

  /**
   * Drop a fragment: no lookup finds it, every jump chained to it goes back through its stub
   * (an elided fall-through into it gets an exit written over its first bytes), and its
   * frames lose one translation. Its bytes stay until the cache is flushed.
   */
  invalidate(f: CompiledCodeFragment, exit: readonly number[]): void {
    if (!f.valid) return;
    f.valid = false;
    this.stats.invalidations++;
    this.forgetReturnsTo(f.tcStart);
    this.record({ kind: 'invalidate', fragment: f.id });
    if (this.byGuest.get(f.guestEip) === f) this.byGuest.delete(f.guestEip);
    for (const site of [...f.incoming]) this.unlink(site, exit);
    for (const site of f.sites) site.linked?.incoming.delete(site);
    f.fallThrough?.linked?.incoming.delete(f.fallThrough);
    for (const frag of this.fragments) {
      const ft = frag.fallThrough;
      if (ft?.elided && frag.valid && frag.tcEnd === f.tcStart) {
        // the predecessor runs straight into this one: it gets an exit at the seam, written
        // over this fragment's first bytes once the CPU is out of them (applySeams)
        this.seams.push({ frag, site: ft, at: f.tcStart, guest: f.guestEip, exit });
      }
    }
    const frames = new Set<number>();
    for (const p of f.pieces) {
      frames.add(p.phys >>> 12);
      frames.add((p.phys + p.length - 1) >>> 12);
    }
    for (const frame of frames) {
      const set = this.byFrame.get(frame);
      set?.delete(f);
      if (set?.size === 0) {
        this.byFrame.delete(frame);
        this.onFrameReleased(frame);
      }
    }
  }

  /**
   * Write the exits invalidation left for later: the fragment that ran straight into a dropped
   * one now leaves through its fall-through exit again. Called when the CPU no longer runs the
   * dropped fragment's bytes (the instruction that dropped it may have been one of them).
   */
  applySeams(): void {
    for (const { frag, site, at, guest, exit } of this.seams) {
      if (!frag.valid || !site.elided || frag.tcEnd !== at) continue;
      site.elided = false;
      this.writeBytes(at, exit);
      this.mark(at, exit.length, guest, true);
      this.callouts.set(at, { kind: 'exit', site });
      frag.tcEnd = at + FALL_THROUGH_BYTES;
    }
    this.seams = [];
  }

  /** Empty the whole cache (it is full): every fragment, stub and callout goes. */
  flush(): void {
    this.seams = [];
    this.forgetReturnsTo(undefined);
    for (const frame of this.byFrame.keys()) this.onFrameReleased(frame);
    this.byFrame.clear();
    this.byGuest.clear();
    this.callouts.clear();
    this.callouts.set(DELIVER_STUB, { kind: 'pending' });
    this.fragments.length = 0;
    this.owner.fill(0);
    this.boundary.fill(0);
    this.top = ARENA_START;
    this.stubTop = ARENA_END;
    this.stats.flushes++;
    this.record({ kind: 'flush' });
  }

  // ---- the dump -------------------------------------------------------------------------------
  /** What the cache holds and how it got there (shared/translation-cache-dump.ts). */
  dump(): TranslationCacheDump {
    return {
      dumpVersion: DUMP_VERSION,
      windowBase: WINDOW_BASE,
      cacheBytes: this.capacity,
      usedBytes: this.used,
      flushes: this.stats.flushes,
      fragments: this.fragments.map((f) => this.dumpFragment(f)),
      events: [...this.events],
      eventsDropped: this.eventsDropped,
    };
  }

  private dumpFragment(f: CompiledCodeFragment): DumpedFragment {
    const exits = [...f.sites, ...(f.fallThrough ? [f.fallThrough] : [])];
    const notes = new Map<number, string>();
    for (const site of exits) {
      const to = site.linked ? `fragment ${site.linked.id}` : 'open, through its stub';
      const at = site.kind === 'jump' ? site.relAt : site.stub;
      notes.set(at, `→ 0x${hex(site.target)} (${site.elided ? 'elided' : to})`);
    }
    let guestOffset = 0;
    const instructions = f.instructions.map((t) => {
      const guestBytes = f.guestBytes.subarray(guestOffset, guestOffset + t.guestLength);
      guestOffset += t.guestLength;
      const start = f.tcStart + t.tcOffset;
      const bytes = this.bytesOf(start, start + t.tcLength);
      const cache: { address: number; bytes: string; text: string }[] = [];
      for (let o = 0; o < bytes.length;) {
        const r = decodeBytes(bytes, o);
        const length = r.ok ? r.insn.length : 1;
        const address = start + o;
        let text = r.ok ? formatInstruction(r.insn, address) : '(bad)';
        const callout = this.callouts.get(address);
        if (callout) text += `  ; callout: ${calloutName(callout)}`;
        for (let b = address; b < address + length; b++) {
          const note = notes.get(b);
          if (note) text += `  ; ${note}`;
        }
        cache.push({ address, bytes: toHex(bytes.subarray(o, o + length)), text });
        o += length;
      }
      return {
        guestEip: t.guestEip,
        guestBytes: toHex(guestBytes),
        guestText: t.text,
        treatment: t.treatment,
        cache,
      };
    });
    return {
      id: f.id,
      guestEip: f.guestEip,
      tcStart: f.tcStart,
      tcEnd: f.tcEnd,
      valid: f.valid,
      instructions,
      exits: exits.map((site) => ({
        kind: site.kind,
        target: site.target,
        linkedTo: site.linked?.id ?? null,
        elided: site.elided,
      })),
    };
  }

  // ---- bytes --------------------------------------------------------------------------------
  writeBytes(linear: number, bytes: readonly number[]): void {
    const host = this.hostBase + (linear - WINDOW_BASE);
    // through the memory's own writes, so the CPU drops what it decoded from there
    for (let i = 0; i < bytes.length; i++) this.memory.write8(host + i, bytes[i]!);
  }

  writeRel32(relAt: number, target: number): void {
    const rel = (target - (relAt + 4)) | 0;
    this.writeBytes(relAt, [
      rel & 0xff,
      (rel >>> 8) & 0xff,
      (rel >>> 16) & 0xff,
      (rel >>> 24) & 0xff,
    ]);
  }

  read32(linear: number): number {
    return this.memory.read32(this.hostBase + (linear - WINDOW_BASE));
  }

  write32(linear: number, value: number): void {
    this.memory.write32(this.hostBase + (linear - WINDOW_BASE), value >>> 0);
  }

  /** The cache's bytes of [start, end), for the dump. */
  bytesOf(start: number, end: number): Uint8Array {
    const host = this.hostBase + (start - WINDOW_BASE);
    return this.memory.bytes.slice(host, host + (end - start));
  }
}

/** A fall-through exit's size: its callout, padded to the jmp rel32 it becomes. */
export const FALL_THROUGH_BYTES = 5;
/** events kept for the dump's replay */
const EVENT_LIMIT = 10_000;

function hex(n: number): string {
  return (n >>> 0).toString(16);
}

function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function calloutName(c: Callout): string {
  return c.kind === 'exit'
    ? `exit to 0x${hex(c.site.target)}`
    : c.kind === 'pending'
      ? 'pending interrupt'
      : c.name;
}
