// Test corpus generated from the opcode table: every encodable form × operand size × edge
// operands (each register, immediate boundaries, every addressing mode, negative
// displacements), as NASM source lines. Assembled by both our assembler and nasm, and
// round-tripped through the disassembler.

import { FORMS } from '../../../src-main/engine/isa/table';
import {
  GPR16,
  GPR32,
  GPR8,
  type InstructionForm,
  type OperandSpec,
  SREGS,
} from '../../../src-main/engine/isa/types';

const MEMORY_MODES = [
  '[eax]',
  '[ebp]',
  '[esp]',
  '[ebx+0x10]',
  '[esi-0x10]',
  '[edi+0x7f]',
  '[ecx-0x80]',
  '[edx+0x80]',
  '[ebp-0x81]',
  '[esi+0x12345678]',
  '[0x12345678]',
  '[eax+ebx]',
  '[ebp+ecx*2]',
  '[esp+eax*4+0x20]',
  '[ebx+esi*8-0x1000]',
  '[ecx*4+0x100]',
  '[edx*2]',
  '[eax*8]',
  '[es:edi]',
  '[fs:ebx+0x4]',
  '[gs:0x30]',
  '[ss:ebp-0x8]',
  '[cs:eax+ecx]',
  '[ds:esi]',
];

const IMM: Record<8 | 16 | 32, string[]> = {
  8: ['0x0', '0x1', '0x7f', '0x80', '0xff', '-0x1', '-0x80'],
  16: ['0x0', '0x7f', '0x80', '0x7fff', '0x8000', '0xffff', '-0x1', '-0x80', '-0x81', '-0x8000'],
  32: [
    '0x0',
    '0x1',
    '0x7f',
    '0x80',
    '-0x80',
    '-0x81',
    '0x7fffffff',
    '0x80000000',
    '0xffffffff',
    '0x12345678',
    '-0x1',
  ],
};
const SIMM8 = ['0x0', '0x7f', '-0x80', '-0x1', 'byte 0x10'];
const REL_TARGETS = ['$', '$+0x2', '$+0x40', '$-0x40', '$+0x81', '$-0x7e', '$+0x1000', '$-0x10000'];
const SIZE_WORD: Record<number, string> = { 8: 'byte', 16: 'word', 32: 'dword' };

function regs(size: number): readonly string[] {
  return size === 8 ? GPR8 : size === 16 ? GPR16 : GPR32;
}

function choices(form: InstructionForm, spec: OperandSpec, osz: 16 | 32): string[] {
  const size = spec.size === 'v' ? osz : spec.size;
  switch (spec.kind) {
    case 'reg':
    case 'opreg':
    case 'rmreg':
      return [...regs(size as number)];
    case 'rm': {
      const r = regs(size as number);
      return [r[0]!, r[3]!, r[7]!, ...MEMORY_MODES.map((m) => `${SIZE_WORD[size as number]} ${m}`)];
    }
    case 'mem':
      if (size === 'far') {
        return form.op === 'load-far-pointer' ? MEMORY_MODES : MEMORY_MODES.map((m) => `far ${m}`);
      }
      if (typeof size === 'number') return MEMORY_MODES.map((m) => `${SIZE_WORD[size]} ${m}`);
      return MEMORY_MODES;
    case 'imm':
      return IMM[size as 8 | 16 | 32];
    case 'simm8':
      return SIMM8;
    case 'rel': {
      if (spec.size === 8) {
        return form.operands.length === 1 && form.flow === 'branch' && form.opcode[0]! >= 0xe0
          ? ['$', '$+0x2', '$+0x40', '$-0x40', '$-0x7e', '$+0x81']
          : REL_TARGETS;
      }
      return osz === 16 ? REL_TARGETS.map((t) => `word ${t}`) : REL_TARGETS.map((t) => `near ${t}`);
    }
    case 'moffs':
      return ['[0x12345678]', '[0x0]', '[fs:0x10]', '[es:0x7fffffff]'];
    case 'sreg':
      return form.op === 'mov-to-sreg' ? SREGS.filter((s) => s !== 'cs') : [...SREGS];
    case 'creg':
      return ['cr0', 'cr2', 'cr3', 'cr4'];
    case 'fixed':
      return [spec.reg === 'eAX' ? (osz === 16 ? 'ax' : 'eax') : spec.reg!];
    case 'one':
      return ['1'];
    case 'farptr':
      return ['0x8:0x12345678', '0x1b:0x0', '0xffff:0xffff'];
  }
}

/** The corpus as NASM lines (no `bits`/`org` header). */
export function generateCorpus(): string[] {
  const lines = new Set<string>();
  for (const form of FORMS) {
    if (!form.encodable) continue;
    const sizes: (16 | 32)[] = form.sizeFollowsPrefix ? [32, 16] : [32];
    for (const osz of sizes) {
      if (form.encodableSizes && !form.encodableSizes.includes(osz)) continue;
      const names = new Set<string>();
      const sized = form.sizedMnemonics?.[osz];
      if (sized) names.add(sized);
      if (!form.sizedMnemonics || osz === 32) {
        names.add(form.mnemonic);
        form.aliases.forEach((a) => names.add(a));
      }
      // push/pop of a segment register and retf have no 16-bit spelling NASM distinguishes
      if (osz === 16 && !sized && form.operands.every((o) => o.size !== 'v' && o.size !== 'far'))
        continue;
      const lists = form.operands.map((spec) => choices(form, spec, osz));
      const rows = Math.max(1, ...lists.map((l) => l.length));
      let first = true;
      for (const name of names) {
        for (let i = 0; i < (first ? rows : 1); i++) {
          const ops = lists.map((l, j) => l[(i + j) % l.length]!);
          lines.add(ops.length > 0 ? `${name} ${ops.join(', ')}` : name);
        }
        first = false;
      }
    }
  }
  for (const prefix of [
    'rep movsb',
    'rep movsd',
    'rep stosw',
    'repe cmpsb',
    'repne scasd',
    'rep insb',
    'rep outsd',
    'lock add dword [eax], ecx',
    'lock xchg [ebx], al',
    'lock inc word [esi+0x4]',
  ]) {
    lines.add(prefix);
  }
  return [...lines];
}
