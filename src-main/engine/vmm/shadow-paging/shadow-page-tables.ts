// Shadow page tables (lecture §4, "virtualization of memory management"): the page tables the
// real MMU walks while a deprivileged guest runs. The guest keeps its own tables, mapping its
// virtual addresses to guest-physical ones; the hypervisor builds, lazily and from those, the
// shadow tables that map the same virtual addresses to host-physical memory — only ever to the
// guest's own RAM, never to the hypervisor's region above it (resource control).
//
// A real page fault is either *hidden* (the guest's tables allow the access, the shadow just
// has no entry yet: fill it and restart) or *true* (the guest's tables forbid it: reflect a #PF
// into the guest with the error code its own MMU would have produced). Every guest page that
// serves as a page directory or page table for a live shadow is write-protected in the shadow,
// so a guest PTE write traps; the hypervisor lets that one write through, then compares the
// page with its last copy and drops the shadow entries derived from what changed. A CR3 load
// switches to the shadow directory of the new guest directory (kept in a small cache).
//
// The guest's accessed and dirty bits are maintained as its own MMU would: A when a shadow
// entry is filled (a TLB refill, natively), D on the first write, caught by mapping clean
// pages read-only. Stale TLB entries stay stale until the guest flushes them, as natively.

import { type Cpu, CR0_PG, CR0_WP, CR4_PSE } from '../../machine/cpu';
import { type PhysicalMemory, PAGE_SHIFT } from '../../machine/memory';

const PTE_P = 1;
const PTE_W = 2;
const PTE_U = 4;
const PTE_A = 0x20;
const PTE_D = 0x40;
const PDE_PS = 0x80;
const ENTRIES = 1024;
/** the directory key used while the guest runs with paging off: linear = guest-physical */
const PHYSICAL_MODE = -1;

/** The guest's paging registers as the virtual CPU holds them. */
export interface GuestPagingState {
  readonly cr0: number;
  readonly cr3: number;
  readonly cr4: number;
}

export type FaultResolution =
  /** hidden fault: the shadow now maps the page; restart the instruction */
  | { readonly kind: 'mapped' }
  /** true fault: the guest's own tables forbid the access */
  | { readonly kind: 'guest-fault'; readonly errorCode: number }
  /** the guest may write, but the shadow keeps the page read-only (a guest page table, a page
   *  holding code a binary translator translated, or a read-only page written by the guest
   *  kernel with CR0.WP clear): emulate that one write */
  | {
      readonly kind: 'write-protected';
      readonly frame: number;
      readonly pageTable: boolean;
      readonly code: boolean;
    }
  /** a write to guest-physical memory beyond its RAM (an unassigned bus: the write is lost) */
  | { readonly kind: 'unassigned-write'; readonly address: number };

interface ShadowTable {
  /** host page number of the shadow page table */
  readonly page: number;
  readonly directory: ShadowDirectory;
  readonly index: number;
  /** the guest page-table frame it shadows; -1 for a 4 MiB page or physical mode */
  readonly source: number;
}

interface ShadowDirectory {
  /** guest page-directory frame, or PHYSICAL_MODE */
  readonly key: number;
  readonly page: number;
  readonly tables: (ShadowTable | undefined)[];
  lastUse: number;
}

export interface ShadowStatistics {
  directoriesBuilt: number;
  tablesBuilt: number;
  entriesFilled: number;
  /** guest page-table pages resynchronised after a trapped write */
  syncs: number;
  /** shadow directories dropped to make room */
  evictions: number;
}

