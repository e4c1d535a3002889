// The disassembler: decoded instructions → NASM-syntax text, and byte ranges → listings that
// reassemble (nasm -f bin, bits 32, same org) to the very same bytes. It owns the text form of
// operands (register names, memory operands with size keywords and segment overrides, branch
// targets as absolute addresses) and the decision to fall back to `db` when the text would not
// give back the same bytes: a form the assembler never emits, a redundant or oddly ordered
// prefix, a non-canonical ModRM/SIB/displacement, an undecodable sequence — or, when a `verify`
// assembler is given, any text it encodes differently. Instruction facts come from the decoded
// form (table.ts); nothing here lists instructions.

import { decodeBytes, type DecodedInstruction } from './decoder';
import { FORMS, PREFIX, SEGMENT_PREFIXES } from './table';
import { gprName } from './registers';
import { GPR32, SREGS, type InstructionForm, type OperandSpec } from './types';

export interface DisasmLine {
  readonly address: number;
  readonly bytes: number[];
  /** NASM text: the instruction, or `db 0x.., 0x..` when the text would not reassemble to `bytes` */
  readonly text: string;
  /** for `db` lines: the decoded instruction and why it is not written as text, or the #UD/#GP reason */
  readonly comment?: string;
}

export interface DisasmOptions {
  /**
   * Assembles one instruction at `address` (the project's assembler in the CLI): its bytes, or
   * undefined if the text does not assemble. When given, every instruction whose text does not
   * give back its exact bytes is written as `db`.
   */
  readonly verify?: (text: string, address: number) => number[] | undefined;
}

const SEGMENT_PREFIX_BYTES = SEGMENT_PREFIXES;

/**
 * Mnemonics with both a rel8 and a rel16/32 form (jmp, jcc): their text says `short` or `near`,
 * because NASM (like our assembler) never shortens a branch to an absolute numeric target.
 */
const SHORT_AND_NEAR = new Set<string>();
{
  const rel8 = new Set<string>();
  const relv = new Set<string>();
  for (const f of FORMS) {
    const rel = f.operands.find((o) => o.kind === 'rel');
    if (rel === undefined) continue;
    (rel.size === 8 ? rel8 : relv).add(f.mnemonic);
  }
  for (const m of rel8) if (relv.has(m)) SHORT_AND_NEAR.add(m);
}

/**
 * For each form, the form whose operand order the text uses: the first encodable form (in table
 * order, which is the encoder's preference) with the same encoding and the same operands in
 * another order. So 86 E1 (xchg r/m8, r8 with rm = cl, reg = ah) is written `xchg ah, cl`, the
 * text the assembler turns back into 86 E1.
 */
const LAYOUT: readonly InstructionForm[] = FORMS.map((f) => {
  const key = (g: InstructionForm): string =>
    g.operands
      .map((o) => `${o.kind}:${o.size}:${o.reg ?? ''}`)
      .sort()
      .join(',');
  const same = (g: InstructionForm): boolean =>
    g.opcode.length === f.opcode.length &&
    g.opcode.every((b, i) => b === f.opcode[i]) &&
    g.ext === f.ext &&
    g.modrmByte === f.modrmByte &&
    key(g) === key(f);
  return FORMS.find((g) => g.encodable && same(g)) ?? f;
});

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function signedHex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : hex(n);
}

function sizeKeyword(size: 8 | 16 | 32): string {
  return size === 8 ? 'byte' : size === 16 ? 'word' : 'dword';
}

/** The operand's width at this operand size, or its memory kind (far, desc, none). */
function widthOf(spec: OperandSpec, operandSize: 16 | 32): 8 | 16 | 32 | 'far' | 'desc' | 'none' {
  return spec.size === 'v' ? operandSize : spec.size;
}

