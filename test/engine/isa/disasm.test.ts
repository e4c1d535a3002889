// Disassembler tests against the real nasm/ndisasm: a corpus generated from FORMS is assembled
// by nasm, decoded and formatted by us, and reassembled by nasm to the identical bytes; random
// bytes disassembled with nasm as the `verify` assembler give a listing that reassembles to the
// same bytes; non-canonical encodings become `db` with a comment.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBytes } from '../../../src-main/engine/isa/decoder';
import {
  disassemble,
  formatInstruction,
  formatListing,
  type DisasmLine,
} from '../../../src-main/engine/isa/disasm';
import { FORMS } from '../../../src-main/engine/isa/table';
import {
  GPR16,
  GPR32,
  GPR8,
  type InstructionForm,
  type OperandSpec,
} from '../../../src-main/engine/isa/types';

const ORG = 0x100000;

// ---- nasm plumbing ---------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'vmm-disasm-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let runs = 0;

interface NasmRun {
  /** 1-based source line → error message */
  errors: Map<number, string>;
  bin: Uint8Array;
  listing: string;
}

function nasm(source: string): NasmRun {
  const name = join(work, `t${runs++}`);
  writeFileSync(`${name}.asm`, source);
  const r = spawnSync(
    'nasm',
    ['-f', 'bin', '-o', `${name}.bin`, '-l', `${name}.lst`, `${name}.asm`],
    {
      encoding: 'utf8',
    },
  );
  const errors = new Map<number, string>();
  for (const line of r.stderr.split('\n')) {
    const m = /:(\d+): error: (.*)$/.exec(line);
    if (m) errors.set(Number(m[1]), m[2] as string);
  }
  if (r.status !== 0 && errors.size === 0) throw new Error(`nasm failed: ${r.stderr}`);
  return {
    errors,
    bin: errors.size === 0 ? new Uint8Array(readFileSync(`${name}.bin`)) : new Uint8Array(0),
    listing: readFileSync(`${name}.lst`, 'utf8'),
  };
}

/** Source line number → [start offset, end offset) of its bytes, from a nasm listing. */
function listingSpans(listing: string, binLength: number): Map<number, [number, number]> {
  const starts: [number, number][] = [];
  for (const line of listing.split('\n')) {
    const m = /^\s*(\d+)\s+([0-9A-F]{8})\s+\S/.exec(line);
    if (!m) continue;
    const lineNo = Number(m[1]);
    const last = starts[starts.length - 1];
    if (last && last[0] === lineNo) continue; // continuation of a long line
    starts.push([lineNo, parseInt(m[2] as string, 16)]);
  }
  const spans = new Map<number, [number, number]>();
  starts.forEach(([lineNo, start], i) => {
    spans.set(lineNo, [start, starts[i + 1]?.[1] ?? binLength]);
  });
  return spans;
}

const HEADER = (org: number): string[] => ['bits 32', `org 0x${org.toString(16)}`];

/** Assembles instruction lines, dropping those nasm rejects. */
function assembleTolerant(body: string[], org: number) {
  let lines = body;
  const dropped: { text: string; error: string }[] = [];
  for (;;) {
    const header = HEADER(org);
    const run = nasm([...header, ...lines, ''].join('\n'));
    if (run.errors.size === 0) {
      const spans = listingSpans(run.listing, run.bin.length);
      return {
        bin: run.bin,
        lines,
        dropped,
        span: (i: number) => spans.get(i + header.length + 1),
      };
    }
    const bad = new Set<number>();
    for (const [lineNo, error] of run.errors) {
      const i = lineNo - header.length - 1;
      bad.add(i);
      dropped.push({ text: lines[i] ?? '?', error });
    }
    lines = lines.filter((_, i) => !bad.has(i));
  }
}

/**
 * nasm as the disassembler's `verify`: each (text, address) is assembled at its address, many per
 * nasm run (items at least 24 bytes apart share a file, placed with `times`).
 */
