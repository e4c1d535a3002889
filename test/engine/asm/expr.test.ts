// Expression tests: NASM precedence and 64-bit arithmetic; the values nasm 2.16 computes
// (checked against `nasm -f bin` listings where the case is not obvious).
import { describe, expect, it } from 'vitest';
import { AsmError } from '../../../src-main/engine/asm/diagnostics';
import {
  collectSymbols,
  evaluate,
  parseExpression,
  type EvalContext,
  type Expr,
} from '../../../src-main/engine/asm/expr';
import { tokenizeLine } from '../../../src-main/engine/asm/lexer';

const loc = { file: 'e.asm', line: 3 };

function parse(src: string): { expr: Expr; next: number; text: string } {
  const tokens = tokenizeLine(src, loc);
  const { expr, next } = parseExpression(tokens, 0, loc);
  return { expr, next, text: tokens[next].text };
}

function ev(src: string, symbols: Record<string, bigint> = {}, extra: Partial<EvalContext> = {}) {
  const { expr, next } = parse(src);
  const tokens = tokenizeLine(src, loc);
  expect(tokens[next].kind, `whole of ${src} parsed`).toBe('eol');
  return evaluate(expr, { lookup: (n) => symbols[n], loc, ...extra });
}

function err(f: () => unknown): AsmError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return e as AsmError;
  }
  throw new Error('no error');
}

const M64 = 2n ** 64n;
const s64 = (v: bigint): bigint => BigInt.asIntN(64, v);

describe('precedence (NASM manual 3.5)', () => {
  it('orders the levels lowest to highest', () => {
    expect(ev('1 + 2 * 3')).toBe(7n);
    expect(ev('(1 + 2) * 3')).toBe(9n);
    expect(ev('1 << 2 + 1')).toBe(8n); // + binds tighter than <<
    expect(ev('6 & 3 << 1')).toBe(6n); // << tighter than &
    expect(ev('1 | 2 ^ 3')).toBe(1n); // ^ tighter than |
    expect(ev('4 ^ 6 & 3')).toBe(6n); // & tighter than ^
    expect(ev('1 | 2 == 3')).toBe(1n); // | tighter than ==
    expect(ev('1 + 2 == 3')).toBe(1n);
    expect(ev('1 == 1 && 2 == 2')).toBe(1n);
    expect(ev('0 && 1 ^^ 1')).toBe(1n); // && tighter than ^^
    expect(ev('1 ^^ 1 || 1')).toBe(1n); // ^^ tighter than ||
    expect(ev('-2 * 3')).toBe(-6n);
    expect(ev('~0 & 0xff')).toBe(255n);
    expect(ev('!0 + 1')).toBe(2n);
    expect(ev('- - 5')).toBe(5n);
  });
  it('is left-associative within a level', () => {
    expect(ev('10 - 3 - 2')).toBe(5n);
    expect(ev('100 / 10 / 5')).toBe(2n);
    expect(ev('5 > 3 > 0')).toBe(1n);
  });
  it('has the conditional operator below ||', () => {
    expect(ev('1 ? 2 : 3')).toBe(2n);
    expect(ev('0 ? 2 : 3')).toBe(3n);
    expect(ev('0 || 0 ? 2 : 1 ? 4 : 5')).toBe(4n);
  });
});

describe('arithmetic (64-bit, as nasm)', () => {
  it('wraps at 64 bits', () => {
    expect(ev('0x7fffffffffffffff + 1')).toBe(-(2n ** 63n));
    expect(ev('0xffffffff * 0xffffffff')).toBe(s64(0xffffffffn * 0xffffffffn));
    expect(ev('-(-9223372036854775807 - 1)')).toBe(-(2n ** 63n));
  });
  it('divides unsigned with / and %, signed with // and %%', () => {
    expect(ev('-7 / 2')).toBe(s64((M64 - 7n) / 2n));
    expect(ev('-7 % 2')).toBe(1n);
    expect(ev('-7 // 2')).toBe(-3n);
    expect(ev('-7 %% 2')).toBe(-1n);
    expect(ev('7 %% -2')).toBe(1n);
  });
  it('shifts logically with >>, arithmetically with >>>, counts modulo 64', () => {
    expect(ev('-1 >> 1')).toBe(2n ** 63n - 1n);
    expect(ev('-8 >>> 1')).toBe(-4n);
    expect(ev('1 <<< 2')).toBe(4n);
    expect(ev('1 << 64')).toBe(1n);
    expect(ev('1 << 65')).toBe(2n);
    expect(ev('256 >> 65')).toBe(128n);
    expect(ev('-8 >>> 65')).toBe(-4n);
  });
  it('compares signed and gives 1/0 (-1/0/1 for <=>)', () => {
    expect(ev('-1 < 0')).toBe(1n);
    expect(ev('1 = 1')).toBe(1n);
    expect(ev('1 <> 2')).toBe(1n);
    expect(ev('1 != 1')).toBe(0n);
    expect(ev('2 <= 2')).toBe(1n);
    expect(ev('3 >= 4')).toBe(0n);
    expect(ev('1 <=> 2')).toBe(-1n);
    expect(ev('2 <=> 1')).toBe(1n);
    expect(ev('3 <=> 3')).toBe(0n);
  });
  it('compares by the wrapped difference, like nasm', () => {
    expect(ev('0x7fffffffffffffff > -1')).toBe(0n);
  });
  it('has boolean logic', () => {
    expect(ev('2 && 3')).toBe(1n);
    expect(ev('0 || 0')).toBe(0n);
    expect(ev('2 ^^ 3')).toBe(0n);
    expect(ev('!5')).toBe(0n);
  });
  it('packs character constants little-endian', () => {
    expect(ev("'ab'")).toBe(0x6261n);
    expect(ev("'a' + 1")).toBe(0x62n);
    expect(ev('`\\n`')).toBe(10n);
    expect(ev("'abcdefgh'")).toBe(0x6867666564636261n);
  });
});

