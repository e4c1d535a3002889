// Decoder tests: every decodable form of FORMS, encoded here by hand from the table (prefixes,
// opcode, ModRM/SIB/displacement, immediates), decodes back to that form with the right fields;
// random byte strings never make it throw; bad encodings give precise #UD/#GP reasons.

import { describe, expect, it } from 'vitest';
import {
  acceptsLock,
  decode,
  decodeBytes,
  MAX_INSTRUCTION_LENGTH,
  type ByteSource,
  type DecodedInstruction,
} from '../../../src-main/engine/isa/decoder';
import { FORMS } from '../../../src-main/engine/isa/table';
import type { InstructionForm, OperandSpec } from '../../../src-main/engine/isa/types';

// ---- a tiny independent encoder, driven by the table -------------------------------------------

interface ExpectedMem {
  base: number;
  index: number;
  scale: number;
  disp: number;
  segment: number;
  segmentOverridden: boolean;
}

/** A ModRM.mod/rm (+SIB, displacement) choice and the memory operand it means. */
interface RmChoice {
  label: string;
  mod: number;
  rm: number;
  tail: number[];
  mem: Omit<ExpectedMem, 'segment' | 'segmentOverridden'> | null;
}

const le32 = (v: number): number[] => [
  v & 0xff,
  (v >>> 8) & 0xff,
  (v >>> 16) & 0xff,
  (v >>> 24) & 0xff,
];
const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];

const REGISTER_CHOICES: RmChoice[] = [0, 3, 7].map((r) => ({
  label: `reg ${r}`,
  mod: 3,
  rm: r,
  tail: [],
  mem: null,
}));

const MEMORY_CHOICES: RmChoice[] = [
  { label: '[eax]', mod: 0, rm: 0, tail: [], mem: { base: 0, index: -1, scale: 0, disp: 0 } },
  { label: '[edi]', mod: 0, rm: 7, tail: [], mem: { base: 7, index: -1, scale: 0, disp: 0 } },
  {
    label: '[disp32]',
    mod: 0,
    rm: 5,
    tail: le32(0xfffffff0),
    mem: { base: -1, index: -1, scale: 0, disp: -16 },
  },
  {
    label: '[ebp-0x80]',
    mod: 1,
    rm: 5,
    tail: [0x80],
    mem: { base: 5, index: -1, scale: 0, disp: -128 },
  },
  {
    label: '[ebx+0x7f]',
    mod: 1,
    rm: 3,
    tail: [0x7f],
    mem: { base: 3, index: -1, scale: 0, disp: 127 },
  },
  {
    label: '[esi+0x12345678]',
    mod: 2,
    rm: 6,
    tail: le32(0x12345678),
    mem: { base: 6, index: -1, scale: 0, disp: 0x12345678 },
  },
  // SIB forms
  { label: '[esp]', mod: 0, rm: 4, tail: [0x24], mem: { base: 4, index: -1, scale: 0, disp: 0 } },
  {
    label: '[eax+ecx*4]',
    mod: 0,
    rm: 4,
    tail: [0x88],
    mem: { base: 0, index: 1, scale: 2, disp: 0 },
  },
  {
    label: '[edx*8+disp32]',
    mod: 0,
    rm: 4,
    tail: [0xd5, ...le32(0x80000000)],
    mem: { base: -1, index: 2, scale: 3, disp: -0x80000000 },
  },
  {
    label: '[ebp+esi*2-1]',
    mod: 1,
    rm: 4,
    tail: [0x75, 0xff],
    mem: { base: 5, index: 6, scale: 1, disp: -1 },
  },
  {
    label: '[esp+edi+disp32]',
    mod: 2,
    rm: 4,
    tail: [0x3c, ...le32(0x1000)],
    mem: { base: 4, index: 7, scale: 0, disp: 0x1000 },
  },
  {
    label: '[ebx] via SIB, index none, ss=01',
    mod: 0,
    rm: 4,
    tail: [0x63],
    mem: { base: 3, index: -1, scale: 1, disp: 0 },
  },
  {
    label: '[disp32] via SIB',
    mod: 0,
    rm: 4,
    tail: [0x25, ...le32(0x1234)],
    mem: { base: -1, index: -1, scale: 0, disp: 0x1234 },
  },
];

