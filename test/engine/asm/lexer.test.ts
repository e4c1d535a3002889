// Lexer tests: NASM's token rules (manual ch. 3, nasm 2.16's stdscan/tokenize), one rule a test.
import { describe, expect, it } from 'vitest';
import { AsmError } from '../../../src-main/engine/asm/diagnostics';
import {
  parseNumber,
  tokenizeLine,
  tokensToText,
  type Token,
} from '../../../src-main/engine/asm/lexer';

const loc = { file: 'a.asm', line: 7 };
const lex = (s: string, pp = false): Token[] => tokenizeLine(s, loc, { preprocessor: pp });
const kinds = (s: string, pp = false): string[] =>
  lex(s, pp)
    .slice(0, -1)
    .map((t) => `${t.kind}:${t.escaped ? '$' : ''}${t.text}`);
const num = (s: string): bigint | undefined => {
  const t = lex(s)[0];
  expect(t.kind).toBe('number');
  return t.value;
};
function lexError(s: string, pp = false): AsmError {
  try {
    lex(s, pp);
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return e as AsmError;
  }
  throw new Error(`no error for ${s}`);
}

describe('identifiers', () => {
  it('takes NASM identifier characters', () => {
    expect(kinds('mov eax, ebx')).toEqual(['ident:mov', 'ident:eax', 'op:,', 'ident:ebx']);
    expect(kinds('.local ?q @at _u a#b~c$ foo?bar ..@1.x')).toEqual([
      'ident:.local',
      'ident:?q',
      'ident:@at',
      'ident:_u',
      'ident:a#b~c$',
      'ident:foo?bar',
      'ident:..@1.x',
    ]);
  });
  it('does not start identifiers with # ~ or a digit', () => {
    expect(kinds('~x')).toEqual(['op:~', 'ident:x']);
    expect(kinds('#x')).toEqual(['op:#', 'ident:x']);
  });
  it('takes non-ASCII letters as identifier characters (UTF-8 labels)', () => {
    expect(kinds('é1: nop')).toEqual(['ident:é1', 'op::', 'ident:nop']);
  });
  it('reads $, $$ and $-escaped names', () => {
    const t = lex('$ $$ $eax $$foo');
    expect(t.map((x) => x.kind)).toEqual(['here', 'base', 'ident', 'ident', 'eol']);
    expect(t[2]).toMatchObject({ text: 'eax', escaped: true });
    expect(t[3]).toMatchObject({ text: '$foo', escaped: true });
    expect(kinds('$-$$')).toEqual(['here:$', 'op:-', 'base:$$']);
  });
  it('records 1-based columns and preceding whitespace', () => {
    const t = lex('  mov\teax,[ebx]');
    expect(t.map((x) => x.column)).toEqual([3, 7, 10, 11, 12, 15, 16]);
    expect(t.map((x) => x.spaceBefore)).toEqual([true, true, false, false, false, false, false]);
    expect(t[t.length - 1]).toMatchObject({ kind: 'eol', text: '', column: 16 });
  });
});

describe('numbers', () => {
  it('reads every NASM radix form', () => {
    const cases: Array<[string, bigint]> = [
      ['123', 123n],
      ['0x1F', 31n],
      ['0X1f', 31n],
      ['1Fh', 31n],
      ['1FH', 31n],
      ['0h1f', 31n],
      ['$1f', 31n],
      ['0b1010', 10n],
      ['1010b', 10n],
      ['1010y', 10n],
      ['0y1010', 10n],
      ['0o17', 15n],
      ['17o', 15n],
      ['17q', 15n],
      ['0q17', 15n],
      ['0d99', 99n],
      ['99d', 99n],
      ['0t99', 99n],
      ['99t', 99n],
      ['1_000', 1000n],
      ['0x_10', 16n],
      ['10_h', 16n],
      ['1e3h', 0x1e3n],
      ['0dh', 13n],
      ['0b', 0n],
      ['0h', 0n],
    ];
    for (const [text, v] of cases) expect(num(text), text).toBe(v);
  });
  it('is 64-bit two`s complement: big literals wrap like nasm`s', () => {
    expect(num('0xFFFFFFFFFFFFFFFF')).toBe(-1n);
    expect(num('0x8000000000000000')).toBe(-(2n ** 63n));
    expect(num('99999999999999999999')).toBe(BigInt.asIntN(64, 99999999999999999999n));
  });
  it('reads floats as float tokens', () => {
    expect(kinds('1.5 1e10 1.0e+3 0x1.8p3 3e 1.')).toEqual([
      'float:1.5',
      'float:1e10',
      'float:1.0e+3',
      'float:0x1.8p3',
      'float:3e',
      'float:1.',
    ]);
  });
  it('rejects malformed numbers in assembler mode, with the column', () => {
    const e = lexError('dd 2h1');
    expect(e.message).toBe("invalid number '2h1'");
    expect(e.location).toEqual({ file: 'a.asm', line: 7, column: 4 });
    expect(lexError('dd 0x10h').message).toBe("invalid number '0x10h'");
    expect(lexError('dd 12zz').message).toBe("invalid number '12zz'");
    expect(lexError('dd $0x10').message).toBe("invalid number '$0x10'");
  });
  it('leaves malformed numbers for later in preprocessor mode', () => {
    const t = lex('12zz', true)[0];
    expect(t).toMatchObject({ kind: 'number', text: '12zz' });
    expect(t.value).toBeUndefined();
  });
  it('reads `1.nolist` as a number and an identifier in preprocessor mode (as nasm)', () => {
    expect(kinds('1.nolist', true)).toEqual(['number:1', 'ident:.nolist']);
    expect(kinds('1.5', true)).toEqual(['float:1.5']);
  });
  it('parseNumber mirrors readnum', () => {
    expect(parseNumber('0x')).toBe(0n);
    expect(parseNumber('0b1010b')).toBeUndefined();
    expect(parseNumber('')).toBeUndefined();
  });
});

