// The assembler's lexer: one source line in, NASM tokens out (NASM manual ch. 3; the rules
// mirror NASM 2.16's `stdscan` for the assembler and its preprocessor tokenizer where they
// differ). It owns what a token *is* — identifier and `$`-escape rules, every number radix
// form, the three kinds of string quoting and their escapes, operators — so that the
// expression parser, the preprocessor and the instruction parser never look at characters.
//
// Two modes, because NASM itself has two tokenizers:
//  - assembler mode (default): `%` and `%%` are the modulo operators;
//  - preprocessor mode (`{ preprocessor: true }`): `%` followed by something that makes it a
//    preprocessor word becomes one 'pp' token whose text keeps the `%`: directives
//    (`%define`), macro parameters (`%1`, `%{10}`, `%0`, `%-1`, `%+1`), macro-local labels
//    (`%%label`), context-locals (`%$name`), `%?`, `%??`, `%[...]`, `%!env` and the paste
//    operator `%+`. A `%` or `%%` followed by anything else is still the operator. The
//    preprocessor replaces or rejects every 'pp' token, so the assembler never sees one.
//
// Numbers are 64-bit two's complement like NASM's (an over-long literal wraps, as NASM's
// does after its warning); `value` holds the signed 64-bit interpretation.

import { AsmError } from './diagnostics';

export type TokenKind =
  | 'ident' // label, mnemonic, register, keyword... (`$name` too: escaped = true, name without `$`)
  | 'number' // integer literal; value is set (undefined only for a malformed literal in preprocessor mode)
  | 'float' // floating-point literal (`1.5`, `1e10`, `0x1.8p3`); no value, the assembler converts it
  | 'string' // '...', "..." or `...`; text is the literal with its quotes, bytes the contents
  | 'op' // operator or punctuation: + - * / // % %% << >> <<< >>> & | ^ ~ ! && || ^^ == = != <> < <= > >= <=> ( ) [ ] { } , : and any other single character
  | 'here' // `$`
  | 'base' // `$$`
  | 'pp' // preprocessor word (preprocessor mode only), text includes the leading `%`
  | 'eol'; // end of line (always the last token; text '')

export interface Token {
  kind: TokenKind;
  /** Source text of the token (an identifier's name without its `$` escape). */
  text: string;
  /** 1-based column of the token's first character in the line. */
  column: number;
  /** Numbers: the value, 64-bit two's complement, signed. */
  value?: bigint;
  /** Strings: the bytes the string stands for (UTF-8 for non-ASCII source characters). */
  bytes?: number[];
  /** Identifiers written `$name`: never a keyword, register or macro. */
  escaped?: boolean;
  /** Whitespace precedes the token (the preprocessor uses it to rebuild the line's text). */
  spaceBefore?: boolean;
}

export interface LexLocation {
  file: string;
  line: number;
}

export interface LexOptions {
  /** Produce 'pp' tokens for `%` words (see the header); numbers may then be malformed. */
  preprocessor?: boolean;
}

// Character classes (NASM nctype.c): identifiers start with a letter, `_`, `.`, `?` or `@`
// and continue with those, digits, `$`, `#` and `~`. `$`, `#` and `~` cannot start one: a
// leading `$` is the here/escape/hex prefix, `~` is bitwise NOT, `#` is not allowed.
// Non-ASCII characters are identifier characters, as in NASM (UTF-8 labels).
const ID_START = 1;
const ID_CHAR = 2;
const DIGIT = 4;
const SPACE = 8;
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z_.?@]/.test(ch)) CLASS[c] |= ID_START | ID_CHAR;
  if (/[0-9$#~]/.test(ch)) CLASS[c] |= ID_CHAR;
  if (/[0-9]/.test(ch)) CLASS[c] |= DIGIT;
  if (/[ \t\r\f\v]/.test(ch)) CLASS[c] |= SPACE;
}

function cls(code: number): number {
  // NaN (past the end) and non-ASCII: non-ASCII counts as an identifier character.
  if (code < 128) return CLASS[code];
  return code >= 128 ? ID_START | ID_CHAR : 0;
}

export function isIdentStart(code: number): boolean {
  return (cls(code) & ID_START) !== 0;
}
export function isIdentChar(code: number): boolean {
  return (cls(code) & ID_CHAR) !== 0;
}
function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}
function isSpace(code: number): boolean {
  return code < 128 && (CLASS[code] & SPACE) !== 0;
}
function isAlnum(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}
function isHexDigit(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102);
}

/** NASM radix letters (readnum.c): b/y binary, o/q octal, d/t decimal, h/x hex. */
function radixLetter(ch: string): number {
  switch (ch) {
    case 'b':
    case 'B':
    case 'y':
    case 'Y':
      return 2;
    case 'o':
    case 'O':
    case 'q':
    case 'Q':
      return 8;
    case 'd':
    case 'D':
    case 't':
    case 'T':
      return 10;
    case 'h':
    case 'H':
    case 'x':
    case 'X':
      return 16;
    default:
      return 0;
  }
}

