// Statement parsing: one preprocessed source line → an optional label and one statement
// (an instruction with its prefixes and operands, a data or reserve directive, times, equ,
// org, bits, align). Operands keep their expressions unevaluated: the assembler evaluates them
// again on every pass, as label addresses settle.

import { AsmError, type SourceLocation } from './diagnostics';
import { type Expr, parseExpression } from './expr';
import { type Token, tokenizeLine } from './lexer';
import { type DataSize } from '../isa/encoder';
import { registerNamed, type RegisterInfo } from '../isa/registers';
import { allMnemonics } from '../isa/table';

export interface RegisterOperandAst {
  readonly type: 'reg';
  readonly reg: RegisterInfo;
  readonly column: number;
}

/** One `±term` of an effective address: a register times a scale, or a displacement expression. */
export interface AddressTerm {
  readonly negative: boolean;
  readonly expr: Expr;
}

export interface MemoryOperandAst {
  readonly type: 'mem';
  readonly size?: DataSize | 'far';
  /** `far word [m]` */
  readonly farSize?: 16 | 32;
  readonly segment?: number;
  readonly dispSize?: 8 | 32;
  /** the bracketed expression, registers included; split into base/index/disp when evaluated */
  readonly address: Expr;
  readonly column: number;
}

export interface ImmediateOperandAst {
  readonly type: 'imm';
  readonly expr: Expr;
  readonly size?: DataSize;
  readonly strict?: boolean;
  readonly distance?: 'short' | 'near';
  readonly column: number;
}

export interface FarPointerAst {
  readonly type: 'farptr';
  readonly size?: 16 | 32;
  readonly selector: Expr;
  readonly offset: Expr;
  readonly column: number;
}

export type OperandAst =
  RegisterOperandAst | MemoryOperandAst | ImmediateOperandAst | FarPointerAst;

export type DataItem =
  { kind: 'expr'; expr: Expr; column: number } | { kind: 'bytes'; bytes: number[] };

export type Statement =
  | { kind: 'empty' }
  | {
      kind: 'insn';
      mnemonic: string;
      column: number;
      lock: boolean;
      rep?: 0xf2 | 0xf3;
      operandSize?: 16 | 32;
      /** a segment register written as a prefix word (`fs movsb`) */
      segment?: number;
      operands: OperandAst[];
    }
  | { kind: 'data'; width: 1 | 2 | 4 | 8; items: DataItem[] }
  | { kind: 'reserve'; width: 1 | 2 | 4 | 8; count: Expr; column: number }
  | { kind: 'times'; count: Expr; column: number; body: Statement }
  | { kind: 'equ'; value: Expr; column: number }
  | { kind: 'org'; value: Expr; column: number }
  | { kind: 'bits'; bits: number }
  | { kind: 'align'; boundary: Expr; fill: Statement | undefined; reserve: boolean; column: number }
  | { kind: 'section'; name: string; column: number };

export interface ParsedLine {
  /** `escaped`: written `$name`, so never a register or keyword */
  readonly label?: { name: string; column: number; escaped: boolean };
  readonly statement: Statement;
}

const SIZE_KEYWORDS: Record<string, DataSize> = {
  byte: 8,
  word: 16,
  dword: 32,
  qword: 64,
  tword: 80,
};
const DATA: Record<string, 1 | 2 | 4 | 8> = { db: 1, dw: 2, dd: 4, dq: 8 };
const RESERVE: Record<string, 1 | 2 | 4 | 8> = { resb: 1, resw: 2, resd: 4, resq: 8 };
const PREFIXES = new Set(['lock', 'rep', 'repe', 'repz', 'repne', 'repnz', 'o16', 'o32']);
const DIRECTIVES = new Set([
  ...Object.keys(DATA),
  ...Object.keys(RESERVE),
  'times',
  'equ',
  'org',
  'bits',
  'use32',
  'use16',
  'align',
  'alignb',
  'section',
  'segment',
  'cpu',
  'default',
  'global',
  'extern',
]);
const MNEMONICS = new Set(allMnemonics());

