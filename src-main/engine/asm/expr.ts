// Assembler expressions: the parser from tokens to an AST, and NASM's arithmetic over it.
// It owns operator precedence (NASM manual §3.5 / eval.c, lowest to highest: `?:`, `||`,
// `^^`, `&&`, comparisons, `|`, `^`, `&`, shifts, `+ -`, `* / // % %%`, unary `- + ~ !`)
// and the exact 64-bit two's complement semantics NASM computes with, so that every
// constant we assemble equals nasm's byte for byte. Symbols are only names here: what a
// name means (label, register, EQU) is the caller's business through EvalContext.lookup.

import { AsmError } from './diagnostics';
import type { Token } from './lexer';

export interface ExprLocation {
  file: string;
  line: number;
}

export type UnaryOp = '-' | '+' | '~' | '!';
export type BinaryOp =
  | '||'
  | '^^'
  | '&&'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | '<=>'
  | '|'
  | '^'
  | '&'
  | '<<'
  | '>>'
  | '>>>'
  | '+'
  | '-'
  | '*'
  | '/'
  | '//'
  | '%'
  | '%%';

/** Every node carries the 1-based column of the token it starts at (operators: the operator). */
export type Expr =
  | { kind: 'number'; value: bigint; column: number }
  /** A character constant; as a number it is its bytes packed little-endian ('ab' = 0x6261). */
  | { kind: 'string'; bytes: number[]; column: number }
  | { kind: 'symbol'; name: string; column: number; escaped?: boolean }
  /** `$`, the address of the current line */
  | { kind: 'here'; column: number }
  /** `$$`, the start of the current section */
  | { kind: 'base'; column: number }
  | { kind: 'unary'; op: UnaryOp; operand: Expr; column: number }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; column: number }
  | { kind: 'conditional'; test: Expr; then: Expr; else: Expr; column: number };

export interface EvalContext {
  /** The value of a symbol, or undefined when it is not (yet) known: a forward reference. */
  lookup(name: string): bigint | undefined;
  /** Value of `$`; an expression using `$` without it is an error. */
  here?: bigint;
  /** Value of `$$`; an expression using `$$` without it is an error. */
  sectionStart?: bigint;
  loc: ExprLocation;
}

// Binary operators by precedence level, lowest first (the conditional `?:` sits below).
// `=` and `<>` are NASM spellings of `==` and `!=`; `<<<` is the same as `<<`.
const LEVELS: ReadonlyArray<Readonly<Record<string, BinaryOp>>> = [
  { '||': '||' },
  { '^^': '^^' },
  { '&&': '&&' },
  {
    '=': '==',
    '==': '==',
    '!=': '!=',
    '<>': '!=',
    '<': '<',
    '<=': '<=',
    '>': '>',
    '>=': '>=',
    '<=>': '<=>',
  },
  { '|': '|' },
  { '^': '^' },
  { '&': '&' },
  { '<<': '<<', '<<<': '<<', '>>': '>>', '>>>': '>>>' },
  { '+': '+', '-': '-' },
  { '*': '*', '/': '/', '//': '//', '%': '%', '%%': '%%' },
];

/** Binding level (index in LEVELS) and meaning of each binary operator token. */
const BINARY = new Map<string, { level: number; op: BinaryOp }>();
LEVELS.forEach((ops, level) => {
  for (const [text, op] of Object.entries(ops)) BINARY.set(text, { level, op });
});

/** Deeper ASTs are refused: evaluation recurses, and no real expression comes close. */
const MAX_DEPTH = 1000;
/** Parenthesis and unary-operator nesting: each level costs the parser a few stack frames. */
const MAX_NESTING = 500;

function depthOf(e: Expr): number {
  return DEPTH.get(e) ?? 1;
}
// Depth is tracked beside the nodes so that the public AST stays plain data.
const DEPTH = new WeakMap<Expr, number>();

function describe(t: Token): string {
  return t.kind === 'eol'
    ? 'end of line'
    : `'${t.kind === 'ident' && t.escaped ? '$' : ''}${t.text}'`;
}

/**
 * Parse one expression from `tokens[start]`. Stops at the first token that cannot continue
 * the expression (a `,`, `]`, `:` or the end of line, a keyword like `wrt`...) and returns
 * its index as `next`; the caller decides whether that token is acceptable.
 */