function nasmVerifier(items: readonly { text: string; address: number }[]) {
  const key = (text: string, address: number): string => `${address}|${text}`;
  const results = new Map<string, number[] | undefined>();
  const unique = [...new Map(items.map((it) => [key(it.text, it.address), it])).values()].sort(
    (a, b) => a.address - b.address,
  );
  const rounds: { text: string; address: number }[][] = [];
  for (const it of unique) {
    const round = rounds.find(
      (r) => (r[r.length - 1] as { address: number }).address + 24 <= it.address,
    );
    if (round) round.push(it);
    else rounds.push([it]);
  }
  for (let round of rounds) {
    for (;;) {
      const org = (round[0] as { address: number }).address;
      const lines = HEADER(org);
      const lineOf: number[] = [];
      for (const it of round) {
        lines.push(`times 0x${(it.address - org).toString(16)}-($-$$) db 0x90`);
        lines.push(it.text);
        lineOf.push(lines.length);
      }
      lines.push('times 1 db 0x90');
      const run = nasm(`${lines.join('\n')}\n`);
      if (run.errors.size > 0) {
        const bad = new Set<number>();
        for (const lineNo of run.errors.keys()) {
          // an error on a `times` line means the item before it assembled too long
          const i = lineOf.findIndex((l) => l >= lineNo);
          bad.add(lineOf[i] === lineNo ? i : i - 1);
        }
        for (const i of bad) {
          const it = round[i];
          if (it) results.set(key(it.text, it.address), undefined);
        }
        round = round.filter((_, i) => !bad.has(i));
        if (round.length === 0) break;
        continue;
      }
      const spans = listingSpans(run.listing, run.bin.length);
      round.forEach((it, i) => {
        const span = spans.get(lineOf[i] as number);
        results.set(
          key(it.text, it.address),
          span ? Array.from(run.bin.subarray(span[0], span[1])) : [],
        );
      });
      break;
    }
  }
  return (text: string, address: number): number[] | undefined => {
    const k = key(text, address);
    if (!results.has(k))
      throw new Error(`verify: ${text} @${address.toString(16)} was not prepared`);
    return results.get(k);
  };
}

/** Disassembles with nasm as `verify` (two passes: collect the texts, assemble them in batches). */
function disassembleVerified(bytes: Uint8Array, org: number): DisasmLine[] {
  const candidates = disassemble(bytes, org)
    .filter((l) => l.comment === undefined)
    .map((l) => ({ text: l.text, address: l.address }));
  return disassemble(bytes, org, { verify: nasmVerifier(candidates) });
}

function hexBytes(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from((hex.replace(/\s+/g, '').match(/../g) ?? []).map((h) => parseInt(h, 16)));
}

// ---- a NASM source corpus generated from FORMS ------------------------------------------------

const MEMORY = [
  '[eax]',
  '[ebx+0x10]',
  '[ebp]',
  '[esp]',
  '[esp+0x8]',
  '[ebp-0x80]',
  '[esi+0x12345678]',
  '[edi-0x1000]',
  '[eax+ecx*4]',
  '[ebx+edx*8+0x7f]',
  '[esp+esi*2-0x81]',
  '[ebp+eax]',
  '[ecx*4+0x1000]',
  '[edx*8]',
  '[0x12345678]',
  '[es:ebx]',
  '[fs:eax+ecx]',
  '[gs:0x10]',
  '[ss:ebp+0x4]',
  '[cs:edi+ebp*4-0x4]',
  '[ds:esi]',
  '[0x0]',
  '[eax-0x80000000]',
];

const SHORT_AND_NEAR = new Set(
  FORMS.filter((f) => f.operands.some((o) => o.kind === 'rel' && o.size === 8))
    .map((f) => f.mnemonic)
    .filter((m) =>
      FORMS.some(
        (f) => f.mnemonic === m && f.operands.some((o) => o.kind === 'rel' && o.size === 'v'),
      ),
    ),
);

