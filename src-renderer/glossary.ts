// The lecture glossary (Help → The lecture glossary, F1): the vocabulary of the lecture the
// workbench is built from (shared/reference/lecture-virtualization-mechanisms.txt), explained
// for students and tied to the x86 facts (Intel SDM) and to where the app shows each idea.
// Entries are written in lecture order here; the dialog sorts them alphabetically at use time.
// `lecture` names the lecture section; terms the lecture only points towards (memory
// virtualization, hardware assistance) or that belong to the app say so after the section.
// `see` names other entries by term. searchGlossary is pure: the dialog and the tests share it.

export interface GlossaryEntry {
  readonly term: string;
  /** other names and spellings, also searched */
  readonly aliases?: readonly string[];
  readonly definition: string;
  /** the lecture section, e.g. "§4.1" */
  readonly lecture: string;
  /** where the app shows it, e.g. "Compare → Traps by cause" */
  readonly inApp?: string;
  /** related entries, by term */
  readonly see?: readonly string[];
}

export const GLOSSARY: readonly GlossaryEntry[] = [
  // ---- §1–§3: the problem and the four classical techniques
  {
    term: 'Hypervisor',
    aliases: ['VMM', 'virtual machine monitor'],
    definition:
      'The software that runs virtual machines. It keeps control of the real machine for itself, ' +
      'gives each guest the illusion of a machine of its own, and steps in whenever a guest tries ' +
      'to do something that would affect the real machine or the other guests. In the workbench ' +
      'the hypervisor is TypeScript running outside the simulated CPU; the work it does is ' +
      'charged to the run in modeled cycles.',
    lecture: '§1',
    inApp: 'Experiment → Techniques (every technique except native has one)',
    see: ['Guest', 'Popek and Goldberg properties', 'Virtual CPU'],
  },
  {
    term: 'Guest',
    aliases: ['guest OS', 'guest kernel', 'virtual machine', 'VM'],
    definition:
      'The operating system (and its programs) running inside a virtual machine. It was written ' +
      'to own the whole machine and usually does not know it is being virtualized. In the ' +
      'workbench the guest is an IA-32 multiboot kernel; every technique runs the same bytes, ' +
      'except para-virtualization, which runs the para-virtual build of the same source.',
    lecture: '§2',
    inApp: 'Experiment → Guest',
    see: ['Hypervisor', 'Para-virtualization'],
  },
  {
    term: 'Virtual CPU',
    aliases: ['vCPU'],
    definition:
      'The hypervisor’s own record of the processor state a guest believes it has but cannot be ' +
      'allowed to hold on the real CPU: its privilege level, interrupt flag and IOPL, control ' +
      'registers (CR0, CR2, CR3, CR4) and descriptor-table registers. Emulating a sensitive ' +
      'instruction means applying its effect to this record instead of to the real machine.',
    lecture: '§2',
    see: ['Virtual interrupt flag', 'Trap-and-emulate', 'Privileged state'],
  },
  {
    term: 'Virtual interrupt flag',
    aliases: ['virtual IF'],
    definition:
      'A per-guest copy of the interrupt flag kept by the hypervisor. When the guest runs cli it ' +
      'clears this flag instead of the real IF, so only its own virtual interrupts are held back ' +
      'and the real machine keeps taking interrupts. When the guest sets it again (sti), the ' +
      'hypervisor must check for virtual interrupts that arrived meanwhile and deliver them. ' +
      'Under para-virtualization it is a byte in memory shared with the hypervisor; under binary ' +
      'translation cli becomes a plain store to it. (x86 also has a hardware VIF bit, EFLAGS ' +
      'bit 19, used by its virtual-8086 and protected-mode virtual-interrupt extensions; the ' +
      'flag meant here is kept by the hypervisor in software.)',
    lecture: '§2',
    see: ['Interrupt flag (IF)', 'Virtual CPU'],
  },
  {
    term: 'De-privileging',
    aliases: ['deprivileging', 'ring compression'],
    definition:
      'Running the guest kernel at a lower privilege level than it was written for, so that its ' +
      'privileged instructions trap to the hypervisor instead of acting on the real machine. The ' +
      'lecture says “user mode”; x86 hypervisors used ring 1 for the guest kernel and kept guest ' +
      'applications in ring 3 (ring compression): pages marked supervisor stay reachable from ' +
      'ring 1 but not from ring 3, so the guest kernel stays protected from its applications. ' +
      'The workbench’s ' +
      'trap-and-emulate runs the guest kernel at CPL 1.',
    lecture: '§3',
    see: ['CPL and protection rings', 'Trap-and-emulate', 'Trap'],
  },
  {
    term: 'Interpretive execution',
    aliases: ['SIE', 'start interpretive execution'],
    definition:
      'The lecture’s third classical technique: an execution mode built into the instruction set ' +
      'in which the hardware itself knows it is running a virtual machine and carries out ' +
      'problematic instructions against that machine’s state. IBM mainframes provided it (the ' +
      'SIE instruction, “start interpretive execution”); it is the ancestor of today’s ' +
      'hardware-assisted virtualization. Not to be confused with pure interpretation in software.',
    lecture: '§3',
    see: ['Hardware-assisted virtualization', 'Pure interpretation'],
  },

  // ---- §4: trap-and-emulate and the Popek–Goldberg framework
  {
    term: 'Trap',
    aliases: ['exception'],
    definition:
      'A transfer of control to the hypervisor caused by what the guest just did: an exception ' +
      'such as a general-protection fault (#GP) or page fault (#PF), an I/O instruction, hlt, an ' +
      'interrupt, a hypercall or a VM exit. (Intel’s manual uses “trap” narrowly, for exceptions ' +
      'reported after the instruction; #GP and #PF are “faults”, reported before it, with EIP ' +
      'still pointing at the instruction — which is exactly what lets a hypervisor decode it, ' +
      'emulate it and move on.) Each trap costs a world switch plus the handler’s own work.',
    lecture: '§4',
    inApp: 'Compare → Traps by cause; the Trap log',
    see: ['Trap-and-emulate', 'World switch', 'Privileged instruction'],
  },
  {
    term: 'Trap-and-emulate',
    aliases: ['trap & emulate'],
    definition:
      'Virtualization by de-privileging: the unmodified guest kernel runs at reduced privilege, ' +
      'every sensitive instruction it executes traps, and the hypervisor decodes that instruction ' +
      'and emulates its effect on the guest’s virtual CPU before resuming after it. It needs no ' +
      'change to the guest, but it is only correct when every sensitive instruction traps (the ' +
      'Popek and Goldberg condition), which classic x86 does not meet.',
    lecture: '§4',
    inApp: 'Experiment → Techniques → Trap-and-emulate',
    see: ['Popek and Goldberg theorem', 'De-privileging', 'Silent sensitive instruction'],
  },
  {
    term: 'Privileged state',
    aliases: ['privileged machine state'],
    definition:
      'The part of the machine’s state that decides how resources are shared and protected: the ' +
      'processor mode (on x86 the current privilege level), the interrupt flag, the page-table ' +
      'base (CR3) and the TLB, the descriptor tables (GDT, IDT), the control registers and the ' +
      'I/O permissions. Changed on the real machine it would affect every virtual machine, so ' +
      'the hypervisor keeps a virtual copy of it for each guest.',
    lecture: '§4.1',
    see: ['Control-sensitive instruction', 'Behavior-sensitive instruction', 'Virtual CPU'],
  },
  {
    term: 'Control-sensitive instruction',
    aliases: ['control sensitive'],
    definition:
      'An instruction that can change the privileged state. x86 examples: cli and sti (the ' +
      'interrupt flag), mov to CR3 (the page tables), lgdt and lidt (the descriptor tables), ' +
      'iret and popf (which may change the privilege level, IF and IOPL), in and out (devices). ' +
      'Executed unchecked by a guest it would change the real machine for everyone.',
    lecture: '§4.1',
    see: ['Sensitive instruction', 'Behavior-sensitive instruction', 'Privileged state'],
  },
  {
    term: 'Behavior-sensitive instruction',
    aliases: ['behaviour-sensitive instruction', 'behavior sensitive'],
    definition:
      'An instruction whose result depends on the privileged state, so it reveals whether the ' +
      'code runs on bare hardware or in a virtual machine. x86 examples: reading CS (its low two ' +
      'bits are the current privilege level), sgdt, sidt, sldt and str (addresses of the real ' +
      'descriptor tables), smsw (the low bits of CR0), pushf (the real IF and IOPL). The ' +
      'lecture’s example is an access by physical address, whose result depends on where the ' +
      'guest’s memory really is.',
    lecture: '§4.1',
    see: ['Sensitive instruction', 'Control-sensitive instruction', 'Silent sensitive instruction'],
  },
  {
    term: 'Sensitive instruction',
    definition:
      'An instruction that is control-sensitive or behavior-sensitive: it changes or reveals the ' +
      'privileged state. These are the instructions a hypervisor must get to see. The ' +
      'workbench’s single ISA table records, for each instruction and each ISA variant, whether ' +
      'it is sensitive and whether it is privileged.',
    lecture: '§4.1',
    inApp: 'Trap log (what trapped, instruction by instruction)',
    see: [
      'Control-sensitive instruction',
      'Behavior-sensitive instruction',
      'Innocuous instruction',
      'Popek and Goldberg theorem',
    ],
  },
  {
    term: 'Innocuous instruction',
    aliases: ['innocuous'],
    definition:
      'An instruction that is neither control- nor behavior-sensitive: register moves, ' +
      'arithmetic, ordinary loads and stores, jumps. Its effect is the same in a virtual machine ' +
      'as on bare hardware, so it can run directly on the CPU at full speed. Most of any ' +
      'program is innocuous, which is why virtualization can be fast at all.',
    lecture: '§4.1',
    see: ['Sensitive instruction', 'IDENT', 'Efficiency property'],
  },
  {
    term: 'Privileged instruction',
    definition:
      'An instruction that works in kernel mode but traps in user mode under otherwise identical ' +
      'conditions. On x86 protected mode, hlt, lgdt, lidt, mov to or from a control register and ' +
      'invlpg need CPL 0 and raise #GP otherwise; cli, sti, in and out trap when CPL is above ' +
      'IOPL (in and out unless the TSS I/O bitmap allows the port), which is why a hypervisor ' +
      'keeps the real IOPL at 0.',
    lecture: '§4.1',
    see: ['Sensitive instruction', 'IOPL', 'CPL and protection rings', 'Trap'],
  },
  {
    term: 'Popek and Goldberg properties',
    aliases: ['VMM properties'],
    definition:
      'The three properties by which Popek and Goldberg (1974) define a virtual machine monitor: ' +
      'equivalence (a program behaves under it as on the real machine, apart from timing and the ' +
      'amount of resources), resource control (the monitor stays in full control of the real ' +
      'resources) and efficiency (most instructions run directly on the real CPU). A pure ' +
      'software interpreter has the first two but not the third.',
    lecture: '§4.1',
    see: ['Equivalence', 'Resource control', 'Efficiency property', 'Popek and Goldberg theorem'],
  },
  {
    term: 'Equivalence',
    aliases: ['equivalent', 'duplication'],
    definition:
      'The property that a guest behaves under virtualization exactly as on bare hardware, ' +
      'except for timing and available resources (the lecture calls it “duplication” in §4.3). ' +
      'The workbench checks it concretely: a run is equivalent when the guest’s serial output is ' +
      'identical to the native run’s output for the same kernel, workload and seed; otherwise it ' +
      'shows the first line that differs and, when it knows one, the sensitive instruction that ' +
      'ran without trapping.',
    lecture: '§4.1',
    inApp: 'Compare → run cards (Equivalent to native / Diverges at line …); Output',
    see: ['Popek and Goldberg properties', 'Silent sensitive instruction'],
  },
  {
    term: 'Resource control',
    aliases: ['resource control property'],
    definition:
      'The Popek and Goldberg property that the hypervisor keeps complete control of the real ' +
      'resources: a guest can use only what it was given and can never reach the hypervisor’s ' +
      'own memory or another guest’s. In the workbench the hypervisor’s structures (shadow page ' +
      'tables, translation cache, virtual CPU) lie outside every guest’s physical memory and no ' +
      'mapping a guest can use points at them.',
    lecture: '§4.1',
    see: ['Popek and Goldberg properties', 'Shadow page table'],
  },
  {
    term: 'Efficiency property',
    aliases: ['efficiency'],
    definition:
      'The Popek and Goldberg property that the great majority of a guest’s instructions run ' +
      'directly on the real processor, with the monitor involved only for the few that need it. ' +
      'It is what separates a virtual machine monitor from an emulator: pure interpretation is ' +
      'equivalent and in control, but not efficient.',
    lecture: '§4.1',
    see: ['Popek and Goldberg properties', 'Innocuous instruction', 'Pure interpretation'],
  },
  {
    term: 'Popek and Goldberg theorem',
    aliases: ['Popek–Goldberg theorem', 'virtualizability theorem'],
    definition:
      'For a conventional (third-generation) machine, a virtual machine monitor can be built by ' +
      'trap-and-emulate if the sensitive instructions are a subset of the privileged ones — in ' +
      'plain words, if every instruction that changes or reveals the privileged state traps when ' +
      'the guest runs de-privileged. Classic x86 fails it: Robin and Irvine (2000) counted 17 ' +
      'sensitive but unprivileged instructions on the Pentium.',
    lecture: '§4.2',
    inApp: 'Experiment → Machine → ISA variant (strict meets it, classic does not)',
    see: [
      'Sensitive instruction',
      'Privileged instruction',
      'Popek and Goldberg properties',
      'ISA variant',
    ],
  },
  {
    term: 'CPL and protection rings',
    aliases: [
      'CPL',
      'current privilege level',
      'rings',
      'ring 0',
      'kernel mode',
      'user mode',
      'processor mode',
    ],
    definition:
      'x86 protected mode has four privilege levels, rings 0 (most privileged) to 3. The current ' +
      'privilege level (CPL) is that of the running code and sits in the low two bits of the CS ' +
      'register. Kernels run in ring 0 (kernel mode), applications in ring 3 (user mode); rings 1 ' +
      'and 2 were rarely used except by hypervisors for de-privileged guest kernels. Because any ' +
      'program may read CS, the CPL is visible to the guest — one of the leaks of §4.3.',
    lecture: '§4.3',
    see: ['De-privileging', 'Privileged instruction', 'Behavior-sensitive instruction'],
  },
  {
    term: 'Descriptor tables',
    aliases: ['GDT', 'IDT', 'LDT', 'interrupt descriptor table', 'global descriptor table'],
    definition:
      'In-memory tables the x86 consults for segments (GDT, LDT) and for where each interrupt or ' +
      'exception goes (IDT); the GDTR, IDTR, LDTR and TR registers locate them. Loading those ' +
      'registers (lgdt, lidt, lldt, ltr) is privileged, but reading them (sgdt, sidt, sldt, str) ' +
      'was allowed at any level on classic x86, so a guest sees the hypervisor’s tables instead ' +
      'of its own. Newer CPUs can forbid those reads outside ring 0 (UMIP).',
    lecture: '§4.3',
    see: ['Behavior-sensitive instruction', 'Silent sensitive instruction'],
  },
  {
    term: 'EFLAGS',
    aliases: ['flags register'],
    definition:
      'The x86 32-bit flags register. Besides the arithmetic flags (carry, zero, sign, overflow…) ' +
      'it holds system flags: IF (bit 9), IOPL (bits 12–13), the trap flag, nested task, resume ' +
      'and virtual-8086 flags, and VIF/VIP. pushf, popf, interrupts and iret save or load it as a ' +
      'whole, so one instruction touches innocuous and privileged state together — the root of ' +
      'the POPF problem.',
    lecture: '§4.3',
    see: ['Interrupt flag (IF)', 'IOPL', 'POPF problem'],
  },
  {
    term: 'Interrupt flag (IF)',
    aliases: ['IF', 'interrupt flag', 'cli', 'sti'],
    definition:
      'EFLAGS bit 9: when set, the CPU accepts maskable hardware interrupts; when clear, they ' +
      'wait. cli clears it and sti sets it; in protected mode both raise #GP when CPL is above ' +
      'IOPL. Kernels mask interrupts around short critical sections, as in the lecture’s ' +
      '“cli; mov cr3, eax; sti” example. A guest must only mask its own virtual interrupts.',
    lecture: '§2',
    inApp: 'Compare → Traps by cause (cli, sti)',
    see: ['Virtual interrupt flag', 'IOPL', 'EFLAGS'],
  },
  {
    term: 'IOPL',
    aliases: ['I/O privilege level'],
    definition:
      'EFLAGS bits 12–13: the least privileged level still allowed to run in, out, cli and sti ' +
      'without faulting (for in and out the TSS I/O permission bitmap may allow more). Only code ' +
      'at CPL 0 can change IOPL, with popf or iret. A hypervisor keeps the real IOPL at 0 so that ' +
      'a de-privileged guest’s cli, sti and port I/O trap, and keeps the IOPL the guest asked ' +
      'for in its virtual CPU.',
    lecture: '§4.4',
    see: ['Interrupt flag (IF)', 'Privileged instruction', 'EFLAGS'],
  },
  {
    term: 'POPF problem',
    aliases: ['POPF trouble', 'popf', 'pushf'],
    definition:
      'popf loads EFLAGS from the stack. In ring 0 it can change IF and IOPL. In a de-privileged ' +
      'guest (CPL above IOPL) it does not fault: it loads the other flags and silently leaves IF ' +
      'and IOPL as they were. A guest kernel that re-enables interrupts by restoring saved flags ' +
      'therefore never does, and the hypervisor never hears of it — popf is control-sensitive ' +
      'but not privileged. pushf is the mirror image: it shows the real IF and IOPL, not the ' +
      'guest’s.',
    lecture: '§4.4',
    inApp:
      'Compare → run cards (a trap-and-emulate run on classic may name popf as likely culprit)',
    see: ['Silent sensitive instruction', 'Interrupt flag (IF)', 'EFLAGS'],
  },
  {
    term: 'Silent sensitive instruction',
    aliases: ['silent instruction', 'likely culprit'],
    definition:
      'A sensitive instruction that, run by a de-privileged guest kernel (CPL 1) on classic x86, ' +
      'neither traps nor does what the kernel meant, so the hypervisor never gets to emulate it: ' +
      'popf and iret drop their IF change, mov from CS reveals CPL 1, pushf shows the real IF, ' +
      'sgdt, sidt, sldt, str and smsw reveal the real machine. Trap-and-emulate cannot be ' +
      'equivalent when the guest relies on them; the workbench names the first one as the ' +
      'likely culprit of a diverging run.',
    lecture: '§4.3',
    inApp: 'Compare → run card of a diverging run (likely culprit)',
    see: ['POPF problem', 'ISA variant', 'Equivalence', 'Behavior-sensitive instruction'],
  },
  {
    term: 'ISA variant',
    aliases: ['classic', 'strict', 'classic x86', 'strict x86'],
    definition:
      'The workbench simulates two variants of the same instruction set. classic is the real ' +
      'IA-32, where some sensitive instructions (popf, pushf, sidt, smsw, mov from CS…) do not ' +
      'trap at CPL 1, so trap-and-emulate can be fooled. strict is a hypothetical IA-32 that ' +
      'meets the Popek and Goldberg condition: every sensitive instruction traps above CPL 0. ' +
      'Running both shows which techniques depend on the hardware being virtualizable.',
    lecture: '§4.3',
    inApp: 'Experiment → Machine → ISA variant',
    see: ['Popek and Goldberg theorem', 'Silent sensitive instruction'],
  },
  {
    term: 'World switch',
    aliases: ['context switch penalty', 'guest–hypervisor transition'],
    definition:
      'A transition between the guest and the hypervisor (or back): the state of one is saved ' +
      'and the other’s loaded. Every trap pays for a round trip before any emulation starts, ' +
      'which is why trap-heavy work is slow under trap-and-emulate; binary translation avoids ' +
      'many of them by running safe code inline (the lecture’s “context switch penalties”). ' +
      'Not the same as a guest’s own context switch between processes (a CR3 load).',
    lecture: '§6.1',
    inApp: 'Compare → World switches; Modeled cycles by category',
    see: ['Trap', 'VM exit', 'Modeled cycles'],
  },
  {
    term: 'Port I/O',
    aliases: ['in/out', 'I/O instruction'],
    definition:
      'The x86 in and out instructions, which talk to devices through a separate 16-bit port ' +
      'space (the serial port, interrupt controller, timer…). They are sensitive: a guest must ' +
      'reach its virtual devices, not the real ones. At CPL above IOPL they fault unless the ' +
      'TSS I/O bitmap allows the port, and the hypervisor then emulates the device.',
    lecture: '§4.1',
    inApp: 'Compare → Traps by cause (in port …, out port …)',
    see: ['IOPL', 'Privileged instruction'],
  },

  // ---- memory (the lecture defers the details to its memory lesson)
  {
    term: 'Page table',
    aliases: ['page tables', 'page directory', 'PTE', 'page-table entry', 'paging'],
    definition:
      'The in-memory structure that maps virtual addresses to physical ones. IA-32 uses two ' +
      'levels: CR3 points to a page directory of 1,024 entries, each pointing to a page table ' +
      'of 1,024 entries, each mapping one 4 KiB page with its present, writable, user and ' +
      'accessed/dirty bits. A guest’s page tables map to what it thinks is physical memory, ' +
      'which the hypervisor must map once more to real memory.',
    lecture: '§4.1 (details in the memory lesson)',
    see: ['CR3', 'Shadow page table', 'TLB', 'Nested paging'],
  },
  {
    term: 'CR3',
    aliases: ['page-table base register', 'PDBR', 'mov cr3'],
    definition:
      'The x86 control register holding the physical address of the current page directory — ' +
      'the “page table base register” of the lecture’s example. Loading it switches address ' +
      'space and flushes the non-global TLB entries; a kernel does it on every process switch. ' +
      'It is privileged, so under trap-and-emulate mov cr3 traps and the hypervisor switches to ' +
      'the matching shadow page tables.',
    lecture: '§2',
    inApp: 'Compare → Traps by cause (mov cr3)',
    see: ['Page table', 'Shadow page table', 'TLB'],
  },
  {
    term: 'TLB',
    aliases: ['translation lookaside buffer'],
    definition:
      'A cache inside the CPU of recent virtual-to-physical translations, so most memory accesses ' +
      'need no page-table walk. It is part of the privileged state: it is flushed by CR3 loads ' +
      'and single entries by invlpg. A miss costs a walk of the page tables — more under nested ' +
      'paging, where every guest table reference must itself be translated.',
    lecture: '§4.1',
    inApp: 'Compare → Modeled cycles by category (page walks)',
    see: ['Page table', 'CR3', 'Nested paging'],
  },
  {
    term: 'Shadow page table',
    aliases: ['shadow paging', 'shadow page tables'],
    definition:
      'The page tables the CPU really uses while a guest runs, built by the hypervisor by ' +
      'combining the guest’s own tables (guest-virtual to guest-physical) with its own map ' +
      '(guest-physical to real memory). The guest’s CR3 names tables the CPU never walks. To ' +
      'keep the shadow coherent the hypervisor write-protects the guest’s page-table pages, so ' +
      'every page-table write traps, and fills shadow entries lazily on page faults.',
    lecture: '§2 (details in the memory lesson)',
    inApp: 'Compare → Traps by cause (#PF hidden, #PF page-table write)',
    see: ['Hidden page fault', 'True page fault', 'CR3', 'Nested paging'],
  },
  {
    term: 'Hidden page fault',
    aliases: ['#PF hidden'],
    definition:
      'A page fault caused by virtualization rather than by the guest: the guest’s own tables ' +
      'allow the access, but the shadow entry is not filled in yet or the page is write-protected ' +
      'to keep the shadow coherent. The hypervisor fixes the shadow (or carries out the write) ' +
      'and resumes; the guest never sees it. Pure overhead compared with native.',
    lecture: '§2 (details in the memory lesson)',
    inApp: 'Compare → Traps by cause (#PF hidden)',
    see: ['True page fault', 'Shadow page table'],
  },
  {
    term: 'True page fault',
    aliases: ['#PF true', 'guest page fault'],
    definition:
      'A page fault the guest would also get on bare hardware, because its own page tables do ' +
      'not allow the access (page not present, write to a read-only page, user access to a ' +
      'kernel page). The hypervisor reflects it into the guest: it sets the guest’s virtual CR2 ' +
      'and enters the guest’s own #PF handler through the guest’s IDT.',
    lecture: '§2 (details in the memory lesson)',
    inApp: 'Compare → Traps by cause (#PF true); Guest events by cause',
    see: ['Hidden page fault', 'Shadow page table'],
  },
  {
    term: 'Nested paging',
    aliases: ['NPT', 'EPT', 'extended page tables', 'two-dimensional page walk'],
    definition:
      'Hardware support for memory virtualization: the CPU walks the guest’s page tables and, ' +
      'for every address they produce, a second table owned by the hypervisor. There are no ' +
      'shadow tables to keep coherent and no traps on page-table writes or CR3 loads, but a TLB ' +
      'miss costs more: up to nm + n + m memory references for n-level guest and m-level host ' +
      'tables (8 for two levels on two levels).',
    lecture: '§4.4 (beyond the lecture)',
    inApp: 'hardware-assisted-npt runs: Compare → Modeled cycles by category (page walks)',
    see: ['Shadow page table', 'Hardware-assisted virtualization', 'TLB'],
  },

  // ---- §5: para-virtualization
  {
    term: 'Para-virtualization',
    aliases: ['paravirtualization', 'paravirt'],
    definition:
      'Virtualization with a cooperating guest: the guest kernel’s source is changed so that, ' +
      'instead of executing sensitive instructions, it asks the hypervisor through the para-API. ' +
      'It works on hardware that trap-and-emulate cannot handle and can batch work (many ' +
      'page-table updates in one call), but the guest must be modified — easy for open-source ' +
      'systems; Xen reached closed-source ones through special device drivers.',
    lecture: '§5',
    inApp: 'Experiment → Techniques → paravirt; Compare → Hypercalls by name',
    see: ['Para-API', 'Hypercall'],
  },
  {
    term: 'Para-API',
    aliases: ['para-virtual interface'],
    definition:
      'The interface a para-virtualized guest sees instead of the bare instruction set: the ' +
      'hardware’s innocuous instructions plus high-level calls into the hypervisor (set the page ' +
      'tables, update many page-table entries, install the trap table, do I/O…) and memory ' +
      'shared with it (for instance the virtual interrupt mask, so cli and sti become plain ' +
      'memory writes). The guest built for it is the lecture’s “guest OS prime”.',
    lecture: '§5',
    see: ['Para-virtualization', 'Hypercall', 'Virtual interrupt flag'],
  },
  {
    term: 'Hypercall',
    aliases: ['vmcall'],
    definition:
      'A deliberate call from a para-virtualized guest kernel into the hypervisor, much as a ' +
      'system call goes from a program into its kernel. The workbench’s para-virtual guest uses ' +
      'the vmcall instruction with a call number in a register; on a machine without a ' +
      'hypervisor vmcall is an invalid instruction (#UD), so that build runs only virtualized.',
    lecture: '§5',
    inApp: 'Compare → Hypercalls by name, and the para-API table of a para-virtual run',
    see: ['Para-API', 'Para-virtualization', 'Trap', 'mmu_update batching'],
  },
  {
    term: 'Shared-info page',
    aliases: ['shared_info', 'event mask', 'evtchn_upcall_mask'],
    definition:
      'A page of memory the hypervisor and a para-virtualized guest kernel both map (Xen’s ' +
      'shared_info). The guest’s virtual interrupt mask lives there, so its cli and sti become ' +
      'plain stores to one byte, with no world switch; the hypervisor marks events that arrive ' +
      'while the mask is set as pending, and delivers them (an upcall) once the guest clears it. ' +
      'The workbench’s para-virtual kernel enters the hypervisor at sti only when an event is ' +
      'already pending. The page also carries the faulting address of a reflected page fault and ' +
      'the virtual time.',
    lecture: '§5',
    inApp:
      'Report → The para-API (the CLI and STI macros of both builds); Compare → para-API table (upcalls)',
    see: ['Para-API', 'Virtual interrupt flag', 'Hypercall'],
  },
  {
    term: 'mmu_update batching',
    aliases: ['mmu_update', 'batched page-table updates', 'multicall'],
    definition:
      'A para-virtualized kernel may not write its page tables directly: the hypervisor must ' +
      'check every entry first, so that no guest maps memory that is not its own. It asks with ' +
      'the mmu_update hypercall, which takes a whole list of entries, so that a fork or an exit ' +
      'that changes hundreds of entries pays for one world switch instead of one per entry — ' +
      'where Xen’s page-table overhead went, and why batching matters. Clearing “Batch page-table ' +
      'updates” sends one entry per call, to measure what batching saves.',
    lecture: '§5',
    inApp:
      'Experiment → Batch page-table updates (mmu_update); Compare → para-API table (entries per call, batch sizes)',
    see: ['Hypercall', 'Page table', 'Shadow page table', 'World switch'],
  },

  // ---- §6: binary translation
  {
    term: 'Binary translation',
    aliases: ['BT', 'dynamic binary translation'],
    definition:
      'The hypervisor reads guest kernel code just before it runs and rewrites it into safe ' +
      'code: innocuous instructions are copied unchanged, sensitive ones are replaced by code ' +
      'that acts on the virtual CPU (inline or through a callout), and jumps are adjusted to the ' +
      'new layout. Translated code is kept and reused, so each piece is translated once. It ' +
      'needs neither the source nor hardware help — VMware’s approach on classic x86. Guest user ' +
      'code runs directly, untranslated (§6.3).',
    lecture: '§6',
    inApp:
      'Experiment → Techniques → binary-translation; Compare → Binary translation, ' +
      'Callouts by kind; Report → Binary translation',
    see: [
      'Translation unit',
      'Compiled code fragment',
      'Translation cache',
      'Instruction-cache locality',
    ],
  },
  {
    term: 'Translation unit',
    aliases: ['TU'],
    definition:
      'What the binary translator reads in one go: guest instructions from a starting address up ' +
      'to and including the first control-flow instruction (jump, call, return, iret), or up to ' +
      'a size limit (12 instructions in the workbench). Only code that actually runs is ever ' +
      'read, so code that never executes is never translated.',
    lecture: '§6',
    inApp: 'Compare → Binary translation (translation units, guest instructions translated)',
    see: ['Compiled code fragment', 'Binary translation'],
  },
  {
    term: 'Compiled code fragment',
    aliases: ['CCF', 'fragment'],
    definition:
      'The translator’s output for one translation unit: real x86 code that does what the unit ' +
      'would have done, safely. Most instructions are identical copies; a jump whose target is ' +
      'not translated yet goes back to the translator the first time and is then patched to ' +
      'jump straight to the target’s fragment (chaining).',
    lecture: '§6',
    inApp:
      'Compare → Binary translation (fragment bytes, bytes per guest instruction); Translation ' +
      'cache (each fragment beside the guest instructions it came from)',
    see: ['Translation unit', 'Translation cache', 'Chaining', 'IDENT'],
  },
  {
    term: 'Translation cache',
    aliases: ['TC', 'code cache'],
    definition:
      'The hypervisor memory that holds compiled code fragments, with a map from guest addresses ' +
      'to fragments, so code is translated once and then reused. It lies outside the guest’s ' +
      'address space. When the guest writes to a page that holds translated code, the fragments ' +
      'made from it must be thrown away; when the cache is full, all of them are (a flush).',
    lecture: '§6',
    inApp:
      'Compare → Binary translation (translation cache used, fragments invalidated, flushes); ' +
      'Translation cache (its fragments, and a replay of how they were made)',
    see: ['Compiled code fragment', 'Instruction-cache locality', 'Resource control'],
  },
  {
    term: 'Chaining',
    aliases: ['fragment chaining', 'chained jump'],
    definition:
      'Patching a jump at the end of a compiled code fragment so it goes directly to the next ' +
      'fragment, once that one exists, instead of returning to the translator each time — the ' +
      'lecture’s open jump destinations that get filled in later. When the next fragment is ' +
      'placed right after, the fall-through needs no jump at all. Indirect jumps, calls and ' +
      'returns cannot be patched once and go through a lookup instead.',
    lecture: '§6',
    inApp:
      'Compare → Binary translation (chains patched, fall-throughs elided); Callouts by kind ' +
      '(translate, lookup); Translation cache → Replay (open exits filled in step by step)',
    see: ['Compiled code fragment', 'Translation cache', 'Callout'],
  },
  {
    term: 'Instruction-cache locality',
    aliases: ['i-cache locality', 'icache', 'I-cache'],
    definition:
      'How well running code reuses the lines of the CPU’s instruction cache: code executed ' +
      'together should sit together. Binary translation lays fragments out in the order they ' +
      'first run and never translates code that does not run, so the translated kernel is ' +
      'compact and cache-friendly; under trap-and-emulate the hypervisor’s handler code ' +
      'competes with the guest for the cache.',
    lecture: '§6.1',
    inApp: 'Compare → I-cache hit rate; I-cache misses per kilo-instruction',
    see: ['MPKI', 'Translation cache'],
  },
  {
    term: 'MPKI',
    aliases: ['misses per kilo-instruction', 'misses per 1,000 instructions'],
    definition:
      'Cache misses per thousand guest instructions: misses × 1,000 ÷ instructions executed. ' +
      'Dividing by the work done lets runs of different lengths and techniques be compared; ' +
      'lower means better locality. The workbench reports it for the instruction cache.',
    lecture: '§6.1 (the app’s measure)',
    inApp: 'Compare → I-cache misses per kilo-instruction; Numbers (I-cache MPKI)',
    see: ['Instruction-cache locality'],
  },
  {
    term: 'IDENT',
    aliases: ['identical translation'],
    definition:
      'An instruction the binary translator copies unchanged into the compiled code fragment, ' +
      'because it is innocuous and does not depend on where the code sits. Most kernel ' +
      'instructions are IDENT; only control flow, PC-relative code and sensitive instructions ' +
      'need real translation.',
    lecture: '§6.2',
    inApp: 'Compare → Binary translation (IDENT share)',
    see: ['Innocuous instruction', 'Compiled code fragment', 'Callout'],
  },
  {
    term: 'Callout',
    definition:
      'A call from translated code into the hypervisor, used when a sensitive instruction is too ' +
      'complex to replace with a short inline sequence (a CR3 load, an I/O instruction). Cheaper ' +
      'than a trap, since no fault is taken, but dearer than inline code such as cli becoming a ' +
      'store to the virtual interrupt flag. Translated code also calls out to translate a jump ' +
      'target for the first time and to look up where a return or indirect jump goes.',
    lecture: '§6.2',
    inApp:
      'Compare → Callouts by kind, and the binary-translation table (sensitive instructions ' +
      'replaced by a callout, callouts executed)',
    see: ['Binary translation', 'IDENT', 'Trap', 'Chaining'],
  },
  {
    term: 'Pure interpretation',
    aliases: ['software emulation', 'interpreter'],
    definition:
      'Running a guest by having a program fetch, decode and carry out every one of its ' +
      'instructions in software, with no direct execution at all (Bochs works this way). It is ' +
      'equivalent on any hardware and keeps full control, but costs many host instructions per ' +
      'guest instruction — the “too slow” approach the lecture contrasts binary translation ' +
      'with, and not efficient in the Popek and Goldberg sense.',
    lecture: '§6',
    inApp: 'Experiment → Techniques → interpreter; Compare → Modeled cycles by category',
    see: ['Binary translation', 'Efficiency property', 'Interpretive execution'],
  },

  // ---- beyond the lecture's three: hardware assistance
  {
    term: 'Hardware-assisted virtualization',
    aliases: ['VT-x', 'AMD-V', 'hardware virtualization'],
    definition:
      'CPU extensions (Intel VT-x and AMD-V, from 2005–2006) that add a guest mode: the guest ' +
      'kernel runs unmodified at its own ring 0, and events such as I/O, hlt, cpuid and CR3 ' +
      'loads (unless nested paging is used) cause a VM exit. This gives x86 what ' +
      'trap-and-emulate needs, but the first implementations had such costly exits that binary ' +
      'translation often beat them (Adams and Agesen, 2006).',
    lecture: '§4.4 (beyond the lecture)',
    inApp: 'Experiment → Techniques → hardware-assisted, hardware-assisted-npt',
    see: ['VM exit', 'VMCS', 'Nested paging', 'Interpretive execution'],
  },
  {
    term: 'VM exit',
    aliases: ['VM entry', 'VMEXIT'],
    definition:
      'Under hardware assistance, the CPU’s switch from the guest to the hypervisor when a ' +
      'selected event happens: it stores the guest’s state and the exit reason in the VMCS and ' +
      'loads the hypervisor’s. After handling it, the hypervisor resumes the guest with a VM ' +
      'entry. A round trip cost thousands of cycles on the first VT-x processors; later ' +
      'generations cut that, but an exit stays far dearer than an ordinary instruction.',
    lecture: '§4.4 (beyond the lecture)',
    inApp: 'Compare → VM exits by reason; the trap log (causes exit:…)',
    see: ['VMCS', 'World switch', 'Hardware-assisted virtualization'],
  },
  {
    term: 'VMCS',
    aliases: ['virtual machine control structure', 'VMCB'],
    definition:
      'Intel VT-x’s per-virtual-CPU control structure in memory: the guest’s saved state, the ' +
      'hypervisor’s state, the controls choosing which events cause a VM exit, and the ' +
      'information about the last exit. Software reads and writes it only with vmread and ' +
      'vmwrite, which cost cycles of their own. AMD’s equivalent is the VMCB.',
    lecture: '§4.4 (beyond the lecture)',
    see: ['VM exit', 'Hardware-assisted virtualization'],
  },

  // ---- the app's measures
  {
    term: 'Modeled cycles',
    aliases: ['cost model', 'cycles'],
    definition:
      'The workbench’s deterministic measure of time: every event a run counts (guest ' +
      'instructions, traps, world switches, translations, page walks, cache misses…) times its ' +
      'cost in the chosen CPU profile — nothing else, and no factor per workload or technique. ' +
      'The same experiment gives the same number on any computer. Host wall time, how long the ' +
      'simulation took on your machine, is reported separately.',
    lecture: '§6.1 (the app’s measure)',
    inApp: 'Compare → Modeled cycles by category; Where the modeled cycles come from',
    see: ['CPU profile', 'Overhead vs native', 'World switch'],
  },
  {
    term: 'CPU profile',
    aliases: ['profile'],
    definition:
      'A data file of per-event cycle costs and cache sizes for one real processor (for ' +
      'instance the Pentium 4 and Core 2 measurements of Adams and Agesen, 2006), each number ' +
      'citing where it was published. Choosing another profile re-prices the same events, which ' +
      'shows how hardware generations changed the balance between techniques.',
    lecture: '§6.1 (the app’s measure)',
    inApp: 'Experiment → Machine → CPU profile; Compare → cost breakdown (source column)',
    see: ['Modeled cycles'],
  },
  {
    term: 'Overhead vs native',
    aliases: ['overhead', 'slowdown'],
    definition:
      'A run’s modeled cycles divided by the native run’s for the same experiment: 1.0 means no ' +
      'cost, 3.0 three times as long. Only runs that did the same work are compared; a run that ' +
      'diverged or did not finish has no meaningful ratio.',
    lecture: '§6.1 (the app’s measure)',
    inApp: 'Compare → Overhead vs native; Numbers',
    see: ['Modeled cycles', 'Equivalence'],
  },
  {
    term: 'Guest events',
    aliases: ['guest event'],
    definition:
      'The exceptions, hardware interrupts and software interrupts the guest kernel itself ' +
      'received, whatever the technique. Unlike traps, which count the hypervisor’s work, they ' +
      'describe what the guest saw, so equivalent runs have the same guest events.',
    lecture: '§2 (the app’s measure)',
    inApp: 'Compare → Guest events by cause',
    see: ['Trap', 'Equivalence'],
  },
];