/** Is `word` something that starts a statement (so a leading identifier before it is a label)? */
export function isStatementKeyword(word: string): boolean {
  const w = word.toLowerCase();
  return (
    MNEMONICS.has(w) || DIRECTIVES.has(w) || PREFIXES.has(w) || registerNamed(w)?.class === 'sreg'
  );
}

class Cursor {
  pos = 0;
  constructor(
    readonly tokens: Token[],
    readonly loc: SourceLocation,
  ) {}
  peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)]!;
  }
  next(): Token {
    const t = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }
  atEnd(): boolean {
    return this.peek().kind === 'eol';
  }
  is(text: string): boolean {
    const t = this.peek();
    return t.kind !== 'string' && t.kind !== 'eol' && t.text.toLowerCase() === text;
  }
  error(message: string, token = this.peek()): AsmError {
    return new AsmError(message, { ...this.loc, column: token.column });
  }
  expect(text: string, what: string): void {
    if (!this.is(text)) {
      const t = this.peek();
      throw this.error(
        `expected ${what}, found ${t.kind === 'eol' ? 'end of line' : `'${t.text}'`}`,
      );
    }
    this.next();
  }
  expression(): Expr {
    const { expr, next } = parseExpression(this.tokens, this.pos, this.loc);
    this.pos = next;
    return expr;
  }
}

export function parseLine(text: string, file: string, line: number): ParsedLine {
  const loc = { file, line, column: 0 };
  const c = new Cursor(tokenizeLine(text, { file, line }), loc);
  if (c.atEnd()) return { statement: { kind: 'empty' } };

  // `[bits 32]`, `[org 0x100000]`: NASM's primitive directive form.
  if (c.is('[')) {
    const inner = c.peek(1);
    if (inner.kind === 'ident' && DIRECTIVES.has(inner.text.toLowerCase())) {
      c.next();
      const statement = parseStatement(c, true);
      c.expect(']', "']' closing the directive");
      return { statement: finish(c, statement) };
    }
  }

  let label: ParsedLine['label'];
  const first = c.peek();
  if (first.kind === 'ident' && (first.escaped || !isStatementKeyword(first.text))) {
    c.next();
    const colon = c.is(':');
    if (colon) c.next();
    label = { name: first.text, column: first.column, escaped: first.escaped === true };
    if (c.atEnd()) return { label, statement: { kind: 'empty' } };
    // Without a colon, a label must be followed by an instruction or directive; otherwise
    // the first word was meant as an instruction.
    if (!colon && !(c.peek().kind === 'ident' && isStatementKeyword(c.peek().text))) {
      throw c.error(`unknown instruction '${first.text}'`, first);
    }
  }
  const statement = parseStatement(c, false);
  if (statement.kind === 'equ' && !label) {
    throw c.error('equ needs a label before it', c.tokens[0]);
  }
  return { ...(label ? { label } : {}), statement: finish(c, statement) };
}

function finish(c: Cursor, statement: Statement): Statement {
  if (!c.atEnd() && !c.is(']')) {
    throw c.error(`unexpected '${c.peek().text}' after the statement`);
  }
  return statement;
}

