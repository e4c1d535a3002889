// NASM's preprocessor (manual ch. 4), the subset our guest kernels use: line continuation,
// single-line macros (%define %xdefine %idefine %ixdefine %undef %assign %defstr %strlen),
// multi-line macros (%macro %imacro %rmacro, parameters %1..%N %{N} %0 %%local %? %??,
// default and greedy parameters, overloading by parameter count, %rotate, %exitmacro,
// %unmacro), %rep/%endrep/%exitrep, the %if family, %include, %error/%warning/%fatal.
// It owns the order in which NASM does things to a line — parameters, then directives, then
// single-line macros, then the multi-line macro call — because that order decides what
// every tricky source means, and it keeps where each output line came from for errors and
// for a NASM-style listing.
//
// Output is one PreprocessedLine per source line read (directives, definitions and skipped
// lines included, with empty text: the listing shows them) plus one per line a macro or
// %rep expansion produces. Expansion is iterative (an explicit frame stack), every
// repetition is bounded, and definitions are stored pre-tokenized, so the cost is linear in
// the size of the output; a line that mentions no macro is passed through untouched.
//
// Deliberate differences from nasm: where nasm only warns and passes a line through (a
// macro called with a parameter count it does not take, %else after %else, an unknown
// %directive, a negative %rep count aside) we stop with an error, and a file already on the
// %include stack may not be included again. Not supported (an error says so): the context
// stack (%push/%pop/%$local), %[...] and %!env, %+1/%-1 condition-code parameters, %local,
// %arg, %use, %strcat/%substr, smacro parameter flags (= & !). nasm's standard macros
// (BITS, SECTION, ALIGN, STRUC...) are not predefined: the assembler takes them as
// directives itself. Two nasm 2.16.01 bugs are not reproduced: `%ifidn a , b` (a space before
// the comma) is never true there, and after `%define g f`, `g(1)` stops all further macro
// expansion on the rest of that line.
//
// As in nasm (and unlike C): multi-line macro parameters split at every comma — only braces
// `{a, b}` and strings protect one, not parentheses or brackets; single-line macro arguments
// respect parentheses and braces. Finding an %include file is the SourceProvider's job
// (nasm 2.16 itself looks in the working folder and the -I folders).

import { AsmError } from './diagnostics';
import { collectSymbolNodes, evaluate, parseExpression } from './expr';
import { tokenizeLine, tokenSource, tokensToText, type Token } from './lexer';

export interface SourceProvider {
  /** Resolve an %include name as NASM does: the including file's folder, then each -I dir, then the working folder. Returns undefined if not found. */
  resolveInclude(name: string, includingFile: string): { path: string; text: string } | undefined;
}

export interface PreprocessedLine {
  /** The line after macro expansion, ready for the assembler; '' for lines that carry nothing for it (directives, definitions, skipped branches, a macro call itself). */
  text: string;
  /** The file and line being read at file level: the line itself, or the line whose macro call or %rep produced this one. */
  file: string;
  line: number;
  /** 0 for a line read from a file; n > 0 inside n nested macro/%rep expansions (NASM's listing shows `<n>`). */
  macroDepth: number;
  /** The line as written, for listings: a source line, or a macro/%rep body line before its parameters are substituted. */
  source: string;
  /** For a line produced by an expansion: the macro (or '%rep') and where this body line is written. */
  origin?: { name: string; file: string; line: number };
}

export interface PreprocessOptions {
  /** -D NAME=VAL (value '' for -D NAME) */
  defines?: ReadonlyArray<readonly [name: string, value: string]>;
  provider?: SourceProvider;
  /** How deep %include may nest (default 32). */
  maxIncludeDepth?: number;
  /** Receives %warning messages and the warnings nasm would print (negative %rep count...). */
  onWarning?: (warning: AsmError) => void;
  /** Refuse to produce more lines than this (default 5,000,000): runaway %rep nesting stops. */
  maxLines?: number;
}

interface Loc {
  file: string;
  line: number;
}

interface BodyLine {
  text: string;
  file: string;
  line: number;
  /** Tokenized on first expansion and kept: a %rep 100000 tokenizes its body once. */
  tokens?: Token[];
}

interface SMacro {
  name: string;
  caseless: boolean;
  /** null: no parameter list (`%define X 1`); otherwise the parameter names. */
  params: string[] | null;
  greedy: boolean;
  body: Token[];
  /** Expansions of this macro in progress on the current line: it is not expanded inside itself. */
  busy: number;
}

interface MMacro {
  name: string;
  caseless: boolean;
  min: number;
  max: number;
  plus: boolean;
  defaults: Token[][];
  body: BodyLine[];
  busy: number;
  /** 0 for %macro (a macro is not expanded inside its own expansion); > 0 for %rmacro. */
  maxDepth: number;
}

interface Invocation {
  def: MMacro;
  invokedAs: string;
  params: Token[][];
  rotate: number;
  unique: number;
}

type CondState = 'true' | 'false' | 'done' | 'never';
interface Cond {
  state: CondState;
  sawElse: boolean;
  directive: string;
  at: Loc;
}

interface FileFrame {
  kind: 'file';
  file: string;
  lines: string[];
  next: number;
  /** Line number of the line being processed. */
  current: number;
  conds: Cond[];
}

interface ExpansionFrame {
  kind: 'macro' | 'rep';
  name: string;
  body: BodyLine[];
  next: number;
  conds: Cond[];
  inv: Invocation | null;
  def: MMacro | null;
  repLeft: number;
  /** Where the macro was called or the %rep written (for error messages). */
  callSite: Loc;
  /** The body line being processed (origin of the lines it produces). */
  current: BodyLine | null;
}

type Frame = FileFrame | ExpansionFrame;

interface Collecting {
  kind: 'macro' | 'rep';
  frame: Frame;
  depth: number;
  body: BodyLine[];
  start: Loc;
  directive: string;
  /** The macro's name (for %macro), for the "unterminated" message. */
  name: string;
  finish: (body: BodyLine[]) => void;
}

interface RawLine {
  text: string;
  loc: Loc;
  body: BodyLine | null;
}

interface EndMark {
  end: SMacro;
}
type Item = Token | EndMark;

const DEFAULT_MAX_INCLUDE_DEPTH = 32;
const DEFAULT_MAX_LINES = 5_000_000;
/** nasm's default --limit-rep. */
const MAX_REP = 1_000_000;
/** Bound on one line's single-line macro work: a definition that doubles itself stops here. */
const MAX_LINE_TOKENS = 1_000_000;
const MAX_LINE_EXPANSIONS = 100_000;
const MAX_PASTE_ROUNDS = 1000;
/** nasm's default recursion limit for %rmacro. */
const RMACRO_DEPTH = 10_000;

const DIRECTIVE_RE = /^[ \t]*%([A-Za-z_][A-Za-z0-9_]*)/;
const WORD_RE = /[A-Za-z_.?@\u0080-\uffff][A-Za-z0-9_.?@$#~\u0080-\uffff]*/g;

const MACRO_OPEN = new Set(['macro', 'imacro', 'rmacro', 'irmacro']);
const MACRO_CLOSE = new Set(['endmacro', 'endm']);
const COND_KINDS = [
  '',
  'def',
  'idn',
  'idni',
  'macro',
  'num',
  'id',
  'str',
  'empty',
  'token',
  'ctx',
  'env',
  'usable',
  'using',
  'defalias',
];
const CONDITIONALS = new Set(['else', 'endif']);
for (const k of COND_KINDS) {
  for (const p of ['if', 'ifn', 'elif', 'elifn']) CONDITIONALS.add(p + k);
}
const UNSUPPORTED = new Set([
  'arg',
  'clear',
  'defid',
  'idefid',
  'deftok',
  'ideftok',
  'depend',
  'local',
  'pathsearch',
  'pop',
  'push',
  'repl',
  'stacksize',
  'strcat',
  'substr',
  'unimacro',
  'use',
  'defalias',
  'idefalias',
  'undefalias',
  'aliases',
  'null',
]);
const BUILTINS = new Set(['__FILE__', '__LINE__', '__?FILE?__', '__?LINE?__']);

const isEnd = (x: Item): x is EndMark => 'end' in x;
const isOp = (t: Token | undefined, text: string): boolean =>
  t !== undefined && t.kind === 'op' && t.text === text;
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
const where = (l: Loc): string => `${l.file}:${l.line}`;

function utf8Decode(bytes: readonly number[]): string {
  let s = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    let cp = b;
    let extra = 0;
    if (b >= 0xf0) {
      cp = b & 7;
      extra = 3;
    } else if (b >= 0xe0) {
      cp = b & 15;
      extra = 2;
    } else if (b >= 0xc0) {
      cp = b & 31;
      extra = 1;
    }
    i++;
    for (let k = 0; k < extra && i < bytes.length; k++, i++) cp = (cp << 6) | (bytes[i] & 63);
    s += String.fromCodePoint(cp);
  }
  return s;
}

/** A string literal for `text` that NASM reads back unchanged. */
function quote(text: string): string {
  if (!text.includes("'")) return `'${text}'`;
  if (!text.includes('"')) return `"${text}"`;
  return '`' + text.replace(/[\\`]/g, (c) => '\\' + c) + '`';
}

export function preprocess(
  text: string,
  file: string,
  options: PreprocessOptions,
): PreprocessedLine[] {
  return new Preprocessor(options).run(text, file);
}

class Preprocessor {
  private readonly out: PreprocessedLine[] = [];
  private readonly stack: Frame[] = [];
  /** The file frames of `stack`, innermost last (the bottom one is the main file). */
  private readonly files: FileFrame[] = [];
  /** Errors already told which macro call they happened in. */
  private readonly annotated = new WeakSet<AsmError>();
  private expansionDepth = 0;
  private collecting: Collecting | null = null;
  // Macros by lower-cased name, oldest first. One table for %define and %idefine (and for
  // %macro and %imacro) because nasm looks them up together, newest first: an %idefine Foo
  // after %define foo shadows it.
  private readonly sm = new Map<string, SMacro[]>();
  private readonly mm = new Map<string, MMacro[]>();
  private unique = 0;
  private readonly maxIncludeDepth: number;
  private readonly maxLines: number;

  constructor(private readonly options: PreprocessOptions) {
    this.maxIncludeDepth = options.maxIncludeDepth ?? DEFAULT_MAX_INCLUDE_DEPTH;
    this.maxLines = options.maxLines ?? DEFAULT_MAX_LINES;
  }

  run(text: string, file: string): PreprocessedLine[] {
    for (const [name, value] of this.options.defines ?? []) {
      const loc = { file: '<command line>', line: 1 };
      const body = tokenizeLine(value, loc, { preprocessor: true }).slice(0, -1);
      this.defineSmacro(name, false, null, false, body, loc, 1);
    }
    this.pushFile(file, text);
    while (this.stack.length > 0) {
      const frame = this.stack[this.stack.length - 1];
      const raw = this.nextLine(frame);
      if (raw === null) {
        this.endFrame(frame);
        continue;
      }
      if (frame.kind === 'macro') {
        try {
          this.processLine(raw, frame);
        } catch (e) {
          if (e instanceof AsmError && !this.annotated.has(e)) {
            const site = `invoked at ${where(frame.callSite)}`;
            const err = new AsmError(`${e.message} (in macro '${frame.name}' ${site})`, e.location);
            this.annotated.add(err);
            throw err;
          }
          throw e;
        }
      } else {
        this.processLine(raw, frame);
      }
    }
    return this.out;
  }

  // ---------------------------------------------------------------- errors

  private error(message: string, loc: Loc, column = 1): never {
    throw new AsmError(message, { file: loc.file, line: loc.line, column });
  }

  private warn(message: string, loc: Loc, column = 1): void {
    this.options.onWarning?.(new AsmError(message, { file: loc.file, line: loc.line, column }));
  }

  // ---------------------------------------------------------------- frames and lines

  private pushFile(file: string, text: string): void {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const frame: FileFrame = { kind: 'file', file, lines, next: 0, current: 0, conds: [] };
    this.stack.push(frame);
    this.files.push(frame);
  }

  private pushExpansion(frame: ExpansionFrame): void {
    this.stack.push(frame);
    this.expansionDepth++;
    if (frame.def) frame.def.busy++;
  }

  private popFrame(): void {
    const f = this.stack.pop();
    if (f === undefined) return;
    if (f.kind === 'file') {
      this.files.pop();
    } else {
      this.expansionDepth--;
      if (f.def) f.def.busy--;
    }
  }

  private nextLine(frame: Frame): RawLine | null {
    if (frame.kind === 'file') {
      const { lines } = frame;
      if (frame.next >= lines.length) return null;
      const first = frame.next;
      let text = stripCR(lines[frame.next++]);
      // A backslash ending the line joins the next one to it (before anything else).
      while (text.endsWith('\\')) {
        text = text.slice(0, -1);
        if (frame.next >= lines.length) break;
        text += stripCR(lines[frame.next++]);
      }
      frame.current = first + 1;
      return { text, loc: { file: frame.file, line: first + 1 }, body: null };
    }
    if (frame.next >= frame.body.length) {
      if (frame.kind !== 'rep' || frame.repLeft <= 1 || frame.body.length === 0) return null;
      this.checkCondsClosed(frame);
      frame.repLeft--;
      frame.next = 0;
    }
    const body = frame.body[frame.next++];
    frame.current = body;
    return { text: body.text, loc: { file: body.file, line: body.line }, body };
  }

  private checkCondsClosed(frame: Frame): void {
    const open = frame.conds[frame.conds.length - 1];
    if (open === undefined) return;
    const what =
      frame.kind === 'file'
        ? 'end of file'
        : `end of ${frame.name === '%rep' ? '%rep' : `macro '${frame.name}'`}`;
    const at = frame.kind === 'file' ? this.eofLoc(frame) : open.at;
    this.error(`unterminated %${open.directive} (started at ${where(open.at)}) at ${what}`, at);
  }

  private eofLoc(frame: FileFrame): Loc {
    return { file: frame.file, line: frame.lines.length + 1 };
  }

  private endFrame(frame: Frame): void {
    const c = this.collecting;
    if (c && c.frame === frame) {
      const what = c.kind === 'macro' ? `%${c.directive} '${c.name}'` : `%${c.directive}`;
      const at = frame.kind === 'file' ? this.eofLoc(frame) : c.start;
      this.error(`unterminated ${what} (started at ${where(c.start)})`, at);
    }
    this.checkCondsClosed(frame);
    this.popFrame();
  }

  private fileFrame(): FileFrame {
    return this.files[this.files.length - 1];
  }

  private emit(text: string, source: string): void {
    if (this.out.length >= this.maxLines) {
      const ff = this.fileFrame();
      this.error(
        `preprocessing produced more than ${this.maxLines} lines (runaway %rep or macro?)`,
        { file: ff.file, line: ff.current },
      );
    }
    const ff = this.fileFrame();
    const line: PreprocessedLine = {
      text,
      file: ff.file,
      line: ff.current,
      macroDepth: this.expansionDepth,
      source,
    };
    const top = this.stack[this.stack.length - 1];
    if (top.kind !== 'file' && top.current) {
      line.origin = { name: top.name, file: top.current.file, line: top.current.line };
    }
    this.out.push(line);
  }

  /** The macro call whose parameters a line of the top frame sees (a %rep inherits its macro's). */
  private currentInv(): Invocation | null {
    const top = this.stack[this.stack.length - 1];
    return top.kind === 'file' ? null : top.inv;
  }

  // ---------------------------------------------------------------- the per-line pipeline

  private processLine(raw: RawLine, frame: Frame): void {
    const { text, loc } = raw;

    // Inside a %macro or %rep definition every line is stored as written.
    const c = this.collecting;
    if (c) {
      const m = DIRECTIVE_RE.exec(text);
      const d = m ? m[1].toLowerCase() : '';
      let done = false;
      if (c.kind === 'macro') {
        if (MACRO_OPEN.has(d)) c.depth++;
        else if (MACRO_CLOSE.has(d)) done = --c.depth === 0;
      } else if (d === 'rep') c.depth++;
      else if (d === 'endrep') done = --c.depth === 0;
      this.emit('', text);
      if (done) {
        this.collecting = null;
        c.finish(c.body);
      } else {
        c.body.push({ text, file: loc.file, line: loc.line });
      }
      return;
    }

    // In a false %if branch only the conditional directives are looked at.
    const conds = frame.conds;
    const top = conds[conds.length - 1];
    if (top !== undefined && top.state !== 'true') {
      const m = DIRECTIVE_RE.exec(text);
      const d = m ? m[1].toLowerCase() : '';
      this.emit('', text);
      if (CONDITIONALS.has(d)) this.conditional(d, () => this.lineTokens(raw), loc, frame);
      return;
    }

    // Fast path: nothing in the line can be a macro, a parameter or a directive.
    if (!text.includes('%') && !this.mayMentionMacro(text)) {
      this.emit(text, text);
      return;
    }

    const tokens = this.lineTokens(raw);
    // Parameter substitution makes new tokens (a body line's own are cached on it).
    const substituted = raw.body !== null && tokens !== raw.body.tokens;
    const first = tokens[0];
    if (first.kind === 'pp' && /^%[A-Za-z_]/.test(first.text)) {
      const d = first.text.slice(1).toLowerCase();
      this.emit('', text);
      this.directive(d, tokens, loc, frame);
      return;
    }

    const expanded = this.expandSmacros(tokens, loc);
    const call = this.findMacroCall(expanded.tokens, loc);
    if (call) {
      const label = call.nameIndex > 0 ? this.labelText(expanded.tokens, call.nameIndex) : '';
      this.emit(label, text);
      this.pushExpansion({
        kind: 'macro',
        name: call.inv.def.name,
        body: call.inv.def.body,
        next: 0,
        conds: [],
        inv: call.inv,
        def: call.inv.def,
        repLeft: 0,
        callSite: loc,
        current: null,
      });
      return;
    }
    this.checkLeftovers(expanded.tokens, loc);
    const changed = expanded.changed || substituted;
    this.emit(changed ? tokensToText(expanded.tokens) : text, text);
  }

  /** `label:` for `label: macro args` (nasm emits the label as a line of its own). */
  private labelText(tokens: Token[], nameIndex: number): string {
    const t = tokensToText(tokens, 0, nameIndex);
    return isOp(tokens[nameIndex - 1], ':') ? t : t + ':';
  }

  private mayMentionMacro(text: string): boolean {
    if (this.sm.size === 0 && this.mm.size === 0 && !text.includes('__')) return false;
    WORD_RE.lastIndex = 0;
    for (let m = WORD_RE.exec(text); m !== null; m = WORD_RE.exec(text)) {
      const w = m[0];
      const l = w.toLowerCase();
      if (this.sm.has(l) || this.mm.has(l) || BUILTINS.has(w)) return true;
    }
    return false;
  }

  /** The line's tokens with macro parameters substituted (the first thing NASM does). */
  private lineTokens(raw: RawLine): Token[] {
    let tokens: Token[];
    if (raw.body) {
      tokens = raw.body.tokens ??= tokenizeLine(raw.text, raw.loc, { preprocessor: true });
    } else {
      tokens = tokenizeLine(raw.text, raw.loc, { preprocessor: true });
    }
    return this.substituteParams(tokens, raw.text, raw.loc);
  }

  private substituteParams(tokens: Token[], text: string, loc: Loc): Token[] {
    let any = false;
    for (const t of tokens) {
      if (t.kind === 'pp' && isParamWord(t.text)) {
        any = true;
        break;
      }
    }
    if (!any) return tokens;
    const inv = this.currentInv();
    // The line is rebuilt from its own text with only the parameter words replaced, so its
    // spacing is kept and columns before a substitution still point into the written line.
    const parts: string[] = [];
    let copied = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t.kind === 'eol') break;
      if (t.kind !== 'pp' || !isParamWord(t.text)) continue;
      parts.push(text.slice(copied, t.column - 1));
      copied = t.column - 1 + t.text.length;
      const w = t.text;
      if (/^%[+-]\d/.test(w)) {
        this.error(`condition-code parameters like '${w}' are not supported`, loc, t.column);
      }
      if (!inv) this.error(`'${w}': not in a macro call`, loc, t.column);
      const num = /^%(\d+)$/.exec(w) ?? /^%\{(\d+)\}$/.exec(w);
      if (num) {
        const n = Number(num[1]);
        const count = inv.params.length;
        if (n === 0) parts.push(String(count));
        else if (n <= count) {
          const idx = count > 1 ? (n - 1 + inv.rotate) % count : n - 1;
          parts.push(tokensToText(inv.params[idx]));
        }
      } else if (w.startsWith('%%')) {
        parts.push(`..@${inv.unique}.${w.slice(2)}`);
      } else if (w === '%?') {
        parts.push(inv.invokedAs);
      } else if (w === '%??') {
        parts.push(inv.def.name);
      } else {
        this.error(`'${w}' is not supported (only %{N} with a number)`, loc, t.column);
      }
    }
    const last = tokens[tokens.length - 2];
    if (last !== undefined)
      parts.push(text.slice(copied, last.column - 1 + tokenSource(last).length));
    // Re-tokenizing joins a parameter to what it touches (`foo%1` is one identifier), as NASM.
    return tokenizeLine(parts.join(''), loc, { preprocessor: true });
  }

  private checkLeftovers(tokens: Token[], loc: Loc): void {
    for (const t of tokens) {
      if (t.kind !== 'pp') continue;
      const w = t.text;
      let msg: string;
      if (w.startsWith('%$')) msg = `context-local names like '${w}' are not supported`;
      else if (w.startsWith('%[')) msg = `'%[...]' indirection is not supported`;
      else if (w.startsWith('%!')) msg = `environment variables like '${w}' are not supported`;
      else if (/^%[A-Za-z_]/.test(w)) {
        msg = `unexpected '${w}': a preprocessor directive must start the line`;
      } else msg = `unexpected '${w}'`;
      this.error(msg, loc, t.column);
    }
  }

  // ---------------------------------------------------------------- single-line macros

  /** The definitions `name` would use, newest first (a %define matches exactly, an %idefine in any case). */
  private smacroDefs(name: string): SMacro[] | undefined {
    const list = this.sm.get(name.toLowerCase());
    if (list === undefined) return undefined;
    const found: SMacro[] = [];
    for (let i = list.length - 1; i >= 0; i--) {
      const d = list[i];
      if (d.caseless || d.name === name) found.push(d);
    }
    return found.length > 0 ? found : undefined;
  }

  private isSmacroDefined(name: string): boolean {
    return this.smacroDefs(name) !== undefined || BUILTINS.has(name);
  }

  private defineSmacro(
    name: string,
    caseless: boolean,
    params: string[] | null,
    greedy: boolean,
    body: Token[],
    loc: Loc,
    column: number,
  ): void {
    const key = name.toLowerCase();
    const list = this.sm.get(key) ?? [];
    const def: SMacro = { name, caseless, params, greedy, body, busy: 0 };
    // As nasm 2.16: a definition replaces an earlier one of the same case-sensitivity and
    // name (exact, or any case for %idefine) and number of parameters, and becomes the
    // newest; one of the other sensitivity just shadows it. Same-sensitivity definitions
    // with and without parameters cannot coexist.
    const collides = (d: SMacro): boolean =>
      d.caseless === caseless && (caseless || d.name === name);
    if (list.some((d) => collides(d) && (d.params === null) !== (params === null))) {
      this.error(
        `single-line macro '${name}' defined both with and without parameters`,
        loc,
        column,
      );
    }
    const same = list.findIndex(
      (d) => collides(d) && (d.params?.length ?? -1) === (params?.length ?? -1),
    );
    if (same >= 0) list.splice(same, 1);
    list.push(def);
    this.sm.set(key, list);
  }

  private undefSmacro(name: string): void {
    const key = name.toLowerCase();
    const list = this.sm.get(key);
    if (list === undefined) return;
    const kept = list.filter((d) => !(d.caseless || d.name === name));
    if (kept.length > 0) this.sm.set(key, kept);
    else this.sm.delete(key);
  }

  /**
   * Expand single-line macros over a line (NASM's expand_smacro): a macro's expansion is
   * rescanned together with the rest of the line — so `%define g f` then `g(1)` calls f —
   * but a macro is not expanded again inside its own expansion (an end mark closes it).
   * Arguments are substituted as written and expanded on the rescan, as NASM does (so
   * `f(f(1))` leaves the inner f alone). `%+` pastes its neighbours afterwards; if it
   * pasted anything the line is scanned again.
   */
  private expandSmacros(tokens: Token[], loc: Loc): { tokens: Token[]; changed: boolean } {
    const eol = tokens[tokens.length - 1];
    let needed = false;
    for (const t of tokens) {
      if (
        (t.kind === 'ident' && !t.escaped && (this.smacroDefs(t.text) || BUILTINS.has(t.text))) ||
        (t.kind === 'pp' && t.text === '%+')
      ) {
        needed = true;
        break;
      }
    }
    if (!needed) return { tokens, changed: false };

    let work = tokens.slice(0, -1);
    let changed = false;
    for (let round = 0; ; round++) {
      if (round > MAX_PASTE_ROUNDS) this.error('too many %+ pastes on one line', loc);
      const out: Token[] = [];
      const pending: Item[] = work.slice().reverse();
      let expanded = false;
      let count = 0;
      while (pending.length > 0) {
        const item = pending.pop() as Item;
        if (isEnd(item)) {
          item.end.busy--;
          continue;
        }
        if (item.kind === 'ident' && !item.escaped) {
          const r = this.expandOne(item, pending, loc);
          if (r) {
            expanded = true;
            changed = true;
            if (
              ++count > MAX_LINE_EXPANSIONS ||
              pending.length + r.tokens.length > MAX_LINE_TOKENS
            ) {
              this.clearBusy(pending);
              this.error(
                `single-line macro expansion too large at '${item.text}' (recursive definition?)`,
                loc,
                item.column,
              );
            }
            if (r.def) {
              r.def.busy++;
              pending.push({ end: r.def });
            }
            for (let k = r.tokens.length - 1; k >= 0; k--) pending.push(r.tokens[k]);
            continue;
          }
        }
        out.push(item);
      }
      if (!out.some((t) => t.kind === 'pp' && t.text === '%+')) {
        out.push(eol);
        return { tokens: out, changed };
      }
      work = this.paste(out, loc);
      changed = true;
      if (!expanded) {
        work.push(eol);
        return { tokens: work, changed };
      }
    }
  }

  private clearBusy(pending: Item[]): void {
    for (const it of pending) if (isEnd(it)) it.end.busy--;
  }

  private expandOne(
    nameTok: Token,
    pending: Item[],
    loc: Loc,
  ): { tokens: Token[]; def: SMacro | null } | null {
    const name = nameTok.text;
    const defs = this.smacroDefs(name);
    if (!defs) {
      if (!BUILTINS.has(name)) return null;
      const base = { column: nameTok.column, spaceBefore: nameTok.spaceBefore };
      if (name.includes('LINE')) {
        return {
          tokens: [{ kind: 'number', text: String(loc.line), value: BigInt(loc.line), ...base }],
          def: null,
        };
      }
      const text = quote(loc.file);
      return {
        tokens: tokenizeLine(text, loc)
          .slice(0, -1)
          .map((t) => ({ ...t, ...base })),
        def: null,
      };
    }
    // The newest definition decides whether this is a call with arguments (nasm).
    const plain = defs[0].params === null ? defs[0] : undefined;
    if (plain) {
      if (plain.busy > 0) return null;
      return { tokens: this.instantiate(plain, nameTok, null), def: plain };
    }
    const call = scanArgs(pending);
    if (call === null) return null;
    if (call === 'unterminated') {
      this.clearBusy(pending);
      this.error(
        `single-line macro '${name}': missing ')' after its arguments`,
        loc,
        nameTok.column,
      );
    }
    let args = call.args;
    let def = defs.find(
      (d) =>
        d.params !== null &&
        (d.params.length === args.length || (d.greedy && args.length >= d.params.length)),
    );
    if (!def && args.length === 1 && args[0].length === 0) {
      // `f()` is a call with no arguments when f takes none.
      def = defs.find((d) => d.params !== null && d.params.length === 0);
      if (def) args = [];
    }
    if (!def) {
      this.clearBusy(pending);
      this.error(
        `single-line macro '${name}' exists, but not taking ${plural(args.length, 'parameter')}`,
        loc,
        nameTok.column,
      );
    }
    if (def.busy > 0) return null;
    for (let k = pending.length - 1; k >= call.stop; k--) {
      const it = pending[k];
      if (isEnd(it)) it.end.busy--;
    }
    pending.length = call.stop;
    return { tokens: this.instantiate(def, nameTok, args), def };
  }

  private instantiate(def: SMacro, nameTok: Token, args: Token[][] | null): Token[] {
    const out: Token[] = [];
    const params = def.params;
    if (params && args && def.greedy && args.length > params.length) {
      const last: Token[] = [];
      for (let k = params.length - 1; k < args.length; k++) {
        if (k > params.length - 1) {
          last.push({ kind: 'op', text: ',', column: nameTok.column, spaceBefore: false });
        }
        last.push(...args[k]);
      }
      args = [...args.slice(0, params.length - 1), last];
    }
    for (const bt of def.body) {
      if (params && args && bt.kind === 'ident' && !bt.escaped) {
        const pi = params.indexOf(bt.text);
        if (pi >= 0) {
          const a = args[pi];
          for (let k = 0; k < a.length; k++) {
            out.push(k === 0 ? { ...a[k], spaceBefore: bt.spaceBefore } : a[k]);
          }
          continue;
        }
      }
      out.push({ ...bt, column: nameTok.column });
    }
    if (out.length > 0) out[0] = { ...out[0], spaceBefore: nameTok.spaceBefore };
    return out;
  }

  /** `a %+ b` → `ab`: the texts joined and read again as tokens. */
  private paste(tokens: Token[], loc: Loc): Token[] {
    const out: Token[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!(t.kind === 'pp' && t.text === '%+')) {
        out.push(t);
        continue;
      }
      const prev = out.pop();
      const next = tokens[i + 1];
      if (prev === undefined || next === undefined || (next.kind === 'pp' && next.text === '%+')) {
        if (prev) out.push(prev);
        continue;
      }
      i++;
      const merged = tokenizeLine(tokenSource(prev) + tokenSource(next), loc, {
        preprocessor: true,
      }).slice(0, -1);
      for (let k = 0; k < merged.length; k++) {
        out.push({
          ...merged[k],
          column: prev.column,
          spaceBefore: k === 0 ? prev.spaceBefore : merged[k].spaceBefore,
        });
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- multi-line macros

  /** The multi-line macros `name` may call, oldest first (the caller tries newest first). */
  private mmacroDefs(name: string): MMacro[] {
    const list = this.mm.get(name.toLowerCase());
    if (list === undefined) return [];
    return list.filter((d) => d.caseless || d.name === name);
  }

  /**
   * Is this (macro-expanded) line a multi-line macro call — `name params` or, as nasm
   * reads it, `label[:] name params`? Returns the invocation, or null for an ordinary
   * line (also when the macro is already being expanded: `push` inside a `push` macro is
   * the instruction).
   */
  private findMacroCall(tokens: Token[], loc: Loc): { inv: Invocation; nameIndex: number } | null {
    const isName = (t: Token | undefined): t is Token =>
      t !== undefined && t.kind === 'ident' && !t.escaped;
    const t0 = tokens[0];
    if (!isName(t0)) return null;
    let nameIndex = 0;
    let defs = this.mmacroDefs(t0.text);
    if (defs.length === 0) {
      nameIndex = isOp(tokens[1], ':') ? 2 : 1;
      const tn = tokens[nameIndex];
      if (!isName(tn)) return null;
      defs = this.mmacroDefs(tn.text);
      if (defs.length === 0) return null;
    }
    const nameTok = tokens[nameIndex];
    const split = splitMacroParams(tokens, nameIndex + 1, tokens.length - 1, (m, c) =>
      this.error(m, loc, c),
    );
    let n = split.params.length;
    const pick = (count: number): MMacro | undefined => {
      for (let k = defs.length - 1; k >= 0; k--) {
        const d = defs[k];
        if (d.min <= count && (d.plus || count <= d.max)) return d;
      }
      return undefined;
    };
    let def = pick(n);
    if (!def && split.trailingComma && pick(n - 1)) {
      // nasm's legacy rule: a trailing comma does not make an empty last parameter.
      n--;
      def = pick(n);
    }
    if (!def) {
      // After a label (`dd name`, nasm's label form) a count no definition takes means the
      // line is not a call at all; a macro name starting the line must be called right.
      if (nameIndex > 0) return null;
      this.error(
        `multi-line macro '${nameTok.text}' exists, but not taking ${plural(n, 'parameter')}`,
        loc,
        nameTok.column,
      );
    }
    if (def.busy > def.maxDepth) return null;

    let params = split.params.slice(0, n).map((p) => tokens.slice(p.start, p.end));
    if (def.plus && n > def.max) {
      // The greedy last parameter takes the rest of the line, commas and all.
      if (def.max === 0) params = [];
      else {
        const from = split.params[def.max - 1].outerStart;
        const rest = tokens.slice(from, split.params[n - 1].outerEnd);
        params = [...params.slice(0, def.max - 1), stripBraces(rest)];
      }
    }
    const filled = def.min + def.defaults.length;
    for (let k = params.length; k < filled; k++) params.push(def.defaults[k - def.min]);
    return {
      inv: { def, invokedAs: nameTok.text, params, rotate: 0, unique: this.unique++ },
      nameIndex,
    };
  }

  // ---------------------------------------------------------------- directives

  private directive(d: string, tokens: Token[], loc: Loc, frame: Frame): void {
    const dirTok = tokens[0];
    const col = dirTok.column;
    if (CONDITIONALS.has(d)) {
      this.conditional(d, () => tokens, loc, frame);
      return;
    }
    switch (d) {
      case 'define':
      case 'idefine':
      case 'xdefine':
      case 'ixdefine':
        this.defineDirective(d, tokens, loc);
        return;
      case 'undef': {
        const name = tokens[1];
        if (name.kind !== 'ident' || name.escaped) {
          this.error(`'%undef' expects a macro identifier`, loc, name.column);
        }
        this.undefSmacro(name.text);
        return;
      }
      case 'assign':
      case 'iassign': {
        const name = this.macroName(d, tokens, loc);
        const v = this.constant(d, tokens, 2, loc);
        const body = tokenizeLine(String(v), loc, { preprocessor: true }).slice(0, -1);
        this.defineSmacro(name.text, d === 'iassign', null, false, body, loc, name.column);
        return;
      }
      case 'defstr':
      case 'idefstr': {
        const name = this.macroName(d, tokens, loc);
        const rest = this.expandSmacros(tokens.slice(2), loc).tokens;
        const body = tokenizeLine(quote(tokensToText(rest)), loc).slice(0, -1);
        this.defineSmacro(name.text, d === 'idefstr', null, false, body, loc, name.column);
        return;
      }
      case 'strlen': {
        const name = this.macroName(d, tokens, loc);
        const rest = this.expandSmacros(tokens.slice(2), loc).tokens;
        if (rest[0].kind !== 'string' || rest[1].kind !== 'eol') {
          this.error(`'%strlen' expects a string after the macro name`, loc, rest[0].column);
        }
        const n = String(rest[0].bytes?.length ?? 0);
        const body = tokenizeLine(n, loc).slice(0, -1);
        this.defineSmacro(name.text, false, null, false, body, loc, name.column);
        return;
      }
      case 'macro':
      case 'imacro':
      case 'rmacro':
      case 'irmacro':
        this.macroDirective(d, tokens, loc, frame);
        return;
      case 'endmacro':
      case 'endm':
        this.error(`'%${d}': not defining a macro`, loc, col);
        return;
      case 'unmacro': {
        const spec = this.parseMacroSpec(d, tokens, loc);
        const key = spec.name.toLowerCase();
        const list = this.mm.get(key) ?? [];
        const k = list.findIndex(
          (m) =>
            (m.caseless || m.name === spec.name) &&
            m.min === spec.min &&
            m.max === spec.max &&
            m.plus === spec.plus,
        );
        if (k >= 0) list.splice(k, 1);
        if (list.length === 0) this.mm.delete(key);
        return;
      }
      case 'rep': {
        let count = this.constant(d, tokens, 1, loc);
        if (count < 0n) {
          this.warn(`negative %rep count: ${count}`, loc, col);
          count = 0n;
        }
        if (count > BigInt(MAX_REP)) {
          this.error(`%rep count ${count} exceeds the limit of ${MAX_REP}`, loc, col);
        }
        const inv = this.currentInv();
        const reps = Number(count);
        this.startCollecting('rep', 'rep', '', loc, frame, (body) => {
          if (reps === 0 || body.length === 0) return;
          this.pushExpansion({
            kind: 'rep',
            name: '%rep',
            body,
            next: 0,
            conds: [],
            inv,
            def: null,
            repLeft: reps,
            callSite: loc,
            current: null,
          });
        });
        return;
      }
      case 'endrep':
        this.error(`'%endrep': no matching '%rep'`, loc, col);
        return;
      case 'exitrep':
      case 'exitmacro':
        this.exitExpansion(d === 'exitrep' ? 'rep' : 'macro', d, loc, col);
        return;
      case 'rotate': {
        const inv = this.currentInv();
        if (!inv) this.error(`'%rotate' invoked outside a macro call`, loc, col);
        const n = this.constant(d, tokens, 1, loc);
        const count = inv.params.length;
        if (count > 0)
          inv.rotate = Number(
            (((BigInt(inv.rotate) + n) % BigInt(count)) + BigInt(count)) % BigInt(count),
          );
        return;
      }
      case 'include':
        this.includeDirective(tokens, loc);
        return;
      case 'error':
      case 'fatal':
      case 'warning': {
        const rest = this.expandSmacros(tokens.slice(1), loc).tokens;
        const msg =
          rest.length === 2 && rest[0].kind === 'string'
            ? utf8Decode(rest[0].bytes ?? [])
            : tokensToText(rest);
        if (d === 'warning') this.warn(msg, loc, col);
        else this.error(msg, loc, col);
        return;
      }
      case 'line':
      case 'pragma':
        // %line (from `nasm -E` output) and %pragma change nothing we model.
        return;
      default:
        if (UNSUPPORTED.has(d)) {
          this.error(`'%${d}' is not supported by this assembler`, loc, col);
        }
        this.error(`unknown preprocessor directive '%${d}'`, loc, col);
    }
  }

  private macroName(d: string, tokens: Token[], loc: Loc): Token {
    const name = tokens[1];
    if (name.kind !== 'ident' || name.escaped) {
      this.error(`'%${d}' expects a macro identifier`, loc, name.column);
    }
    return name;
  }

  private defineDirective(d: string, tokens: Token[], loc: Loc): void {
    const name = this.macroName(d, tokens, loc);
    let i = 2;
    let params: string[] | null = null;
    let greedy = false;
    // `%define f(a,b) ...` takes parameters; `%define f (a,b)` (with a space) does not.
    if (isOp(tokens[2], '(') && !tokens[2].spaceBefore) {
      params = [];
      i = 3;
      if (isOp(tokens[i], ')')) {
        i++;
      } else {
        for (;;) {
          const p = tokens[i];
          if (p.kind !== 'ident' || p.escaped) {
            this.error(
              p.kind === 'eol'
                ? `')' expected to terminate the parameter list of '${name.text}'`
                : `parameter name expected in the parameter list of '${name.text}', found '${p.text}'`,
              loc,
              p.column,
            );
          }
          params.push(p.text);
          i++;
          if (isOp(tokens[i], '+')) {
            greedy = true;
            i++;
          }
          if (isOp(tokens[i], ')')) {
            i++;
            break;
          }
          if (!isOp(tokens[i], ',') || greedy) {
            this.error(
              greedy
                ? `a greedy parameter must be the last one`
                : `',' or ')' expected in the parameter list of '${name.text}'`,
              loc,
              tokens[i].column,
            );
          }
          i++;
        }
      }
    }
    let body = tokens.slice(i, -1);
    if (d === 'xdefine' || d === 'ixdefine') {
      body = this.expandSmacros(tokens.slice(i), loc).tokens.slice(0, -1);
    }
    const caseless = d === 'idefine' || d === 'ixdefine';
    this.defineSmacro(name.text, caseless, params, greedy, body, loc, name.column);
  }

  private parseMacroSpec(
    d: string,
    tokens: Token[],
    loc: Loc,
    countOptional = false,
  ): { name: string; min: number; max: number; plus: boolean; next: number; rest: Token[] } {
    const nameTok = tokens[1];
    if (nameTok.kind !== 'ident' || nameTok.escaped) {
      this.error(`'%${d}' expects a macro name`, loc, nameTok.column);
    }
    const rest = this.expandSmacros(tokens.slice(2), loc).tokens;
    const count = (t: Token, what: string): number => {
      if (t.kind !== 'number' || t.value === undefined || t.value < 0n) {
        this.error(`'%${d}' expects ${what}`, loc, t.column);
      }
      return Number(t.value);
    };
    if (countOptional && rest[0].kind === 'eol') {
      return { name: nameTok.text, min: 0, max: Infinity, plus: false, next: 0, rest };
    }
    let i = 0;
    const min = count(rest[i++], 'a parameter count');
    let max = min;
    if (isOp(rest[i], '-')) {
      i++;
      if (isOp(rest[i], '*')) {
        max = Infinity;
        i++;
      } else {
        max = count(rest[i++], `a parameter count after '-'`);
        if (min > max)
          this.error('minimum parameter count exceeds maximum', loc, rest[i - 1].column);
      }
    }
    let plus = false;
    if (isOp(rest[i], '+')) {
      plus = true;
      i++;
    }
    if (rest[i].kind === 'ident' && rest[i].text.toLowerCase() === '.nolist') i++;
    return { name: nameTok.text, min, max, plus, next: i, rest };
  }

  private macroDirective(d: string, tokens: Token[], loc: Loc, frame: Frame): void {
    const spec = this.parseMacroSpec(d, tokens, loc);
    const split = splitMacroParams(spec.rest, spec.next, spec.rest.length - 1, (m, c) =>
      this.error(m, loc, c),
    );
    const n = split.trailingComma ? split.params.length - 1 : split.params.length;
    const defaults = split.params.slice(0, n).map((p) => spec.rest.slice(p.start, p.end));
    const caseless = d === 'imacro' || d === 'irmacro';
    const recursive = d === 'rmacro' || d === 'irmacro';
    this.startCollecting('macro', d, spec.name, loc, frame, (body) => {
      const def: MMacro = {
        name: spec.name,
        caseless,
        min: spec.min,
        max: spec.max,
        plus: spec.plus,
        defaults,
        body,
        busy: 0,
        maxDepth: recursive ? RMACRO_DEPTH : 0,
      };
      const key = spec.name.toLowerCase();
      const list = this.mm.get(key) ?? [];
      list.push(def);
      this.mm.set(key, list);
    });
  }

  private startCollecting(
    kind: 'macro' | 'rep',
    directive: string,
    name: string,
    loc: Loc,
    frame: Frame,
    finish: (body: BodyLine[]) => void,
  ): void {
    this.collecting = { kind, frame, depth: 1, body: [], start: loc, directive, name, finish };
  }

  private exitExpansion(kind: 'rep' | 'macro', d: string, loc: Loc, col: number): void {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const f = this.stack[i];
      if (f.kind === 'file') break;
      if (f.kind === kind) {
        while (this.stack.length > i) this.popFrame();
        return;
      }
    }
    this.error(
      kind === 'rep' ? `'%${d}' not within a %rep block` : `'%${d}' not within a macro`,
      loc,
      col,
    );
  }

  private includeDirective(tokens: Token[], loc: Loc): void {
    const rest = this.expandSmacros(tokens.slice(1), loc).tokens;
    const t = rest[0];
    if (t.kind !== 'string') {
      this.error(`'%include' expects a file name in quotes`, loc, t.column);
    }
    const name = utf8Decode(t.bytes ?? []);
    const ff = this.fileFrame();
    const resolved = this.options.provider?.resolveInclude(name, ff.file);
    if (!resolved) this.error(`unable to open include file '${name}'`, loc, t.column);
    const files = this.files;
    if (files.some((f) => f.file === resolved.path)) {
      const chain = [...files.map((f) => f.file), resolved.path].join(' -> ');
      this.error(`recursive %include of '${name}' (${chain})`, loc, t.column);
    }
    if (files.length > this.maxIncludeDepth) {
      this.error(`%include nested more than ${this.maxIncludeDepth} levels deep`, loc, t.column);
    }
    this.pushFile(resolved.path, resolved.text);
  }

  /** Evaluate `tokens[from..]` as a preprocessor constant (macros expanded first). */
  private constant(d: string, tokens: Token[], from: number, loc: Loc): bigint {
    const expanded = this.expandSmacros(tokens.slice(from), loc).tokens;
    if (expanded[0].kind === 'eol') {
      this.error(`'%${d}' expects an expression`, loc, expanded[0].column);
    }
    const { expr, next } = parseExpression(expanded, 0, loc);
    const after = expanded[next];
    if (after.kind !== 'eol') {
      this.error(
        `unexpected '${tokenSource(after)}' after the expression of '%${d}'`,
        loc,
        after.column,
      );
    }
    const v = evaluate(expr, { lookup: () => undefined, loc });
    if (v === undefined) {
      const sym = collectSymbolNodes(expr)[0];
      this.error(`%${d}: symbol '${sym?.name ?? '?'}' is not a constant`, loc, sym?.column ?? 1);
    }
    return v;
  }

  // ---------------------------------------------------------------- conditionals

  private conditional(d: string, getTokens: () => Token[], loc: Loc, frame: Frame): void {
    const conds = frame.conds;
    const top = conds[conds.length - 1];
    if (d.startsWith('if')) {
      if (top !== undefined && top.state !== 'true') {
        conds.push({ state: 'never', sawElse: false, directive: d, at: loc });
        return;
      }
      const v = this.condition(d, getTokens(), loc);
      conds.push({ state: v ? 'true' : 'false', sawElse: false, directive: d, at: loc });
      return;
    }
    const col = (): number => getTokens()[0].column;
    if (top === undefined) this.error(`'%${d}': no matching '%if'`, loc, col());
    if (d === 'endif') {
      conds.pop();
      return;
    }
    if (top.sawElse) {
      this.error(
        `'%${d}' after '%else' (the %${top.directive} is at ${where(top.at)})`,
        loc,
        col(),
      );
    }
    if (d === 'else') {
      top.sawElse = true;
      if (top.state === 'true') top.state = 'done';
      else if (top.state === 'false') top.state = 'true';
      return;
    }
    // %elif...
    if (top.state === 'true') top.state = 'done';
    else if (top.state === 'false' && this.condition(d, getTokens(), loc)) top.state = 'true';
  }

  private condition(d: string, tokens: Token[], loc: Loc): boolean {
    // %if<kind> or %ifn<kind> (%elif likewise); `%ifnum` is the kind num, `%ifnnum` its negation.
    const r = d.startsWith('elif') ? d.slice(4) : d.slice(2);
    const negate = !COND_KINDS.includes(r) && r.startsWith('n');
    const kind = negate ? r.slice(1) : r;
    const v = this.conditionValue(d, kind, tokens, loc);
    return negate ? !v : v;
  }

  private conditionValue(d: string, kind: string, tokens: Token[], loc: Loc): boolean {
    const dirCol = tokens[0].column;
    switch (kind) {
      case '':
        return this.constant(d, tokens, 1, loc) !== 0n;
      case 'def': {
        let any = false;
        let names = 0;
        for (let i = 1; tokens[i].kind !== 'eol'; i++) {
          const t = tokens[i];
          if (isOp(t, ',')) continue;
          if (t.kind !== 'ident' || t.escaped) {
            this.error(`'%${d}' expects macro identifiers`, loc, t.column);
          }
          names++;
          if (this.isSmacroDefined(t.text)) any = true;
        }
        if (names === 0) this.error(`'%${d}' expects macro identifiers`, loc, dirCol);
        return any;
      }
      case 'idn':
      case 'idni': {
        const ex = this.expandSmacros(tokens.slice(1), loc).tokens;
        const comma = ex.findIndex((t) => isOp(t, ','));
        if (comma < 0) this.error(`'%${d}' expects two comma-separated arguments`, loc, dirCol);
        const second = ex.findIndex((t, k) => k > comma && isOp(t, ','));
        if (second >= 0) this.error(`'%${d}': more than one comma on line`, loc, ex[second].column);
        return sameTokens(ex.slice(0, comma), ex.slice(comma + 1, -1), kind === 'idni');
      }
      case 'macro': {
        const spec = this.parseMacroSpec(d, tokens, loc, true);
        return this.mmacroDefs(spec.name).some((m) => m.min <= spec.max && spec.min <= m.max);
      }
      case 'num':
      case 'id':
      case 'str': {
        const ex = this.expandSmacros(tokens.slice(1), loc).tokens;
        let i = 0;
        if (kind === 'num') while (isOp(ex[i], '-') || isOp(ex[i], '+')) i++;
        const want = kind === 'num' ? 'number' : kind === 'id' ? 'ident' : 'string';
        return ex[i].kind === want;
      }
      case 'empty':
        return this.expandSmacros(tokens.slice(1), loc).tokens[0].kind === 'eol';
      case 'token': {
        const ex = this.expandSmacros(tokens.slice(1), loc).tokens;
        return ex.length === 2;
      }
      default:
        return this.error(`'%${d}' is not supported by this assembler`, loc, dirCol);
    }
  }
}

function stripCR(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/** Tokens that name a macro parameter or macro-local thing (replaced before anything else). */
function isParamWord(w: string): boolean {
  const c = w.charCodeAt(1);
  if (c >= 48 && c <= 57) return true; // %0 %1 ... %10
  if (w === '%?' || w === '%??') return true;
  if (c === 37 /* %% */) return w.length > 2;
  if (w[1] === '{') return true;
  return (w[1] === '+' || w[1] === '-') && w.length > 2;
}

/** Token-wise identity for %ifidn: strings compare by contents ('x' is "x"). */
function sameTokens(a: Token[], b: Token[], caseless: boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.kind !== y.kind) return false;
    if (x.kind === 'string') {
      const p = x.bytes ?? [];
      const q = y.bytes ?? [];
      if (p.length !== q.length) return false;
      for (let k = 0; k < p.length; k++) {
        if (p[k] !== q[k] && !(caseless && lowerByte(p[k]) === lowerByte(q[k]))) return false;
      }
    } else {
      const s = tokenSource(x);
      const t = tokenSource(y);
      if (s !== t && !(caseless && s.toLowerCase() === t.toLowerCase())) return false;
    }
  }
  return true;
}

const lowerByte = (b: number): number => (b >= 65 && b <= 90 ? b + 32 : b);

/**
 * The arguments of a function-like single-line macro call, read from the pending stack
 * (top = next token) without consuming it: null when no `(` follows. Commas split at
 * parenthesis depth 0 outside braces; `{...}` around a whole argument is removed.
 */
function scanArgs(pending: Item[]): { args: Token[][]; stop: number } | 'unterminated' | null {
  let j = pending.length - 1;
  while (j >= 0 && isEnd(pending[j])) j--;
  if (j < 0 || !isOp(pending[j] as Token, '(')) return null;
  const args: Token[][] = [[]];
  let depth = 0;
  let brace = 0;
  for (j--; j >= 0; j--) {
    const it = pending[j];
    if (isEnd(it)) continue;
    if (it.kind === 'op') {
      if (it.text === '{') brace++;
      else if (it.text === '}' && brace > 0) brace--;
      else if (brace === 0) {
        if (it.text === '(') depth++;
        else if (it.text === ')') {
          if (depth === 0) return { args: args.map(stripBraces), stop: j };
          depth--;
        } else if (it.text === ',' && depth === 0) {
          args.push([]);
          continue;
        }
      }
    }
    args[args.length - 1].push(it);
  }
  return 'unterminated';
}