const RADIX_PREFIX: Record<number, string> = { 2: '0b', 8: '0o', 10: '', 16: '0x' };

/**
 * The value of an integer literal as NASM's readnum() reads it: `0x1F`, `1Fh`, `$1F`, `0h1F`,
 * `0b101`/`101b`/`101y`, `0o17`/`17o`/`17q`/`0q17`, `0d99`/`99d`/`0t99`/`99t`, underscores
 * anywhere after the first character. A radix prefix and a radix suffix compete: the larger
 * radix wins, a tie means decimal. Over-long values wrap to 64 bits (NASM warns, then wraps).
 * Returns undefined when the text is not a valid number.
 */
export function parseNumber(text: string): bigint | undefined {
  const len = text.length;
  if (len === 0) return undefined;
  let r = 0;
  let q = len;
  let pradix = 0;
  let plen = 0;
  if (len > 2 && text[0] === '0' && (pradix = radixLetter(text[1])) !== 0) {
    plen = 2;
  } else if (len > 1 && text[0] === '$') {
    pradix = 16;
    plen = 1;
  }
  const sradix = len > 1 ? radixLetter(text[len - 1]) : 0;
  let radix = 10;
  if (pradix > sradix) {
    radix = pradix;
    r += plen;
  } else if (sradix > pradix) {
    radix = sradix;
    q -= 1;
  }
  let digits = '';
  for (let i = r; i < q; i++) {
    const ch = text[i];
    if (ch === '_') continue;
    const code = ch.charCodeAt(0);
    let d: number;
    if (code >= 48 && code <= 57) d = code - 48;
    else if (code >= 65 && code <= 90) d = code - 55;
    else if (code >= 97 && code <= 122) d = code - 87;
    else return undefined;
    if (d >= radix) return undefined;
    digits += ch;
  }
  if (digits === '') return 0n;
  return BigInt.asIntN(64, BigInt(RADIX_PREFIX[radix] + digits));
}

/** UTF-8 bytes of a code point (no TextEncoder: the engine has no DOM/Node globals). */
function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else
    out.push(
      0xf0 | (cp >> 18),
      0x80 | ((cp >> 12) & 63),
      0x80 | ((cp >> 6) & 63),
      0x80 | (cp & 63),
    );
}

/**
 * Bytes of a source-text slice. Source files are read as latin1, one character per byte, so a
 * character below 0x100 is the file's byte as it is — as nasm, which never decodes its input,
 * copies it (a UTF-8 '—' in a string stays e2 80 94). Only text that never was bytes (a
 * string built in code) has characters above 0xFF: those are UTF-8 encoded.
 */
export function utf8Bytes(s: string, out: number[] = []): number[] {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x100) {
      out.push(c);
      continue;
    }
    const cp = s.codePointAt(i) ?? c;
    if (cp > 0xffff) i++;
    pushUtf8(out, cp);
  }
  return out;
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  t: 9,
  n: 10,
  v: 11,
  f: 12,
  r: 13,
  e: 27,
};

/**
 * Scan a string literal starting at `start` (the opening quote). Returns the index just past
 * the closing quote and the bytes, or -1 when unterminated. Backquoted strings take NASM
 * 2.16's escapes: \' \" \` \\ \? \a \b \t \n \v \f \r \e, \ooo octal (1-3 digits),
 * \xHH (1-2 digits), \uHHHH and \UHHHHHHHH (UTF-8 encoded); an escape that is not one of
 * these stands for the character after the backslash (\xZ is "xZ", as NASM rewinds).
 */