export class ShadowPageTables {
  private readonly guestPages: number;
  private readonly free: number[] = [];
  private readonly directories = new Map<number, ShadowDirectory>();
  private current: ShadowDirectory | undefined;
  private useClock = 0;
  /** the guest's CR4 when the live shadow was chosen (PSE decides what a PDE means) */
  private guestCr4 = 0;
  /** guest frames serving as a directory or table of a live shadow: count of such uses */
  private readonly protectedFrames = new Map<number, number>();
  /** each protected frame's contents when last synchronised */
  private readonly snapshots = new Map<number, Uint32Array>();
  /** shadow tables built from each guest page-table frame */
  private readonly derived = new Map<number, Set<ShadowTable>>();
  /** writable shadow entries per guest frame: host address of the entry → linear address */
  private readonly writable = new Map<number, Map<number, number>>();
  /** frames whose writable mapping was dropped while the real TLB may still hold it */
  private readonly staleWritable = new Set<number>();
  readonly stats: ShadowStatistics = {
    directoriesBuilt: 0,
    tablesBuilt: 0,
    entriesFilled: 0,
    syncs: 0,
    evictions: 0,
  };

  /** guest frames the hypervisor owns (its descriptor tables): never mapped writable */
  private readonly pinned = new Set<number>();
  /** the page-directory slot the hypervisor keeps for itself (-1: none), and what it maps
   *  there: linear page number → a pinned guest frame or a host page of the hypervisor's
   *  region, supervisor-only, read-only unless said otherwise */
  private windowSlot = -1;
  private readonly windowPages = new Map<number, { frame: number; writable: boolean }>();
  /** a host window's pages that map nothing of the hypervisor's look like the unassigned bus
   *  to the guest kernel (all ones, writes lost), as memory beyond its RAM does */
  private windowRestUnassigned = false;
  /** guest frames holding code a binary translator has translated: count of fragments */
  private readonly codeFrames = new Map<number, number>();

  /** host page standing for guest-physical memory beyond RAM: all ones, mapped read-only */
  private readonly unassignedPage: number;
  /** host page a write to unassigned memory lands in, wiped after the one instruction */
  private readonly discardPage: number;

  constructor(
    private readonly cpu: Cpu,
    private readonly memory: PhysicalMemory,
    guestBytes: number,
    /** host page numbers the shadows may use: all above the guest's RAM */
    pool: { readonly first: number; readonly count: number },
    private readonly maxDirectories = 64,
  ) {
    this.guestPages = guestBytes >>> PAGE_SHIFT;
    if (pool.first < this.guestPages || pool.count < 8) {
      throw new RangeError('shadow page tables must live outside the guest physical range');
    }
    this.unassignedPage = pool.first;
    this.discardPage = pool.first + 1;
    this.fillUnassigned(this.unassignedPage);
    this.fillUnassigned(this.discardPage);
    for (let p = pool.first + pool.count - 1; p >= pool.first + 2; p--) this.free.push(p);
  }

  private fillUnassigned(page: number): void {
    this.memory.bytes.fill(0xff, page << PAGE_SHIFT, (page + 1) << PAGE_SHIFT);
  }

  // ---- guest-physical memory, bounded to the guest's RAM ------------------------------------
  private guestRead32(addr: number): number {
    // beyond the guest's RAM the bus is unassigned (all ones), never the hypervisor's memory
    return addr + 4 <= this.guestPages << PAGE_SHIFT ? this.memory.read32(addr) : 0xffffffff;
  }

  /** the hypervisor updates a guest paging entry (A/D bits); its copy follows */
  private guestWrite32(addr: number, value: number): void {
    if (addr + 4 > this.guestPages << PAGE_SHIFT) return;
    this.memory.write32(addr, value);
    const snap = this.snapshots.get(addr >>> PAGE_SHIFT);
    if (snap) snap[(addr & 0xfff) >>> 2] = value >>> 0;
  }

  // ---- which shadow is live --------------------------------------------------------------------
  /** Host-physical address of the shadow directory for the guest's current paging state
   *  (built empty if new). The caller loads it into the real CR3. */
  switchTo(guest: GuestPagingState): number {
    const key = guest.cr0 & CR0_PG ? (guest.cr3 >>> PAGE_SHIFT) & 0xfffff : PHYSICAL_MODE;
    let dir = this.directories.get(key);
    if (!dir) dir = this.buildDirectory(key);
    dir.lastUse = ++this.useClock;
    this.current = dir;
    this.guestCr4 = guest.cr4;
    return dir.page << PAGE_SHIFT;
  }