describe('strings', () => {
  it('reads quoted strings without escapes', () => {
    const t = lex(`db 'a\\n', "it's", ''`);
    expect(t[1]).toMatchObject({ kind: 'string', text: "'a\\n'", bytes: [97, 92, 110] });
    expect(t[3]).toMatchObject({ kind: 'string', text: `"it's"`, bytes: [105, 116, 39, 115] });
    expect(t[5]).toMatchObject({ kind: 'string', bytes: [] });
  });
  it("copies a file's bytes as they are, as nasm does (source is read one byte a character)", () => {
    // the UTF-8 bytes of '—' read as latin1, and a lone latin1 'é' byte
    expect(lex("'\u00e2\u0080\u0094\u00e9'")[0].bytes).toEqual([0xe2, 0x80, 0x94, 0xe9]);
  });
  it('encodes characters that never were bytes (above 0xFF) as UTF-8', () => {
    expect(lex("'—'")[0].bytes).toEqual([0xe2, 0x80, 0x94]);
    expect(lex('`—`')[0].bytes).toEqual([0xe2, 0x80, 0x94]);
  });
  it('takes C escapes in backquoted strings, as nasm 2.16', () => {
    const bytes = (s: string): number[] | undefined => lex(s)[0].bytes;
    expect(bytes('`\\n\\t\\\\\\\'\\"\\`\\r\\a\\b\\f\\v\\e\\?`')).toEqual([
      10, 9, 92, 39, 34, 96, 13, 7, 8, 12, 11, 27, 63,
    ]);
    expect(bytes('`\\x41\\x4g\\101\\0\\18`')).toEqual([0x41, 4, 0x67, 0x41, 0, 1, 0x38]);
    expect(bytes('`\\u00e9\\U0001F600`')).toEqual([0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
    // no digits: the letter itself (nasm rewinds); unknown escapes: the character
    expect(bytes('`\\xZ\\q`')).toEqual([0x78, 0x5a, 0x71]);
    expect(bytes('`a\\`b`')).toEqual([97, 96, 98]);
  });
  it('keeps ; inside strings and drops comments', () => {
    expect(kinds(`db ';', "a;b" ; comment 'x`)).toEqual([
      'ident:db',
      "string:';'",
      'op:,',
      'string:"a;b"',
    ]);
  });
  it('reports an unterminated string at its opening quote', () => {
    for (const [s, col, q] of [
      [`db 'abc`, 4, "'"],
      [`db "abc`, 4, '"'],
      ['db `ab\\`', 4, '`'],
    ] as const) {
      const e = lexError(s);
      expect(e.message).toBe(`unterminated string: missing closing ${q}`);
      expect(e.location.column).toBe(col);
    }
  });
});

describe('operators', () => {
  it('takes the longest operator', () => {
    expect(kinds('a<<<b>>>c<=>d<>e!=f==g//h%%i%j<<k>>l<=m>=n&&o||p^^q=r')).toEqual(
      'a <<< b >>> c <=> d <> e != f == g // h %% i % j << k >> l <= m >= n && o || p ^^ q = r'
        .split(' ')
        .map((x) => (/^[a-z]$/.test(x) ? `ident:${x}` : `op:${x}`)),
    );
    expect(kinds('+-*/&|^~!()[]{},:')).toEqual('+-*/&|^~!()[]{},:'.split('').map((c) => `op:${c}`));
  });
});

describe('preprocessor mode', () => {
  it('makes % words single pp tokens', () => {
    expect(
      kinds('%define %1 %10 %{10} %0 %%lbl %+ %-1 %+1 %? %?? %$ctx %!HOME %[x]', true),
    ).toEqual([
      'pp:%define',
      'pp:%1',
      'pp:%10',
      'pp:%{10}',
      'pp:%0',
      'pp:%%lbl',
      'pp:%+',
      'pp:%-1',
      'pp:%+1',
      'pp:%?',
      'pp:%??',
      'pp:%$ctx',
      'pp:%!HOME',
      'pp:%[x]',
    ]);
  });
  it('keeps % and %% as operators when they are not preprocessor words', () => {
    expect(kinds('a % b %% c', true)).toEqual(['ident:a', 'op:%', 'ident:b', 'op:%%', 'ident:c']);
  });
  it('treats % as an operator in assembler mode', () => {
    expect(kinds('7 %2')).toEqual(['number:7', 'op:%', 'number:2']);
    expect(kinds('%%x')).toEqual(['op:%%', 'ident:x']);
  });
});

describe('tokensToText', () => {
  it('rebuilds a line with single spaces where there was whitespace', () => {
    const t = lex("  mov   eax,\t[$ebx + 'a;'] ; c");
    expect(tokensToText(t)).toBe("mov eax, [$ebx + 'a;']");
  });
});