function parseStatement(c: Cursor, bracketed: boolean): Statement {
  const t = c.peek();
  if (t.kind !== 'ident') throw c.error(`expected an instruction or directive, found '${t.text}'`);
  const word = t.text.toLowerCase();
  if (DATA[word]) {
    c.next();
    return { kind: 'data', width: DATA[word], items: parseDataItems(c) };
  }
  if (RESERVE[word]) {
    c.next();
    return { kind: 'reserve', width: RESERVE[word], count: c.expression(), column: t.column };
  }
  switch (word) {
    case 'times': {
      c.next();
      const count = c.expression();
      if (c.atEnd()) throw c.error('times needs a statement to repeat');
      return { kind: 'times', count, column: t.column, body: parseStatement(c, false) };
    }
    case 'equ':
      c.next();
      return { kind: 'equ', value: c.expression(), column: t.column };
    case 'org':
      c.next();
      return { kind: 'org', value: c.expression(), column: t.column };
    case 'use32':
      c.next();
      return { kind: 'bits', bits: 32 };
    case 'use16':
      throw c.error('only 32-bit code is supported (bits 32)');
    case 'bits': {
      c.next();
      const n = c.next();
      if (n.kind !== 'number' || (n.value !== 16n && n.value !== 32n && n.value !== 64n)) {
        throw c.error('bits expects 16, 32 or 64', n);
      }
      if (n.value !== 32n) throw c.error(`only bits 32 is supported, not bits ${n.text}`, n);
      return { kind: 'bits', bits: 32 };
    }
    case 'align':
    case 'alignb': {
      c.next();
      const boundary = c.expression();
      let fill: Statement | undefined;
      if (c.is(',')) {
        c.next();
        fill = parseStatement(c, false);
      }
      return { kind: 'align', boundary, fill, reserve: word === 'alignb', column: t.column };
    }
    case 'section':
    case 'segment': {
      c.next();
      const name = c.next();
      if (name.kind !== 'ident') throw c.error('section needs a name', name);
      while (!c.atEnd() && !(bracketed && c.is(']'))) c.next(); // attributes: align=, progbits…
      return { kind: 'section', name: name.text, column: t.column };
    }
    case 'cpu':
    case 'default':
    case 'global':
    case 'extern':
      c.next();
      while (!c.atEnd() && !(bracketed && c.is(']'))) c.next();
      return { kind: 'empty' };
  }
  return parseInstruction(c);
}

function parseDataItems(c: Cursor): DataItem[] {
  const items: DataItem[] = [];
  if (c.atEnd()) throw c.error('expected data after the directive');
  for (;;) {
    const t = c.peek();
    const after = c.peek(1);
    if (t.kind === 'string' && (after.kind === 'eol' || after.text === ',')) {
      c.next();
      items.push({ kind: 'bytes', bytes: t.bytes ?? [] });
    } else {
      items.push({ kind: 'expr', expr: c.expression(), column: t.column });
    }
    if (!c.is(',')) break;
    c.next();
  }
  return items;
}

function parseInstruction(c: Cursor): Statement {
  let lock = false;
  let rep: 0xf2 | 0xf3 | undefined;
  let operandSize: 16 | 32 | undefined;
  let segment: number | undefined;
  for (;;) {
    const w = c.peek().text.toLowerCase();
    if (c.peek().kind !== 'ident') break;
    const sreg = registerNamed(w);
    if (sreg?.class === 'sreg' && c.peek(1).kind === 'ident') {
      // `es movsb`, `rep fs movsd`: a segment-override prefix written as a word
      if (segment !== undefined) throw c.error('two segment-override prefixes');
      segment = sreg.index;
      c.next();
      continue;
    }
    if (!PREFIXES.has(w)) break;
    // `rep` alone on a line, or before another mnemonic
    c.next();
    if (w === 'lock') lock = true;
    else if (w === 'rep' || w === 'repe' || w === 'repz') rep = 0xf3;
    else if (w === 'repne' || w === 'repnz') rep = 0xf2;
    else operandSize = w === 'o16' ? 16 : 32;
    if (c.atEnd()) {
      throw c.error(`prefix '${w}' must be followed by an instruction`);
    }
  }
  const m = c.next();
  if (m.kind !== 'ident' || !MNEMONICS.has(m.text.toLowerCase())) {
    throw c.error(
      m.kind === 'ident'
        ? `unknown instruction '${m.text}'`
        : `expected an instruction, found '${m.text}'`,
      m,
    );
  }
  const operands: OperandAst[] = [];
  if (!c.atEnd()) {
    for (;;) {
      operands.push(parseOperand(c));
      if (!c.is(',')) break;
      c.next();
    }
  }
  return {
    kind: 'insn',
    mnemonic: m.text.toLowerCase(),
    column: m.column,
    lock,
    ...(rep ? { rep } : {}),
    ...(operandSize ? { operandSize } : {}),
    ...(segment !== undefined ? { segment } : {}),
    operands,
  };
}