export function parseExpression(
  tokens: readonly Token[],
  start: number,
  loc: ExprLocation,
): { expr: Expr; next: number } {
  let pos = start;
  let nesting = 0;

  const fail = (message: string, t: Token): never => {
    throw new AsmError(message, { file: loc.file, line: loc.line, column: t.column });
  };
  const peek = (): Token => tokens[Math.min(pos, tokens.length - 1)];
  const make = (e: Expr, ...children: Expr[]): Expr => {
    let d = 0;
    for (const c of children) d = Math.max(d, depthOf(c));
    if (d + 1 > MAX_DEPTH) {
      throw new AsmError(`expression nested too deeply (more than ${MAX_DEPTH} levels)`, {
        file: loc.file,
        line: loc.line,
        column: e.column,
      });
    }
    if (d > 0) DEPTH.set(e, d + 1);
    return e;
  };
  const isOp = (t: Token, text: string): boolean => t.kind === 'op' && t.text === text;
  // NASM's `?` of `a ? b : c` is lexed as the identifier `?` (it can start identifiers).
  const isQuestion = (t: Token): boolean => t.kind === 'ident' && !t.escaped && t.text === '?';

  function conditional(): Expr {
    const test = binary(0);
    const q = peek();
    if (!isQuestion(q)) return test;
    pos++;
    const thenE = conditional();
    const colon = peek();
    if (!isOp(colon, ':'))
      fail(`expected ':' in conditional expression, found ${describe(colon)}`, colon);
    pos++;
    const elseE = conditional();
    return make(
      { kind: 'conditional', test, then: thenE, else: elseE, column: q.column },
      test,
      thenE,
      elseE,
    );
  }

  // Precedence climbing over LEVELS: one stack frame per operator level actually used.
  function binary(minLevel: number): Expr {
    let left = unary();
    for (;;) {
      const t = peek();
      if (t.kind !== 'op') return left;
      const b = BINARY.get(t.text);
      if (b === undefined || b.level < minLevel) return left;
      pos++;
      const right = binary(b.level + 1);
      left = make({ kind: 'binary', op: b.op, left, right, column: t.column }, left, right);
    }
  }

  function unary(): Expr {
    const t = peek();
    if (t.kind === 'op' && (t.text === '-' || t.text === '+' || t.text === '~' || t.text === '!')) {
      pos++;
      if (++nesting > MAX_NESTING)
        fail(`expression nested too deeply (more than ${MAX_NESTING} levels)`, t);
      const operand = unary();
      nesting--;
      return make({ kind: 'unary', op: t.text, operand, column: t.column }, operand);
    }
    return primary();
  }

  function primary(): Expr {
    const t = peek();
    switch (t.kind) {
      case 'number':
        if (t.value === undefined) fail(`invalid number '${t.text}'`, t);
        pos++;
        return { kind: 'number', value: t.value ?? 0n, column: t.column };
      case 'float':
        return fail(
          `floating-point constant '${t.text}' is not allowed in an integer expression`,
          t,
        );
      case 'string':
        pos++;
        return { kind: 'string', bytes: t.bytes ?? [], column: t.column };
      case 'here':
        pos++;
        return { kind: 'here', column: t.column };
      case 'base':
        pos++;
        return { kind: 'base', column: t.column };
      case 'ident':
        if (isQuestion(t)) break;
        pos++;
        return t.escaped
          ? { kind: 'symbol', name: t.text, column: t.column, escaped: true }
          : { kind: 'symbol', name: t.text, column: t.column };
      case 'op':
        if (t.text === '(') {
          pos++;
          if (++nesting > MAX_NESTING)
            fail(`expression nested too deeply (more than ${MAX_NESTING} levels)`, t);
          const inner = conditional();
          nesting--;
          const close = peek();
          if (!isOp(close, ')'))
            fail(`expected ')' after expression, found ${describe(close)}`, close);
          pos++;
          return inner;
        }
        break;
      default:
        break;
    }
    return fail(`expected an expression, found ${describe(t)}`, t);
  }

  const expr = conditional();
  return { expr, next: pos };
}

/** Bytes of a character constant packed little-endian, as NASM's readstrnum() does. */
export function packString(bytes: readonly number[]): bigint {
  let v = 0n;
  for (let i = Math.min(bytes.length, 8) - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i] & 0xff);
  return BigInt.asIntN(64, v);
}

const wrap = (v: bigint): bigint => BigInt.asIntN(64, v);
const unsigned = (v: bigint): bigint => BigInt.asUintN(64, v);

/**
 * Evaluate with NASM's arithmetic: 64-bit two's complement; `/` and `%` unsigned, `//` and
 * `%%` signed (truncating toward zero, like C); `>>` logical, `>>>` arithmetic; shift counts
 * taken modulo 64 (what nasm's C shift does on x86). Comparisons and logic give 1 or 0.
 * Returns undefined when a symbol is not known yet. Throws AsmError for division by zero,
 * `$`/`$$` where they are not defined, and character constants longer than 8 bytes.
 */
export function evaluate(expr: Expr, ctx: EvalContext): bigint | undefined {
  const fail = (message: string, column: number): never => {
    throw new AsmError(message, { file: ctx.loc.file, line: ctx.loc.line, column });
  };

  function ev(e: Expr): bigint | undefined {
    switch (e.kind) {
      case 'number':
        return e.value;
      case 'string':
        if (e.bytes.length > 8) {
          fail(`character constant too long (${e.bytes.length} bytes, at most 8)`, e.column);
        }
        return packString(e.bytes);
      case 'symbol':
        return ctx.lookup(e.name);
      case 'here':
        if (ctx.here === undefined) fail(`'$' (the current address) cannot be used here`, e.column);
        return ctx.here;
      case 'base':
        if (ctx.sectionStart === undefined)
          fail(`'$$' (the section start) cannot be used here`, e.column);
        return ctx.sectionStart;
      case 'unary': {
        const v = ev(e.operand);
        if (v === undefined) return undefined;
        switch (e.op) {
          case '-':
            return wrap(-v);
          case '+':
            return v;
          case '~':
            return wrap(~v);
          case '!':
            return v === 0n ? 1n : 0n;
        }
        return undefined;
      }
      case 'conditional': {
        // Both arms are evaluated (so their errors surface), as NASM parses and evaluates both.
        const test = ev(e.test);
        const a = ev(e.then);
        const b = ev(e.else);
        if (test === undefined) return undefined;
        return test !== 0n ? a : b;
      }
      case 'binary': {
        const l = ev(e.left);
        const r = ev(e.right);
        if (r !== undefined && r === 0n && DIVISIONS.has(e.op)) fail('division by zero', e.column);
        if (l === undefined || r === undefined) return undefined;
        return binaryOp(e.op, l, r);
      }
    }
  }

  return ev(expr);
}

const DIVISIONS = new Set<BinaryOp>(['/', '//', '%', '%%']);

function binaryOp(op: BinaryOp, l: bigint, r: bigint): bigint {
  switch (op) {
    case '||':
      return l !== 0n || r !== 0n ? 1n : 0n;
    case '^^':
      return (l !== 0n) !== (r !== 0n) ? 1n : 0n;
    case '&&':
      return l !== 0n && r !== 0n ? 1n : 0n;
    case '==':
      return wrap(l - r) === 0n ? 1n : 0n;
    case '!=':
      return wrap(l - r) !== 0n ? 1n : 0n;
    case '<':
    case '<=':
    case '>':
    case '>=':
    case '<=>': {
      // NASM compares by the sign of the wrapped difference (eval.c rexp3), so e.g.
      // 0x7fffffffffffffff > -1 is false there; we keep that for identical results.
      const d = wrap(l - r);
      if (op === '<=>') return d < 0n ? -1n : d > 0n ? 1n : 0n;
      if (op === '<') return d < 0n ? 1n : 0n;
      if (op === '<=') return d <= 0n ? 1n : 0n;
      if (op === '>') return d > 0n ? 1n : 0n;
      return d >= 0n ? 1n : 0n;
    }
    case '|':
      return wrap(l | r);
    case '^':
      return wrap(l ^ r);
    case '&':
      return wrap(l & r);
    case '<<':
      return wrap(l << BigInt.asUintN(6, r));
    case '>>':
      return wrap(unsigned(l) >> BigInt.asUintN(6, r));
    case '>>>':
      return l >> BigInt.asUintN(6, r);
    case '+':
      return wrap(l + r);
    case '-':
      return wrap(l - r);
    case '*':
      return wrap(l * r);
    case '/':
      return wrap(unsigned(l) / unsigned(r));
    case '%':
      return wrap(unsigned(l) % unsigned(r));
    case '//':
      return wrap(l / r);
    case '%%':
      return wrap(l % r);
  }
}

/** Every symbol node of the expression, in source order (for "symbol undefined" reports). */
export function collectSymbolNodes(expr: Expr): Array<Extract<Expr, { kind: 'symbol' }>> {
  const out: Array<Extract<Expr, { kind: 'symbol' }>> = [];
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'symbol':
        out.push(e);
        break;
      case 'unary':
        walk(e.operand);
        break;
      case 'binary':
        walk(e.left);
        walk(e.right);
        break;
      case 'conditional':
        walk(e.test);
        walk(e.then);
        walk(e.else);
        break;
      default:
        break;
    }
  };
  walk(expr);
  return out;
}

/** The names of the symbols the expression uses, in source order, each once. */
export function collectSymbols(expr: Expr): string[] {
  return [...new Set(collectSymbolNodes(expr).map((s) => s.name))];
}