/** Lower case, accents and punctuation folded away: "Trap-and-Emulate" ~ "trap and emulate". */
export function normalizeForSearch(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}§#.:/]+/gu, ' ')
    .trim();
}

/** Alphabetical order of terms, ignoring case and punctuation. */
export function compareTerms(a: GlossaryEntry, b: GlossaryEntry): number {
  return a.term.localeCompare(b.term, 'en', { sensitivity: 'base' });
}

/** The entries in alphabetical order. */
export function sortedGlossary(entries: readonly GlossaryEntry[] = GLOSSARY): GlossaryEntry[] {
  return [...entries].sort(compareTerms);
}

/** The entry named `name`, by its term or one of its aliases. */
export function findGlossaryEntry(
  name: string,
  entries: readonly GlossaryEntry[] = GLOSSARY,
): GlossaryEntry | undefined {
  const key = normalizeForSearch(name);
  return (
    entries.find((e) => normalizeForSearch(e.term) === key) ??
    entries.find((e) => e.aliases?.some((a) => normalizeForSearch(a) === key))
  );
}

/** An id for the entry's element ("glossary-shadow-page-table"). */
export function glossaryAnchor(term: string): string {
  return `glossary-${normalizeForSearch(term)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')}`;
}

/** 0 equal, 1 starts with, 2 a word starts with, 3 contains, null no match. */
function nameScore(name: string, query: string): number | null {
  const text = normalizeForSearch(name);
  if (text === query) return 0;
  if (text.startsWith(query)) return 1;
  if (` ${text}`.includes(` ${query}`)) return 2;
  if (text.includes(query)) return 3;
  return null;
}

function bestScore(names: readonly string[], query: string): number | null {
  let best: number | null = null;
  for (const name of names) {
    const s = nameScore(name, query);
    if (s !== null && (best === null || s < best)) best = s;
  }
  return best;
}

/**
 * The entry's rank for `query` (normalized), lower first, or null when it does not match:
 * the term itself, then an alias, then a term or alias containing the query, then the
 * definition (or the lecture section, for "§4.4"), then every word found somewhere.
 */
function rank(entry: GlossaryEntry, query: string): number | null {
  const term = nameScore(entry.term, query);
  const alias = bestScore(entry.aliases ?? [], query);
  if (term === 0) return 0;
  if (alias === 0) return 1;
  if (term === 1 || term === 2) return 1 + term; // 2, 3
  if (alias === 1 || alias === 2) return 4;
  if (term === 3 || alias === 3) return 5;
  const definition = normalizeForSearch(entry.definition);
  if (` ${definition}`.includes(` ${query}`)) return 6;
  if (definition.includes(query)) return 7;
  if (query.startsWith('§') && normalizeForSearch(entry.lecture).startsWith(query)) return 7;
  const words = query.split(' ');
  if (words.length > 1) {
    const haystack = normalizeForSearch(
      [entry.term, ...(entry.aliases ?? []), entry.definition].join(' '),
    );
    if (words.every((w) => haystack.includes(w))) return 8;
  }
  return null;
}

/**
 * The entries matching `query` (case-insensitive, in the term, an alias or the definition),
 * best first: term matches before alias matches before definition matches, alphabetical
 * within a rank. An empty query gives every entry, alphabetically.
 */
export function searchGlossary(
  query: string,
  entries: readonly GlossaryEntry[] = GLOSSARY,
): GlossaryEntry[] {
  const q = normalizeForSearch(query);
  if (q === '') return sortedGlossary(entries);
  const ranked: { entry: GlossaryEntry; rank: number }[] = [];
  for (const entry of entries) {
    const r = rank(entry, q);
    if (r !== null) ranked.push({ entry, rank: r });
  }
  ranked.sort((a, b) => a.rank - b.rank || compareTerms(a.entry, b.entry));
  return ranked.map((r) => r.entry);
}