function parseOperand(c: Cursor): OperandAst {
  const start = c.peek();
  let size: DataSize | undefined;
  let far = false;
  let strict = false;
  let distance: 'short' | 'near' | undefined;
  for (;;) {
    const w = c.peek().kind === 'ident' ? c.peek().text.toLowerCase() : '';
    if (SIZE_KEYWORDS[w] !== undefined) size = SIZE_KEYWORDS[w];
    else if (w === 'far') far = true;
    else if (w === 'strict') strict = true;
    else if (w === 'short' || w === 'near') distance = w;
    else break;
    c.next();
  }
  if (c.is('[')) {
    const mem = parseMemory(c, far ? 'far' : size, start.column);
    return far && (size === 16 || size === 32) ? { ...mem, farSize: size } : mem;
  }
  const t = c.peek();
  if (t.kind === 'ident' && !t.escaped) {
    const reg = registerNamed(t.text);
    const after = c.peek(1);
    if (reg && (after.kind === 'eol' || after.text === ',')) {
      c.next();
      if (size !== undefined && size !== reg.size) {
        throw c.error(`size keyword does not match register ${reg.name}`, t);
      }
      return { type: 'reg', reg, column: t.column };
    }
    if (reg && after.text === ':' && reg.class === 'sreg' && c.peek(2).text === '[') {
      // es:[ebx] — segment override written outside the brackets
      c.next();
      c.next();
      const mem = parseMemory(c, far ? 'far' : size, start.column);
      return {
        ...mem,
        segment: reg.index,
        ...(far && (size === 16 || size === 32) ? { farSize: size } : {}),
      };
    }
  }
  const expr = c.expression();
  if (c.is(':')) {
    c.next();
    const offset = c.expression();
    if (size !== undefined && size !== 16 && size !== 32)
      throw c.error('a far pointer is word or dword', start);
    return {
      type: 'farptr',
      selector: expr,
      offset,
      column: start.column,
      ...(size ? { size } : {}),
    };
  }
  if (far) throw c.error("'far' applies to a memory operand or a seg:offset pointer", start);
  return {
    type: 'imm',
    expr,
    ...(size !== undefined ? { size } : {}),
    ...(strict ? { strict } : {}),
    ...(distance ? { distance } : {}),
    column: start.column,
  };
}

function parseMemory(
  c: Cursor,
  size: DataSize | 'far' | undefined,
  column: number,
): MemoryOperandAst {
  c.expect('[', "'['");
  let segment: number | undefined;
  let dispSize: 8 | 32 | undefined;
  for (;;) {
    const t = c.peek();
    const w = t.kind === 'ident' ? t.text.toLowerCase() : '';
    const reg = registerNamed(w);
    if (reg?.class === 'sreg' && c.peek(1).text === ':') {
      segment = reg.index;
      c.next();
      c.next();
      continue;
    }
    if (w === 'byte' || w === 'dword') {
      dispSize = w === 'byte' ? 8 : 32;
      c.next();
      continue;
    }
    if (w === 'nosplit' || w === 'abs' || w === 'rel') {
      throw c.error(`'${w}' inside an effective address is not supported`, t);
    }
    break;
  }
  const address = c.expression();
  c.expect(']', "']' closing the memory operand");
  return {
    type: 'mem',
    ...(size !== undefined ? { size } : {}),
    ...(segment !== undefined ? { segment } : {}),
    ...(dispSize !== undefined ? { dispSize } : {}),
    address,
    column,
  };
}
