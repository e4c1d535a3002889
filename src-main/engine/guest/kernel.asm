; kernel.asm: the VMM Workbench guest kernel, a small multitasking x86 kernel.
;
; One kernel, run unchanged on bare hardware (QEMU), natively on the workbench's simulated PC
; and under every virtualization technique; the para-virtual build comes from this same source
; (sensitive.inc). It is a real kernel in miniature: its own GDT (ring 0, ring 1 and ring 3
; segments) and TSS, an IDT, the 8259A PICs remapped, the 8254 PIT ticking at a configurable
; rate, 2-level paging with one page directory per process and a kernel mapping every
; directory shares, a physical page allocator, a process table, round-robin scheduling on the
; timer, a context switch that loads CR3, user programs at CPL 3 that enter the kernel only
; through int 0x80, demand-zero page faults, fork with a copy of the address space, and an
; idle loop that halts.
;
; Boot: multiboot 1 (a.out kludge), loaded at 1 MiB. The command line selects a workload:
;   KERNEL workload=NAME [n=NUMBER] [hz=TICKS_PER_SECOND]
; n=0 runs the workload with no iterations (its setup and report only), so the difference
; between an n=N run and an n=0 run is the N iterations alone.
; The workload runs as process 1 (user mode); its output ends with a checksum line, and when
; process 1 exits the kernel ends the run through isa-debug-exit (port 0xF4) with its exit
; code. Nothing printed depends on timing: results are printed in a fixed order.
;
; Files: sensitive.inc (the sensitive-operation macros), console.inc (UART driver),
; kcode.inc (the kcode workload's generated kernel routines), user.inc (the user-mode library
; and the workloads).
; References: Intel SDM vol. 3A chapters 3-7 (segments, paging, protection, interrupts, TSS),
; Multiboot 0.6.96, the 8259A/8254/16550 data sheets; the lecture
; shared/reference/lecture-virtualization-mechanisms.txt for why each mechanism matters.

bits 32

%define KERNEL_BASE 0x100000
org KERNEL_BASE
%define ABS(x) ((x) - $$ + KERNEL_BASE)

%include "sensitive.inc"

; ------------------------------------------------------------------------------ constants
%ifndef PARAVIRT
KCODE       equ 0x08            ; ring-0 code
KDATA       equ 0x10            ; ring-0 data (the kernel stack segment)
K1CODE      equ 0x18 | 1        ; ring-1 code and data: for a deprivileged kernel (lecture 4)
K1DATA      equ 0x20 | 1
UCODE       equ 0x28 | 3        ; ring-3 code and data
UDATA       equ 0x30 | 3
%else
; para-virtual: the GDT is the hypervisor's, the kernel runs in ring 1 (docs/paravirt-abi.md)
KCODE       equ FLAT_KERNEL_CS
KDATA       equ FLAT_KERNEL_DS
UCODE       equ FLAT_USER_CS
UDATA       equ FLAT_USER_DS
%endif
TSS_SEL     equ 0x38

DEBUG_EXIT  equ 0xF4
EXIT_UNKNOWN_WORKLOAD equ 3     ; unknown or missing workload= on the command line
N_UNSET equ 0xffffffff          ; no n= on the command line: the workload's default n
EXIT_PANIC  equ 0x7E            ; an unexpected exception in the kernel

PAGE        equ 4096
PTE_P       equ 1
PTE_W       equ 2
PTE_U       equ 4

KMAP_TABLES equ 16              ; the kernel identity-maps the first 64 MiB (16 page tables)
KMAP_TOP    equ KMAP_TABLES * 0x400000
USER_BASE   equ 0x40000000      ; user memory: [1 GiB, 2 GiB), demand-zero
USER_TOP    equ 0x80000000
USER_STACK_TOP equ USER_TOP

EFLAGS_IF   equ 0x200

; process table
NPROC       equ 16
P_STATE     equ 0
P_PID       equ 4
P_PPID      equ 8
P_ESP       equ 12              ; saved kernel stack pointer (switch_to)
P_CR3       equ 16              ; page directory (physical = virtual in the kernel map)
P_KSTACK    equ 20              ; the page holding the kernel stack
P_EXIT      equ 24
P_HANDLER   equ 28              ; user handler for divide errors (0: none)
P_WAKE      equ 32              ; tick to wake at (SLEEPING)
P_SIZE      equ 64

S_FREE      equ 0
S_RUNNABLE  equ 1
S_WAITING   equ 2               ; in wait(), for a child to exit
S_SLEEPING  equ 3
S_ZOMBIE    equ 4

; trap frame, as the entry stubs build it on the kernel stack (offsets from its start)
TF_EDI      equ 0
TF_ESI      equ 4
TF_EBP      equ 8
TF_EBX      equ 16
TF_EDX      equ 20
TF_ECX      equ 24
TF_EAX      equ 28
TF_VECTOR   equ 32
TF_ERROR    equ 36
TF_EIP      equ 40
TF_CS       equ 44
; The trapped CS was user mode when its RPL has bit 1 set (ring 3). Ring 0 (native) and
; ring 1 (the deprivileged kernel under a hypervisor) both count as the kernel.
FROM_USER_MODE equ 2
TF_EFLAGS   equ 48
TF_ESP      equ 52
TF_SS       equ 56
TF_SIZE     equ 60              ; a frame from user mode (with ESP and SS)

; ----------------------------------------------------------------------- multiboot header
MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00010000      ; bit 16: the a.out kludge addresses follow

    align 4
mb_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd mb_header                ; header_addr
    dd $$                       ; load_addr
    dd load_end                 ; load_end_addr
    dd bss_end                  ; bss_end_addr: the loader zero-fills the bss
    dd _start                   ; entry_addr

%include "console.inc"

; ----------------------------------------------------------------------------- boot
_start:
    CLI
    mov esp, BOOT_STACK_TOP
    mov [mb_info], ebx
    call console_init
    call gdt_init
    call idt_init
    call pic_init
    call parse_cmdline
    KPRINTLN 'vmm-workbench guest kernel'
    call select_workload        ; does not return when the workload is unknown
    call pit_init
    call paging_init
    call frames_init
    call proc_init
    KPRINT 'workload='
    mov esi, [workload_name]
    call kputs
    KPRINT ' n='
    KDEC [arg_n]
    KPRINT 10
    call spawn_init             ; process 1 runs the workload
    jmp idle                    ; this boot thread becomes process 0, the idle process