function scanString(s: string, start: number): { end: number; bytes: number[] } {
  const quote = s[start];
  const bytes: number[] = [];
  if (quote !== '`') {
    const close = s.indexOf(quote, start + 1);
    if (close < 0) return { end: -1, bytes };
    utf8Bytes(s.slice(start + 1, close), bytes);
    return { end: close + 1, bytes };
  }
  let i = start + 1;
  const n = s.length;
  while (i < n) {
    const ch = s[i];
    if (ch === '`') return { end: i + 1, bytes };
    if (ch !== '\\') {
      const c = s.charCodeAt(i);
      if (c < 0x100) {
        bytes.push(c);
        i++;
      } else {
        const cp = s.codePointAt(i) ?? c;
        pushUtf8(bytes, cp);
        i += cp > 0xffff ? 2 : 1;
      }
      continue;
    }
    // Backslash escape.
    i++;
    if (i >= n) break; // a lone trailing backslash leaves the string unterminated
    const e = s[i];
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple);
      i++;
    } else if (e >= '0' && e <= '7') {
      let v = 0;
      let k = 0;
      while (k < 3 && i < n && s[i] >= '0' && s[i] <= '7') {
        v = v * 8 + (s.charCodeAt(i) - 48);
        i++;
        k++;
      }
      bytes.push(v & 0xff);
    } else if (e === 'x' || e === 'X' || e === 'u' || e === 'U') {
      const max = e === 'u' ? 4 : e === 'U' ? 8 : 2;
      let j = i + 1;
      let v = 0;
      while (j - (i + 1) < max && j < n && isHexDigit(s.charCodeAt(j))) {
        v = v * 16 + parseInt(s[j], 16);
        j++;
      }
      if (j === i + 1) {
        // No digits: NASM rewinds and takes the letter literally.
        bytes.push(e.charCodeAt(0));
        i++;
      } else {
        if (e === 'x' || e === 'X') bytes.push(v);
        else pushUtf8(bytes, v);
        i = j;
      }
    } else {
      // \' \" \` \\ \? and any other character: the character itself.
      const cp = s.codePointAt(i) ?? 0;
      pushUtf8(bytes, cp);
      i += cp > 0xffff ? 2 : 1;
    }
  }
  return { end: -1, bytes };
}

const THREE_CHAR_OPS = new Set(['<<<', '>>>', '<=>']);
const TWO_CHAR_OPS = new Set(['<<', '>>', '<=', '>=', '<>', '==', '!=', '&&', '||', '^^', '//']);

/**
 * Split one line of source into tokens. The last token is always 'eol'. A `;` outside a
 * string starts a comment, which is dropped. Throws AsmError for an unterminated string and,
 * in assembler mode, for a malformed number.
 */
export function tokenizeLine(text: string, loc: LexLocation, options?: LexOptions): Token[] {
  const pp = options?.preprocessor === true;
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 59 /* ; */) break;
    const start = i;
    const spaceBefore = start > 0 && isSpace(text.charCodeAt(start - 1));
    const column = start + 1;

    if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentChar(text.charCodeAt(i))) i++;
      tokens.push({ kind: 'ident', text: text.slice(start, i), column, spaceBefore });
      continue;
    }

    if (c === 36 /* $ */) {
      const c1 = text.charCodeAt(i + 1);
      if (isDigit(c1)) {
        i = scanNumber(text, i, pp);
        tokens.push(numberToken(text.slice(start, i), column, spaceBefore, pp, loc));
        continue;
      }
      if (c1 === 36 && !isIdentChar(text.charCodeAt(i + 2))) {
        i += 2;
        tokens.push({ kind: 'base', text: '$$', column, spaceBefore });
        continue;
      }
      if (isIdentChar(c1)) {
        // `$name`: the name is escaped from being a keyword; `$$name` names `$name`.
        i += 2;
        while (i < n && isIdentChar(text.charCodeAt(i))) i++;
        const name = text.slice(start + 1, i);
        tokens.push({ kind: 'ident', text: name, column, spaceBefore, escaped: true });
        continue;
      }
      i++;
      tokens.push({ kind: 'here', text: '$', column, spaceBefore });
      continue;
    }

    if (isDigit(c)) {
      i = scanNumber(text, i, pp);
      tokens.push(numberToken(text.slice(start, i), column, spaceBefore, pp, loc));
      continue;
    }

    if (c === 39 /* ' */ || c === 34 /* " */ || c === 96 /* ` */) {
      const { end, bytes } = scanString(text, i);
      if (end < 0) {
        throw new AsmError(`unterminated string: missing closing ${text[i]}`, {
          file: loc.file,
          line: loc.line,
          column,
        });
      }
      i = end;
      tokens.push({ kind: 'string', text: text.slice(start, i), column, spaceBefore, bytes });
      continue;
    }

    if (c === 37 /* % */ && pp) {
      i = scanPercent(text, i);
      const word = text.slice(start, i);
      const kind = word === '%' || word === '%%' ? 'op' : 'pp';
      tokens.push({ kind, text: word, column, spaceBefore });
      continue;
    }

    let len = 1;
    if (THREE_CHAR_OPS.has(text.substr(i, 3))) len = 3;
    else if (TWO_CHAR_OPS.has(text.substr(i, 2)) || text.startsWith('%%', i)) len = 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) len = 2; // keep a surrogate pair whole
    i += len;
    tokens.push({ kind: 'op', text: text.slice(start, i), column, spaceBefore });
  }
  tokens.push({ kind: 'eol', text: '', column: n + 1, spaceBefore: false });
  return tokens;
}

