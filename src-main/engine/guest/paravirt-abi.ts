// The para-virtual ABI (the "para-API" of lecture §5), written down once as data. It owns the
// hypercall numbers and register conventions, the return codes, the shared-info page's address
// and layout, how pending virtual interrupts (events) are delivered, the trap-table and
// mmu_update entry formats, the flat selectors the hypervisor provides, and the canonical
// instruction sequences that replace cli/sti/iret in the guest's `-D PARAVIRT` build.
//
// Everything else is derived from this file: gen-abi.ts renders it as the guest's NASM include
// (paravirt-abi.inc), the paravirt technique imports these constants directly, and
// docs/paravirt-abi.md explains it (a test checks the doc's tables against this data).
// Names follow Xen where a Xen name fits (shared_info, evtchn_upcall_pending/_mask, trap_info,
// HYPERVISOR_mmu_update, stack_switch, FLAT_KERNEL_CS), since the lecture uses Xen as the example.
// Plain data only: no logic beyond small lookups.

/** Bumped whenever a number, offset or rule below changes; the hypervisor writes it into shared_info. */
export const PARAVIRT_ABI_VERSION = 1;

/**
 * `vmcall` (0F 01 C1) is the hypercall instruction. On bare hardware (and on our machine without a
 * hypervisor, MACHINE.md) a CPU without VMX raises #UD for it, so the para-virtual image runs only
 * under the `paravirt` technique.
 */
export const VMCALL_BYTES: readonly number[] = [0x0f, 0x01, 0xc1];

/** Privilege levels: ring compression as in 32-bit Xen (the guest kernel is deprivileged to ring 1). */
export const GUEST_KERNEL_CPL = 1;
export const GUEST_USER_CPL = 3;

// ---------------------------------------------------------------------------------------------
// Return codes (Linux errno values, as Xen uses them; a hypercall returns the negated value)

export interface ErrorCodeSpec {
  readonly name: string;
  /** positive errno value; EAX holds its negation */
  readonly value: number;
  readonly meaning: string;
}

export const ERRNO = {
  EPERM: {
    name: 'EPERM',
    value: 1,
    meaning:
      'not allowed: a frame or page outside the guest’s memory, or a selector that is not the guest’s',
  },
  EFAULT: {
    name: 'EFAULT',
    value: 14,
    meaning:
      'a guest-virtual pointer argument is not mapped (or not readable) for the guest kernel',
  },
  EINVAL: {
    name: 'EINVAL',
    value: 22,
    meaning: 'a malformed argument: bad size, misaligned address, bad flags, bad table entry',
  },
  ENOSYS: { name: 'ENOSYS', value: 38, meaning: 'no hypercall has this number' },
} as const satisfies Record<string, ErrorCodeSpec>;

export type ErrorName = keyof typeof ERRNO;

/** EAX after a successful hypercall that returns no value. */
export const PV_OK = 0;

// ---------------------------------------------------------------------------------------------
// Hypercalls: EAX = number, arguments in EBX, ECX, EDX, ESI, EDI (Xen's 32-bit order), result in
// EAX. Every other register, EFLAGS included, is preserved (iret excepted: it loads a new context).

export type ArgRegister = 'ebx' | 'ecx' | 'edx' | 'esi' | 'edi';

/** The order in which arguments are passed. */
export const ARG_REGISTERS: readonly ArgRegister[] = ['ebx', 'ecx', 'edx', 'esi', 'edi'];

export interface HypercallArg {
  readonly reg: ArgRegister;
  readonly name: string;
  readonly meaning: string;
}

export interface HypercallSpec {
  readonly name: string;
  readonly number: number;
  /** what the hypercall does */
  readonly summary: string;
  /** the sensitive instruction(s) of the native build it replaces */
  readonly replaces: string;
  readonly args: readonly HypercallArg[];
  /** what EAX holds afterwards */
  readonly returns: string;
  readonly errors: readonly ErrorName[];
}

export const HYPERCALL = {
  console_write: {
    name: 'console_write',
    number: 0,
    summary:
      'Append a buffer to the run’s serial output (the same stream COM1 writes go to), in one world switch.',
    replaces: 'out 0x3F8 per byte (with the LSR polling in 0x3FD)',
    args: [
      { reg: 'ebx', name: 'buffer', meaning: 'guest-virtual address of the bytes' },
      { reg: 'ecx', name: 'length', meaning: 'number of bytes' },
    ],
    returns: 'bytes written (= length); nothing is written on error',
    errors: ['EFAULT', 'EINVAL'],
  },
  set_trap_table: {
    name: 'set_trap_table',
    number: 1,
    summary:
      'Register the guest’s trap table (array of trap_info, ended by an entry whose address is 0). ' +
      'The hypervisor copies it; it replaces the previous table entirely. An entry for vector 0x80 ' +
      'with DPL 3 and no event masking becomes the fast system-call gate.',
    replaces: 'lidt',
    args: [{ reg: 'ebx', name: 'table', meaning: 'guest-virtual address of the trap_info array' }],
    returns: '0',
    errors: ['EFAULT', 'EINVAL'],
  },
  mmu_update: {
    name: 'mmu_update',
    number: 2,
    summary:
      'Apply a batch of page-table writes {ptr, val}: each writes val to the page-table entry at ' +
      'guest-physical address ptr, in order, stopping at the first bad entry. One world switch for ' +
      'the whole batch.',
    replaces: 'mov [pte], val (a store to a page table in use, which would fault and be emulated)',
    args: [
      { reg: 'ebx', name: 'requests', meaning: 'guest-virtual address of the mmu_update array' },
      {
        reg: 'ecx',
        name: 'count',
        meaning: 'number of entries (0 is allowed; at most MMU_UPDATE_MAX_ENTRIES, 4096)',
      },
      { reg: 'edx', name: 'flags', meaning: 'MMU_UPDATE_FLUSH_TLB: flush the TLB after the batch' },
    ],
    returns: '0; on error, entries before the bad one are applied, the rest are not',
    errors: ['EFAULT', 'EINVAL', 'EPERM'],
  },
  set_cr3: {
    name: 'set_cr3',
    number: 3,
    summary:
      'Switch to the address space whose page directory is at this guest-physical address and flush ' +
      'the TLB (a context switch). The first call also turns the guest’s paging on.',
    replaces: 'mov cr3, r (and the mov cr0 that sets PG)',
    args: [
      {
        reg: 'ebx',
        name: 'page_directory',
        meaning: 'guest-physical address, 4 KiB aligned, inside guest RAM',
      },
    ],
    returns: '0',
    errors: ['EINVAL', 'EPERM'],
  },
  invlpg: {
    name: 'invlpg',
    number: 4,
    summary: 'Drop the TLB entry for one linear address.',
    replaces: 'invlpg [m]',
    args: [{ reg: 'ebx', name: 'address', meaning: 'linear address' }],
    returns: '0',
    errors: [],
  },
  stack_switch: {
    name: 'stack_switch',
    number: 5,
    summary:
      'Set the guest-kernel stack that the next user→kernel transition (event, exception, int 0x80) ' +
      'switches to.',
    replaces: 'ltr, and the store to TSS.ESP0 at every context switch',
    args: [
      { reg: 'ebx', name: 'ss', meaning: 'FLAT_KERNEL_SS' },
      { reg: 'ecx', name: 'esp', meaning: 'top of the kernel stack' },
    ],
    returns: '0',
    errors: ['EPERM'],
  },
  iret: {
    name: 'iret',
    number: 6,
    summary:
      'Return from a trap, event or system call: pops EAX, EIP, CS, EFLAGS (and ESP, SS when CS is ' +
      'FLAT_USER_CS) from the guest stack. EFLAGS.IF sets the event mask (IF=1 unmasks), so ' +
      'pending events are delivered at once if it unmasks.',
    replaces: 'iret (at CPL 1 it faults to kernel, and silently drops IF to user)',
    args: [],
    returns: 'does not return; -EINVAL with the stack untouched if the frame is bad',
    errors: ['EFAULT', 'EINVAL'],
  },
  io_out: {
    name: 'io_out',
    number: 7,
    summary:
      'Write to an I/O port of a virtual device (ports as on the machine; unknown ports ignore ' +
      'writes). Port 0xF4 (isa-debug-exit) ends the run: there is no shutdown hypercall.',
    replaces: 'out',
    args: [
      { reg: 'ebx', name: 'port', meaning: '0–0xFFFF' },
      { reg: 'ecx', name: 'size', meaning: '1, 2 or 4 bytes' },
      { reg: 'edx', name: 'value', meaning: 'the low size bytes are written' },
    ],
    returns: '0',
    errors: ['EINVAL'],
  },
  io_in: {
    name: 'io_in',
    number: 8,
    summary: 'Read an I/O port of a virtual device (unknown ports read all ones).',
    replaces: 'in',
    args: [
      { reg: 'ebx', name: 'port', meaning: '0–0xFFFF' },
      { reg: 'ecx', name: 'size', meaning: '1, 2 or 4 bytes' },
    ],
    returns:
      'the value, zero-extended (-EINVAL for a bad size is unambiguous only for sizes 1 and 2)',
    errors: ['EINVAL'],
  },
  set_timer: {
    name: 'set_timer',
    number: 9,
    summary:
      'Start a periodic virtual timer: event channel EVTCHN_TIMER becomes pending every period ' +
      'ticks of system_time (PIT input clock, 1.193182 MHz), first at now + period; 0 stops it.',
    replaces: 'the PIT programming (out 0x43 / 0x40) and PIC setup for IRQ 0',
    args: [{ reg: 'ebx', name: 'period', meaning: 'ticks between events (the PIT reload value)' }],
    returns: '0',
    errors: ['EINVAL'],
  },
  block: {
    name: 'block',
    number: 10,
    summary:
      'Unmask events and, if none is pending, idle until one is; returns 0 and the event is ' +
      'delivered immediately after the vmcall. Unmask-and-wait is atomic, as sti;hlt is.',
    replaces: 'sti; hlt (the idle loop)',
    args: [],
    returns: '0',
    errors: [],
  },
  yield: {
    name: 'yield',
    number: 11,
    summary:
      'Enter the hypervisor only so that it delivers pending unmasked events on the way back ' +
      '(Xen’s event check after unmasking).',
    replaces: 'the interrupt window after sti / popf',
    args: [],
    returns: '0',
    errors: [],
  },
} as const satisfies Record<string, HypercallSpec>;

export type HypercallName = keyof typeof HYPERCALL;

/** Every hypercall, in number order. */
export const HYPERCALLS: readonly HypercallSpec[] = Object.values(HYPERCALL)
  .slice()
  .sort((a, b) => a.number - b.number);

export function hypercallByNumber(n: number): HypercallSpec | undefined {
  return HYPERCALLS.find((h) => h.number === n);
}

// ---------------------------------------------------------------------------------------------
// Memory layout assumptions and the shared-info page

/** The kernel is loaded at 1 MiB (multiboot, as QEMU does); RAM is 64 MiB by default. */
export const KERNEL_LOAD_ADDRESS = 0x100000;

/**
 * The shared-info page: the 4 KiB page just below the kernel's load address. The machine's
 * memory map lists 0xF0000–0xFFFFF as reserved (BIOS area), so the kernel's frame allocator never
 * hands it out, and nothing the multiboot loader writes lands there. The guest kernel maps it at
 * the same virtual address (its identity map of low memory), supervisor-only and writable, so
 * user code cannot unmask events. The hypervisor addresses it guest-physically.
 */
export const SHARED_INFO_ADDRESS = 0xff000;
export const SHARED_INFO_SIZE = 4096;

export type FieldWriter = 'hypervisor' | 'guest' | 'both';

export interface FieldSpec {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  /** who stores to it (both sides may read it) */
  readonly writer: FieldWriter;
  readonly meaning: string;
}

export const SHARED_INFO = {
  evtchn_upcall_pending: {
    name: 'evtchn_upcall_pending',
    offset: 0x00,
    size: 1,
    writer: 'hypervisor',
    meaning:
      'summary: 1 while (evtchn_pending & ~evtchn_mask) ≠ 0, as of the hypervisor’s last entry; what sti’s expansion tests',
  },
  evtchn_upcall_mask: {
    name: 'evtchn_upcall_mask',
    offset: 0x01,
    size: 1,
    writer: 'both',
    meaning:
      'virtual interrupt mask: 1 = events masked (cli), 0 = delivered (sti); set by the hypervisor on an upcall, restored by iret from EFLAGS.IF',
  },
  cr2: {
    name: 'cr2',
    offset: 0x04,
    size: 4,
    writer: 'hypervisor',
    meaning:
      'faulting linear address of the last page fault reflected to the guest (mov r, cr2 is privileged)',
  },
  evtchn_pending: {
    name: 'evtchn_pending',
    offset: 0x08,
    size: 4,
    writer: 'both',
    meaning:
      'bit n: event channel n is pending; the hypervisor sets it when the event fires and clears it when it delivers it',
  },
  evtchn_mask: {
    name: 'evtchn_mask',
    offset: 0x0c,
    size: 4,
    writer: 'guest',
    meaning:
      'bit n: channel n masked on its own (the PIC’s IMR); read at the hypervisor’s next entry',
  },
  time_version: {
    name: 'time_version',
    offset: 0x10,
    size: 4,
    writer: 'hypervisor',
    meaning:
      'odd while system_time is being updated; read it, system_time, then it again, and retry if it changed or was odd',
  },
  system_time: {
    name: 'system_time',
    offset: 0x18,
    size: 8,
    writer: 'hypervisor',
    meaning:
      'virtual time in PIT input-clock ticks (1.193182 MHz) since boot, as of the hypervisor’s last entry; low dword first',
  },
  abi_version: {
    name: 'abi_version',
    offset: 0x20,
    size: 4,
    writer: 'hypervisor',
    meaning: 'PARAVIRT_ABI_VERSION, written before the guest’s first instruction',
  },
  features: {
    name: 'features',
    offset: 0x24,
    size: 4,
    writer: 'hypervisor',
    meaning:
      'bit n: feature n of the machine below (FEATURE_*, Xen’s XENFEAT_ bits), written before the guest’s first instruction',
  },
} as const satisfies Record<string, FieldSpec>;

/**
 * features bit: on this machine an iret from the guest kernel (CPL 1) to guest user code (CPL 3)
 * runs without trapping (classic IA-32, where it only leaves IF and IOPL alone), so the kernel
 * may return to user mode with a real iret instead of the iret hypercall. Clear on the strict
 * ISA, where every iret at CPL > 0 traps.
 */
export const FEATURE_NATIVE_USER_IRET = 0x1;

export type SharedInfoField = keyof typeof SHARED_INFO;

/** Shared-info fields in offset order. */
export const SHARED_INFO_FIELDS: readonly FieldSpec[] = Object.values(SHARED_INFO)
  .slice()
  .sort((a, b) => a.offset - b.offset);

// ---------------------------------------------------------------------------------------------
// Events (virtual interrupts)

/** Event channel n is delivered through trap-table vector EVENT_VECTOR_BASE + n: the vectors a
 * native kernel gives IRQ n after remapping the PIC, so one handler serves both builds. */
export const EVENT_VECTOR_BASE = 0x20;
/** Channels 0–15 mirror the PIC's IRQ lines; bits 16–31 of evtchn_pending are reserved. */
export const NR_EVENT_CHANNELS = 16;

