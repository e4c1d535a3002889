; Benchmark kernel: the lecture's isprime (trial division), compute-bound, counting the primes
; below LIMIT; prints the count over COM1 and exits through isa-debug-exit.
bits 32
org 0x100000
%ifndef LIMIT
%define LIMIT 60000
%endif
MB_FLAGS equ 0x10003
header:
    dd 0x1BADB002, MB_FLAGS, -(0x1BADB002 + MB_FLAGS)
    dd header, header, load_end, bss_end, start
start:
    mov esp, stack_top
    xor ebx, ebx                ; primes found
    mov edi, 2
.candidate:
    call isprime
    add ebx, eax
    inc edi
    cmp edi, LIMIT
    jb .candidate
    mov eax, ebx
    call print_dec
    mov al, 10
    call putc
    mov dx, 0xf4
    xor eax, eax
    out dx, al
    hlt

; isprime(edi) -> eax = 1 if prime (the lecture's compiled loop: innocuous instructions only)
isprime:
    mov ecx, 2
.loop:
    mov eax, ecx
    imul eax, ecx
    cmp eax, edi
    ja .prime
    mov eax, edi
    xor edx, edx
    div ecx
    test edx, edx
    jz .not_prime
    inc ecx
    jmp .loop
.prime:
    mov eax, 1
    ret
.not_prime:
    xor eax, eax
    ret

%include "serial.inc"
load_end:
    times 4096 db 0
stack_top:
bss_end:
