// The hypercalls of the para-API (docs/paravirt-abi.md "Hypercalls"; numbers, registers and
// error codes from paravirt-abi.ts): what the para-virtual guest kernel asks instead of
// executing a sensitive instruction. Every argument is checked before anything changes — a
// frame outside the guest's RAM, the hypervisor's own pages or its slot of the address space,
// a bad size or flag — and refused with the ABI's error code; guest-virtual pointers are read
// with the guest kernel's rights through the shadow page tables (-EFAULT where they are not
// mapped). Each call is one world switch, counted as `hypercall:<name>` and charged for the
// work it did (validated page-table entries, words copied, port accesses).

import {
  ERRNO,
  type ErrorName,
  FAST_TRAP_VECTOR,
  EVENT_VECTOR_BASE,
  hypercallByNumber,
  MMU_NORMAL_PT_UPDATE,
  MMU_UPDATE_FLUSH_TLB,
  MMU_UPDATE_SIZE,
  NR_EVENT_CHANNELS,
  SELECTORS,
  TRAP_INFO_DPL_MASK,
  TRAP_INFO_MASK_EVENTS,
  TRAP_INFO_SIZE,
  TRAP_TABLE_MAX_ENTRIES,
  CONSOLE_WRITE_MAX,
  MMU_UPDATE_MAX_ENTRIES,
  TIMER_PERIOD_MAX,
} from '../../../guest/paravirt-abi';
import { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS } from '../../../isa/decoder';
import { CR0_PG, descriptorDpl } from '../../../machine/cpu';
import { CpuException } from '../../../machine/exceptions';
import { PAGE_SHIFT } from '../../../machine/memory';
import { type HandlerName, type ParavirtHypervisor, type TrapEntry } from './hypervisor';

const EAX = 0;
const ECX = 1;
const EDX = 2;
const EBX = 3;
const PTE_P = 1;
const PTE_W = 2;
/** EFLAGS bits an iret frame may set: the arithmetic flags, TF and DF (not IF, IOPL, NT…). */
const IRET_FLAGS = 0x0dd5;
/** Ports of the hypervisor's own PIC and PIT: the guest sees nothing there. */
const HYPERVISOR_PORTS: readonly (readonly [number, number])[] = [
  [0x20, 0x21],
  [0x40, 0x43],
  [0xa0, 0xa1],
];

type Outcome = number | { readonly error: ErrorName } | 'returned';
type Work = [kind: string, count: number][];

class GuestFault {}

/** Read guest-virtual memory with the guest kernel's rights, filling the shadow on the way. */
function readGuest(hv: ParavirtHypervisor, linear: number, size: 1 | 2 | 4): number {
  const cpu = hv.cpu;
  for (let attempt = 0; attempt < 4; attempt++) {
    const savedCr2 = cpu.cr2;
    try {
      const addr = linear >>> 0;
      return size === 1 ? cpu.read8(addr) : size === 2 ? cpu.read16(addr) : cpu.read32(addr);
    } catch (e) {
      if (!(e instanceof CpuException) || !hv.resolveNested(e, savedCr2)) {
        cpu.cr2 = savedCr2;
        throw new GuestFault();
      }
    }
  }
  throw new GuestFault();
}

function err(name: ErrorName): { error: ErrorName } {
  return { error: name };
}