export interface EventChannelSpec {
  readonly name: string;
  readonly channel: number;
  readonly meaning: string;
}

export const EVTCHN = {
  timer: {
    name: 'timer',
    channel: 0,
    meaning: 'the set_timer period elapsed (IRQ 0); a period that elapses while pending is lost',
  },
} as const satisfies Record<string, EventChannelSpec>;

export function eventVector(channel: number): number {
  return EVENT_VECTOR_BASE + channel;
}

/** The frame the hypervisor pushes for an upcall or a reflected exception: the x86 interrupt frame. */
export interface FrameSlot {
  readonly name: string;
  readonly offset: number;
  readonly meaning: string;
}

/**
 * Offsets from ESP at the handler's first instruction (no error code). An exception with an error
 * code (EXCEPTIONS_WITH_ERROR_CODE) has it at offset 0 and the slots below shifted by 4. ESP and SS
 * are pushed only when the interrupted code ran at CPL 3 (the stack then is the one stack_switch
 * set). The saved EFLAGS.IF is the inverse of evtchn_upcall_mask before the upcall (Xen keeps
 * that mask in the upper half of the saved CS instead).
 */
export const UPCALL_FRAME: readonly FrameSlot[] = [
  { name: 'eip', offset: 0, meaning: 'where the interrupted code continues' },
  { name: 'cs', offset: 4, meaning: 'FLAT_KERNEL_CS or FLAT_USER_CS' },
  { name: 'eflags', offset: 8, meaning: 'IF = 1 if events were unmasked' },
  { name: 'esp', offset: 12, meaning: 'user ESP (from CPL 3 only)' },
  { name: 'ss', offset: 16, meaning: 'user SS (from CPL 3 only)' },
];

/** The stack at the iret hypercall: the upcall frame with the saved EAX pushed on top. */
export const IRET_FRAME: readonly FrameSlot[] = [
  { name: 'eax', offset: 0, meaning: 'restored into EAX (the hypercall number needed it)' },
  ...UPCALL_FRAME.map((s) => ({ ...s, offset: s.offset + 4 })),
];

/** Vectors whose reflected exception carries an error code (Intel SDM vol. 3 §6.13). */
export const EXCEPTIONS_WITH_ERROR_CODE: readonly number[] = [8, 10, 11, 12, 13, 14, 17];

// ---------------------------------------------------------------------------------------------
// Selectors: the GDT belongs to the hypervisor (there is no set_gdt), it provides these flat
// 4 GiB segments. Same GDT indices a native kernel typically uses, with the guest kernel's RPL 1.

export const SELECTORS = {
  FLAT_KERNEL_CS: 0x09,
  FLAT_KERNEL_DS: 0x11,
  FLAT_KERNEL_SS: 0x11,
  FLAT_USER_CS: 0x1b,
  FLAT_USER_DS: 0x23,
  FLAT_USER_SS: 0x23,
} as const;

// ---------------------------------------------------------------------------------------------
// Trap table (Xen's trap_info)

export const TRAP_INFO = {
  vector: { name: 'vector', offset: 0, size: 1, writer: 'guest', meaning: 'vector 0–255' },
  flags: {
    name: 'flags',
    offset: 1,
    size: 1,
    writer: 'guest',
    meaning: 'bits 0–1: DPL for int n; bit 2: mask events on entry (interrupt gate)',
  },
  cs: { name: 'cs', offset: 2, size: 2, writer: 'guest', meaning: 'FLAT_KERNEL_CS' },
  address: {
    name: 'address',
    offset: 4,
    size: 4,
    writer: 'guest',
    meaning: 'handler (guest-virtual); 0 ends the table',
  },
} as const satisfies Record<string, FieldSpec>;