function regs(size: 8 | 16 | 32): readonly string[] {
  return size === 8 ? GPR8 : size === 16 ? GPR16 : GPR32;
}

function keyword(size: 8 | 16 | 32): string {
  return size === 8 ? 'byte' : size === 16 ? 'word' : 'dword';
}

function operandChoices(
  form: InstructionForm,
  o: OperandSpec,
  at: number,
  opsize: 16 | 32,
  memOnly: boolean,
): string[] {
  const size = o.size === 'v' ? opsize : o.size;
  const n = typeof size === 'number' ? size : 32;
  const pick = (idx: number[]): string[] => idx.map((i) => regs(n as 8 | 16 | 32)[i] as string);
  const mems = (): string[] => {
    if (typeof size === 'number') return MEMORY.map((m) => `${keyword(size)} ${m}`);
    if (size === 'far' && form.operands.length === 1) {
      return MEMORY.map((m) => `far ${opsize === 16 ? 'word ' : ''}${m}`);
    }
    return MEMORY;
  };
  switch (o.kind) {
    case 'reg':
    case 'rmreg':
      return pick([0, 1, 4, 7]);
    case 'opreg':
      return pick([0, 1, 2, 3, 4, 5, 6, 7]);
    case 'rm':
      return memOnly ? mems() : [...pick([1, 6]), ...mems()];
    case 'mem':
      return mems();
    case 'imm':
      if (size === 8) return ['0x0', '0x7f', '0x80', '0xff'];
      if (size === 16) return ['0x0', '0x1234', '0xffff'];
      return opsize === 16
        ? ['0x0', '0x80', '0x1234', '0xffff']
        : ['0x0', '0x80', '0x12345678', '0xffffffff', '0xffffff7f'];
    case 'simm8':
      return ['-0x80', '-0x1', '0x0', '0x7f'];
    case 'rel':
      if (size === 8) {
        const s = SHORT_AND_NEAR.has(form.mnemonic) ? 'short ' : '';
        return [`${s}$`, `${s}$+0x81`, `${s}$-0x7e`, `${s}$+0x10`];
      }
      if (opsize === 16) return ['word 0x1234', 'word 0x0'];
      return ['near $+0x12345', 'near $-0x1000', 'near $+0x5'];
    case 'moffs':
      return ['[0x1000]', '[fs:0x12345678]', '[0xfffffff0]'];
    case 'sreg':
      return at === 0 ? ['es', 'ss', 'ds', 'fs', 'gs'] : ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
    case 'creg':
      return ['cr0', 'cr2', 'cr3', 'cr4'];
    case 'fixed':
      return [o.reg === 'eAX' ? (opsize === 16 ? 'ax' : 'eax') : (o.reg as string)];
    case 'one':
      return ['1'];
    case 'farptr':
      return opsize === 16
        ? ['word 0x8:0x1234', 'word 0x10:0xffff']
        : ['0x8:0x12345678', '0x10:0x0'];
  }
}

