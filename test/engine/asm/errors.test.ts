// Bad input to the assembler: each a clear error naming file, line and column, never a crash
// or a hang.
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../src-main/engine/asm/assembler';
import { AsmError } from '../../../src-main/engine/asm/diagnostics';
import { type SourceProvider } from '../../../src-main/engine/asm/preprocess';

function error(source: string, provider?: SourceProvider): AsmError {
  try {
    assemble(source, { file: 'bad.asm', ...(provider ? { provider } : {}) });
  } catch (e) {
    if (e instanceof AsmError) return e;
    throw e;
  }
  throw new Error('assembled without error');
}

const files = (map: Record<string, string>): SourceProvider => ({
  resolveInclude: (name) => (name in map ? { path: name, text: map[name]! } : undefined),
});

describe('assembler errors', () => {
  it('names an unknown mnemonic with its position', () => {
    const e = error('bits 32\n  nop\n  frobnicate eax, 1\n');
    expect(e.location).toMatchObject({ file: 'bad.asm', line: 3, column: 3 });
    expect(e.message).toContain("unknown instruction 'frobnicate'");
    expect(e.format()).toMatch(/^bad\.asm:3:3: error: /);
  });

  it('rejects a bad operand combination', () => {
    const e = error('mov cr3, 5\n');
    expect(e.message).toMatch(/invalid combination of opcode and operands/);
    expect(e.location.line).toBe(1);
  });

  it('rejects an operand count the instruction does not take', () => {
    expect(error('add eax\n').message).toMatch(/'add' takes 2 operand/);
  });

  it('asks for a size where nasm does', () => {
    expect(error('inc [eax]\n').message).toBe('operation size not specified');
    expect(error('mov [eax], 5\n').message).toBe('operation size not specified');
    expect(error('push [eax]\n').message).toBe('operation size not specified');
  });

  it('rejects out-of-range immediates and data', () => {
    const e = error('mov al, 300\n');
    expect(e.message).toMatch(/300 out of range for a 8-bit operand/);
    expect(e.location.column).toBe(9);
    expect(error('db 256\n').message).toMatch(/does not fit in 8 bits/);
    expect(error('dw 0x10000\n').message).toMatch(/does not fit in 16 bits/);
    expect(error('int 0x100\n').message).toMatch(/out of range/);
  });

  it('rejects a short jump that does not reach', () => {
    expect(error('jmp short far_label\ntimes 200 nop\nfar_label:\n').message).toMatch(/short jump/);
    expect(error('top: times 200 nop\nloop top\n').message).toMatch(/short jump/);
  });

  it('reports undefined symbols, redefinitions and bad effective addresses', () => {
    expect(error('mov eax, nowhere\n').message).toMatch(/symbol 'nowhere' is not defined/);
    expect(error('a: nop\na: nop\n').message).toMatch(/label 'a' is defined twice/);
    expect(error('mov eax, [eax*3+ebx]\n').message).toBe('invalid 32-bit effective address');
    expect(error('mov eax, [esp*2]\n').message).toBe('invalid 32-bit effective address');
    expect(error('mov eax, [ax]\n').message).toMatch(/effective address/);
    expect(error('times x nop\nx equ 3\n').message).toMatch(/times count/);
  });

  it('rejects other bits and a second origin', () => {
    expect(error('bits 16\n').message).toMatch(/only bits 32/);
    expect(error('org 0\norg 0x100\n').message).toMatch(/org given twice/);
  });

  it('reports an unterminated %macro and %if where they started', () => {
    const m = error('nop\n%macro twice 1\n  %1\n  %1\n');
    expect(m.message).toMatch(/unterminated %macro/);
    expect(m.message).toMatch(/bad\.asm:2/);
    const i = error('%if 1\nnop\n');
    expect(i.message).toMatch(/unterminated %if/);
  });

  it('reports a missing and a recursive include', () => {
    const missing = error('%include "nothere.inc"\n', files({}));
    expect(missing.message).toMatch(/nothere\.inc/);
    expect(missing.location).toMatchObject({ file: 'bad.asm', line: 1 });
    const recursive = error(
      '%include "a.inc"\n',
      files({ 'a.inc': '%include "b.inc"\n', 'b.inc': '%include "a.inc"\n' }),
    );
    expect(recursive.message).toMatch(/recursive/i);
    expect(recursive.message).toMatch(/a\.inc/);
  });

  it('reports an error at the end of a 10 MB source without hanging', () => {
    const line = '    add dword [ebx+esi*4+0x10], 0x12345\n';
    const body = line.repeat(Math.ceil((10 * 1024 * 1024) / line.length));
    const e = error(`bits 32\n${body}    bogus eax\n`);
    expect(e.location.line).toBe(body.split('\n').length + 1);
    expect(e.message).toMatch(/unknown instruction 'bogus'/);
  }, 120_000);
});