describe('symbols, $ and $$', () => {
  it('looks symbols up and reports forward references as undefined', () => {
    expect(ev('a + b * 2', { a: 1n, b: 3n })).toBe(7n);
    expect(ev('a + later', { a: 1n })).toBeUndefined();
    expect(ev('later * 0')).toBeUndefined();
    expect(ev('$eax', { eax: 5n })).toBe(5n);
  });
  it('uses here and section start', () => {
    expect(ev('$ - $$', {}, { here: 0x7c10n, sectionStart: 0x7c00n })).toBe(16n);
  });
  it('collects the symbols used', () => {
    const { expr } = parse('a + b * (a - $c) ? d : e');
    expect(collectSymbols(expr)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });
  it('builds a plain AST with columns', () => {
    const { expr } = parse('x+2*$');
    expect(expr).toEqual({
      kind: 'binary',
      op: '+',
      column: 2,
      left: { kind: 'symbol', name: 'x', column: 1 },
      right: {
        kind: 'binary',
        op: '*',
        column: 4,
        left: { kind: 'number', value: 2n, column: 3 },
        right: { kind: 'here', column: 5 },
      },
    });
  });
});

describe('where the expression stops', () => {
  it('returns the index of the first token that cannot continue it', () => {
    expect(parse('a + 1, b').text).toBe(',');
    expect(parse('ebx*4 + 8]').text).toBe(']');
    expect(parse('foo wrt bar').text).toBe('wrt');
    const tokens = tokenizeLine('mov eax, 3 + 4', loc);
    const r = parseExpression(tokens, 3, loc);
    expect(r.next).toBe(tokens.length - 1);
  });
});

describe('errors', () => {
  it('names what was expected, with the column', () => {
    let e = err(() => parse('(1 + 2'));
    expect(e.message).toBe("expected ')' after expression, found end of line");
    expect(e.location).toEqual({ file: 'e.asm', line: 3, column: 7 });
    e = err(() => parse('1 + * 2'));
    expect(e.message).toBe("expected an expression, found '*'");
    expect(e.location.column).toBe(5);
    expect(err(() => parse('')).message).toBe('expected an expression, found end of line');
    expect(err(() => parse('1 ? 2')).message).toBe(
      "expected ':' in conditional expression, found end of line",
    );
    expect(err(() => parse('1.5 + 1')).message).toBe(
      "floating-point constant '1.5' is not allowed in an integer expression",
    );
  });
  it('reports division by zero at the operator', () => {
    for (const op of ['/', '%', '//', '%%']) {
      const e = err(() => ev(`5 ${op} (3 - 3)`));
      expect(e.message).toBe('division by zero');
      expect(e.location.column).toBe(3);
    }
    // even when the dividend is not known yet (nasm does the same)
    expect(err(() => ev('later / 0')).message).toBe('division by zero');
  });
  it('refuses $ and $$ where they are not defined', () => {
    expect(err(() => ev('$ + 1')).message).toBe("'$' (the current address) cannot be used here");
    expect(err(() => ev('$$')).message).toBe("'$$' (the section start) cannot be used here");
  });
  it('refuses character constants longer than 8 bytes', () => {
    expect(err(() => ev("'abcdefghi'")).message).toBe(
      'character constant too long (9 bytes, at most 8)',
    );
  });
  it('refuses absurd nesting instead of overflowing the stack', () => {
    const deep = '('.repeat(5000) + '1' + ')'.repeat(5000);
    expect(err(() => parse(deep)).message).toMatch(/nested too deeply/);
    const long = Array.from({ length: 5000 }, () => '1').join('+');
    expect(err(() => parse(long)).message).toMatch(/nested too deeply/);
    const unary = '-'.repeat(5000) + '1';
    expect(err(() => parse(unary)).message).toMatch(/nested too deeply/);
  });
});