export const TRAP_INFO_SIZE = 8;
/** Most entries set_trap_table reads before the terminator (one per vector). */
export const TRAP_TABLE_MAX_ENTRIES = 256;
/** flags bits 0–1: the least privileged CPL allowed to raise the vector with `int n` (else #GP). */
export const TRAP_INFO_DPL_MASK = 0x3;
/** flags bit 2: set evtchn_upcall_mask on entry, like an interrupt gate clears IF (Xen's TI_SET_IF). */
export const TRAP_INFO_MASK_EVENTS = 0x4;
/** The system-call vector that may become a fast gate (Xen's fast trap). */
export const FAST_TRAP_VECTOR = 0x80;

// ---------------------------------------------------------------------------------------------
// mmu_update request entries

export const MMU_UPDATE = {
  ptr: {
    name: 'ptr',
    offset: 0,
    size: 4,
    writer: 'guest',
    meaning:
      'guest-physical address of the PDE/PTE, 4-byte aligned (low 2 bits: command, MMU_NORMAL_PT_UPDATE)',
  },
  val: {
    name: 'val',
    offset: 4,
    size: 4,
    writer: 'guest',
    meaning: 'the new entry; if present, its frame must lie in guest RAM (else -EPERM)',
  },
} as const satisfies Record<string, FieldSpec>;

export const MMU_UPDATE_SIZE = 8;
/** Most entries one mmu_update takes (a larger count is -EINVAL: the work of one call is bounded). */
export const MMU_UPDATE_MAX_ENTRIES = 4096;
/** Most bytes one console_write takes (a longer buffer is -EINVAL). */
export const CONSOLE_WRITE_MAX = 65536;
/** Longest set_timer period: the PIT's 16-bit reload value (a longer one is -EINVAL). */
export const TIMER_PERIOD_MAX = 0xffff;
/** The only command (Xen's value), carried in ptr's low two bits. */
export const MMU_NORMAL_PT_UPDATE = 0;
/** mmu_update flags (EDX): flush the whole TLB after the batch, as a CR3 reload would. */
export const MMU_UPDATE_FLUSH_TLB = 0x1;

// ---------------------------------------------------------------------------------------------
// The canonical sequences: NASM macros the PARAVIRT build uses in place of sensitive instructions.
// Their bodies are NASM text over the constants above (gen-abi.ts emits them into the .inc).

export interface AsmMacroSpec {
  readonly name: string;
  readonly params: number;
  /** the native instruction(s) it stands for */
  readonly replaces: string;
  readonly summary: string;
  readonly body: readonly string[];
}

const MASK = '[SHARED_INFO_ADDRESS + SHARED_INFO_evtchn_upcall_mask]';
const PENDING = '[SHARED_INFO_ADDRESS + SHARED_INFO_evtchn_upcall_pending]';

export const ASM_MACROS: readonly AsmMacroSpec[] = [
  {
    name: 'HYPERCALL',
    params: 1,
    replaces: '—',
    summary: 'EAX = HYPERVISOR_<name>, then vmcall; the arguments are already in EBX…EDI',
    body: ['mov eax, HYPERVISOR_%1', 'vmcall'],
  },
  {
    name: 'PV_CLI',
    params: 0,
    replaces: 'cli',
    summary: 'mask events: one store, no world switch',
    body: [`mov byte ${MASK}, 1`],
  },
  {
    name: 'PV_STI',
    params: 0,
    replaces: 'sti',
    summary:
      'unmask, THEN test the summary (an event raised between the two is still seen), and enter ' +
      'the hypervisor only if something is pending; keeps EAX, clobbers the arithmetic flags',
    body: [
      `mov byte ${MASK}, 0`,
      `cmp byte ${PENDING}, 0`,
      'je %%done',
      'push eax',
      'mov eax, HYPERVISOR_yield',
      'vmcall',
      'pop eax',
      '%%done:',
    ],
  },
  {
    name: 'PV_IRET',
    params: 0,
    replaces: 'iret',
    summary: 'save EAX on the frame (the hypercall number needs it), then the iret hypercall',
    body: ['push eax', 'mov eax, HYPERVISOR_iret', 'vmcall'],
  },
];