/** `[seg:base+index*scale±disp]` */
function memoryText(insn: DecodedInstruction): string {
  const m = insn.mem;
  if (m === null) return '[]';
  let s = m.segmentOverridden ? `${SREGS[m.segment] ?? '?'}:` : '';
  const parts: string[] = [];
  if (m.base >= 0) parts.push(GPR32[m.base] as string);
  if (m.index >= 0) {
    parts.push(m.scale === 0 ? (GPR32[m.index] as string) : `${GPR32[m.index]}*${1 << m.scale}`);
  }
  if (parts.length === 0) {
    s += hex(m.disp >>> 0);
  } else {
    s += parts.join('+');
    if (m.disp > 0) s += `+${hex(m.disp)}`;
    else if (m.disp < 0) s += `-${hex(-m.disp)}`;
  }
  return `[${s}]`;
}

/** Register operands that fix the size of a memory operand in NASM's eyes (not a shift count or port). */
function registerWidths(operands: readonly OperandSpec[], insn: DecodedInstruction): Set<number> {
  const widths = new Set<number>();
  for (const o of operands) {
    const w = widthOf(o, insn.operandSize);
    if (typeof w !== 'number') continue;
    switch (o.kind) {
      case 'reg':
      case 'rmreg':
      case 'opreg':
      case 'sreg':
      case 'creg':
        widths.add(w);
        break;
      case 'rm':
        if (insn.mem === null) widths.add(w);
        break;
      case 'fixed':
        if (o.reg !== 'cl' && o.reg !== 'dx') widths.add(w);
        break;
      default:
        break;
    }
  }
  return widths;
}

/**
 * NASM text of a decoded instruction at `address` (branch targets are absolute): e.g.
 * `mov eax, [ebx+ecx*4-0x10]`, `jmp short 0x100010`, `rep movsd`, `mov byte [0x1000], 0x5`.
 */
export function formatInstruction(insn: DecodedInstruction, address: number): string {
  const form = insn.form;
  // (with a memory operand both orders give the same bytes: keep the decoded form's order)
  const operands = (insn.mem === null ? (LAYOUT[form.id] ?? form) : form).operands;
  const opsz = insn.operandSize;
  const sized = form.sizedMnemonics?.[opsz];
  // Whether the text already shows a 16-bit operand size (else an `o16`/`word` must say it).
  let sizeShown = sized !== undefined;
  const regWidths = registerWidths(operands, insn);
  const texts: string[] = [];
  /** index in `texts` of an operand that may carry the `word` of a 16-bit operand size */
  let sizable = -1;
  /** immediates seen so far: the first is insn.imm, the second insn.imm2 */
  let immIndex = 0;

  for (const o of operands) {
    const w = widthOf(o, opsz);
    const v16 = o.size === 'v' && opsz === 16;
    switch (o.kind) {
      case 'reg':
      case 'opreg':
        texts.push(gprName(insn.reg, w as 8 | 16 | 32));
        if (v16) sizeShown = true;
        break;
      case 'rmreg':
        texts.push(gprName(insn.rm, w as 8 | 16 | 32));
        if (v16) sizeShown = true;
        break;
      case 'rm':
      case 'mem':
      case 'moffs': {
        if (o.kind === 'moffs') immIndex++;
        if (insn.mem === null) {
          texts.push(gprName(insn.rm, w as 8 | 16 | 32));
          if (v16) sizeShown = true;
          break;
        }
        let prefix = '';
        if (typeof w === 'number') {
          if (!regWidths.has(w)) {
            prefix = `${sizeKeyword(w)} `;
            if (v16) sizeShown = true;
          }
        } else if (w === 'far' && regWidths.size === 0) {
          prefix = opsz === 16 ? 'far word ' : 'far ';
          if (opsz === 16) sizeShown = true;
        }
        texts.push(prefix + memoryText(insn));
        break;
      }
      case 'imm':
        // enter's second immediate is imm2
        texts.push(hex(immIndex++ === 0 ? insn.imm : insn.imm2));
        if (o.size === 'v') sizable = texts.length - 1;
        break;
      case 'simm8':
        immIndex++;
        texts.push(signedHex(insn.imm));
        sizable = texts.length - 1;
        break;
      case 'rel': {
        immIndex++;
        const next = address + insn.length + insn.imm;
        const target = o.size !== 8 && opsz === 16 ? next & 0xffff : next >>> 0;
        let text = hex(target);
        if (SHORT_AND_NEAR.has(form.mnemonic) && !(o.size !== 8 && opsz === 16)) {
          text = `${o.size === 8 ? 'short' : 'near'} ${text}`;
        }
        texts.push(text);
        if (o.size === 'v') sizable = texts.length - 1;
        break;
      }
      case 'farptr':
        immIndex++;
        texts.push(`${hex(insn.imm2)}:${hex(insn.imm)}`);
        sizable = texts.length - 1;
        break;
      case 'sreg':
        texts.push(SREGS[insn.reg] ?? `sreg${insn.reg}`);
        break;
      case 'creg':
        texts.push(`cr${insn.reg}`);
        break;
      case 'fixed':
        texts.push(o.reg === 'eAX' ? gprName(0, opsz) : (o.reg as string));
        if (v16) sizeShown = true;
        break;
      case 'one':
        texts.push('1');
        break;
    }
  }

  const words: string[] = [];
  const p = insn.prefixes;
  if (p.lock) words.push('lock');
  if (p.rep !== 0) {
    words.push(p.rep === 0xf2 ? 'repne' : form.repeat === 'repcc' ? 'repe' : 'rep');
  }
  if (p.segment >= 0 && insn.mem === null) words.push(SREGS[p.segment] ?? '?');
  if (p.operandSize && !(form.sizeFollowsPrefix && opsz === 16)) {
    words.push('o16'); // a prefix the form ignores: shown as it is (the listing writes it as db)
  } else if (opsz === 16 && !sizeShown) {
    if (sizable >= 0) texts[sizable] = `word ${texts[sizable]}`;
    else words.push('o16');
  }
  words.push(sized ?? form.mnemonic);
  const head = words.join(' ');
  return texts.length === 0 ? head : `${head} ${texts.join(', ')}`;
}