/** Execute the hypercall the guest's vmcall at insnStart made; EIP moves past it. */
export function runHypercall(hv: ParavirtHypervisor): void {
  const cpu = hv.cpu;
  const number = cpu.regs[EAX]!;
  const name = hypercallByNumber(number)?.name ?? 'unknown';
  const stats = hv.stats;
  stats.hypercalls[name] = (stats.hypercalls[name] ?? 0) + 1;
  cpu.eip = (cpu.insnStart + 3) >>> 0;
  const work: Work = [['vmm.hypercall', 1]];
  let handler: HandlerName = 'hypercall';
  let outcome: Outcome;
  try {
    switch (name) {
      case 'console_write':
        outcome = consoleWrite(hv, work);
        break;
      case 'set_trap_table':
        outcome = setTrapTable(hv, work);
        break;
      case 'mmu_update':
        handler = 'mmuUpdate';
        outcome = mmuUpdate(hv, work);
        break;
      case 'set_cr3':
        handler = 'shadowSwitch';
        outcome = setCr3(hv, work);
        break;
      case 'invlpg':
        cpu.invalidatePage(cpu.regs[EBX]!);
        outcome = 0;
        break;
      case 'stack_switch':
        outcome = stackSwitch(hv);
        break;
      case 'iret':
        handler = 'reflect';
        outcome = iret(hv, work);
        break;
      case 'io_out':
      case 'io_in':
        outcome = portIo(hv, name === 'io_out', work);
        break;
      case 'set_timer':
        outcome = setTimer(hv);
        break;
      case 'block':
        hv.shared.mask = 0;
        hv.blocked = true;
        outcome = 0;
        break;
      case 'yield':
        outcome = 0;
        break;
      default:
        outcome = err('ENOSYS');
    }
  } catch (e) {
    if (!(e instanceof GuestFault)) throw e;
    outcome = err('EFAULT');
  }
  if (typeof outcome === 'object') {
    const key = `${name}:${outcome.error}`;
    stats.errors[key] = (stats.errors[key] ?? 0) + 1;
    cpu.regs[EAX] = -ERRNO[outcome.error].value >>> 0;
  } else if (outcome !== 'returned') {
    cpu.regs[EAX] = outcome >>> 0;
  }
  hv.trap(`hypercall:${name}`, handler, work);
}

// ---- the calls --------------------------------------------------------------------------------

function consoleWrite(hv: ParavirtHypervisor, work: Work): Outcome {
  const buffer = hv.cpu.regs[EBX]!;
  const length = hv.cpu.regs[ECX]!;
  if (length > CONSOLE_WRITE_MAX) return err('EINVAL');
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = readGuest(hv, buffer + i, 1);
  // the bytes still leave through the real UART, one transmitter write each (the guest saves
  // its own polling and the world switches, not the device)
  work.push(['vmm.guestCopy', Math.ceil(length / 4)], ['vmm.portAccess', length]);
  hv.machine.uart.writeConsole(bytes);
  return length;
}

function setTrapTable(hv: ParavirtHypervisor, work: Work): Outcome {
  const table = hv.cpu.regs[EBX]!;
  const entries = new Map<number, TrapEntry>();
  let i = 0;
  for (; ; i++) {
    const at = table + i * TRAP_INFO_SIZE;
    const vector = readGuest(hv, at, 1);
    const flags = readGuest(hv, at + 1, 1);
    const cs = readGuest(hv, at + 2, 2);
    const address = readGuest(hv, at + 4, 4);
    if (address === 0) break;
    if (i >= TRAP_TABLE_MAX_ENTRIES) return err('EINVAL');
    const maskEvents = (flags & TRAP_INFO_MASK_EVENTS) !== 0;
    const isEvent = vector >= EVENT_VECTOR_BASE && vector < EVENT_VECTOR_BASE + NR_EVENT_CHANNELS;
    if (
      cs !== SELECTORS.FLAT_KERNEL_CS ||
      (flags & ~(TRAP_INFO_DPL_MASK | TRAP_INFO_MASK_EVENTS)) !== 0 ||
      entries.has(vector) ||
      (isEvent && !maskEvents)
    ) {
      return err('EINVAL');
    }
    entries.set(vector, { vector, dpl: flags & TRAP_INFO_DPL_MASK, maskEvents, address });
  }
  work.push(['vmm.guestCopy', (i + 1) * 2]);
  for (let v = 0; v < 256; v++) hv.tables.setGate(false, v, entries.get(v)?.address ?? 0, 3);
  hv.trapTable = entries;
  // Xen's fast trap: a DPL-3 int 0x80 entry that does not mask events goes into the real IDT
  const fast = entries.get(FAST_TRAP_VECTOR);
  hv.fastGate = fast !== undefined && fast.dpl === 3 && !fast.maskEvents;
  hv.tables.setGate(true, FAST_TRAP_VECTOR, hv.fastGate ? fast!.address : 0, 3);
  return 0;
}

