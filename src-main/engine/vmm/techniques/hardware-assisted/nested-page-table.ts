// The nested page table of `hardware-assisted-npt` (SDM 28.3, EPT; AMD's NPT): the hypervisor's
// own 2-level table from guest-physical to host-physical memory, built once in the
// hypervisor's region and walked by the CPU on every TLB miss. The guest's RAM maps to itself
// (guest-physical = host-physical below the guest's size, as every technique places it);
// everything above it, up to 4 GiB, maps read-only to one page of all ones, the unassigned bus
// a PC shows there, so a read costs no exit and a write is an EPT violation the hypervisor
// emulates by discarding it. Nothing of the hypervisor's region is mapped: no guest-physical
// address names it (resource control).

import { type PhysicalMemory, PAGE_SHIFT } from '../../../machine/memory';

const PRESENT = 1;
const WRITABLE = 2;
const ENTRIES = 1024;

export class NestedPageTable {
  /** host-physical address of the nested page directory (what the CPU walks from) */
  readonly root: number;
  private readonly unassignedPage: number;
  /** where one discarded write lands (refilled with ones afterwards) */
  private readonly discardPage: number;
  /** host pages the table itself uses, for the hypervisor's accounting */
  readonly pagesUsed: number;

  constructor(
    private readonly memory: PhysicalMemory,
    private readonly guestBytes: number,
    /** first host page of the area the table may use (in the hypervisor's region) */
    firstPage: number,
    pageCount: number,
  ) {
    const guestPages = guestBytes >>> PAGE_SHIFT;
    const ramTables = Math.ceil(guestPages / ENTRIES);
    // directory, RAM tables, one table for the unassigned rest, the unassigned and discard pages
    this.pagesUsed = 1 + ramTables + 1 + 2;
    if (this.pagesUsed > pageCount || firstPage < guestPages) {
      throw new RangeError('the nested page table must fit in the hypervisor region');
    }
    const page = (i: number): number => (firstPage + i) << PAGE_SHIFT;
    this.root = page(0);
    const unassignedTable = page(1 + ramTables);
    this.unassignedPage = page(2 + ramTables);
    this.discardPage = page(3 + ramTables);
    this.fillOnes(this.unassignedPage);
    this.fillOnes(this.discardPage);
    for (let e = 0; e < ENTRIES; e++) {
      memory.write32(unassignedTable + e * 4, this.unassignedPage | PRESENT);
    }
    for (let d = 0; d < ENTRIES; d++) {
      const table = d < ramTables ? page(1 + d) : unassignedTable;
      memory.write32(this.root + d * 4, table | PRESENT | WRITABLE);
      if (d >= ramTables) continue;
      for (let e = 0; e < ENTRIES; e++) {
        const guestPage = d * ENTRIES + e;
        memory.write32(
          table + e * 4,
          guestPage < guestPages
            ? (guestPage << PAGE_SHIFT) | PRESENT | WRITABLE
            : this.unassignedPage | PRESENT,
        );
      }
    }
  }

  /** host address of the nested entry for a guest-physical page */
  private entryAddress(guestPhysical: number): number {
    const pde = this.memory.read32(this.root + ((guestPhysical >>> 22) << 2));
    return ((pde & 0xfffff000) + (((guestPhysical >>> 12) & 0x3ff) << 2)) >>> 0;
  }

  /** Is this guest-physical address outside the guest's RAM (the unassigned bus)? */
  isUnassigned(guestPhysical: number): boolean {
    return guestPhysical >>> 0 >= this.guestBytes;
  }

  /**
   * Let writes to one unassigned guest-physical page land in the discard page, until the
   * returned function puts the read-only mapping back and wipes what was written. The caller
   * flushes the TLB around it.
   */
  discardWritesTo(guestPhysical: number): () => void {
    const at = this.entryAddress(guestPhysical);
    const before = this.memory.read32(at);
    this.memory.write32(at, this.discardPage | PRESENT | WRITABLE);
    return () => {
      this.memory.write32(at, before);
      this.fillOnes(this.discardPage);
    };
  }

  private fillOnes(page: number): void {
    this.memory.bytes.fill(0xff, page, page + 4096);
  }
}
