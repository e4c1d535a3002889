// The para-virtual hypervisor's descriptor tables (docs/paravirt-abi.md "Machine model"): the
// GDT with the flat selectors of the ABI, the TSS whose SS1:ESP1 is the stack `stack_switch`
// names, the real IDT (empty but for the fast system-call gate) and the guest's trap table
// rendered as an IDT for reflection. The CPU reads all of these through linear addresses, so
// they sit in two guest frames of the BIOS area the memory map reserves (just below the
// shared-info page), which the hypervisor owns: the shadow page tables never map them
// writable, and the CPU finds them in the hypervisor's own slot at the top of every address
// space (Xen's hypervisor hole), whatever the guest maps there.

import { type Descriptor, parseDescriptor } from '../../../machine/cpu';
import { type PhysicalMemory, PAGE_SHIFT } from '../../../machine/memory';
import { SELECTORS, SHARED_INFO_ADDRESS } from '../../../guest/paravirt-abi';

/** Guest-physical frames the hypervisor owns: the trap-table IDT page, then the GDT page. */
export const TRAP_IDT_FRAME = (SHARED_INFO_ADDRESS >>> PAGE_SHIFT) - 2;
export const TABLES_FRAME = (SHARED_INFO_ADDRESS >>> PAGE_SHIFT) - 1;

/** The page-directory slot kept for the hypervisor: the last 4 MiB of the address space. */
export const HYPERVISOR_SLOT = 1023;
const WINDOW = 0xffc00000;
/** Linear addresses of the two pages in the hypervisor's slot. */
export const TRAP_IDT_LINEAR = (WINDOW + 0x3fd000) >>> 0;
export const TABLES_LINEAR = (WINDOW + 0x3fe000) >>> 0;

/** Offsets inside the tables page. */
const GDT_OFFSET = 0x000;
const TSS_OFFSET = 0x100;
const REAL_IDT_OFFSET = 0x400;

export const GDT_LIMIT = 6 * 8 - 1;
export const TSS_SELECTOR = 0x28;
export const TSS_LIMIT = 0x67;
export const IDT_LIMIT = 256 * 8 - 1;

export const GDT_LINEAR = (TABLES_LINEAR + GDT_OFFSET) >>> 0;
export const TSS_LINEAR = (TABLES_LINEAR + TSS_OFFSET) >>> 0;
export const REAL_IDT_LINEAR = (TABLES_LINEAR + REAL_IDT_OFFSET) >>> 0;

const TYPE_TRAP_GATE = 0x0f;
const TYPE_BUSY_TSS = 0x0b;

/** One 8-byte descriptor: [low, high] (SDM vol. 3 §3.4.5). */
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

/** A flat 4 GiB segment at `dpl`, accessed bit set (the CPU never writes these tables). */
function flat(code: boolean, dpl: number): [number, number] {
  const access = 0x80 | (dpl << 5) | 0x10 | (code ? 0x0b : 0x03);
  return descriptor(0, 0xfffff, access, 0xc);
}

/** The address of the descriptor tables' guest frames, laid out at boot. */
export class HypervisorTables {
  constructor(private readonly memory: PhysicalMemory) {}

  private get tables(): number {
    return TABLES_FRAME << PAGE_SHIFT;
  }

  /** Write the GDT, an empty TSS (no I/O bitmap: every port access at CPL > IOPL faults) and
   *  two empty IDTs. */
  build(): void {
    const m = this.memory;
    m.bytes.fill(0, TRAP_IDT_FRAME << PAGE_SHIFT, (TABLES_FRAME + 1) << PAGE_SHIFT);
    const gdt: [number, number][] = [
      [0, 0],
      flat(true, 1), // FLAT_KERNEL_CS 0x09
      flat(false, 1), // FLAT_KERNEL_DS 0x11
      flat(true, 3), // FLAT_USER_CS 0x1b
      flat(false, 3), // FLAT_USER_DS 0x23
      descriptor(TSS_LINEAR, TSS_LIMIT, 0x80 | TYPE_BUSY_TSS, 0),
    ];
    if (
      SELECTORS.FLAT_KERNEL_CS >>> 3 !== 1 ||
      SELECTORS.FLAT_KERNEL_DS >>> 3 !== 2 ||
      SELECTORS.FLAT_USER_CS >>> 3 !== 3 ||
      SELECTORS.FLAT_USER_DS >>> 3 !== 4
    ) {
      throw new Error('the ABI selectors moved: the hypervisor GDT must follow them');
    }
    gdt.forEach(([low, high], i) => {
      m.write32(this.tables + GDT_OFFSET + i * 8, low);
      m.write32(this.tables + GDT_OFFSET + i * 8 + 4, high);
    });
    // the I/O map base beyond the TSS limit: no port is allowed below IOPL
    m.write16(this.tables + TSS_OFFSET + 0x66, TSS_LIMIT + 1);
  }

  /** The descriptor a GDT selector names, read from the table itself (the hypervisor's own
   *  loads need no guest mapping). */
  descriptor(selector: number): Descriptor {
    const at = this.tables + GDT_OFFSET + (selector & 0xfff8);
    if ((selector & 0xfff8) + 7 > GDT_LIMIT) throw new RangeError('selector beyond the GDT');
    return parseDescriptor(this.memory.read32(at), this.memory.read32(at + 4));
  }

  /** The ring-1 stack of transitions from ring 3 (TSS.SS1:ESP1). */
  setKernelStack(ss: number, esp: number): void {
    this.memory.write32(this.tables + TSS_OFFSET + 12, esp >>> 0);
    this.memory.write32(this.tables + TSS_OFFSET + 16, ss & 0xffff);
  }

  /** A trap gate to FLAT_KERNEL_CS:handler in the trap-table IDT (`real` false) or the real
   *  IDT; handler 0 removes the gate. */
  setGate(real: boolean, vector: number, handler: number, dpl: number): void {
    const at = real
      ? this.tables + REAL_IDT_OFFSET + vector * 8
      : (TRAP_IDT_FRAME << PAGE_SHIFT) + vector * 8;
    if (handler === 0) {
      this.memory.write32(at, 0);
      this.memory.write32(at + 4, 0);
      return;
    }
    this.memory.write32(at, ((handler & 0xffff) | (SELECTORS.FLAT_KERNEL_CS << 16)) >>> 0);
    this.memory.write32(
      at + 4,
      ((handler & 0xffff0000) | 0x8000 | (dpl << 13) | (TYPE_TRAP_GATE << 8)) >>> 0,
    );
  }

  /** The pages and the linear pages they appear at, for the shadow's hypervisor slot. */
  static window(): ReadonlyMap<number, number> {
    return new Map([
      [TRAP_IDT_LINEAR >>> PAGE_SHIFT, TRAP_IDT_FRAME],
      [TABLES_LINEAR >>> PAGE_SHIFT, TABLES_FRAME],
    ]);
  }
}