/** Whether a guest frame is one the guest may name in a page-table entry. */
function frameProblem(hv: ParavirtHypervisor, frame: number, writable: boolean): ErrorName | null {
  if (frame >= hv.machine.guestMemoryBytes >>> PAGE_SHIFT) return 'EPERM';
  if (writable && hv.shadow.isPinned(frame)) return 'EPERM';
  return null;
}

function mmuUpdate(hv: ParavirtHypervisor, work: Work): Outcome {
  const cpu = hv.cpu;
  const requests = cpu.regs[EBX]!;
  const count = cpu.regs[ECX]!;
  const flags = cpu.regs[EDX]!;
  const m = hv.stats.mmuUpdate;
  m.calls++;
  // a refused call is counted in calls and errors only: its count is the guest's to choose,
  // and one histogram key per distinct refused count would grow the results without bound
  if ((flags & ~MMU_UPDATE_FLUSH_TLB) !== 0 || count > MMU_UPDATE_MAX_ENTRIES) return err('EINVAL');
  m.batchSizes[String(count)] = (m.batchSizes[String(count)] ?? 0) + 1;
  const shadow = hv.shadow;
  const guestPages = hv.machine.guestMemoryBytes >>> PAGE_SHIFT;
  let applied = 0;
  let outcome: Outcome = 0;
  try {
    for (let i = 0; i < count; i++) {
      const ptr = readGuest(hv, requests + i * MMU_UPDATE_SIZE, 4);
      const val = readGuest(hv, requests + i * MMU_UPDATE_SIZE + 4, 4);
      const problem = entryProblem(hv, ptr, val, guestPages);
      if (problem) {
        outcome = err(problem);
        break;
      }
      shadow.writeGuestEntry(ptr, val);
      applied++;
    }
  } catch (e) {
    if (!(e instanceof GuestFault)) throw e;
    outcome = err('EFAULT');
  }
  m.entries += applied;
  work.push(['vmm.mmuUpdateEntry', applied], ['vmm.guestCopy', applied * 2]);
  if (flags & MMU_UPDATE_FLUSH_TLB && typeof outcome === 'number') {
    m.flushes++;
    cpu.flushTlb();
    shadow.tlbFlushed();
  }
  return outcome;
}

/** Why one mmu_update entry is refused, or null. */
function entryProblem(
  hv: ParavirtHypervisor,
  ptr: number,
  val: number,
  guestPages: number,
): ErrorName | null {
  if ((ptr & 3) !== MMU_NORMAL_PT_UPDATE) return 'EINVAL';
  const table = ptr >>> PAGE_SHIFT;
  // the entry itself must be guest RAM and not one of the hypervisor's pages
  if (table >= guestPages || hv.shadow.isPinned(table)) return 'EPERM';
  const isDirectory = hv.shadow.isDirectory(table);
  if (isDirectory && (ptr & 0xfff) >>> 2 === hv.shadow.reservedSlot) return 'EPERM';
  if (!(val & PTE_P)) return null;
  const frame = val >>> PAGE_SHIFT;
  const writable = (val & PTE_W) !== 0;
  const problem = frameProblem(hv, frame, writable && !isDirectory);
  if (problem) return problem;
  // a page table in use may not be mapped writable: only mmu_update changes it
  // (a table of a cached address space only is forgotten first: freed, the frame is reused)
  if (!isDirectory && writable && hv.shadow.isPageTable(frame) && hv.shadow.releaseStale(frame)) {
    return 'EINVAL';
  }
  return null;
}