function defaultSegment(mem: { base: number }): number {
  return mem.base === 4 || mem.base === 5 ? 2 : 3;
}

interface Case {
  name: string;
  bytes: number[];
  form: InstructionForm;
  operandSize: 16 | 32;
  reg: number;
  rm: number;
  modrm: number;
  mem: ExpectedMem | null;
  imm: number;
  imm2: number;
  prefixCount: number;
  lock: boolean;
  segment: number;
}

/** Immediate bytes and the values decode() should report for them. */
function immediates(
  form: InstructionForm,
  opsize: 16 | 32,
): { bytes: number[]; imm: number; imm2: number; moffs?: number } {
  const bytes: number[] = [];
  const values: number[] = [];
  let moffs: number | undefined;
  let farSelector: number | undefined;
  for (const o of form.operands) {
    const size = o.size === 'v' ? opsize : o.size;
    switch (o.kind) {
      case 'imm':
        if (size === 8) {
          bytes.push(0xab);
          values.push(0xab);
        } else if (size === 16) {
          bytes.push(...le16(0xbeef));
          values.push(0xbeef);
        } else {
          bytes.push(...le32(0x89abcdef));
          values.push(0x89abcdef);
        }
        break;
      case 'simm8':
        bytes.push(0x80);
        values.push(-128);
        break;
      case 'rel':
        if (size === 8) {
          bytes.push(0xfe);
          values.push(-2);
        } else if (size === 16) {
          bytes.push(...le16(0xfff0));
          values.push(-16);
        } else {
          bytes.push(...le32(0x7ffffff0));
          values.push(0x7ffffff0);
        }
        break;
      case 'moffs':
        bytes.push(...le32(0xfffffff0));
        values.push(0xfffffff0);
        moffs = -16;
        break;
      case 'farptr':
        if (opsize === 16) bytes.push(...le16(0x1234));
        else bytes.push(...le32(0x12345678));
        bytes.push(...le16(0x0008));
        values.push(opsize === 16 ? 0x1234 : 0x12345678);
        farSelector = 8;
        break;
      default:
        break;
    }
  }
  return {
    bytes,
    imm: values[0] ?? 0,
    imm2: farSelector ?? values[1] ?? 0,
    ...(moffs !== undefined ? { moffs } : {}),
  };
}

function kinds(form: InstructionForm): OperandSpec['kind'][] {
  return form.operands.map((o) => o.kind);
}

/** ModRM.reg values the form can be encoded with. */
function regFieldChoices(form: InstructionForm): number[] {
  if (form.ext !== undefined) return [form.ext];
  const k = kinds(form);
  const sregAt = k.indexOf('sreg');
  if (sregAt === 0) return [0, 2, 3, 4, 5]; // mov to cs is #UD
  if (sregAt > 0) return [0, 1, 2, 3, 4, 5];
  if (k.includes('creg')) return [0, 2, 3, 4];
  return [2, 7];
}

function rmChoices(form: InstructionForm): RmChoice[] {
  const rmOperand = form.operands.find((o) => ['rm', 'rmreg', 'mem'].includes(o.kind));
  if (kinds(form).includes('creg')) {
    // mod is ignored: always a register, never a displacement
    return [
      { label: 'reg 6', mod: 3, rm: 6, tail: [], mem: null },
      { label: 'mod 0 as reg 5', mod: 0, rm: 5, tail: [], mem: null },
    ];
  }
  if (rmOperand === undefined) return [{ label: 'reg 1', mod: 3, rm: 1, tail: [], mem: null }];
  if (rmOperand.kind === 'rmreg') return REGISTER_CHOICES;
  if (rmOperand.kind === 'mem') return MEMORY_CHOICES;
  return [...REGISTER_CHOICES, ...MEMORY_CHOICES];
}

/** The form decode() must pick for these bytes (another form may own a shared encoding). */
function winner(form: InstructionForm, opcodeByte: number): InstructionForm {
  if (form.operands.some((o) => o.kind === 'opreg')) {
    const exact = FORMS.find(
      (f) =>
        f.decodable &&
        !f.hasModrm &&
        f.opcode.length === form.opcode.length &&
        f.opcode[f.opcode.length - 1] === opcodeByte &&
        !f.operands.some((o) => o.kind === 'opreg'),
    );
    if (exact) return exact;
  }
  return form;
}