; ------------------------------------------------------------------------- GDT and TSS
; gdt_init: our GDT, every segment register reloaded, TR loaded. Data segment registers hold
; the ring-3 data selector throughout (a flat DPL-3 data segment is usable at every CPL, as in
; Linux), so that no entry or exit path has to touch them; SS holds the ring's own.
gdt_init:
    LGDT [gdtr]
%ifndef PARAVIRT
    jmp KCODE:.reload
.reload:
    mov ax, KDATA
    mov ss, ax
    mov ax, UDATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
%endif
    ; (para-virtual: the hypervisor starts the kernel with exactly these selectors, and far
    ; jumps and segment loads are sensitive: each would trap on the strict ISA)
    mov ax, TSS_SEL
    LTR ax
    ret

; --------------------------------------------------------------------------------- IDT
; idt_init: the exception vectors 0-31, the 16 IRQ vectors 0x20-0x2F and int 0x80 point at
; entry stubs that build one trap frame and call trap(). All are interrupt gates (IF=0 in
; the kernel: it is not preemptible); 0x80 has DPL 3 so that user code may use int 0x80.
idt_init:
    xor ecx, ecx
.exc:
    mov eax, ecx
    mov edx, [isr_table + ecx * 4]
    mov bl, 0x8E
    call idt_set_gate
    inc ecx
    cmp ecx, 48
    jb .exc
    mov eax, 0x80
    mov edx, isr_syscall
    mov bl, 0xEE                ; DPL 3
    call idt_set_gate
    LIDT [idtr]
    ret

; idt_set_gate: EAX = vector, EDX = handler, BL = type byte.
idt_set_gate:
    mov [IDT + eax * 8], dx
    mov word [IDT + eax * 8 + 2], KCODE
    mov byte [IDT + eax * 8 + 4], 0
    mov [IDT + eax * 8 + 5], bl
    shr edx, 16
    mov [IDT + eax * 8 + 6], dx
    ret

; Entry stubs: the CPU pushes an error code for vectors 8, 10-14 and 17; the others push 0
; in its place so that every frame has the same layout.
%macro ISR 1
isr_%1:
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17
%else
    push dword 0
%endif
    push dword %1
    jmp trap_entry
%endmacro

%assign v 0
%rep 48
    ISR v
%assign v v + 1
%endrep

isr_syscall:
    FAST_TRAP_ENTRY
    push dword 0
    push dword 0x80
    jmp trap_entry

isr_table:
%assign v 0
%rep 48
    dd isr_ %+ v
%assign v v + 1
%endrep

; trap_entry: save the general registers (the trap frame is complete), call trap(frame), and
; return through trap_return, which is also where a new process starts.
trap_entry:
    pushad
    push esp
    call trap
    add esp, 4
trap_return:
    popad
    add esp, 8                  ; vector and error code
    IRET

; ------------------------------------------------------------------------------ 8259A PIC
; pic_init: ICW1-ICW4 (IRQ 0-7 at vectors 0x20-0x27, IRQ 8-15 at 0x28-0x2F), then every IRQ
; masked but the timer.
pic_init:
%ifdef PARAVIRT
    ; para-virtual: the PIC is the hypervisor's; evtchn_mask plays its mask register (IMR)
    mov dword [SHARED_INFO_ADDRESS + SHARED_INFO_evtchn_mask], 0xFFFF & ~(1 << EVTCHN_timer)
%else
    mov al, 0x11
    OUTB 0x20, al
    OUTB 0xA0, al
    mov al, 0x20
    OUTB 0x21, al
    mov al, 0x28
    OUTB 0xA1, al
    mov al, 0x04
    OUTB 0x21, al
    mov al, 0x02
    OUTB 0xA1, al
    mov al, 0x01
    OUTB 0x21, al
    OUTB 0xA1, al
    mov al, 0xFE                ; only IRQ 0 (the PIT)
    OUTB 0x21, al
    mov al, 0xFF
    OUTB 0xA1, al
%endif
    ret

; ------------------------------------------------------------------------------ 8254 PIT
; pit_init: channel 0, mode 2 (rate generator), divisor 1193182 / hz.
pit_init:
%ifdef PARAVIRT
    ; para-virtual: the set_timer hypercall, with the same divisor as period (it counts in
    ; ticks of the PIT's input clock), so both builds tick at the same rate
    mov eax, 1193182
    xor edx, edx
    div dword [arg_hz]
    mov ebx, eax
    HYPERCALL set_timer
%else
    mov al, 0x34                ; channel 0, lobyte/hibyte, mode 2
    OUTB 0x43, al
    mov eax, 1193182
    xor edx, edx
    div dword [arg_hz]
    OUTB 0x40, al
    mov al, ah
    OUTB 0x40, al
%endif
    ret

; ----------------------------------------------------------------------------- paging
; paging_init: the kernel page directory maps the first 64 MiB one to one (supervisor pages,
; except the user-program text, which every process runs from: user readable). Its first 16
; entries are copied into every process's page directory, so the kernel is mapped the same in
; every address space and a CR3 load never has to change the kernel's view.
paging_init:
    mov edi, KPT                ; the 16 kernel page tables, contiguous
    mov eax, PTE_P | PTE_W
    mov ecx, KMAP_TABLES * 1024
.pte:
    mov [edi], eax
    add edi, 4
    add eax, PAGE
    loop .pte
    mov eax, ABS(user_text_start)   ; user text: U=1, read-only for user code
.utext:
    mov ebx, eax
    shr ebx, 12
    or dword [KPT + ebx * 4], PTE_U
    add eax, PAGE
    cmp eax, ABS(user_text_end)
    jb .utext
    xor ecx, ecx                ; the kernel page directory: 16 PDEs, U=1 (the PTEs decide)
.pde:
    mov eax, ecx
    shl eax, 12
    add eax, KPT + (PTE_P | PTE_W | PTE_U)
    mov [KPD + ecx * 4], eax
    inc ecx
    cmp ecx, KMAP_TABLES
    jb .pde
    mov eax, KPD
    LOAD_CR3 eax
    READ_CR0 eax
    or eax, 0x80000000          ; CR0.PG
    LOAD_CR0 eax
    ret

; ------------------------------------------------------------------------ page allocator
; A free list of 4 KiB frames threaded through the frames themselves (the first dword of a
; free frame points to the next one). The frames lie between the end of the kernel's bss and
; the end of RAM (or of the kernel map). Allocation and freeing are critical sections.
frames_init:
    mov esi, [mb_info]
    mov eax, [esi + 8]          ; mem_upper in KiB (flags bit 0 is always set by the loaders)
    shl eax, 10
    add eax, 0x100000
    cmp eax, KMAP_TOP
    jbe .top
    mov eax, KMAP_TOP
.top:
    and eax, ~(PAGE - 1)
.push:                          ; from the top down, so the lowest frame ends up first
    sub eax, PAGE
    cmp eax, FRAMES_START
    jb .done
    mov edx, [free_list]
    mov [eax], edx
    mov [free_list], eax
    inc dword [free_frames]
    jmp .push
.done:
    ret

; kalloc: EAX = a zeroed frame, or 0 when memory is exhausted. Preserves other registers.
kalloc:
    IRQSAVE
    mov eax, [free_list]
    test eax, eax
    jz .out
    push dword [eax]
    pop dword [free_list]
    dec dword [free_frames]
.out:
    IRQRESTORE
    test eax, eax
    jz .ret
    push edi
    push ecx
    push eax
    mov edi, eax
    xor eax, eax
    mov ecx, PAGE / 4
    rep stosd
    pop eax
    pop ecx
    pop edi
.ret:
    ret

; kfree: frame EAX back on the free list. Preserves all registers.
kfree:
    push edx
    IRQSAVE
    mov edx, [free_list]
    mov [eax], edx
    mov [free_list], eax
    inc dword [free_frames]
    IRQRESTORE
    pop edx
    ret

; ------------------------------------------------------------------------- address spaces
; pd_create: EAX = a new page directory: the kernel's 16 PDEs, nothing else. 0 if no memory.
pd_create:
    call kalloc
    test eax, eax
    jz .ret
    push esi
    push edi
    push ecx
    mov esi, KPD
    mov edi, eax
    mov ecx, KMAP_TABLES
    rep movsd
    pop ecx
    pop edi
    pop esi
.ret:
    ret

; pte_lookup: EDI = page directory, EBX = user virtual address. Returns EDX = the address of
; the PTE, allocating the page table when it is missing (0 if out of memory). Preserves
; other registers.
pte_lookup:
    push eax
    mov edx, ebx
    shr edx, 22
    lea edx, [edi + edx * 4]    ; the PDE
    mov eax, [edx]
    test eax, PTE_P
    jnz .have
    call kalloc
    test eax, eax
    jz .fail
    or eax, PTE_P | PTE_W | PTE_U
    SET_PTE [edx], eax
.have:
    and eax, ~(PAGE - 1)
    mov edx, ebx
    shr edx, 12
    and edx, 1023
    lea edx, [eax + edx * 4]
    pop eax
    ret
.fail:
    xor edx, edx
    pop eax
    ret

; map_zero_page: EDI = page directory, EBX = page-aligned user address: a fresh zero frame
; there (writable, user). EAX = 0 on success, -1 when out of memory.
map_zero_page:
    push edx
    call pte_lookup
    test edx, edx
    jz .fail
    call kalloc
    test eax, eax
    jz .fail
    or eax, PTE_P | PTE_W | PTE_U
    SET_PTE [edx], eax
    xor eax, eax
    pop edx
    ret
.fail:
    mov eax, -1
    pop edx
    ret

; uvm_free: EDI = page directory: free every user page and page table (PDEs 256-511). The
; PDEs are cleared as one batch (one mmu_update hypercall in the para-virtual build) and the
; page tables are freed after it, when no page directory points at them any more.
uvm_free:
    pushad
    xor ebp, ebp                ; page tables to free after the batch (pushed on the stack)
    MMU_BATCH_BEGIN
    mov ecx, USER_BASE >> 22
.pde:
    mov esi, [edi + ecx * 4]
    test esi, PTE_P
    jz .next_pde
    and esi, ~(PAGE - 1)
    xor edx, edx
.pte:
    mov eax, [esi + edx * 4]
    test eax, PTE_P
    jz .next_pte
    and eax, ~(PAGE - 1)
    call kfree
.next_pte:
    inc edx
    cmp edx, 1024
    jb .pte
    push esi
    inc ebp
    xor eax, eax
    SET_PTE_BATCHED [edi + ecx * 4], eax
.next_pde:
    inc ecx
    cmp ecx, USER_TOP >> 22
    jb .pde
    MMU_BATCH_FLUSH
.free_table:
    test ebp, ebp
    jz .done
    pop eax
    call kfree
    dec ebp
    jmp .free_table
.done:
    popad
    ret

; uvm_copy: ESI = parent's page directory, EDI = child's (fresh from pd_create): copy every
; user page (fork's address-space copy; no copy-on-write). The child's entries are written as
; one batch (mmu_update in the para-virtual build: a fork pays one world switch per batch, not
; one per entry); a child page table is allocated at its first page and named only through
; the batch, never read back. EAX = 0, or -1 when out of memory (what was mapped stays mapped,
; for uvm_free).
uvm_copy:
    push ebx
    push ecx
    push edx
    push ebp
    MMU_BATCH_BEGIN
    mov ecx, USER_BASE >> 22
.pde:
    mov ebp, [esi + ecx * 4]
    test ebp, PTE_P
    jz .next_pde
    and ebp, ~(PAGE - 1)
    xor edx, edx                ; the child's page table here: none yet
    xor ebx, ebx                ; PTE index
.pte:
    mov eax, [ebp + ebx * 4]
    test eax, PTE_P
    jz .next_pte
    test edx, edx
    jnz .have_table
    call kalloc
    test eax, eax
    jz .fail
    mov edx, eax
    or eax, PTE_P | PTE_W | PTE_U
    SET_PTE_BATCHED [edi + ecx * 4], eax
.have_table:
    call kalloc
    test eax, eax
    jz .fail
    push esi
    push edi
    push ecx
    mov esi, [ebp + ebx * 4]
    and esi, ~(PAGE - 1)
    mov edi, eax
    mov ecx, PAGE / 4
    rep movsd
    pop ecx
    pop edi
    pop esi
    or eax, PTE_P | PTE_W | PTE_U
    SET_PTE_BATCHED [edx + ebx * 4], eax
.next_pte:
    inc ebx
    cmp ebx, 1024
    jb .pte
.next_pde:
    inc ecx
    cmp ecx, USER_TOP >> 22
    jb .pde
    MMU_BATCH_FLUSH
    xor eax, eax
    jmp .ret
.fail:
    MMU_BATCH_FLUSH
    mov eax, -1
.ret:
    pop ebp
    pop edx
    pop ecx
    pop ebx
    ret

; ------------------------------------------------------------------------- process table
; proc_init: process 0 is the boot thread, which becomes the idle process.
proc_init:
    mov edi, proc_table
    mov dword [edi + P_STATE], S_RUNNABLE
    mov dword [edi + P_PID], 0
    mov dword [edi + P_CR3], KPD
    mov dword [edi + P_KSTACK], BOOT_STACK
    mov [current], edi
    mov dword [next_pid], 1
    ret

; proc_alloc: EDI = a free slot with a pid, a kernel stack and a page directory; 0 if none.
proc_alloc:
    push eax
    IRQSAVE
    mov edi, proc_table + P_SIZE
.find:
    cmp dword [edi + P_STATE], S_FREE
    je .found
    add edi, P_SIZE
    cmp edi, proc_table + NPROC * P_SIZE
    jb .find
    xor edi, edi
    jmp .out
.found:
    mov dword [edi + P_STATE], S_WAITING   ; reserved; not runnable until set up
    mov eax, [next_pid]
    inc dword [next_pid]
    mov [edi + P_PID], eax
    mov dword [edi + P_HANDLER], 0
.out:
    IRQRESTORE
    test edi, edi
    jz .ret
    call kalloc
    mov [edi + P_KSTACK], eax
    call pd_create
    mov [edi + P_CR3], eax
.ret:
    pop eax
    ret

; A new process's kernel stack: its trap frame at the top, and under it what switch_to pops
; (four registers and a return address into trap_return).
; proc_stack_setup: EDI = process: ESP below the frame at the top of its kernel stack.
proc_stack_setup:
    mov eax, [edi + P_KSTACK]
    add eax, PAGE - TF_SIZE - 5 * 4
    mov dword [eax + 16], trap_return
    mov [edi + P_ESP], eax
    ret

; spawn_init: process 1, at CPL 3, at the workload's entry, EBX = n.
spawn_init:
    call proc_alloc
    call proc_stack_setup
    mov eax, [edi + P_KSTACK]
    lea edx, [eax + PAGE - TF_SIZE]
    mov ecx, [workload_entry]
    mov [edx + TF_EIP], ecx
    mov dword [edx + TF_CS], UCODE
    mov dword [edx + TF_EFLAGS], EFLAGS_IF | 2
    mov dword [edx + TF_ESP], USER_STACK_TOP
    mov dword [edx + TF_SS], UDATA
    mov ecx, [arg_n]
    mov [edx + TF_EBX], ecx
    mov dword [edi + P_PPID], 0
    mov dword [edi + P_STATE], S_RUNNABLE
    ret

; ---------------------------------------------------------------------------- scheduler
; schedule: round robin. Pick the next runnable process after the current one in the table
; (process 0, idle, only when no other is runnable) and switch to it. Called with interrupts
; either way; the choice and the switch are one critical section.
schedule:
    pushad
    IRQSAVE
    mov esi, [current]
    mov ecx, NPROC
.next:
    add esi, P_SIZE
    cmp esi, proc_table + NPROC * P_SIZE
    jb .in_range
    mov esi, proc_table + P_SIZE
.in_range:
    cmp dword [esi + P_STATE], S_RUNNABLE
    je .switch
    loop .next
    mov esi, proc_table         ; nobody runnable: idle
.switch:
    cmp esi, [current]
    je .same
    call switch_to
.same:
    IRQRESTORE
    popad
    ret

; switch_to: ESI = the next process. Saves the callee's registers on the current kernel
; stack, switches stacks, points the TSS's ESP0 at the new kernel stack (where the CPU will
; put the next trap frame from user mode) and loads the new page directory: the CR3 load
; that the lecture's first example is about.
switch_to:
    push ebp
    push ebx
    push esi
    push edi
    mov eax, [current]
    mov [eax + P_ESP], esp
    mov [current], esi
    mov esp, [esi + P_ESP]
    mov eax, [esi + P_KSTACK]
    add eax, PAGE
    SET_KERNEL_STACK eax        ; TSS.ESP0
    mov eax, [esi + P_CR3]
    LOAD_CR3 eax
    pop edi
    pop esi
    pop ebx
    pop ebp
    ret

; idle: process 0. It looks for work first (at boot process 1 is ready: no timer tick is
; waited for), then sti; hlt waits for the next interrupt without a window in which a wakeup
; could be lost (the STI shadow).
idle:
    CLI
    call schedule
    STI
    HLT
    jmp idle

; ------------------------------------------------------------------------------- traps
; trap(frame): every exception, IRQ and system call. [esp + 4] = the trap frame.
trap:
    mov ebp, [esp + 4]
    mov eax, [ebp + TF_VECTOR]
    cmp eax, 0x80
    je syscall
    cmp eax, 0x20
    je timer_irq
    cmp eax, 14
    je page_fault
    cmp eax, 0
    je divide_error
    cmp eax, 0x20
    ja spurious_irq
    ; any other exception: from user mode it kills the process (exit code 128 + the vector,
    ; e.g. 0x8D for a #GP), in the kernel it is a panic
    test dword [ebp + TF_CS], FROM_USER_MODE
    jz panic
    KPRINT 'process '
    mov eax, [current]
    KDEC [eax + P_PID]
    KPRINT ' killed: exception '
    KDEC [ebp + TF_VECTOR]
    KPRINT 10
    mov ebx, 0x80
    or ebx, [ebp + TF_VECTOR]
    jmp do_exit

spurious_irq:
    cmp eax, 0x30
    jae panic
    ret                         ; masked IRQs do not arrive; ignore a stray one

panic:
    KPRINT 'kernel panic: vector '
    KDEC [ebp + TF_VECTOR]
    KPRINT ' error '
    KHEX [ebp + TF_ERROR]
    KPRINT ' eip '
    KHEX [ebp + TF_EIP]
    READ_CR2 eax
    KPRINT ' cr2 '
    KHEX eax
    KPRINT 10
    mov al, EXIT_PANIC
    OUTB DEBUG_EXIT, al
.hang:
    CLI
    HLT
    jmp .hang

; timer_irq: acknowledge the PIC, count the tick, wake sleepers whose time has come, and
; preempt the running process if the tick interrupted user mode (the kernel itself is not
; preemptible: it runs with IF=0 except in the idle loop).
timer_irq:
    PIC_EOI
    inc dword [ticks]
    mov esi, proc_table + P_SIZE
.wake:
    cmp dword [esi + P_STATE], S_SLEEPING
    jne .next
    mov eax, [esi + P_WAKE]
    cmp eax, [ticks]
    ja .next
    mov dword [esi + P_STATE], S_RUNNABLE
.next:
    add esi, P_SIZE
    cmp esi, proc_table + NPROC * P_SIZE
    jb .wake
    test dword [ebp + TF_CS], FROM_USER_MODE
    jz .ret
    call schedule
.ret:
    ret

; page_fault: an access to a missing page in [USER_BASE, USER_TOP), by user code or by the
; kernel on its behalf (write(), signal delivery), gets a fresh zero page (demand-zero
; paging); any other fault from user mode kills the process (exit code 0x8E: 128 + the
; vector; it prints the address and the error code), from the kernel it is a panic.
page_fault:
    READ_CR2 ebx
    test dword [ebp + TF_ERROR], PTE_P
    jnz .bad                    ; a protection fault, not a missing page
    cmp ebx, USER_BASE
    jb .bad
    cmp ebx, USER_TOP
    jae .bad
    and ebx, ~(PAGE - 1)
    mov edi, [current]
    mov edi, [edi + P_CR3]
    call map_zero_page
    test eax, eax
    jnz .bad
    inc dword [page_faults]
    ret
.bad:
    test dword [ebp + TF_CS], FROM_USER_MODE
    jz panic
    KPRINT 'process '
    mov eax, [current]
    KDEC [eax + P_PID]
    KPRINT ' killed: page fault at '
    KHEX ebx
    KPRINT ' (error '
    KDEC [ebp + TF_ERROR]
    KPRINT ')', 10
    mov ebx, 0x8E
    jmp do_exit

; divide_error: a #DE in user mode goes to the process's registered handler, as a signal:
; the faulting EIP is pushed on the user stack and the handler runs; it returns (ret) to
; wherever it decides, e.g. past the faulting instruction. Without a handler the process is
; killed (exit code 0x88: 128 + SIGFPE).
divide_error:
    test dword [ebp + TF_CS], FROM_USER_MODE
    jz panic
    mov edi, [current]
    mov eax, [edi + P_HANDLER]
    test eax, eax
    jz .kill
    mov edx, [ebp + TF_ESP]
    sub edx, 4
    mov ecx, [ebp + TF_EIP]
    mov [edx], ecx              ; a user-stack write: a missing page is demand-zero filled
    mov [ebp + TF_ESP], edx     ; (page_fault serves kernel accesses to user memory too)
    mov [ebp + TF_EIP], eax
    ret
.kill:
    mov ebx, 0x88
    jmp do_exit

; ------------------------------------------------------------------------- system calls
; int 0x80, Linux i386 style: EAX = number, EBX/ECX/EDX = arguments, EAX = result.
SYS_EXIT    equ 0
SYS_WRITE   equ 1
SYS_GETPID  equ 2
SYS_YIELD   equ 3
SYS_WAIT    equ 4
SYS_FORK    equ 5
SYS_MAP     equ 6
SYS_UNMAP   equ 7
SYS_SLEEP   equ 8
SYS_SIGNAL  equ 9
SYS_CR3LOOP equ 10              ; the kernel-side loops of the cr3, io and sensitive workloads
SYS_IOLOOP  equ 11
SYS_PROBE   equ 12
SYS_KCODE   equ 13              ; the kcode workload's chain of kernel routines (kcode.inc)
SYS_ISPRIME equ 14              ; the lecture workload: isPrime(a) computed by the kernel
NR_SYSCALLS equ 15

ENOSYS      equ 38
ECHILD      equ 10
ENOMEM      equ 12
EFAULT      equ 14
EINVAL      equ 22

syscall:
    mov eax, [ebp + TF_EAX]
    cmp eax, NR_SYSCALLS
    jae .bad
    mov ebx, [ebp + TF_EBX]
    mov ecx, [ebp + TF_ECX]
    mov edx, [ebp + TF_EDX]
    call [syscall_table + eax * 4]
    mov [ebp + TF_EAX], eax
    ret
.bad:
    mov dword [ebp + TF_EAX], -ENOSYS
    ret

syscall_table:
    dd do_exit, sys_write, sys_getpid, sys_yield, sys_wait
    dd sys_fork, sys_map, sys_unmap, sys_sleep, sys_signal
    dd sys_cr3loop, sys_ioloop, sys_probe, sys_kcode, sys_isprime

; check_user: ECX bytes at EBX must lie in user memory. CF=1 when not.
check_user:
    push eax
    mov eax, ebx
    add eax, ecx
    jc .bad
    cmp ebx, USER_BASE
    jb .bad
    cmp eax, USER_TOP
    ja .bad
    pop eax
    clc
    ret
.bad:
    pop eax
    stc
    ret

; write(buf, count): the bytes on the console (user text counts as user memory too).
sys_write:
    cmp ebx, ABS(user_text_start)
    jb .check
    mov eax, ebx
    add eax, ecx
    jc .efault
    cmp eax, ABS(user_text_end)
    jbe .ok
.check:
    call check_user
    jc .efault
.ok:
    mov esi, ebx
    call kwrite                 ; a fault on a missing user page is demand-zero filled
    mov eax, ecx
    ret
.efault:
    mov eax, -EFAULT
    ret

sys_getpid:
    mov eax, [current]
    mov eax, [eax + P_PID]
    ret

sys_yield:
    call schedule
    xor eax, eax
    ret

; exit(code): free the user address space, become a zombie, wake the parent, never return.
; When process 1 exits, the run ends with its exit code.
do_exit:
    mov esi, [current]
    mov [esi + P_EXIT], ebx
    cmp dword [esi + P_PID], 1
    je .shutdown
    mov edi, [esi + P_CR3]
    call uvm_free
    mov dword [esi + P_STATE], S_ZOMBIE
    mov eax, [esi + P_PPID]
    mov edi, proc_table
.parent:
    cmp [edi + P_PID], eax
    jne .next
    cmp dword [edi + P_STATE], S_ZOMBIE
    je .next
    cmp dword [edi + P_STATE], S_WAITING
    jne .sched
    mov dword [edi + P_STATE], S_RUNNABLE
    jmp .sched
.next:
    add edi, P_SIZE
    cmp edi, proc_table + NPROC * P_SIZE
    jb .parent
.sched:
    call schedule               ; never comes back: nobody schedules a zombie
    jmp panic
.shutdown:
    mov al, bl
    OUTB DEBUG_EXIT, al
.hang:
    CLI
    HLT
    jmp .hang

; wait(): EAX = the pid of an exited child and EDX (in the frame) its exit code; -ECHILD
; when the process has no children. Blocks until one exits.
sys_wait:
    mov esi, [current]
.scan:
    mov eax, [esi + P_PID]
    xor ecx, ecx                ; children seen
    mov edi, proc_table + P_SIZE
.child:
    cmp dword [edi + P_STATE], S_FREE
    je .next
    cmp [edi + P_PPID], eax
    jne .next
    inc ecx
    cmp dword [edi + P_STATE], S_ZOMBIE
    je .reap
.next:
    add edi, P_SIZE
    cmp edi, proc_table + NPROC * P_SIZE
    jb .child
    test ecx, ecx
    jz .none
    mov dword [esi + P_STATE], S_WAITING
    call schedule
    jmp .scan
.reap:
    mov eax, [edi + P_CR3]      ; the page directory and kernel stack go last: the child
    call kfree                  ; ran on them until its final switch
    mov eax, [edi + P_KSTACK]
    call kfree
    mov eax, [edi + P_EXIT]
    mov [ebp + TF_EDX], eax
    mov eax, [edi + P_PID]
    mov dword [edi + P_STATE], S_FREE
    ret
.none:
    mov eax, -ECHILD
    ret

; fork(): a new process with a copy of the caller's address space and registers; returns
; the child's pid in the parent and 0 in the child.
sys_fork:
    call proc_alloc
    test edi, edi
    jz .enomem
    cmp dword [edi + P_KSTACK], 0
    je .enomem
    cmp dword [edi + P_CR3], 0
    je .enomem
    mov esi, [current]
    mov eax, [esi + P_PID]
    mov [edi + P_PPID], eax
    mov eax, [esi + P_HANDLER]
    mov [edi + P_HANDLER], eax
    push edi
    mov esi, [esi + P_CR3]
    mov edi, [edi + P_CR3]
    call uvm_copy
    pop edi
    test eax, eax
    jnz .enomem
    call proc_stack_setup
    mov esi, ebp                ; the parent's trap frame, copied to the child's stack
    mov eax, [edi + P_KSTACK]
    lea edx, [eax + PAGE - TF_SIZE]
    push edi
    mov edi, edx
    mov ecx, TF_SIZE / 4
    rep movsd
    pop edi
    mov dword [edx + TF_EAX], 0 ; fork returns 0 in the child
    mov dword [edi + P_STATE], S_RUNNABLE
    mov eax, [edi + P_PID]
    ret
.enomem:
    mov eax, -ENOMEM            ; (a half-built slot stays reserved: not reached by workloads)
    ret

; map(addr): a zero page at the page-aligned user address (replacing nothing: -EINVAL if
; one is there).
sys_map:
    call user_page_arg
    jc .einval
    mov edi, [current]
    mov edi, [edi + P_CR3]
    call pte_lookup
    test edx, edx
    jz .enomem
    test dword [edx], PTE_P
    jnz .einval
    call map_zero_page
    test eax, eax
    jnz .enomem
    ret
.einval:
    mov eax, -EINVAL
    ret
.enomem:
    mov eax, -ENOMEM
    ret

; unmap(addr): remove the page at the user address and free its frame; invlpg drops the
; stale translation from the TLB.
sys_unmap:
    call user_page_arg
    jc .einval
    mov edi, [current]
    mov edi, [edi + P_CR3]
    mov eax, ebx
    shr eax, 22
    mov eax, [edi + eax * 4]
    test eax, PTE_P
    jz .einval
    call pte_lookup
    mov eax, [edx]
    test eax, PTE_P
    jz .einval
    and eax, ~(PAGE - 1)
    call kfree
    xor eax, eax
    SET_PTE [edx], eax
    INVLPG [ebx]
    ret
.einval:
    mov eax, -EINVAL
    ret

; user_page_arg: EBX must be a page-aligned user address. CF=1 when not.
user_page_arg:
    test ebx, PAGE - 1
    jnz .bad
    cmp ebx, USER_BASE
    jb .bad
    cmp ebx, USER_TOP
    jae .bad
    clc
    ret
.bad:
    stc
    ret

; sleep(ticks): block until that many timer ticks have passed.
sys_sleep:
    mov esi, [current]
    mov eax, [ticks]
    add eax, ebx
    mov [esi + P_WAKE], eax
    mov dword [esi + P_STATE], S_SLEEPING
    call schedule
    xor eax, eax
    ret

; signal(handler): the user function that receives divide errors (0: none, the default).
sys_signal:
    mov esi, [current]
    mov [esi + P_HANDLER], ebx
    xor eax, eax
    ret

; ------------------------------------------------------------- workload system calls
; Three system calls exist only for workloads: each runs a sensitive sequence n times inside
; the kernel, where it is legal, so that a workload can measure what one such sequence costs
; under each virtualization technique. User code cannot run them itself (CPL 3: they fault).

; isprime(a): the lecture's walk-through of binary translation (section 6) needs the lecture's
; isPrime run by the kernel itself, where a binary translator translates it: EAX = 1 when no i
; in [2, a) divides a, else 0. lecture_isprime is the lecture's compiled code as it shows it —
; the argument in ECX, ESI iterating, the end checked in two places, notPrime returning 0 — so
; that isPrime(49) translates unit by unit as the lecture walks through it: the first unit
; stops after jge with its jump left open, the loop's units follow, notPrime is translated when
; 49 mod 7 = 0 and its jump filled in, and `prime` is never translated.
sys_isprime:
    mov edi, ebx
    call lecture_isprime
    ret

lecture_isprime:
    mov ecx, edi                ; a
    mov esi, 2                  ; i = 2
    cmp esi, ecx
    jge .prime
.nexti:
    mov eax, ecx
    cdq
    idiv esi
    test edx, edx
    jz .not_prime
    inc esi
    cmp esi, ecx
    jl .nexti
.prime:
    mov eax, 1
    ret
.not_prime:
    xor eax, eax
    ret
lecture_isprime_end:

; cr3loop(n): the lecture's first example (section 2), n times: mask interrupts, load the page
; directory base, unmask them. The loaded value is this process's own page directory, so the
; address space does not change (but the TLB is flushed every time, as a real switch would).
; The kernel otherwise runs with IF=0; between two iterations IF=1 for an instruction or two,
; so a pending timer interrupt is taken here, in kernel mode, and only counts the tick.
; EAX = the number of loads.
sys_cr3loop:
    mov esi, [current]
    mov ecx, ebx
    xor edx, edx
    test ecx, ecx
    jz .done
.loop:
    mov eax, [esi + P_CR3]      ; "the first move instruction is innocuous"
    CLI                         ; mask interrupts: for the whole machine, not one guest
    and eax, ~0xFFF             ; the low 12 bits of CR3 are flags, not address
    LOAD_CR3 eax                ; the page-table base: no guest may set it on its own
    STI                         ; unmask (and deliver what is pending)
    inc edx
    loop .loop
.done:
    CLI                         ; back to the kernel's rule: IF=0
    mov eax, edx
    ret

; ioloop(n): n pairs of port accesses on port 0x80 (the POST diagnostic port, which every PC
; decodes and nothing listens to): out writes i, in reads the port back. Port I/O is
; sensitive (lecture section 4.1): a hypervisor must trap every access and emulate the
; device. EAX = a checksum of what the reads returned.
sys_ioloop:
    mov ecx, ebx
    xor edx, edx
    test ecx, ecx
    jz .done
.loop:
    mov al, cl
    OUTB 0x80, al
    INB al, 0x80
    movzx eax, al
    add edx, eax
    rol edx, 1
    loop .loop
.done:
    mov eax, edx
    ret

; probe(n): the kernel looks at its own privilege, n times, with the four behaviour-sensitive
; probes of the lecture (section 4.3): the CPL in the low 2 bits of CS, IF through pushf, the
; IDT register through sidt and the low half of CR0 through smsw. None of them traps at any
; CPL on classic x86: run deprivileged, the kernel sees the truth (CPL 1 or 3, IF as the
; hypervisor set it, the hypervisor's IDT), not the virtual machine it is meant to see. The
; first probe is printed:
;   cs=0008 cpl=0 if=0 sidt=BASE/LIMIT smsw=XXXX
; EAX = a checksum of every probe.
sys_probe:
    mov ecx, ebx
    xor edx, edx
    sub esp, 8                  ; sidt stores 6 bytes: limit (16 bits), base (32 bits)
    test ecx, ecx
    jz .print
.loop:
    READ_CS eax
    add edx, eax
    PUSHF
    pop eax
    and eax, EFLAGS_IF
    add edx, eax
    SIDT [esp + 2]
    add edx, [esp + 4]
    movzx eax, word [esp + 2]
    add edx, eax
    SMSW eax
    movzx eax, ax
    add edx, eax
    rol edx, 3
    loop .loop
.print:
    KPRINT 'sensitive: cs='
    READ_CS eax
    movzx eax, ax
    call khex4
    KPRINT ' cpl='
    and eax, 3
    call kdec
    KPRINT ' if='
    PUSHF
    pop eax
    shr eax, 9
    and eax, 1
    call kdec
    KPRINT ' sidt='
    SIDT [esp + 2]
    mov eax, [esp + 4]
    call khex
    KPRINT '/'
    movzx eax, word [esp + 2]
    call khex4
    KPRINT ' smsw='
    SMSW eax
    movzx eax, ax
    call khex4
    KPRINT 10
    add esp, 8
    mov eax, edx
    ret

; khex4: AX as 4 hex digits. Preserves all registers.
khex4:
    push eax
    shl eax, 16
    push ecx
    mov ecx, 4
.digit:
    rol eax, 4
    push eax
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .put
    add al, 'A' - '9' - 1
.put:
    call kputc
    pop eax
    loop .digit
    pop ecx
    pop eax
    ret

; -------------------------------------------------------------------------- command line
; parse_cmdline: the multiboot command line is the kernel's path, a space, then the words
; workload=NAME n=NUMBER hz=NUMBER (any order). Copies the workload name to workload_buf.
parse_cmdline:
    mov dword [arg_hz], 100
    mov dword [arg_n], N_UNSET
    mov esi, [mb_info]
    test dword [esi], 1 << 2    ; flags bit 2: cmdline valid
    jz .done
    mov esi, [esi + 16]
.skip_path:                     ; the first word is the kernel path
    mov al, [esi]
    test al, al
    jz .done
    inc esi
    cmp al, ' '
    jne .skip_path
.word:
    mov al, [esi]
    test al, al
    jz .done
    cmp al, ' '
    je .space
    mov edi, key_workload
    call match_key
    jnc .workload
    mov edi, key_n
    call match_key
    jnc .n
    mov edi, key_hz
    call match_key
    jnc .hz
%ifdef PARAVIRT
    mov edi, key_mmu_batch
    call match_key
    jnc .mmu_batch
%endif
.skip_word:
    mov al, [esi]
    test al, al
    jz .done
    cmp al, ' '
    je .word
    inc esi
    jmp .skip_word
.space:
    inc esi
    jmp .word
.workload:
    mov edi, workload_buf
    mov ecx, 31
.copy:
    mov al, [esi]
    test al, al
    jz .copied
    cmp al, ' '
    je .copied
    mov [edi], al
    inc esi
    inc edi
    loop .copy
.copied:
    mov byte [edi], 0
    jmp .skip_word
.n:
    call parse_number
    mov [arg_n], eax
    jmp .skip_word
.hz:
    call parse_number
    cmp eax, 19                 ; the PIT divisor must fit in 16 bits
    jb .skip_word
    cmp eax, 10000
    ja .skip_word
    mov [arg_hz], eax
    jmp .skip_word
%ifdef PARAVIRT
.mmu_batch:                     ; mmu_batch=0: one entry per mmu_update (spec.mmuBatch false)
    call parse_number
    test eax, eax
    jnz .skip_word
    mov dword [pv_mmu_limit], 1
    jmp .skip_word
%endif
.done:
    ret

; match_key: does the text at ESI start with the NUL-terminated key at EDI? If so (CF=0),
; ESI moves past it; otherwise CF=1 and ESI is unchanged.
match_key:
    push esi
.next:
    mov al, [edi]
    test al, al
    jz .yes
    cmp al, [esi]
    jne .no
    inc esi
    inc edi
    jmp .next
.yes:
    add esp, 4
    clc
    ret
.no:
    pop esi
    stc
    ret

; parse_number: EAX = the decimal number at ESI (ESI moves past its digits).
parse_number:
    xor eax, eax
.digit:
    movzx edx, byte [esi]
    sub edx, '0'
    cmp edx, 9
    ja .done
    imul eax, eax, 10
    add eax, edx
    inc esi
    jmp .digit
.done:
    ret

key_workload: db 'workload=', 0
key_n:        db 'n=', 0
key_hz:       db 'hz=', 0
%ifdef PARAVIRT
key_mmu_batch: db 'mmu_batch=', 0
%endif

; select_workload: look workload_buf up in the workload table; set workload_entry,
; workload_name and the default n. An unknown name ends the run with a list of the names.
select_workload:
    mov ebx, workload_table
.next:
    mov edi, [ebx]
    test edi, edi
    jz .unknown
    mov esi, workload_buf
.cmp:
    mov al, [esi]
    cmp al, [edi]
    jne .skip
    test al, al
    jz .found
    inc esi
    inc edi
    jmp .cmp
.skip:
    add ebx, 12
    jmp .next
.found:
    mov eax, [ebx]
    mov [workload_name], eax
    mov eax, [ebx + 4]
    mov [workload_entry], eax
    cmp dword [arg_n], N_UNSET
    jne .ret
    mov eax, [ebx + 8]
    mov [arg_n], eax
.ret:
    ret
.unknown:
    KPRINT 'unknown workload "'
    mov esi, workload_buf
    call kputs
    KPRINT '"; choose one with workload=NAME:'
    mov ebx, workload_table
.list:
    mov esi, [ebx]
    test esi, esi
    jz .list_done
    KPRINT ' '
    call kputs
    add ebx, 12
    jmp .list
.list_done:
    KPRINT 10
    mov al, EXIT_UNKNOWN_WORKLOAD
    OUTB DEBUG_EXIT, al
.hang:
    CLI
    HLT
    jmp .hang

; ---------------------------------------------------------------- the kcode routines
; kcode(x): the kcode workload's system call, through KC_ROUTINES distinct routines (more
; kernel code on its path than an L1 instruction cache holds). Last in the kernel text and
; page aligned: the two builds' kernel texts differ in length, and this keeps that difference
; from moving the 82 KiB that follow across a page boundary in one build and not the other
; (the user programs, the data, the IDT would then lie at other addresses: sidt would differ).
    align PAGE, db 0
%include "kcode.inc"

; ------------------------------------------------------------------- the user programs
; Page aligned: these pages are mapped user-readable in every address space (shared text).
    align PAGE, db 0
user_text_start:
%include "user.inc"
    align PAGE, db 0
user_text_end:

; ------------------------------------------------------------------------------- data
    align 8
gdt:
    dq 0
    ; SEG base, limit 0xFFFFF (G=1: 4 GiB), access byte, flags 0xC (G, D/B)
%macro SEG 1
    dw 0xFFFF, 0
    db 0, %1, 0xCF, 0
%endmacro
    SEG 0x9B                    ; 0x08 ring-0 code (accessed)
    SEG 0x93                    ; 0x10 ring-0 data
    SEG 0xBB                    ; 0x18 ring-1 code
    SEG 0xB3                    ; 0x20 ring-1 data
    SEG 0xFB                    ; 0x28 ring-3 code
    SEG 0xF3                    ; 0x30 ring-3 data
    ; 0x38 the TSS: base tss, limit 103, type 9 (32-bit available)
    dw 103
    dw ABS(tss) & 0xFFFF
    db (ABS(tss) >> 16) & 0xFF, 0x89, 0, (ABS(tss) >> 24) & 0xFF
gdt_end:

    align 4
    dw 0
gdtr:
    dw gdt_end - gdt - 1
    dd gdt

    align 4
    dw 0
idtr:
    dw 256 * 8 - 1
    dd IDT

; The TSS: only SS0:ESP0 matter (the stack the CPU switches to on entry from user mode);
; the I/O map base lies past the limit, so user code has no port access.
    align 4
tss:
    dd 0
    dd BOOT_STACK_TOP           ; ESP0 (switch_to keeps it current)
    dd KDATA                    ; SS0
    times 22 dd 0
    dw 0
    dw 104

    align 4
mb_info:        dd 0
arg_n:          dd 0
arg_hz:         dd 0
workload_name:  dd 0
workload_entry: dd 0
current:        dd 0
next_pid:       dd 0
ticks:          dd 0
free_list:      dd 0
free_frames:    dd 0
page_faults:    dd 0
workload_buf:   times 32 db 0
kc_calls:       dd 0            ; kcode calls so far (kcode.inc)
kc_cold:        dd 0            ; kcode cold blocks run so far
kc_slots:       times KC_ROUTINES dd 0  ; one word per kcode routine, written by its cold block

; ------------------------------------------------------------------------------- bss
    align 4, db 0
load_end:
BSS_START       equ (ABS(load_end) + 0xFFF) & ~0xFFF
BOOT_STACK      equ BSS_START                   ; process 0's kernel stack (one page)
BOOT_STACK_TOP  equ BOOT_STACK + PAGE
IDT             equ BOOT_STACK_TOP              ; 256 gates
KPD             equ IDT + PAGE                  ; the kernel page directory
KPT             equ KPD + PAGE                  ; 16 kernel page tables
proc_table      equ KPT + KMAP_TABLES * PAGE    ; NPROC * P_SIZE bytes
bss_end         equ proc_table + PAGE
FRAMES_START    equ bss_end                     ; free frames from here