function setCr3(hv: ParavirtHypervisor, work: Work): Outcome {
  const directory = hv.cpu.regs[EBX]!;
  if ((directory & 0xfff) !== 0) return err('EINVAL');
  const problem = frameProblem(hv, directory >>> PAGE_SHIFT, true);
  if (problem) return err(problem);
  work.push(['vmm.shadowSwitch', 1]);
  hv.switchPaging({ cr0: (hv.paging.cr0 | CR0_PG) >>> 0, cr3: directory, cr4: 0 });
  hv.meter.virtualCr3Loads++;
  return 0;
}

function stackSwitch(hv: ParavirtHypervisor): Outcome {
  const ss = hv.cpu.regs[EBX]!;
  const esp = hv.cpu.regs[ECX]!;
  if (ss !== SELECTORS.FLAT_KERNEL_SS) return err('EPERM');
  hv.tables.setKernelStack(ss, esp);
  hv.kernelStackSet = true;
  return 0;
}

/** Pop EAX, EIP, CS, EFLAGS (and ESP, SS to ring 3) from the guest stack and return there. */
function iret(hv: ParavirtHypervisor, work: Work): Outcome {
  const cpu = hv.cpu;
  const sp = cpu.regs[4]!;
  const eax = readGuest(hv, sp, 4);
  const eip = readGuest(hv, sp + 4, 4);
  const cs = readGuest(hv, sp + 8, 4) & 0xffff;
  const eflags = readGuest(hv, sp + 12, 4);
  const toUser = cs === SELECTORS.FLAT_USER_CS;
  if (!toUser && cs !== SELECTORS.FLAT_KERNEL_CS) return err('EINVAL');
  let esp = (sp + 16) >>> 0;
  let ss = cpu.segSel[SEG_SS]!;
  if (toUser) {
    esp = readGuest(hv, sp + 16, 4);
    ss = readGuest(hv, sp + 20, 4) & 0xffff;
    if (ss !== SELECTORS.FLAT_USER_SS) return err('EINVAL');
  }
  work.push(['vmm.guestCopy', toUser ? 6 : 4]);
  const cpl = cs & 3;
  cpu.loadSegmentCache(SEG_CS, cs, hv.tables.descriptor(cs));
  cpu.cpl = cpl;
  if (toUser) {
    cpu.loadSegmentCache(SEG_SS, ss, hv.tables.descriptor(ss));
    // as iret does: data segments the new CPL may not use become null
    for (const seg of [SEG_DS, SEG_ES, SEG_FS, SEG_GS]) {
      const sel = cpu.segSel[seg]!;
      // (the guest's selectors in these registers were loaded from the hypervisor's GDT)
      if ((sel & 0xfffc) !== 0 && descriptorDpl(cpu.saveSegment(seg)) < cpl) {
        cpu.loadNullSegment(seg, 0);
      }
    }
  }
  cpu.regs[4] = esp;
  cpu.eip = eip;
  cpu.regs[EAX] = eax;
  cpu.setEflags(eflags, IRET_FLAGS);
  // the saved IF is the event mask; unmasking delivers what is pending on the way out
  hv.shared.mask = eflags & 0x200 ? 0 : 1;
  return 'returned';
}

function hypervisorPort(port: number): boolean {
  return HYPERVISOR_PORTS.some(([first, last]) => port >= first && port <= last);
}

function portIo(hv: ParavirtHypervisor, out: boolean, work: Work): Outcome {
  const cpu = hv.cpu;
  const port = cpu.regs[EBX]!;
  const size = cpu.regs[ECX]!;
  if (port > 0xffff || (size !== 1 && size !== 2 && size !== 4)) return err('EINVAL');
  work.push(['vmm.portAccess', 1]);
  const bits = size * 8;
  const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (out) {
    if (!hypervisorPort(port)) hv.machine.bus.write(port, size, cpu.regs[EDX]! & mask);
    return 0;
  }
  return hypervisorPort(port) ? mask : hv.machine.bus.read(port, size) & mask;
}

function setTimer(hv: ParavirtHypervisor): Outcome {
  const period = hv.cpu.regs[EBX]!;
  if (period > TIMER_PERIOD_MAX) return err('EINVAL');
  hv.setTimer(period);
  return 0;
}
