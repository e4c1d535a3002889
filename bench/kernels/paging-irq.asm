; Benchmark kernel: paging- and interrupt-heavy. Paging on; a loop that unmaps a page,
; touches it (demand page fault → the handler maps it back), invlpg, while the PIT interrupts
; at a high rate. Prints the number of page faults and timer ticks seen, then exits.
bits 32
org 0x100000
%ifndef ROUNDS
%define ROUNDS 200000
%endif
MB_FLAGS equ 0x10003
header:
    dd 0x1BADB002, MB_FLAGS, -(0x1BADB002 + MB_FLAGS)
    dd header, header, load_end, bss_end, start

start:
    mov esp, stack_top
    lgdt [gdt_ptr]
    jmp 0x08:.reload
.reload:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    ; IDT: #PF (14) and IRQ0 (vector 0x20)
    mov eax, pf_handler
    mov ebx, 14
    call set_gate
    mov eax, timer_handler
    mov ebx, 0x20
    call set_gate
    lidt [idt_ptr]
    ; PIC: remap to 0x20/0x28, only IRQ0 unmasked
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xfe
    out 0x21, al
    mov al, 0xff
    out 0xa1, al
    ; PIT channel 0, mode 2, divisor 100 (about 12 kHz)
    mov al, 0x34
    out 0x43, al
    mov al, 100
    out 0x40, al
    xor al, al
    out 0x40, al
    ; identity-map the first 8 MiB with 4 KiB pages
    mov edi, page_tables
    mov eax, 0x003
    mov ecx, 2048
.fill:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    loop .fill
    mov dword [page_dir], page_tables + 0x003
    mov dword [page_dir + 4], page_tables + 0x1000 + 0x003
    mov eax, page_dir
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000
    mov cr0, eax
    sti
    mov esi, ROUNDS
.round:
    ; unmap the page at 0x600000, flush, touch it: a demand fault maps it back
    and dword [page_tables + (0x600000 >> 12) * 4], ~1
    invlpg [0x600000]
    mov eax, [0x600000]
    inc dword [0x600000]
    dec esi
    jnz .round
    cli
    mov eax, [faults]
    call print_dec
    mov al, ' '
    call putc
    mov eax, [ticks]            ; depends on the clock: modeled time here, real time on QEMU
    call print_dec
    mov al, 10
    call putc
    mov al, 0
    out 0xf4, al
    hlt

set_gate:                       ; eax = handler, ebx = vector: 32-bit interrupt gate, DPL 0
    mov [idt + ebx*8], ax
    mov word [idt + ebx*8 + 2], 0x08
    mov word [idt + ebx*8 + 4], 0x8e00
    shr eax, 16
    mov [idt + ebx*8 + 6], ax
    ret

pf_handler:
    push eax
    inc dword [faults]
    mov eax, cr2
    shr eax, 12
    or dword [page_tables + eax*4], 1
    pop eax
    add esp, 4                  ; error code
    iret

timer_handler:
    push eax
    inc dword [ticks]
    mov al, 0x20
    out 0x20, al
    pop eax
    iret

%include "serial.inc"

align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff
    dq 0x00cf92000000ffff
gdt_ptr:
    dw gdt_ptr - gdt - 1
    dd gdt
idt_ptr:
    dw 256 * 8 - 1
    dd idt
faults: dd 0
ticks: dd 0
load_end:
align 4096
page_dir: times 1024 dd 0
page_tables: times 2048 dd 0
idt: times 256 dq 0
    times 4096 db 0
stack_top:
bss_end:
