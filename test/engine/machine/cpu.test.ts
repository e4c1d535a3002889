// Per-instruction tests of the CPU: results and flags for the arithmetic, logic, shift, string
// and stack forms (8/16/32-bit, edge values), and the protection rules the lecture is about.
import { describe, expect, it } from 'vitest';
import { UNHANDLED_OPS } from '../../../src-main/engine/machine/exec';
import { bareCpu, exec, firstTrap, runToHalt, STACK_TOP } from '../../helpers/bare-cpu';

const CF = 0x1;
const PF = 0x4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const OF = 0x800;
const ARITH = CF | PF | AF | ZF | SF | OF;

describe('executor coverage', () => {
  it('has a handler for every op of the opcode table', () => {
    expect(UNHANDLED_OPS).toEqual([]);
  });
});

describe('arithmetic and flags', () => {
  const cases: [string, number, number][] = [
    // source, expected eax, expected arithmetic flags
    ['mov eax, 0x7fffffff\nadd eax, 1', 0x80000000, SF | OF | AF | PF],
    ['mov eax, 0xffffffff\nadd eax, 1', 0, CF | ZF | AF | PF],
    ['mov eax, 0\nsub eax, 1', 0xffffffff, CF | SF | AF | PF],
    ['mov eax, 0x80000000\nsub eax, 1', 0x7fffffff, OF | AF | PF],
    ['mov eax, 5\nstc\nadc eax, 5', 11, 0],
    ['mov al, 0x7f\nadd al, 1', 0x80, SF | OF | AF],
    ['mov ax, 0xffff\ninc ax', 0, ZF | AF | PF],
    ['mov eax, 0xf0\nand eax, 0x0f', 0, ZF | PF],
    ['mov eax, 0x80\nneg al', 0x80, CF | SF | OF],
    ['mov eax, 1\nshl eax, 31', 0x80000000, SF | PF],
    ['mov eax, 0x80000001\nror eax, 1', 0xc0000000, CF],
    ['mov eax, 0xffffff80\nsar al, 7', 0xffffffff, SF | PF],
  ];
  for (const [src, eax, flags] of cases) {
    it(src.replace(/\n/g, '; '), () => {
      const cpu = exec(src);
      expect(cpu.regs[0]! >>> 0).toBe(eax >>> 0);
      const mask = src.includes('adc')
        ? ARITH & ~AF & ~PF
        : src.includes('shl') || src.includes('sar')
          ? ARITH & ~AF & ~OF
          : src.includes('ror')
            ? CF
            : ARITH;
      expect(cpu.eflags & mask).toBe(flags & mask);
    });
  }

  it('multiplies and divides into the register pairs', () => {
    const cpu = exec(
      'mov eax, 0x12345678\nmov ecx, 0x100\nmul ecx\nmov ebx, edx\nmov esi, eax\nmov eax, 1000\ncdq\nmov ecx, -7\nidiv ecx',
    );
    expect(cpu.regs[3]).toBe(0x12);
    expect(cpu.regs[6]).toBe(0x34567800);
    expect(cpu.regs[0]! | 0).toBe(-142);
    expect(cpu.regs[2]! | 0).toBe(6);
  });

  it('8-bit registers alias the low and high bytes', () => {
    const cpu = exec('mov eax, 0x11223344\nmov ah, 0xaa\nmov bl, ah\nmovzx ecx, bl\nmovsx edx, ah');
    expect(cpu.regs[0]).toBe(0x1122aa44);
    expect(cpu.regs[1]).toBe(0xaa);
    expect(cpu.regs[2]).toBe(0xffffffaa);
  });
});

describe('string instructions', () => {
  it('rep movsd copies and advances, cld/std direction', () => {
    const cpu = exec(
      'mov esi, src\nmov edi, 0x3000\nmov ecx, 3\ncld\nrep movsd\nmov eax, [0x3008]\nhlt\nsrc: dd 1, 2, 3',
    );
    expect(cpu.regs[0]).toBe(3);
    expect(cpu.regs[1]).toBe(0);
    expect(cpu.regs[7]).toBe(0x300c);
  });
  it('repne scasb finds a byte', () => {
    const cpu = exec(
      'mov edi, text\nmov al, 0x21\nmov ecx, 100\ncld\nrepne scasb\nmov eax, edi\nsub eax, text\nhlt\ntext: db "hello!"',
    );
    expect(cpu.regs[0]).toBe(6);
    expect(cpu.regs[1]).toBe(94);
  });
});

describe('stack and control flow', () => {
  it('call/ret, push/pop, pushad/popad, enter/leave', () => {
    const cpu = exec(
      'mov eax, 7\ncall f\njmp done\nf: enter 8, 0\npushad\nmov eax, 99\npopad\ninc eax\nleave\nret\ndone:',
    );
    expect(cpu.regs[0]).toBe(8);
    expect(cpu.regs[4]).toBe(STACK_TOP);
  });
  it('loop and jecxz', () => {
    const cpu = exec(
      'xor eax, eax\nmov ecx, 10\nl: add eax, ecx\nloop l\njecxz z\nmov eax, -1\nz:',
    );
    expect(cpu.regs[0]).toBe(55);
  });
});

describe('faults', () => {
  it('divide by zero raises #DE (vector 0) through the IDT', () => {
    // no IDT: the #DE delivery faults, #GP during a contributory → #DF → no gate → triple fault
    const run = bareCpu('xor ecx, ecx\ndiv ecx');
    run.cpu.idtrLimit = 0;
    expect(() => runToHalt(run)).toThrow(/double-fault/);
  });
});

describe('self-modifying code', () => {
  it('a write to decoded code is seen by the next execution', () => {
    // patch the immediate of `mov eax, 1` to 2 after it has run once
    const cpu = exec(`
      xor ebx, ebx
    again:
      mov eax, 1
    imm equ $ - 4
      add ebx, eax
      cmp ebx, 1
      jne done
      mov byte [imm], 2
      jmp again
    done:`);
    expect(cpu.regs[3]).toBe(3);
  });
});

describe('the classic quirks at CPL 3, and the strict ISA', () => {
  const ring3 = { ring3: true } as const;
  it('pushf reveals the real IF; popf silently keeps IF (classic)', () => {
    const { trap, cpu } = firstTrap(
      'pushfd\npop eax\npush dword 0\npopfd\npushfd\npop ebx\nhlt',
      ring3,
    );
    // hlt at CPL 3 is the first trap: everything before it ran without a fault
    expect(trap).toMatchObject({ vector: 13 });
    expect(cpu.regs[0]! & 0x200).toBe(0); // IF was 0 in the bare CPU
    expect(cpu.regs[3]! & 0x3000).toBe(0);
  });
  it('popf at CPL 3 cannot set IF (no fault, no effect)', () => {
    const { cpu } = firstTrap('push dword 0x202\npopfd\nhlt', ring3);
    expect(cpu.eflags & 0x200).toBe(0);
  });
  for (const [insn, setup] of [
    ['pushfd', ''],
    ['popfd', 'push dword 0'],
    ['sgdt [0x4000]', ''],
    ['sidt [0x4000]', ''],
    ['sldt eax', ''],
    ['str eax', ''],
    ['smsw eax', ''],
    ['mov eax, cs', ''],
    ['push ds', ''],
    ['lar eax, ecx', 'mov ecx, 0x1b'],
    ['verr cx', 'mov ecx, 0x1b'],
  ] as const) {
    it(`${insn}: runs at CPL 3 on classic, #GP(0) on strict`, () => {
      const src = `${setup}\n${insn}\nhlt`;
      const classic = firstTrap(src, { ...ring3, isa: 'classic' });
      expect(classic.trap?.vector).toBe(13);
      expect(classic.trap?.eip).toBe(classic.cpu.eip); // the fault is on the final hlt
      const strict = firstTrap(src, { ...ring3, isa: 'strict' });
      expect(strict.trap).toMatchObject({ vector: 13, errorCode: 0 });
      expect(strict.trap!.eip).toBeLessThan(classic.trap!.eip);
    });
  }
  it('privileged instructions fault at CPL 3 on both ISAs, cli/sti by IOPL', () => {
    for (const insn of [
      'cli',
      'sti',
      'hlt',
      'mov cr3, eax',
      'lgdt [0x4000]',
      'invlpg [0]',
      'in al, 0x80',
      'wbinvd',
    ]) {
      expect(firstTrap(`${insn}\nnop`, ring3).trap, insn).toMatchObject({
        vector: 13,
        errorCode: 0,
      });
    }
  });
  it('vmcall raises #UD on this CPU', () => {
    expect(firstTrap('vmcall').trap).toMatchObject({ vector: 6 });
  });
  it('a page fault reports CR2 and the error code', () => {
    const { trap, cpu } = firstTrap(`
      mov dword [0x10000], 0x10003      ; page directory entry 0 → table at 0x10000? (identity below)
      mov edi, 0x10000
      mov eax, 0x3
      mov ecx, 1024
    fill: mov [edi], eax
      add eax, 0x1000
      add edi, 4
      loop fill
      and dword [0x10000 + 0x50*4], ~1  ; page 0x50000 not present
      mov dword [0x11000], 0x10003
      mov eax, 0x11000
      mov cr3, eax
      mov eax, cr0
      or eax, 0x80000000
      mov cr0, eax
      mov dword [0x50010], 7`);
    expect(trap).toMatchObject({ vector: 14, errorCode: 2 });
    expect(cpu.cr2).toBe(0x50010);
  });
});