function casesFor(form: InstructionForm): Case[] {
  const out: Case[] = [];
  const sizes: (16 | 32)[] = form.sizeFollowsPrefix ? [32, 16] : [32];
  for (const opsize of sizes) {
    const prefix = opsize === 16 ? [0x66] : [];
    const imms = immediates(form, opsize);
    const base = {
      form,
      operandSize: opsize,
      prefixCount: prefix.length,
      lock: false,
      segment: -1,
    };
    if (!form.hasModrm) {
      const opreg = kinds(form).includes('opreg');
      for (const r of opreg ? [0, 1, 2, 3, 4, 5, 6, 7] : [-1]) {
        const opcode = [...form.opcode];
        if (r >= 0) opcode[opcode.length - 1] = (opcode[opcode.length - 1] as number) + r;
        const w = winner(form, opcode[opcode.length - 1] as number);
        out.push({
          ...base,
          form: w,
          name: `${form.mnemonic} #${form.id} o${opsize} r${r}`,
          bytes: [...prefix, ...opcode, ...(w === form ? imms.bytes : [])],
          operandSize: w === form ? opsize : 32,
          reg: w === form ? r : -1,
          rm: -1,
          modrm: -1,
          mem:
            imms.moffs !== undefined
              ? {
                  base: -1,
                  index: -1,
                  scale: 0,
                  disp: imms.moffs,
                  segment: 3,
                  segmentOverridden: false,
                }
              : null,
          imm: w === form ? imms.imm : 0,
          imm2: w === form ? imms.imm2 : 0,
        });
      }
      continue;
    }
    if (form.modrmByte !== undefined) {
      out.push({
        ...base,
        name: `${form.mnemonic} #${form.id}`,
        bytes: [...prefix, ...form.opcode, form.modrmByte, ...imms.bytes],
        reg: (form.modrmByte >> 3) & 7,
        rm: form.modrmByte & 7,
        modrm: form.modrmByte,
        mem: null,
        imm: imms.imm,
        imm2: imms.imm2,
      });
      continue;
    }
    for (const reg of regFieldChoices(form)) {
      for (const c of rmChoices(form)) {
        // vmcall owns 0F 01 C1
        const modrm = (c.mod << 6) | (reg << 3) | c.rm;
        if (form.opcode[0] === 0x0f && form.opcode[1] === 0x01 && modrm === 0xc1) continue;
        const mem = c.mem && { ...c.mem, segment: defaultSegment(c.mem), segmentOverridden: false };
        out.push({
          ...base,
          name: `${form.mnemonic} #${form.id} o${opsize} /${reg} ${c.label}`,
          bytes: [...prefix, ...form.opcode, modrm, ...c.tail, ...imms.bytes],
          reg,
          rm: c.rm,
          modrm,
          mem,
          imm: imms.imm,
          imm2: imms.imm2,
        });
        if (mem !== null) {
          // a segment override (fs), and LOCK where the form takes it
          out.push({
            ...base,
            name: `${form.mnemonic} #${form.id} o${opsize} /${reg} fs:${c.label}`,
            bytes: [0x64, ...prefix, ...form.opcode, modrm, ...c.tail, ...imms.bytes],
            prefixCount: prefix.length + 1,
            segment: 4,
            reg,
            rm: c.rm,
            modrm,
            mem: { ...mem, segment: 4, segmentOverridden: true },
            imm: imms.imm,
            imm2: imms.imm2,
          });
          if (acceptsLock(form)) {
            out.push({
              ...base,
              name: `lock ${form.mnemonic} #${form.id} o${opsize} /${reg} ${c.label}`,
              bytes: [...prefix, 0xf0, ...form.opcode, modrm, ...c.tail, ...imms.bytes],
              prefixCount: prefix.length + 1,
              lock: true,
              reg,
              rm: c.rm,
              modrm,
              mem,
              imm: imms.imm,
              imm2: imms.imm2,
            });
          }
        }
      }
    }
  }
  return out;
}