/**
 * Why NASM would not give back `raw` for this instruction's text, judged from the encoding
 * alone, or undefined. (Instruction-level choices, such as 01 C8 over 03 C1 for
 * `add eax, ecx`, need the assembler: see `verify`.)
 */
function staticProblem(insn: DecodedInstruction, raw: Uint8Array): string | undefined {
  const form = insn.form;
  if (!form.encodable) return 'an encoding the assembler never emits';
  // Prefixes: each meaningful one once, in NASM's order (lock/rep, segment, 0x66).
  const p = insn.prefixes;
  const expected: number[] = [];
  if (p.lock) expected.push(PREFIX.lock);
  if (p.rep !== 0 && form.repeat !== undefined) expected.push(p.rep);
  if (p.segment >= 0 && (insn.mem !== null || form.repeat !== undefined)) {
    expected.push(SEGMENT_PREFIX_BYTES[p.segment] as number);
  }
  if (p.operandSize && form.sizeFollowsPrefix) expected.push(PREFIX.operandSize);
  if (expected.length !== p.count) return 'redundant prefix';
  for (let i = 0; i < p.count; i++) {
    if (raw[i] !== expected[i]) return 'prefixes not in the order the assembler writes them';
  }
  if (insn.modrm < 0) return undefined;
  // ModRM.reg unused (setcc: no /digit, no register in it): the assembler writes 0 there.
  if (
    form.ext === undefined &&
    form.modrmByte === undefined &&
    insn.reg !== 0 &&
    !form.operands.some((o) => o.kind === 'reg' || o.kind === 'sreg' || o.kind === 'creg')
  ) {
    return 'a ModRM.reg value the assembler does not write';
  }
  const mod = insn.modrm >> 6;
  if (mod === 3) return undefined;
  if (insn.mem === null) return 'a register operand encoded with ModRM mod != 3';
  return canonicalAddressing(insn, raw);
}