function numberToken(
  numText: string,
  column: number,
  spaceBefore: boolean,
  pp: boolean,
  loc: LexLocation,
): Token {
  if (/[.pP]/.test(numText) || isFloatText(numText)) {
    return { kind: 'float', text: numText, column, spaceBefore };
  }
  const value = parseNumber(numText);
  if (value === undefined) {
    if (!pp) {
      throw new AsmError(`invalid number '${numText}'`, { file: loc.file, line: loc.line, column });
    }
    return { kind: 'number', text: numText, column, spaceBefore };
  }
  return { kind: 'number', text: numText, column, spaceBefore, value };
}

/**
 * NASM's rule (stdscan.c): an `e`/`E` seen before any hex marker (h, x, or a `$` prefix)
 * makes the literal a float (`1e10`); `1e3h` is hex because the `h` came later.
 */
function isFloatText(t: string): boolean {
  if (t[0] === '$') return false;
  let hex = false;
  let hasE = false;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (ch === 'h' || ch === 'H' || ch === 'x' || ch === 'X') hex = true;
    else if (!hex && (ch === 'e' || ch === 'E')) hasE = true;
  }
  return hasE && !hex;
}

/**
 * The end of the number starting at `i` (a digit or `$` + digit), following NASM: letters,
 * digits and `_` continue it; `e+`/`e-` (before a hex marker) and `p+`/`p-` take their sign;
 * `.` makes a float. In preprocessor mode a `.` only continues the number when what follows
 * can continue a float, so `%macro m 1.nolist` still reads `1` `.nolist` (NASM does this).
 */
function scanNumber(s: string, i: number, pp: boolean): number {
  let hex = false;
  if (s[i] === '$') {
    i++;
    hex = true;
  }
  const n = s.length;
  while (i < n) {
    const ch = s[i];
    const code = s.charCodeAt(i);
    if (!hex && (ch === 'e' || ch === 'E')) {
      i++;
      if (s[i] === '+' || s[i] === '-') i++;
    } else if (ch === 'h' || ch === 'H' || ch === 'x' || ch === 'X') {
      hex = true;
      i++;
    } else if (ch === 'p' || ch === 'P') {
      i++;
      if (s[i] === '+' || s[i] === '-') i++;
    } else if (isAlnum(code) || ch === '_') {
      i++;
    } else if (ch === '.') {
      if (pp) {
        let r = i + 1;
        while (s[r] === '_') r++;
        const nc = s.charCodeAt(r);
        const next = s[r];
        if (
          isDigit(nc) ||
          (hex && isHexDigit(nc)) ||
          (!hex && (next === 'e' || next === 'E')) ||
          next === 'p' ||
          next === 'P'
        ) {
          i = r;
          continue;
        }
        break;
      }
      i++;
    } else {
      break;
    }
  }
  return i;
}

/** The end of a `%` word in preprocessor mode (NASM preproc.c tokenize()). */
function scanPercent(s: string, i: number): number {
  const n = s.length;
  const c1 = s.charCodeAt(i + 1);
  const ch1 = s[i + 1];
  if (ch1 === '+' && !isDigit(s.charCodeAt(i + 2))) return i + 2; // %+ paste
  if (isDigit(c1) || ((ch1 === '+' || ch1 === '-') && isDigit(s.charCodeAt(i + 2)))) {
    let j = i + 2;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
    return j;
  }
  if (ch1 === '{' || ch1 === '[') {
    const close = ch1 === '{' ? '}' : ']';
    let depth = 0;
    for (let j = i + 1; j < n; j++) {
      if (s[j] === ch1) depth++;
      else if (s[j] === close && --depth === 0) return j + 1;
    }
    return n; // unterminated: the preprocessor reports it when it meets the token
  }
  if (ch1 === '?') return s[i + 2] === '?' ? i + 3 : i + 2;
  if (ch1 === '!') {
    let j = i + 2;
    while (j < n && isIdentChar(s.charCodeAt(j))) j++;
    return j;
  }
  if (isIdentChar(c1) || ((ch1 === '%' || ch1 === '$') && isIdentChar(s.charCodeAt(i + 2)))) {
    let j = i + 2;
    while (j < n && isIdentChar(s.charCodeAt(j))) j++;
    return j;
  }
  if (ch1 === '%') return i + 2;
  return i + 1;
}

/** The source form of a token (an escaped identifier gets its `$` back). */
export function tokenSource(t: Token): string {
  return t.kind === 'ident' && t.escaped ? '$' + t.text : t.text;
}

/**
 * Rebuild text from tokens: each token's source form, preceded by one space where the token
 * had whitespace before it. Used by the preprocessor to hand expanded lines to the assembler.
 */
export function tokensToText(tokens: readonly Token[], start = 0, end = tokens.length): string {
  const parts: string[] = [];
  for (let i = start; i < end; i++) {
    const t = tokens[i];
    if (t.kind === 'eol') break;
    if (parts.length > 0 && t.spaceBefore) parts.push(' ');
    parts.push(tokenSource(t));
  }
  return parts.join('');
}