function check(c: Case, insn: DecodedInstruction): void {
  expect(insn.form.id, c.name).toBe(c.form.id);
  expect(insn.length, c.name).toBe(c.bytes.length);
  expect(insn.operandSize, c.name).toBe(c.operandSize);
  expect(insn.reg, c.name).toBe(c.reg);
  expect(insn.rm, c.name).toBe(c.rm);
  expect(insn.modrm, c.name).toBe(c.modrm);
  expect(insn.mem, c.name).toEqual(c.mem);
  expect(insn.imm, c.name).toBe(c.imm);
  expect(insn.imm2, c.name).toBe(c.imm2);
  expect(insn.prefixes.count, c.name).toBe(c.prefixCount);
  expect(insn.prefixes.lock, c.name).toBe(c.lock);
  expect(insn.prefixes.segment, c.name).toBe(c.segment);
  expect(insn.prefixes.operandSize, c.name).toBe(c.bytes.slice(0, c.prefixCount).includes(0x66));
}

describe('decoder: every decodable form of the table', () => {
  const decodable = FORMS.filter((f) => f.decodable);
  const all = decodable.flatMap(casesFor);

  it('builds a case for every decodable form', () => {
    const covered = new Set(all.map((c) => c.form.id));
    for (const f of decodable) expect(covered.has(f.id), `${f.mnemonic} #${f.id}`).toBe(true);
    expect(all.length).toBeGreaterThan(3000);
  });

  it('decodes each hand-encoded form back to that form with the right fields', () => {
    for (const c of all) {
      const r = decodeBytes(Uint8Array.from(c.bytes));
      if (!r.ok)
        throw new Error(`${c.name}: ${r.reason} (${c.bytes.map((b) => b.toString(16)).join(' ')})`);
      check(c, r.insn);
    }
  });

  it('decodes at an offset inside a larger buffer and through a ByteSource', () => {
    const bytes = Uint8Array.from([0x90, 0x90, 0x8b, 0x44, 0xc5, 0x10, 0xcc]);
    const r = decodeBytes(bytes, 2);
    expect(r.ok && r.insn.length).toBe(4);
    const src: ByteSource = {
      byteAt: (o) => (o >= 100 && o < 107 ? (bytes[o - 100] as number) : -1),
    };
    const s = decode(src, 102);
    expect(s.ok && s.insn.mem).toEqual({
      base: 5,
      index: 0,
      scale: 3,
      disp: 0x10,
      segment: 2,
      segmentOverridden: false,
    });
  });

  it('lets an exception thrown by the byte source propagate', () => {
    class PageFault extends Error {}
    const src: ByteSource = {
      byteAt: (o) => {
        if (o >= 2) throw new PageFault('#PF');
        return 0xb8;
      },
    };
    expect(() => decode(src, 0)).toThrow(PageFault);
  });
});