function corpusFor(form: InstructionForm): string[] {
  const out: string[] = [];
  const sizes: (16 | 32)[] = form.sizeFollowsPrefix ? [32, 16] : [32];
  for (const opsize of sizes) {
    const sized = form.sizedMnemonics?.[opsize];
    const o16 =
      opsize === 16 &&
      sized === undefined &&
      !form.operands.some((o) => o.size === 'v' || o.size === 'far');
    const mnemonic = `${o16 ? 'o16 ' : ''}${sized ?? form.mnemonic}`;
    const variants: [string, boolean][] = [['', false]];
    if (form.repeat === 'rep') variants.push(['rep ', false], ['fs ', false], ['rep es ', false]);
    if (form.repeat === 'repcc')
      variants.push(['repe ', false], ['repne ', false], ['repne gs ', false]);
    if (
      form.operands[0]?.kind === 'rm' &&
      ['alu', 'not', 'neg', 'inc', 'dec', 'xchg', 'xadd', 'cmpxchg', 'bt'].includes(form.op)
    ) {
      if (form.op !== 'bt' || form.sub !== 0) variants.push(['lock ', true]);
    }
    for (const [prefix, memOnly] of variants) {
      const choices = form.operands.map((o, at) => operandChoices(form, o, at, opsize, memOnly));
      // cmp and bt do not take LOCK
      if (prefix === 'lock ' && form.op === 'alu' && form.sub === 7) continue;
      const n = Math.max(1, ...choices.map((c) => c.length));
      for (let i = 0; i < n; i++) {
        const ops = choices.map((c, k) => c[(i + k * 3) % c.length] as string);
        const text = `${prefix}${mnemonic}${ops.length ? ` ${ops.join(', ')}` : ''}`;
        if (text === 'xchg ax, ax') continue; // 66 90: nasm's o16 nop, a redundant prefix for us
        out.push(text);
      }
    }
  }
  return out;
}

// ---- tests -----------------------------------------------------------------------------------