/** NASM's choice of ModRM/SIB/displacement for the memory operand's text, checked against `raw`. */
function canonicalAddressing(insn: DecodedInstruction, raw: Uint8Array): string | undefined {
  const m = insn.mem;
  if (m === null) return undefined;
  const mod = insn.modrm >> 6;
  const noncanonical = 'an addressing encoding the assembler does not choose';
  const fits8 = m.disp >= -128 && m.disp <= 127;
  if (insn.rm === 4) {
    const sib = raw[insn.prefixes.count + insn.form.opcode.length + 1] as number;
    if (m.index < 0) {
      // A SIB without index is only needed for base esp, and then with ss = 00.
      if (m.base !== 4 || sib >> 6 !== 0) return noncanonical;
    } else if (m.base < 0) {
      // [index*s+disp32]: NASM turns *1 into a base and *2 into base+index.
      if (m.scale < 2) return noncanonical;
      return undefined;
    }
  }
  if (m.base < 0) return undefined; // disp32 alone
  if (mod === 0) return undefined;
  if (mod === 1) return m.disp === 0 && m.base !== 5 ? noncanonical : undefined;
  return fits8 ? noncanonical : undefined;
}

function dbText(bytes: readonly number[]): string {
  return `db ${bytes.map((b) => hex(b)).join(', ')}`;
}

function sameBytes(a: readonly number[], b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Disassembles `bytes` loaded at `org`, one line per instruction. Every line's text reassembles
 * to its bytes: anything else (and every undecodable sequence) becomes `db` with a comment.
 */
export function disassemble(
  bytes: Uint8Array,
  org: number,
  options: DisasmOptions = {},
): DisasmLine[] {
  const lines: DisasmLine[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const address = (org + offset) >>> 0;
    const r = decodeBytes(bytes, offset);
    if (!r.ok) {
      const length = Math.min(Math.max(r.length, 1), bytes.length - offset);
      const raw = Array.from(bytes.subarray(offset, offset + length));
      lines.push({
        address,
        bytes: raw,
        text: dbText(raw),
        comment: `${r.vector === 6 ? '#UD' : '#GP'}: ${r.reason}`,
      });
      offset += length;
      continue;
    }
    const insn = r.insn;
    const raw = bytes.subarray(offset, offset + insn.length);
    const rawList = Array.from(raw);
    const text = formatInstruction(insn, address);
    let problem = staticProblem(insn, raw);
    if (problem === undefined && options.verify !== undefined) {
      const assembled = options.verify(text, address);
      if (assembled === undefined) problem = 'the assembler does not accept this text';
      else if (!sameBytes(assembled, raw)) problem = 'the assembler encodes this text differently';
    }
    lines.push(
      problem === undefined
        ? { address, bytes: rawList, text }
        : { address, bytes: rawList, text: dbText(rawList), comment: `${text} (${problem})` },
    );
    offset += insn.length;
  }
  return lines;
}

const TEXT_COLUMN = 44;

/**
 * A complete NASM source for the lines: `bits 32`, `org`, then one instruction per line with its
 * address and bytes (and a db line's comment) after `;`. `org` defaults to the first address.
 */
export function formatListing(lines: readonly DisasmLine[], org?: number): string {
  const origin = org ?? lines[0]?.address ?? 0;
  const out = ['bits 32', `org ${hex(origin >>> 0)}`, ''];
  for (const line of lines) {
    const code = `    ${line.text}`;
    const pad = code.length < TEXT_COLUMN ? ' '.repeat(TEXT_COLUMN - code.length) : ' ';
    const address = (line.address >>> 0).toString(16).toUpperCase().padStart(8, '0');
    const hexBytes = line.bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
    const comment = line.comment !== undefined ? `  ${line.comment}` : '';
    out.push(`${code}${pad}; ${address}  ${hexBytes}${comment}`);
  }
  return `${out.join('\n')}\n`;
}