/** `{a, b}` → `a, b` when the braces enclose the whole parameter. */
function stripBraces(toks: Token[]): Token[] {
  if (toks.length < 2 || !isOp(toks[0], '{') || !isOp(toks[toks.length - 1], '}')) return toks;
  let depth = 0;
  for (let i = 0; i < toks.length; i++) {
    if (isOp(toks[i], '{')) depth++;
    else if (isOp(toks[i], '}') && --depth === 0 && i !== toks.length - 1) return toks;
  }
  return toks.slice(1, -1);
}

interface ParamRange {
  start: number;
  end: number;
  outerStart: number;
  outerEnd: number;
}

/**
 * Split multi-line macro parameters the way nasm's count_mmac_params does: at every comma —
 * parentheses and brackets do NOT protect commas (nasm: `m (1,2)` has 2 parameters), strings
 * do (they are single tokens) and so do braces around a whole parameter, which are removed.
 */
function splitMacroParams(
  tokens: Token[],
  from: number,
  to: number,
  fail: (message: string, column: number) => never,
): { params: ParamRange[]; trailingComma: boolean } {
  const params: ParamRange[] = [];
  if (from >= to) return { params, trailingComma: false };
  let i = from;
  for (;;) {
    const outerStart = i;
    let start = i;
    let end: number;
    if (isOp(tokens[i], '{')) {
      let depth = 1;
      let j = i + 1;
      for (; j < to && depth > 0; j++) {
        if (isOp(tokens[j], '{')) depth++;
        else if (isOp(tokens[j], '}')) depth--;
      }
      if (depth > 0) fail('expecting closing brace in macro parameter', tokens[i].column);
      start = i + 1;
      end = j - 1;
      i = j;
      if (i < to && !isOp(tokens[i], ',')) {
        fail('braces do not enclose all of macro parameter', tokens[i].column);
      }
    } else {
      while (i < to && !isOp(tokens[i], ',')) i++;
      end = i;
    }
    params.push({ start, end, outerStart, outerEnd: i });
    if (i >= to) return { params, trailingComma: false };
    i++; // the comma
    if (i >= to) {
      params.push({ start: i, end: i, outerStart: i, outerEnd: i });
      return { params, trailingComma: true };
    }
  }
}