describe('disassembler: nasm round trip of a corpus generated from FORMS', () => {
  const source = FORMS.filter((f) => f.encodable).flatMap(corpusFor);
  const corpus = assembleTolerant(source, ORG);
  const lines = disassemble(corpus.bin, ORG);

  it('assembles a large corpus (nasm rejects only operand sizes it has no encoding for)', () => {
    expect(corpus.lines.length).toBeGreaterThan(5000);
    // the only rejections: 16-bit jcc (nasm has no rel16 jcc syntax)
    for (const d of corpus.dropped) expect(d.text, d.error).toMatch(/^j\w+ word /);
  });

  it('finds the same instruction boundaries as nasm', () => {
    let offset = 0;
    corpus.lines.forEach((text, i) => {
      const span = corpus.span(i);
      expect(span, text).toBeDefined();
      const r = decodeBytes(corpus.bin, offset);
      if (!r.ok)
        throw new Error(
          `${text}: ${r.reason} at ${hexBytes(corpus.bin.subarray(offset, offset + 15))}`,
        );
      expect([offset, offset + r.insn.length], text).toEqual(span);
      offset += r.insn.length;
    });
  });

  it('writes every instruction nasm emitted as text, never db', () => {
    const db = lines.filter((l) => l.comment !== undefined);
    expect(db.map((l) => `${l.comment} [${hexBytes(l.bytes)}]`)).toEqual([]);
    expect(lines.length).toBe(corpus.lines.length);
  });

  it('decodes to every encodable, decodable form of the table', () => {
    const seen = new Set<number>();
    for (let off = 0; off < corpus.bin.length;) {
      const r = decodeBytes(corpus.bin, off);
      if (!r.ok) break;
      seen.add(r.insn.form.id);
      off += r.insn.length;
    }
    const missing = FORMS.filter((f) => f.encodable && f.decodable && !seen.has(f.id)).map(
      (f) =>
        `${f.mnemonic} ${f.opcode.map((b) => b.toString(16)).join(' ')}${f.ext !== undefined ? ` /${f.ext}` : ''}`,
    );
    expect(missing).toEqual([]);
  });

  it('reassembles the formatted text with nasm to the identical bytes', () => {
    const again = nasm(formatListing(lines));
    expect([...again.errors]).toEqual([]);
    if (!Buffer.from(again.bin).equals(Buffer.from(corpus.bin))) {
      let i = 0;
      while (again.bin[i] === corpus.bin[i]) i++;
      const line = lines.find((l) => l.address - ORG + l.bytes.length > i);
      throw new Error(
        `first difference at +0x${i.toString(16)}: ${line?.text} [${hexBytes(line?.bytes ?? [])}]`,
      );
    }
  });

  it('agrees with ndisasm -b 32 on lengths and mnemonics', () => {
    const file = join(work, 'corpus.bin');
    writeFileSync(file, corpus.bin);
    const r = spawnSync('ndisasm', ['-b', '32', '-o', `0x${ORG.toString(16)}`, file], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    // `ADDRESS  HEXBYTES  text`, long instructions continued on `         -HEXBYTES` lines
    const theirs: { address: number; length: number; text: string }[] = [];
    for (const l of r.stdout.split('\n')) {
      const m = /^([0-9A-F]{8})\s+([0-9A-F]+)\s+(.*)$/.exec(l);
      const c = /^\s+-([0-9A-F]+)\s*$/.exec(l);
      if (m) {
        theirs.push({
          address: parseInt(m[1] as string, 16),
          length: (m[2] as string).length / 2,
          text: m[3] as string,
        });
      } else if (c && theirs.length > 0) {
        (theirs[theirs.length - 1] as { length: number }).length += (c[1] as string).length / 2;
      }
    }
    expect(theirs.length).toBe(lines.length);
    // ndisasm's spelling of the mnemonics that differ from NASM's input syntax (and ours)
    const spelling: Record<string, string> = {
      pusha: 'pushad',
      popa: 'popad',
      pushf: 'pushfd',
      popf: 'popfd',
      iret: 'iretd',
      retfw: 'retf',
    };
    const PREFIX_WORDS = [
      'lock',
      'rep',
      'repe',
      'repne',
      'o16',
      'es',
      'cs',
      'ss',
      'ds',
      'fs',
      'gs',
    ];
    const mnemonic = (s: string): string => {
      const word = s.split(' ').find((w) => !PREFIX_WORDS.includes(w)) ?? '';
      return spelling[word] ?? word;
    };
    const mismatches: string[] = [];
    theirs.forEach((t, i) => {
      const ours = lines[i] as DisasmLine;
      expect([t.address, t.length], `${ours.text} / ndisasm: ${t.text}`).toEqual([
        ours.address,
        ours.bytes.length,
      ]);
      if (mnemonic(t.text) !== mnemonic(ours.text)) mismatches.push(`${t.text} / ${ours.text}`);
    });
    expect(mismatches).toEqual([]);
  });
});

describe('disassembler: db for bytes whose text would assemble differently', () => {
  // [bytes, how it is detected: 'static' (without verify) or 'verify', expected comment start]
  const cases: [string, 'static' | 'verify', string][] = [
    ['03 c1', 'verify', 'add eax, ecx (the assembler encodes this text differently)'],
    ['05 01 00 00 00', 'verify', 'add eax, 0x1 (the assembler encodes this text differently)'],
    ['81 c0 ff ff ff ff', 'verify', 'add eax, 0xffffffff (the assembler encodes'],
    ['8b 05 00 10 00 00', 'verify', 'mov eax, [0x1000] (the assembler encodes'],
    ['c1 e0 01', 'verify', 'shl eax, 0x1 (the assembler encodes'],
    ['ff c0', 'verify', 'inc eax (the assembler encodes'],
    ['68 10 00 00 00', 'verify', 'push 0x10 (the assembler encodes'],
    ['e9 00 00 00 00', 'static', ''], // jmp near $+5 is fine as text
    ['66 0f 84 00 00', 'verify', 'jz word 0x5 (the assembler does not accept this text)'],
    [
      '8b 80 10 00 00 00',
      'static',
      'mov eax, [eax+0x10] (an addressing encoding the assembler does not choose)',
    ],
    ['8b 40 00', 'static', 'mov eax, [eax] (an addressing encoding'],
    ['8b 04 20', 'static', 'mov eax, [eax] (an addressing encoding'],
    ['8b 04 64', 'static', 'mov eax, [esp] (an addressing encoding'],
    ['8b 04 25 00 10 00 00', 'static', 'mov eax, [0x1000] (an addressing encoding'],
    ['8b 04 05 00 10 00 00', 'static', 'mov eax, [eax+0x1000] (an addressing encoding'],
    ['66 90', 'static', 'o16 nop (redundant prefix)'],
    ['2e 90', 'static', 'cs nop (redundant prefix)'],
    ['f3 90', 'static', 'rep nop (redundant prefix)'],
    ['f3 f3 a4', 'static', 'rep movsb (redundant prefix)'],
    ['3e 3e 8b 00', 'static', 'mov eax, [ds:eax] (redundant prefix)'],
    ['66 f3 a5', 'static', 'rep movsw (prefixes not in the order the assembler writes them)'],
    ['66 f0 01 08', 'static', 'lock add [eax], cx (prefixes not in the order'],
    ['66 c3', 'static', 'o16 ret (redundant prefix)'],
    ['82 c0 01', 'static', 'add al, 0x1 (an encoding the assembler never emits)'],
    ['d1 f0', 'static', 'shl eax, 1 (an encoding the assembler never emits)'],
    ['f7 c8 01 00 00 00', 'static', 'test eax, 0x1 (an encoding the assembler never emits)'],
    ['0f 20 00', 'static', 'mov eax, cr0 (a register operand encoded with ModRM mod != 3)'],
    ['0f 94 e8', 'static', 'setz al (a ModRM.reg value the assembler does not write)'],
    ['27', 'static', '#UD: opcode 0x27 (daa) is not in the IA-32 subset'],
    ['8d c0', 'static', '#UD: lea requires a memory operand (ModRM mod=3)'],
    ['66'.repeat(15) + '90', 'static', '#GP: instruction longer than 15 bytes'],
  ];
  for (const [hex, how, comment] of cases) {
    it(`${hex} → ${comment || 'text'}`, () => {
      const bytes = fromHex(hex);
      const plain = disassemble(bytes, 0);
      const verified = disassembleVerified(bytes, 0);
      if (comment === '') {
        expect(verified.map((l) => l.comment)).toEqual([undefined]);
        return;
      }
      const line = verified[0] as DisasmLine;
      expect(line.text).toBe(
        `db ${Array.from(bytes.subarray(0, line.bytes.length), (b) => `0x${b.toString(16)}`).join(', ')}`,
      );
      expect(line.comment?.startsWith(comment), line.comment).toBe(true);
      expect(plain[0]?.comment !== undefined).toBe(how === 'static');
      // and the listing reassembles to the same bytes
      expect(Array.from(nasm(formatListing(verified, 0)).bin)).toEqual(Array.from(bytes));
    });
  }
});

describe('disassembler: text', () => {
  const text = (hex: string, address = 0x100000): string => {
    const r = decodeBytes(fromHex(hex));
    if (!r.ok) throw new Error(r.reason);
    return formatInstruction(r.insn, address);
  };
  it.each([
    ['8b 44 8b f0', 'mov eax, [ebx+ecx*4-0x10]'],
    ['eb 0e', 'jmp short 0x100010'],
    ['e9 0b 00 00 00', 'jmp near 0x100010'],
    ['e8 0b 00 00 00', 'call 0x100010'],
    ['e2 fe', 'loop 0x100000'],
    ['f3 a5', 'rep movsd'],
    ['f3 a6', 'repe cmpsb'],
    ['f2 ae', 'repne scasb'],
    ['64 ac', 'fs lodsb'],
    ['c6 05 00 10 00 00 05', 'mov byte [0x1000], 0x5'],
    ['26 8b 03', 'mov eax, [es:ebx]'],
    ['ea 34 12 00 00 08 00', 'jmp 0x8:0x1234'],
    ['66 ea 34 12 08 00', 'jmp word 0x8:0x1234'],
    ['ff 28', 'jmp far [eax]'],
    ['66 ff 18', 'call far word [eax]'],
    ['66 9c', 'pushfw'],
    ['66 99', 'cwd'],
    ['99', 'cdq'],
    ['66 cf', 'iretw'],
    ['66 a5', 'movsw'],
    ['66 06', 'o16 push es'],
    ['66 cb', 'o16 retf'],
    ['66 6a ff', 'push word -0x1'],
    ['6a ff', 'push -0x1'],
    ['83 c0 80', 'add eax, -0x80'],
    ['66 b8 34 12', 'mov ax, 0x1234'],
    ['f0 0f b1 0a', 'lock cmpxchg [edx], ecx'],
    ['0f b6 00', 'movzx eax, byte [eax]'],
    ['0f bf c3', 'movsx eax, bx'],
    ['d3 20', 'shl dword [eax], cl'],
    ['d0 00', 'rol byte [eax], 1'],
    ['8c 18', 'mov [eax], ds'],
    ['8e d0', 'mov ss, ax'],
    ['0f 22 d8', 'mov cr3, eax'],
    ['0f 01 15 00 20 00 00', 'lgdt [0x2000]'],
    ['0f 01 c1', 'vmcall'],
    ['c8 10 00 01', 'enter 0x10, 0x1'],
    ['a1 00 10 00 00', 'mov eax, [0x1000]'],
    ['64 a2 00 10 00 00', 'mov [fs:0x1000], al'],
    ['6b c1 05', 'imul eax, ecx, 0x5'],
    ['0f a4 c8 04', 'shld eax, ecx, 0x4'],
    ['e6 80', 'out 0x80, al'],
    ['66 ed', 'in ax, dx'],
    ['cd 80', 'int 0x80'],
    ['0f 00 c0', 'sldt eax'],
    ['0f 02 00', 'lar eax, word [eax]'],
    ['8b 04 24', 'mov eax, [esp]'],
    ['8b 45 00', 'mov eax, [ebp]'],
    ['8b 04 8d 00 00 00 00', 'mov eax, [ecx*4]'],
    ['8b 05 f0 ff ff ff', 'mov eax, [0xfffffff0]'],
  ])('%s → %s', (hex, expected) => {
    expect(text(hex)).toBe(expected);
  });

  it('writes a complete NASM listing', () => {
    const listing = formatListing(disassemble(fromHex('b8 01 00 00 00 27 c3'), 0x100000));
    expect(listing).toBe(
      [
        'bits 32',
        'org 0x100000',
        '',
        '    mov eax, 0x1                            ; 00100000  B8 01 00 00 00',
        '    db 0x27                                 ; 00100005  27  #UD: opcode 0x27 (daa) is not in the IA-32 subset',
        '    ret                                     ; 00100006  C3',
        '',
      ].join('\n'),
    );
  });
});

describe('disassembler: random bytes reassemble through the listing', () => {
  it('gives back the identical bytes (seeded, 24 KiB)', () => {
    let seed = 0x9e3779b9;
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    // Mostly bytes that start real forms, so that most lines are instructions, not db.
    const starts = FORMS.filter((f) => f.decodable).map((f) => f.opcode);
    const bytes: number[] = [];
    while (bytes.length < 24 * 1024) {
      const r = rand();
      if (r % 8 === 0) bytes.push([0x66, 0xf3, 0xf0, 0x26, 0x64, 0x2e][(r >>> 8) % 6] as number);
      if (r % 3 !== 0) bytes.push(...(starts[(r >>> 4) % starts.length] as number[]));
      const n = 1 + (rand() % 7);
      for (let i = 0; i < n; i++) bytes.push(rand() & 0xff);
    }
    const input = Uint8Array.from(bytes);
    const lines = disassembleVerified(input, ORG);
    const text = lines.filter((l) => l.comment === undefined).length;
    expect(text / lines.length).toBeGreaterThan(0.5);
    const again = nasm(formatListing(lines));
    expect([...again.errors]).toEqual([]);
    expect(Buffer.from(again.bin).equals(Buffer.from(input))).toBe(true);
  });
});