describe('decoder: prefixes', () => {
  const bytes = (hex: string): Uint8Array =>
    Uint8Array.from((hex.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)));
  const ok = (hex: string): DecodedInstruction => {
    const r = decodeBytes(bytes(hex));
    if (!r.ok) throw new Error(`${hex}: ${r.reason}`);
    return r.insn;
  };

  it('accepts repeated prefixes in any order; the last segment override and rep win', () => {
    const i = ok('26 66 f2 64 f3 66 a5');
    expect(i.form.mnemonic).toBe('movsd');
    expect(i.operandSize).toBe(16);
    expect(i.prefixes).toEqual({ lock: false, rep: 0xf3, segment: 4, operandSize: true, count: 6 });
    expect(i.length).toBe(7);
  });

  it('ignores 0x66 for forms whose size does not follow it', () => {
    const i = ok('66 c3');
    expect(i.form.mnemonic).toBe('ret');
    expect(i.operandSize).toBe(32);
    expect(i.prefixes.operandSize).toBe(true);
  });

  it('reads 16-bit immediates and rel16 under 0x66', () => {
    expect(ok('66 b8 34 12').imm).toBe(0x1234);
    expect(ok('66 e9 fe ff').imm).toBe(-2);
    expect(ok('66 0f 85 00 80').imm).toBe(-0x8000);
    const far = ok('66 ea 34 12 08 00');
    expect([far.imm, far.imm2, far.length]).toEqual([0x1234, 8, 6]);
    expect(ok('66 6a ff').imm).toBe(-1);
    expect(ok('66 81 c0 ff ff').imm).toBe(0xffff);
  });

  it('uses ss as the default segment for esp/ebp bases and ds otherwise', () => {
    expect(ok('8b 04 24').mem?.segment).toBe(2);
    expect(ok('8b 45 00').mem?.segment).toBe(2);
    expect(ok('8b 04 2d 00 10 00 00').mem).toMatchObject({ base: -1, index: 5, segment: 3 });
    expect(ok('8b 44 25 00').mem).toMatchObject({ base: 5, index: -1, segment: 2 });
    expect(ok('a1 00 10 00 00').mem).toMatchObject({ base: -1, disp: 0x1000, segment: 3 });
    expect(ok('2e a1 00 10 00 00').mem).toMatchObject({ segment: 1, segmentOverridden: true });
  });

  it('prefers nop over xchg eax, eax and decodes vmcall from its fixed ModRM', () => {
    expect(ok('90').form.mnemonic).toBe('nop');
    expect(ok('97').form.mnemonic).toBe('xchg');
    expect(ok('97').reg).toBe(7);
    expect(ok('0f 01 c1').form.mnemonic).toBe('vmcall');
  });

  it('accepts exactly 15 bytes', () => {
    // 4 prefixes + c7 /0 with SIB, disp32 and imm32 (11 bytes)
    expect(ok('26'.repeat(4) + 'c7 84 88 78 56 34 12 01 00 00 00').length).toBe(15);
    expect(ok('66'.repeat(14) + '90').length).toBe(15);
  });
});

describe('decoder: precise #UD and #GP reasons', () => {
  const cases: [string, 6 | 13, string][] = [
    ['67 8b 00', 6, 'address-size prefix 0x67 is not in the IA-32 subset (no 16-bit addressing)'],
    ['27', 6, 'opcode 0x27 (daa) is not in the IA-32 subset'],
    ['d9 c0', 6, 'opcode 0xd9 (x87 escape) is not in the IA-32 subset'],
    ['0f 05', 6, 'opcode 0F 05 (syscall) is not in the IA-32 subset'],
    ['0f 01 e8', 6, '0F 01 /5 is undefined'],
    ['0f 00 30', 6, '0F 00 /6 is undefined'],
    ['fe 10', 6, 'FE /2 is undefined'],
    ['ff 38', 6, 'FF /7 is undefined'],
    ['8f c8', 6, '8F /1 is undefined'],
    ['0f ba 00 01', 6, '0F BA /0 is undefined'],
    ['8d c0', 6, 'lea requires a memory operand (ModRM mod=3)'],
    ['c4 c0', 6, 'les requires a memory operand (ModRM mod=3)'],
    ['ff d8', 6, 'call far requires a memory operand (ModRM mod=3)'],
    ['ff e8', 6, 'jmp far requires a memory operand (ModRM mod=3)'],
    ['0f 01 d0', 6, 'lgdt requires a memory operand (ModRM mod=3)'],
    ['0f 01 f8', 6, 'invlpg requires a memory operand (ModRM mod=3)'],
    ['0f 22 e8', 6, 'mov to CR5: no such control register'],
    ['0f 22 c8', 6, 'mov to CR1: no such control register'],
    ['0f 20 f8', 6, 'mov from CR7: no such control register'],
    ['8e c8', 6, 'mov to segment register CS is not allowed'],
    ['8e 08', 6, 'mov to segment register CS is not allowed'],
    ['8e f0', 6, 'segment register 6 does not exist (ModRM.reg=6)'],
    ['8c 38', 6, 'segment register 7 does not exist (ModRM.reg=7)'],
    ['f0 8b 00', 6, 'lock prefix on an instruction that does not accept it (mov)'],
    ['f0 39 00', 6, 'lock prefix on an instruction that does not accept it (cmp)'],
    ['f0 0f a3 00', 6, 'lock prefix on an instruction that does not accept it (bt)'],
    ['f0 90', 6, 'lock prefix on an instruction that does not accept it (nop)'],
    ['f0 01 c8', 6, 'lock prefix on add with a register destination (ModRM mod=3)'],
    ['f0 87 c8', 6, 'lock prefix on xchg with a register destination (ModRM mod=3)'],
    ['f0 41', 6, 'lock prefix on an instruction that does not accept it (inc)'],
    ['66'.repeat(15) + '90', 13, 'instruction longer than 15 bytes'],
    ['26'.repeat(10) + 'c7 84 88 78 56 34 12 01 00 00 00', 13, 'instruction longer than 15 bytes'],
    ['8b', 6, 'truncated instruction'],
    ['8b 04', 6, 'truncated instruction'],
    ['b8 01 02 03', 6, 'truncated instruction'],
    ['66', 6, 'truncated instruction'],
    ['0f', 6, 'truncated instruction'],
  ];
  for (const [hex, vector, reason] of cases) {
    it(`${hex} → ${reason}`, () => {
      const bytes = Uint8Array.from(
        (hex.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)),
      );
      const r = decodeBytes(bytes);
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.reason).toBe(reason);
      expect(r.vector).toBe(vector);
      expect(r.length).toBeGreaterThanOrEqual(1);
      expect(r.length).toBeLessThanOrEqual(Math.min(bytes.length, MAX_INSTRUCTION_LENGTH));
    });
  }

  it('reports the whole instruction length when the reason needs it all', () => {
    const r = decodeBytes(Uint8Array.from([0xf0, 0x8b, 0x84, 0x88, 0x78, 0x56, 0x34, 0x12]));
    expect(r.ok || r.length).toBe(8);
  });
});

describe('decoder: LOCK', () => {
  it('is accepted by exactly the read-modify-write forms with an r/m destination', () => {
    const names = new Set(FORMS.filter(acceptsLock).map((f) => f.mnemonic));
    expect([...names].sort()).toEqual(
      [
        'adc',
        'add',
        'and',
        'btc',
        'btr',
        'bts',
        'cmpxchg',
        'dec',
        'inc',
        'neg',
        'not',
        'or',
        'sbb',
        'sub',
        'xadd',
        'xchg',
        'xor',
      ].sort(),
    );
    for (const f of FORMS.filter(acceptsLock)) {
      expect(['rm', 'mem']).toContain(f.operands[0]?.kind);
    }
  });
});

describe('decoder: random byte strings', () => {
  it('never throws; lengths stay within 1..15 (100k seeded sequences)', () => {
    let seed = 0x12345678;
    const rand = (): number => {
      // xorshift32
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const PREFIXES = [0x66, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x0f];
    const buf = new Uint8Array(20);
    let ok = 0;
    const reasons = new Map<string, number>();
    for (let n = 0; n < 100_000; n++) {
      const len = 1 + (rand() % 20);
      for (let i = 0; i < len; i++) {
        // bias towards prefixes and the 0F escape so that long and two-byte cases are common
        const r = rand();
        buf[i] = (r & 0x700) === 0 ? (PREFIXES[(r >>> 12) % PREFIXES.length] as number) : r & 0xff;
      }
      const r = decodeBytes(buf.subarray(0, len));
      if (r.ok) {
        ok++;
        expect(r.insn.length).toBeGreaterThanOrEqual(1);
        expect(r.insn.length).toBeLessThanOrEqual(Math.min(len, MAX_INSTRUCTION_LENGTH));
      } else {
        expect([6, 13]).toContain(r.vector);
        expect(r.reason.length).toBeGreaterThan(0);
        expect(r.length).toBeGreaterThanOrEqual(0);
        expect(r.length).toBeLessThanOrEqual(Math.min(len, MAX_INSTRUCTION_LENGTH));
        const key = r.reason.replace(/0x[0-9a-f]+|[0-9A-F]{2}|\d+/g, 'N');
        reasons.set(key, (reasons.get(key) ?? 0) + 1);
      }
    }
    expect(ok).toBeGreaterThan(50_000);
    expect(reasons.size).toBeGreaterThan(8);
  });
});