describe('instructions whose operands may be one register', () => {
  it('xadd r, r with the same register leaves the sum (SDM: DEST is written last)', () => {
    const cpu = exec('mov edi, 0x4134\nxadd di, di\nmov eax, 5\nxadd eax, eax');
    expect(cpu.regs[7]).toBe(0x8268);
    expect(cpu.regs[0]).toBe(10);
  });
});

describe('single-step', () => {
  it('TF raises #DB after the next instruction, not after the popf that set it', () => {
    const { trap, cpu } = firstTrap('pushfd\nor dword [esp], 0x100\npopfd\nmov eax, 7\nmov ebx, 8');
    expect(trap?.vector).toBe(1);
    expect(cpu.regs[0]).toBe(7); // the instruction after popf ran…
    expect(cpu.regs[3]).not.toBe(8); // …and the trap came before the next one
  });
});

describe('rep stosd (its iterations on one page are stored at once)', () => {
  it.each([
    ['aligned, 16 bytes before a page boundary', 0x20ff0],
    ['misaligned, 2 bytes before a page boundary', 0x20ffe],
  ])('%s: stores every dword across pages and chunks, counts every iteration', (_, start) => {
    const count = 3000; // three chunks of the interpreter's rep loop
    const cpu = exec(`mov edi, ${start}\nmov ecx, ${count}\nmov eax, 0x11223344\ncld\nrep stosd`);
    expect(cpu.regs[1]).toBe(0);
    expect(cpu.regs[7]).toBe(start + 4 * count);
    for (let k = 0; k < count; k++) expect(cpu.memory.read32(start + 4 * k)).toBe(0x11223344);
    expect(cpu.memory.read8(start - 1)).toBe(0);
    expect(cpu.memory.read8(start + 4 * count)).toBe(0);
    // mov, mov, mov, cld, 3,000 iterations, hlt
    expect(cpu.instructions).toBe(4 + count + 1);
  });

  it('with paging: a page boundary is a new translation (the next page maps elsewhere)', () => {
    const run = bareCpu('mov edi, 0x20ff0\nmov ecx, 8\nmov eax, 0x55aa55aa\ncld\nrep stosd');
    const { cpu, memory } = run;
    // identity for the first MiB, but linear page 0x21 → physical page 0x50
    memory.write32(0x9000, 0xa000 | 3);
    for (let p = 0; p < 256; p++)
      memory.write32(0xa000 + p * 4, ((p === 0x21 ? 0x50 : p) << 12) | 3);
    cpu.cr3 = 0x9000;
    cpu.cr0 = (cpu.cr0 | 0x80000000) >>> 0;
    runToHalt(run);
    for (let k = 0; k < 4; k++) expect(memory.read32(0x20ff0 + 4 * k)).toBe(0x55aa55aa);
    for (let k = 0; k < 4; k++) expect(memory.read32(0x50000 + 4 * k)).toBe(0x55aa55aa);
    expect(memory.read32(0x21000)).toBe(0);
    expect(memory.read32(0x50010)).toBe(0);
  });

  it('over code that follows it: the stored bytes are what runs next', () => {
    const cpu = exec(
      'mov edi, target\nmov ecx, 4\nmov eax, 0x90909090\ncld\nrep stosd\n' +
        'target:\nmov ebx, 1\nmov ebx, 2\nmov ebx, 3\nnop',
    );
    expect(cpu.regs[3]).toBe(0);
  });
});