  /** The guest changed how its tables are read (CR4.PSE): every shadow is rebuilt. */
  dropAll(): void {
    for (const dir of [...this.directories.values()]) this.dropDirectory(dir);
    this.current = undefined;
  }

  /** The real TLB was flushed: no stale writable translation survives. */
  tlbFlushed(): void {
    this.staleWritable.clear();
  }

  get directoryCount(): number {
    return this.directories.size;
  }

  /** Whether a guest frame is write-protected as a page table of a live shadow. */
  isPageTable(frame: number): boolean {
    return this.protectedFrames.has(frame);
  }

  /** Whether a guest frame is the page directory of a shadow. */
  isDirectory(frame: number): boolean {
    return this.directories.has(frame);
  }

  /** A guest frame the hypervisor owns: no shadow entry ever maps it writable, whatever the
   *  guest's own tables say. */
  pin(frame: number): void {
    this.pinned.add(frame);
  }

  isPinned(frame: number): boolean {
    return this.pinned.has(frame);
  }

  /**
   * Keep one page-directory slot (4 MiB of linear addresses) for the hypervisor in every shadow,
   * as Xen keeps the top of every address space: what the guest's directory says there is
   * ignored, and only `pages` (linear page number → pinned guest frame) are mapped, read-only
   * and supervisor-only. The CPU finds the hypervisor's descriptor tables there.
   */
  reserveWindow(slot: number, pages: ReadonlyMap<number, number>): void {
    if (this.directories.size > 0) throw new Error('reserve the window before any shadow exists');
    for (const [page, frame] of pages) {
      if (page >>> 10 !== slot) throw new RangeError('a window page lies outside its slot');
      if (frame >= this.guestPages) throw new RangeError('a window page must be a guest frame');
      this.pin(frame);
      this.windowPages.set(page, { frame, writable: false });
    }
    this.windowSlot = slot;
  }

  /**
   * Keep one page-directory slot for the hypervisor, as `reserveWindow` does, mapping pages of
   * its own region above the guest's RAM (a binary translator's translation cache and the
   * data its fragments use). `writable` pages may be written by the kernel; the guest's user
   * code reaches none of them, and no guest frame is mapped there.
   */
  reserveHostWindow(
    slot: number,
    pages: ReadonlyMap<number, { readonly hostPage: number; readonly writable: boolean }>,
  ): void {
    if (this.directories.size > 0) throw new Error('reserve the window before any shadow exists');
    for (const [page, { hostPage, writable }] of pages) {
      if (page >>> 10 !== slot) throw new RangeError('a window page lies outside its slot');
      if (hostPage < this.guestPages)
        throw new RangeError('a host window page must lie above guest RAM');
      this.windowPages.set(page, { frame: hostPage, writable });
    }
    this.windowSlot = slot;
    this.windowRestUnassigned = true;
  }

  /**
   * A guest frame now holds translated code (one more fragment read from it): no shadow entry
   * maps it writable any more, so that every guest write to it faults and the translator can
   * drop what it translated from there (lecture §6: code is translated once, and must be again
   * when it changes).
   */
  protectCode(frame: number): void {
    const n = this.codeFrames.get(frame) ?? 0;
    this.codeFrames.set(frame, n + 1);
    if (n === 0) this.revokeWritable(frame);
  }

  /** One fragment read from `frame` is gone; with the last, the frame is ordinary memory again. */
  unprotectCode(frame: number): void {
    const n = this.codeFrames.get(frame) ?? 0;
    if (n <= 1) this.codeFrames.delete(frame);
    else this.codeFrames.set(frame, n - 1);
  }

  isCode(frame: number): boolean {
    return this.codeFrames.has(frame);
  }

  /** Forget every code frame (the translator flushed its whole cache). */
  unprotectAllCode(): void {
    this.codeFrames.clear();
  }

  /** The hypervisor's own slot of the address space (-1 when none is reserved). */
  get reservedSlot(): number {
    return this.windowSlot;
  }

  /**
   * The hypervisor writes a guest page-table or page-directory entry it has validated (a
   * para-virtual mmu_update): the entry changes in guest memory; a page-table entry replaces
   * its shadow entries at once, a directory entry drops the shadow table it named (filled
   * again, a whole table, at the next fault). The real TLB keeps what it holds until the
   * guest flushes it, as natively.
   */
  writeGuestEntry(addr: number, value: number): void {
    if ((addr & 3) !== 0 || addr + 4 > this.guestPages << PAGE_SHIFT) {
      throw new RangeError('a guest paging entry must be an aligned address in guest RAM');
    }
    this.memory.write32(addr, value >>> 0);
    const frame = addr >>> PAGE_SHIFT;
    const snap = this.snapshots.get(frame);
    if (!snap) return;
    const i = (addr & 0xfff) >>> 2;
    if (snap[i] === value >>> 0) return;
    snap[i] = value >>> 0;
    const table = this.directories.get(frame)?.tables[i];
    if (table) this.dropTable(table);
    const asTable = this.derived.get(frame);
    if (!asTable) return;
    for (const t of [...asTable]) {
      this.clearEntry(t, i);
      // the validated entry goes straight into the shadow (as Xen's update goes into the
      // table the CPU walks): no hidden fault follows it, and it is marked accessed (and
      // dirty if writable) now, as fillTable marks what it fills
      const entry = this.memory.read32(addr);
      if (!(entry & PTE_P) || entry >>> PAGE_SHIFT >= this.guestPages) continue;
      const pde = this.guestRead32((t.directory.key << PAGE_SHIFT) + t.index * 4);
      const rights = this.acceptValidated(pde, addr, entry);
      this.installIn(
        t,
        (((t.index << 10) | i) << PAGE_SHIFT) >>> 0,
        entry >>> PAGE_SHIFT,
        (rights & PTE_U) !== 0,
        (rights & PTE_W) !== 0,
      );
    }
  }

  /**
   * A present guest PTE at `pteAddr` under `pde`, validated by the hypervisor ahead of any
   * access: marked accessed, and dirty where it maps writable, in the guest's table (the
   * over-approximation the para-virtual ABI announces). Returns the rights the two levels
   * grant together, as PTE_U | PTE_W bits, for the shadow entry.
   */
  private acceptValidated(pde: number, pteAddr: number, pte: number): number {
    const rights = pde & pte & (PTE_U | PTE_W);
    const updated = (pte | PTE_A | (rights & PTE_W ? PTE_D : 0)) >>> 0;
    if (updated !== pte) this.guestWrite32(pteAddr, updated);
    return rights;
  }

  // ---- faults ----------------------------------------------------------------------------------
  /**
   * A real page fault at `linear` while the guest runs: walk the guest's own tables as its MMU
   * would (setting its A/D bits), and either fill the shadow or say why not.
   */
  resolve(linear: number, write: boolean, user: boolean, guest: GuestPagingState): FaultResolution {
    if (linear >>> 22 === this.windowSlot) {
      // the hypervisor's slot: its pages read-only for the kernel, nothing else there
      const own = this.windowPages.get(linear >>> PAGE_SHIFT);
      if (own === undefined && this.windowRestUnassigned && !user) {
        this.install(linear, this.unassignedPage, false, false);
        if (!write) return { kind: 'mapped' };
        return { kind: 'unassigned-write', address: linear >>> 0 };
      }
      if (own === undefined || (write && !own.writable) || user) {
        return {
          kind: 'guest-fault',
          errorCode: (own !== undefined ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0),
        };
      }
      this.install(linear, own.frame, false, own.writable);
      return { kind: 'mapped' };
    }
    let frame: number;
    let allowUser = true;
    let allowWrite = true;
    let dirty = true;
    if (guest.cr0 & CR0_PG) {
      const pdeAddr = ((guest.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0;
      const pde = this.guestRead32(pdeAddr);
      const fault = (present: boolean): FaultResolution => ({
        kind: 'guest-fault',
        errorCode: (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0),
      });
      if (!(pde & PTE_P)) return fault(false);
      let entryAddr: number;
      let entry: number;
      if (pde & PDE_PS && guest.cr4 & CR4_PSE) {
        frame = ((pde & 0xffc00000) >>> PAGE_SHIFT) | ((linear >>> PAGE_SHIFT) & 0x3ff);
        allowUser = (pde & PTE_U) !== 0;
        allowWrite = (pde & PTE_W) !== 0;
        entryAddr = pdeAddr;
        entry = pde;
      } else {
        const pteAddr = ((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
        const pte = this.guestRead32(pteAddr);
        if (!(pte & PTE_P)) return fault(false);
        frame = pte >>> PAGE_SHIFT;
        allowUser = (pde & PTE_U) !== 0 && (pte & PTE_U) !== 0;
        allowWrite = (pde & PTE_W) !== 0 && (pte & PTE_W) !== 0;
        entryAddr = pteAddr;
        entry = pte;
        if (!(pde & PTE_A)) this.guestWrite32(pdeAddr, (pde | PTE_A) >>> 0);
      }
      if (user && !allowUser) return fault(true);
      if (write && !allowWrite && (user || guest.cr0 & CR0_WP)) return fault(true);
      const updated = (entry | PTE_A | (write ? PTE_D : 0)) >>> 0;
      if (updated !== entry) this.guestWrite32(entryAddr, updated);
      dirty = (updated & PTE_D) !== 0;
    } else {
      frame = linear >>> PAGE_SHIFT;
    }
    if (frame >= this.guestPages) {
      // the unassigned bus, as natively: reads see all ones, writes are lost
      this.install(linear, this.unassignedPage, allowUser, false);
      if (!write) return { kind: 'mapped' };
      return {
        kind: 'unassigned-write',
        address: ((frame << PAGE_SHIFT) | (linear & 0xfff)) >>> 0,
      };
    }
    const shadowWritable = this.install(linear, frame, allowUser, allowWrite && dirty);
    if (write && !shadowWritable) {
      return {
        kind: 'write-protected',
        frame,
        pageTable: this.protectedFrames.has(frame),
        code: this.codeFrames.has(frame),
      };
    }
    return { kind: 'mapped' };
  }

  /**
   * Forget what only cached, not-live shadows derive from guest frame `frame`: a shadow
   * directory built from it, and shadow tables built from it in other directories than the
   * live one (rebuilt from the guest's tables, and checked again, if that address space is
   * loaded again). A guest that freed a page table and reuses the frame as an ordinary page
   * (which no ABI call announces) may then write it directly. Returns whether the frame is
   * still a page table of the live shadow.
   */
  releaseStale(frame: number): boolean {
    const dir = this.directories.get(frame);
    if (dir && dir !== this.current) this.dropDirectory(dir);
    const derived = this.derived.get(frame);
    if (derived) {
      for (const t of [...derived]) if (t.directory !== this.current) this.dropTable(t);
    }
    return this.protectedFrames.has(frame);
  }

  /**
   * After a hidden fault at `linear`: validate and fill, at once, every other present entry of
   * the guest page table behind it (of its 4 MiB of physical memory with paging off), so that
   * a table costs one fault instead of one per page. Each entry is walked as `resolve` walks
   * it, and marked accessed — and dirty where it is mapped writable — in the guest's table:
   * the A/D bits of a prefilled table are an over-approximation (a para-virtual guest is told
   * so by its ABI). Entries that map memory beyond the guest's RAM are left to their own fault.
   * Returns how many entries were filled.
   */
  fillTable(linear: number, guest: GuestPagingState): number {
    const dir = this.current;
    const slot = linear >>> 22;
    if (!dir || slot === this.windowSlot) return 0;
    const table = dir.tables[slot];
    if (!table) return 0;
    const shadowBase = table.page << PAGE_SHIFT;
    let filled = 0;
    if (!(guest.cr0 & CR0_PG)) {
      for (let i = 0; i < ENTRIES; i++) {
        const page = (slot << 10) | i;
        if (page >= this.guestPages) break;
        if (this.memory.read32(shadowBase + i * 4) & PTE_P) continue;
        this.install(page << PAGE_SHIFT, page, true, true);
        filled++;
      }
      return filled;
    }
    const pdeAddr = ((guest.cr3 & 0xfffff000) + (slot << 2)) >>> 0;
    const pde = this.guestRead32(pdeAddr);
    if (!(pde & PTE_P) || (pde & PDE_PS && guest.cr4 & CR4_PSE)) return 0;
    const tableBase = (pde & 0xfffff000) >>> 0;
    for (let i = 0; i < ENTRIES; i++) {
      if (this.memory.read32(shadowBase + i * 4) & PTE_P) continue;
      const pteAddr = tableBase + i * 4;
      const pte = this.guestRead32(pteAddr);
      if (!(pte & PTE_P) || pte >>> PAGE_SHIFT >= this.guestPages) continue;
      const rights = this.acceptValidated(pde, pteAddr, pte);
      // the table may have been dropped to make room while filling: stop there
      if (dir.tables[slot] !== table) break;
      this.install(
        (((slot << 10) | i) << PAGE_SHIFT) >>> 0,
        pte >>> PAGE_SHIFT,
        (rights & PTE_U) !== 0,
        (rights & PTE_W) !== 0,
      );
      filled++;
    }
    return filled;
  }

  /**
   * Make the shadow entry of `linear` writable for one emulated write; the returned function
   * takes it back. The entry must exist (resolve installed it).
   */
  allowWriteOnce(linear: number): () => void {
    const addr = this.entryAddress(linear);
    if (addr === undefined) throw new Error('no shadow entry to open for a write');
    const entry = this.memory.read32(addr);
    this.memory.write32(addr, (entry | PTE_W) >>> 0);
    this.cpu.invalidatePage(linear);
    return () => {
      const now = this.memory.read32(addr);
      // the entry may have been dropped meanwhile (the write changed the table it lives in)
      if (now >>> PAGE_SHIFT === entry >>> PAGE_SHIFT && now & PTE_P)
        this.memory.write32(addr, (now & ~PTE_W) >>> 0);
      this.cpu.invalidatePage(linear);
    };
  }

  /**
   * Let one write to unassigned memory happen into a page that is wiped afterwards (the
   * instruction may also read the page: it sees all ones, as natively). The returned function
   * maps the unassigned page back.
   */
  allowDiscardedWrite(linear: number): () => void {
    const addr = this.entryAddress(linear);
    if (addr === undefined) throw new Error('no shadow entry to open for a write');
    const entry = this.memory.read32(addr);
    this.memory.write32(addr, ((this.discardPage << PAGE_SHIFT) | (entry & 0xfff) | PTE_W) >>> 0);
    this.cpu.invalidatePage(linear);
    return () => {
      if (this.memory.read32(addr) >>> PAGE_SHIFT === this.discardPage) {
        this.memory.write32(addr, ((this.unassignedPage << PAGE_SHIFT) | (entry & 0xfff)) >>> 0);
      }
      this.cpu.invalidatePage(linear);
      this.fillUnassigned(this.discardPage);
    };
  }

  /**
   * The guest wrote to a page-table frame: compare it with its last copy and drop every shadow
   * entry derived from what changed (rebuilt on the next fault, as the guest's TLB would
   * refill). The real TLB keeps what it holds until the guest flushes it, as natively.
   */
  sync(frame: number): void {
    const snap = this.snapshots.get(frame);
    if (!snap) return;
    this.stats.syncs++;
    const base = frame << PAGE_SHIFT;
    const asDirectory = this.directories.get(frame);
    const asTable = this.derived.get(frame);
    for (let i = 0; i < ENTRIES; i++) {
      const now = this.memory.read32(base + i * 4);
      if (now === snap[i]) continue;
      snap[i] = now;
      const table = asDirectory?.tables[i];
      if (table) this.dropTable(table);
      if (asTable) for (const t of asTable) this.clearEntry(t, i);
    }
  }

  // ---- building and dropping ---------------------------------------------------------------
  private allocate(): number {
    let page = this.free.pop();
    if (page === undefined) {
      // make room: drop the least recently used directories other than the live one
      const victims = [...this.directories.values()]
        .filter((d) => d !== this.current)
        .sort((a, b) => a.lastUse - b.lastUse);
      for (const v of victims.slice(0, Math.max(1, victims.length >>> 1))) {
        this.dropDirectory(v);
        this.stats.evictions++;
      }
      page = this.free.pop();
      if (page === undefined && this.current) {
        // one address space uses the whole pool: start its shadow afresh
        for (const t of this.current.tables) if (t) this.dropTable(t);
        page = this.free.pop();
      }
      if (page === undefined) throw new Error('the shadow page-table pool is exhausted');
    }
    this.memory.bytes.fill(0, page << PAGE_SHIFT, (page + 1) << PAGE_SHIFT);
    return page;
  }

  private buildDirectory(key: number): ShadowDirectory {
    if (this.directories.size >= this.maxDirectories) {
      const oldest = [...this.directories.values()]
        .filter((d) => d !== this.current)
        .sort((a, b) => a.lastUse - b.lastUse)[0];
      if (oldest) {
        this.dropDirectory(oldest);
        this.stats.evictions++;
      }
    }
    const dir: ShadowDirectory = {
      key,
      page: this.allocate(),
      tables: new Array<ShadowTable | undefined>(ENTRIES).fill(undefined),
      lastUse: 0,
    };
    this.directories.set(key, dir);
    if (key !== PHYSICAL_MODE) this.protect(key);
    this.stats.directoriesBuilt++;
    return dir;
  }

  private dropDirectory(dir: ShadowDirectory): void {
    for (const t of dir.tables) if (t) this.dropTable(t);
    this.directories.delete(dir.key);
    if (dir.key !== PHYSICAL_MODE) this.unprotect(dir.key);
    this.free.push(dir.page);
    if (this.current === dir) this.current = undefined;
  }

  private tableFor(dir: ShadowDirectory, index: number): ShadowTable {
    const existing = dir.tables[index];
    if (existing) return existing;
    let source = -1;
    if (dir.key !== PHYSICAL_MODE && index !== this.windowSlot) {
      const pde = this.guestRead32((dir.key << PAGE_SHIFT) + index * 4);
      // a 4 MiB page has no table of its own: its PDE lives in the (protected) directory
      if (!(pde & PDE_PS && this.guestCr4 & CR4_PSE)) source = pde >>> PAGE_SHIFT;
    }
    const page = this.allocate();
    // allocate() may have dropped this very directory's tables: look again
    const table: ShadowTable = { page, directory: dir, index, source };
    dir.tables[index] = table;
    this.memory.write32(
      (dir.page << PAGE_SHIFT) + index * 4,
      ((page << PAGE_SHIFT) | PTE_P | PTE_W | PTE_U | PTE_A) >>> 0,
    );
    if (source >= 0) {
      let set = this.derived.get(source);
      if (!set) this.derived.set(source, (set = new Set()));
      set.add(table);
      this.protect(source);
    }
    this.stats.tablesBuilt++;
    return table;
  }

  private dropTable(table: ShadowTable): void {
    const dir = table.directory;
    if (dir.tables[table.index] !== table) return;
    for (let i = 0; i < ENTRIES; i++) this.clearEntry(table, i);
    dir.tables[table.index] = undefined;
    this.memory.write32((dir.page << PAGE_SHIFT) + table.index * 4, 0);
    if (table.source >= 0) {
      const set = this.derived.get(table.source);
      set?.delete(table);
      if (set?.size === 0) this.derived.delete(table.source);
      this.unprotect(table.source);
    }
    this.free.push(table.page);
  }

  /** Fill the shadow entry for `linear`; returns whether it was made writable. */
  private install(linear: number, frame: number, user: boolean, wantWritable: boolean): boolean {
    const dir = this.current;
    if (!dir) throw new Error('no shadow directory is live');
    return this.installIn(this.tableFor(dir, linear >>> 22), linear, frame, user, wantWritable);
  }

  private installIn(
    table: ShadowTable,
    linear: number,
    frame: number,
    user: boolean,
    wantWritable: boolean,
  ): boolean {
    // after tableFor: building the table may just have made `frame` a protected page table
    const writable =
      wantWritable &&
      !this.protectedFrames.has(frame) &&
      !this.pinned.has(frame) &&
      !this.codeFrames.has(frame);
    const index = (linear >>> PAGE_SHIFT) & 0x3ff;
    this.clearEntry(table, index);
    const addr = (table.page << PAGE_SHIFT) + index * 4;
    this.memory.write32(
      addr,
      ((frame << PAGE_SHIFT) |
        PTE_P |
        PTE_A |
        PTE_D |
        (user ? PTE_U : 0) |
        (writable ? PTE_W : 0)) >>>
        0,
    );
    if (writable) {
      let map = this.writable.get(frame);
      if (!map) this.writable.set(frame, (map = new Map()));
      map.set(addr, ((linear >>> PAGE_SHIFT) << PAGE_SHIFT) >>> 0);
    }
    this.stats.entriesFilled++;
    return writable;
  }

  private clearEntry(table: ShadowTable, index: number): void {
    const addr = (table.page << PAGE_SHIFT) + index * 4;
    const entry = this.memory.read32(addr);
    if (!(entry & PTE_P)) return;
    if (entry & PTE_W) {
      const frame = entry >>> PAGE_SHIFT;
      const map = this.writable.get(frame);
      map?.delete(addr);
      if (map?.size === 0) this.writable.delete(frame);
      this.staleWritable.add(frame);
    }
    this.memory.write32(addr, 0);
  }

  private entryAddress(linear: number): number | undefined {
    const table = this.current?.tables[linear >>> 22];
    return table ? (table.page << PAGE_SHIFT) + ((linear >>> PAGE_SHIFT) & 0x3ff) * 4 : undefined;
  }

  /** A guest frame becomes a page table of a live shadow: no shadow may map it writable. */
  private protect(frame: number): void {
    const n = this.protectedFrames.get(frame) ?? 0;
    this.protectedFrames.set(frame, n + 1);
    if (n > 0) return;
    const copy = new Uint32Array(ENTRIES);
    const base = frame << PAGE_SHIFT;
    for (let i = 0; i < ENTRIES; i++) copy[i] = this.guestRead32(base + i * 4);
    this.snapshots.set(frame, copy);
    this.revokeWritable(frame);
  }

  /** Make every shadow entry that maps `frame` read-only, and no TLB entry keep it writable. */
  private revokeWritable(frame: number): void {
    const map = this.writable.get(frame);
    if (map) {
      for (const [addr, linear] of map) {
        this.memory.write32(addr, (this.memory.read32(addr) & ~PTE_W) >>> 0);
        this.cpu.invalidatePage(linear);
      }
      this.writable.delete(frame);
    }
    if (this.staleWritable.has(frame)) {
      this.cpu.flushTlb();
      this.staleWritable.clear();
    }
  }

  private unprotect(frame: number): void {
    const n = this.protectedFrames.get(frame) ?? 0;
    if (n <= 1) {
      this.protectedFrames.delete(frame);
      this.snapshots.delete(frame);
    } else {
      this.protectedFrames.set(frame, n - 1);
    }
  }
}
