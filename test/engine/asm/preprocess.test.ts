// Preprocessor tests: output compared with the real `nasm -E` (whitespace-normalised, token by
// token) on sources exercising each feature; the line metadata the assembler and listing
// rely on; every error with its message and location; a 10 MB source.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AsmError } from '../../../src-main/engine/asm/diagnostics';
import { tokenizeLine } from '../../../src-main/engine/asm/lexer';
import {
  preprocess,
  type PreprocessOptions,
  type PreprocessedLine,
  type SourceProvider,
} from '../../../src-main/engine/asm/preprocess';

// ------------------------------------------------------------------ helpers

/** A provider over an in-memory file set, resolving like nasm: includer's folder, -I dirs, cwd. */
function memoryProvider(files: Record<string, string>, includeDirs: string[] = []): SourceProvider {
  return {
    resolveInclude(name, includingFile) {
      const candidates = [
        posix.join(posix.dirname(includingFile), name),
        ...includeDirs.map((d) => posix.join(d, name)),
        name,
      ];
      for (const c of candidates) {
        const norm = posix.normalize(c);
        if (norm in files) return { path: norm, text: files[norm] };
      }
      return undefined;
    },
  };
}

function pp(text: string, options: PreprocessOptions = {}, file = 'a.asm'): PreprocessedLine[] {
  return preprocess(text, file, options);
}

/** The assembler-visible lines: non-empty texts. */
function texts(text: string, options: PreprocessOptions = {}): string[] {
  return pp(text, options)
    .map((l) => l.text)
    .filter((t) => t.trim() !== '');
}

function ppError(text: string, options: PreprocessOptions = {}): AsmError {
  try {
    pp(text, options);
  } catch (e) {
    expect(e).toBeInstanceOf(AsmError);
    return e as AsmError;
  }
  throw new Error('expected an AsmError');
}

/** Token texts joined by single spaces: compares lines whatever their spacing or comments. */
function normalize(line: string): string {
  return tokenizeLine(line, { file: 'n', line: 1 }, { preprocessor: true })
    .slice(0, -1)
    .map((t) => (t.kind === 'ident' && t.escaped ? '$' : '') + t.text)
    .join(' ');
}

const haveNasm = spawnSync('nasm', ['-v']).status === 0;
const scratch = haveNasm ? mkdtempSync(join(tmpdir(), 'vmm-pp-')) : '';
afterAll(() => {
  if (scratch && existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
});

interface NasmCase {
  name: string;
  files: Record<string, string>; // 'main.asm' is the one assembled
  includeDirs?: string[];
  defines?: Array<[string, string]>;
}

/** Our output vs `nasm -E`, both normalised, blank lines and %line markers dropped. */
function compareWithNasm(c: NasmCase): void {
  const dir = join(scratch, c.name.replace(/\W+/g, '_'));
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  const args = ['-E'];
  for (const d of c.includeDirs ?? []) args.push(`-I${d}/`);
  for (const [n, v] of c.defines ?? []) args.push(v === '' ? `-D${n}` : `-D${n}=${v}`);
  args.push('main.asm');
  const r = spawnSync('nasm', args, { cwd: dir, encoding: 'utf8' });
  expect(r.stderr, `nasm -E errors for ${c.name}`).not.toMatch(/error|fatal/);
  const theirs = r.stdout
    .split('\n')
    .filter((l) => !l.startsWith('%line'))
    .map(normalize)
    .filter((l) => l !== '');
  const ours = preprocess(c.files['main.asm'], 'main.asm', {
    provider: memoryProvider(c.files, c.includeDirs),
    defines: c.defines ?? [],
  })
    .map((l) => normalize(l.text))
    .filter((l) => l !== '');
  expect(ours).toEqual(theirs);
  expect(ours.length).toBeGreaterThan(0);
}

// ------------------------------------------------------------------ nasm -E comparisons

const NASM_CASES: NasmCase[] = [
  {
    name: 'single-line macros',
    files: {
      'main.asm': `
%define ONE 1
%define TWO (ONE+ONE)
%define f(x) ((x)+1)
%define h(x,y) x*y
%define g f
dd ONE, TWO, f(2), f(f(1)), h((1,2),3), h( 1 , 2 ), g(2)
dd f({1,2})
%define self self+1
dd self
%define a b
%define b a
dd a, b
mov eax, [ebx+TWO*4]  ; expanded inside brackets
db 'ONE', "TWO", \`ONE\`   ; never inside strings
.ONE: jmp .ONE           ; a .local label is a different name
dd $ONE, ONE_, ONEx       ; escaped and longer names are not macros
dd $, $$
%define over(a) a
%define over(a,b) a+b
dd over(1), over(1,2)
%define sp (a,b)
dd sp
%xdefine X ONE
%define ONE 5
dd X, ONE
%define Y ONE
%define ONE 6
dd Y
%undef ONE
dd ONE
%idefine Case 3
dd case, CASE, Case
%define cat(a,b) a %+ b
%define QQ 9
dd cat(Q,Q), cat(1,2)
%assign i 3+4
%assign i i*2
%assign neg -5
dd i, neg, 2-neg
dd __LINE__
`,
    },
  },
  {
    name: 'multi-line macros',
    files: {
      'main.asm': `
%macro m 1-3 7, 8
  dd %1, %2, %3, %0
%%l: jmp %%l
%endmacro
m 1
m 1, 2
m {1, 2}, 3
m (1, 2)
m 'a,b'
%macro gr 1+
  db %1
%endmacro
gr 1, 2, 3
%macro star 1-*
  db %0
%endmacro
star 1, 2, 3, 4, 5
%macro z 1-3
 db %0
%endmacro
z 1
z 1,2
%macro one 1
 db %1
%endmacro
one 5,
%macro two 2
 dd %1 + %2
%endmacro
%macro two 1
 dd %1
%endmacro
two 1
two 1, 2
%define foo bar
%macro bar 0
 db 77
%endmacro
foo
lbl: bar
lbl2 bar
%macro outer 1
  inner %1, %1
  db %?
%endmacro
%macro inner 2
  dd %1 * %2
%%x: db 0
%endmacro
outer 3
outer 4
%macro push 1
 push %1
 push %1
%endmacro
push eax
%imacro Nop2 0
 nop
 nop
%endmacro
NOP2
nop2
%macro pp 1
 dd %1Q, x%1, %1 %+ Q
%endmacro
%define QQ 3
pp Q
%macro ex 1
 db 1
 %if %1
  %exitmacro
 %endif
 db 2
%endmacro
ex 0
ex 1
%macro multipush 1-*
 %rep %0
  push %1
 %rotate 1
 %endrep
%endmacro
multipush eax, ebx, ecx
%macro multipop 1-*
 %rep %0
 %rotate -1
  pop %1
 %endrep
%endmacro
multipop eax, ebx, ecx
%macro def 1
 %define DEFD %1
 %assign SQ %1 * %1
%endmacro
def 7
dd DEFD, SQ
`,
    },
  },
  {
    name: 'rep',
    files: {
      'main.asm': `
%assign i 0
%rep 5
  %assign i i+1
  %if i > 3
    %exitrep
  %endif
  dd i
%endrep
%rep 2
 %rep 2
  nop
 %endrep
 int3
%endrep
%rep 0
 this is never read
%endrep
%macro r 1
 %rep %1
  db %1
 %endrep
%endmacro
r 3
`,
    },
  },
  {
    name: 'conditionals',
    files: {
      'main.asm': `
%define A 1
%if A
 db 1
%elif 1
 db 2
%else
 db 3
%endif
%if 0
 db 4
 %if 1
  db 5
 %endif
 this line is %1 not checked %bogus 'unterminated
%elif A + 1 == 2
 db 6
%else
 db 7
%endif
%ifdef A
 db 8
%endif
%ifndef A
 db 9
%elifdef B
 db 10
%elifndef B
 db 11
%endif
%ifidn foo, foo
 db 12
%endif
%ifidn 'x', "x"
 db 13
%endif
%ifidni FOO, foo
 db 14
%endif
%ifnidn foo, bar
 db 15
%endif
%ifidn foo, FOO
 db 16
%endif
%macro mac 1
%endmacro
%ifmacro mac
 db 17
%endif
%ifnmacro nomac
 db 18
%endif
%ifnum 5
 db 19
%endif
%ifid foo
 db 20
%endif
%ifstr 'x'
 db 21
%endif
%ifnum foo
 db 22
%endif
%ifn 0
 db 23
%endif
%if "a" == "a" && 3 > 2 && (7 // 2) == 3
 db 24
%endif
%if 1
%elif 1/0
%endif
`,
    },
  },
  {
    name: 'include and continuation',
    files: {
      'main.asm': `
%include "a.inc"
mov eax, \\
  CONST
%include 'b.inc'
db "done"
`,
      'a.inc': `%define CONST 42
%include "sub/c.inc"
`,
      // nasm 2.16 searches the working folder and -I folders, not the includer's folder
      'sub/c.inc': `dd CONST ; from c.inc
%include "sub/d.inc"
`,
      'sub/d.inc': `db 'in d'
`,
      'inc/b.inc': `db 'from the -I folder'
`,
    },
    includeDirs: ['inc'],
  },
  {
    name: 'macro corners',
    files: {
      'main.asm': [
        '%macro defmac 1',
        ' %macro %1_twice 1',
        '  db %%1, %%1',
        ' %endmacro',
        '%endmacro',
        'defmac dbl',
        'dbl_twice 7',
        '%macro lab 2',
        'label_%+%1: db %{2}',
        '.%1_end:',
        '%endmacro',
        'lab start, 3',
        '%define X 5',
        '%macro usex 1',
        ' dd %1 * 2',
        '%endmacro',
        'usex X',
        "usex 'a,b;c' ; a comment, with commas",
        '%macro pick 1',
        ' %if %1 == 1',
        '  db 1',
        ' %elif %1 == 2',
        '  db 2',
        ' %elifidn %1, 3',
        '  db 3',
        ' %else',
        '  db 0',
        ' %endif',
        '%endmacro',
        'pick 1',
        'pick 2',
        'pick 3',
        'pick 4',
        '%if 7 %% 2',
        ' db 7',
        '%endif',
        '%assign n -2',
        '%rep n + 4',
        ' db n',
        '%endrep',
        '%rep 2',
        ' %rep 5',
        '  %exitrep',
        ' %endrep',
        ' db 9',
        '%endrep',
        '%define fn(x) x+1',
        '%ifdef fn',
        ' db 10',
        '%endif',
        '\tmov\teax,\tX\t; tabs',
        'mov ebx, X\r',
        '',
      ].join('\n'),
    },
  },
  {
    name: 'case rules, greedy counts, escapes',
    files: {
      'main.asm': `
%define foo 1
%idefine Foo 2
dd foo, FOO, Foo
%undef Foo
dd foo, FOO, Foo
%idefine ab 1
%define AB 2
%idefine aB 3
dd ab, AB, Ab
%idefine q 1
%define Q(x) x
dd q, Q(3)
%macro gr 1+
  db %0, %1
%endmacro
gr 1, 2, 3
%macro g2 2+
  db %0
  db %2
%endmacro
g2 1, 2, 3, 4
%macro mac 2-3
%endmacro
%ifmacro mac 1
db 1
%endif
%ifmacro mac 3-4
db 2
%endif
%ifmacro mac 4
db 3
%endif
%define eax ebx
mov eax, $eax
%define X 1
%ifndef Y
db X
%endif
%idefine ab 1
%define AB 2
dd ab, AB, Ab
`,
    },
  },
  {
    name: 'command-line defines',
    files: {
      'main.asm': `
%ifdef FLAG
 db FLAG + 1
%endif
%ifdef EMPTY
 db 'empty is defined'
%endif
dd VAL * 2
`,
    },
    defines: [
      ['FLAG', '3'],
      ['EMPTY', ''],
      ['VAL', '0x10'],
    ],
  },
];

describe.skipIf(!haveNasm)('agrees with nasm -E', () => {
  for (const c of NASM_CASES) {
    it(c.name, () => compareWithNasm(c));
  }
  it('on the generated kernel-like source', () => {
    compareWithNasm({ name: 'generated', files: { 'main.asm': generatedSource(2000) } });
  });
});

// ------------------------------------------------------------------ behaviour details

describe('output lines', () => {
  it('passes a macro-free line through untouched, comment and spacing included', () => {
    const out = pp("  mov  eax, 1   ; it's fine\n");
    expect(out).toEqual([
      {
        text: "  mov  eax, 1   ; it's fine",
        file: 'a.asm',
        line: 1,
        macroDepth: 0,
        source: "  mov  eax, 1   ; it's fine",
      },
    ]);
  });
  it('emits one line per source line, directives and skipped lines with empty text', () => {
    const src = '%define X 1\n%if 0\nnop\n%endif\ndd X\n';
    expect(pp(src).map((l) => [l.line, l.text])).toEqual([
      [1, ''],
      [2, ''],
      [3, ''],
      [4, ''],
      [5, 'dd 1'],
    ]);
  });
  it('numbers lines like nasm: a continued line is its first line', () => {
    const out = pp('mov eax, \\\n  1\nnop\r\nint3');
    expect(out.map((l) => [l.line, l.text])).toEqual([
      [1, 'mov eax,   1'],
      [3, 'nop'],
      [4, 'int3'],
    ]);
  });
  it('does not join a line whose backslash is followed by spaces (nasm)', () => {
    expect(texts('db 1 \\ \nnop')).toEqual(['db 1 \\ ', 'nop']);
  });
  it('marks macro expansions with their depth, call site and body origin', () => {
    const src = [
      '%macro inner 1', // 1
      '  db %1', // 2
      '%endmacro', // 3
      '%macro outer 0', // 4
      '  inner 7', // 5
      '  nop', // 6
      '%endmacro', // 7
      'outer', // 8
    ].join('\n');
    const out = pp(src).slice(7);
    expect(out).toEqual([
      { text: '', file: 'a.asm', line: 8, macroDepth: 0, source: 'outer' },
      {
        text: '',
        file: 'a.asm',
        line: 8,
        macroDepth: 1,
        source: '  inner 7',
        origin: { name: 'outer', file: 'a.asm', line: 5 },
      },
      {
        text: 'db 7',
        file: 'a.asm',
        line: 8,
        macroDepth: 2,
        source: '  db %1',
        origin: { name: 'inner', file: 'a.asm', line: 2 },
      },
      {
        text: '  nop',
        file: 'a.asm',
        line: 8,
        macroDepth: 1,
        source: '  nop',
        origin: { name: 'outer', file: 'a.asm', line: 6 },
      },
    ]);
  });
  it('lists %rep bodies once as written, then each repetition one level deeper', () => {
    const out = pp('%rep 2\nnop\n%endrep\n');
    expect(out.map((l) => [l.line, l.macroDepth, l.text, l.origin?.line])).toEqual([
      [1, 0, '', undefined],
      [2, 0, '', undefined],
      [3, 0, '', undefined],
      [3, 1, 'nop', 2],
      [3, 1, 'nop', 2],
    ]);
  });
  it('gives each expansion its own %%label number, counted like nasm', () => {
    const src = '%macro m 0\n%%x: jmp %%x\n%endmacro\nm\nm\n';
    expect(texts(src)).toEqual(['..@0.x: jmp ..@0.x', '..@1.x: jmp ..@1.x']);
  });
  it('emits a label before a macro call on its own line', () => {
    const src = '%macro m 0\nnop\n%endmacro\nstart: m\nagain m\n';
    expect(texts(src)).toEqual(['start:', 'nop', 'again:', 'nop']);
  });
  it('reports included lines with the included file and its line numbers', () => {
    const provider = memoryProvider({ 'inc/x.inc': 'nop\nint3\n' });
    const out = pp('%include "inc/x.inc"\nhlt\n', { provider });
    expect(out.map((l) => [l.file, l.line, l.text])).toEqual([
      ['a.asm', 1, ''],
      ['inc/x.inc', 1, 'nop'],
      ['inc/x.inc', 2, 'int3'],
      ['a.asm', 2, 'hlt'],
    ]);
  });
  it('resolves includes through the provider from the including file', () => {
    const seen: Array<[string, string]> = [];
    const provider: SourceProvider = {
      resolveInclude(name, including) {
        seen.push([name, including]);
        if (name === 'b.inc') return { path: 'dir/b.inc', text: '%include "c.inc"\n' };
        if (name === 'c.inc') return { path: 'dir/c.inc', text: 'nop\n' };
        return undefined;
      },
    };
    expect(texts('%include "b.inc"', { provider })).toEqual(['nop']);
    expect(seen).toEqual([
      ['b.inc', 'a.asm'],
      ['c.inc', 'dir/b.inc'],
    ]);
  });
  it('gives __FILE__ and __LINE__', () => {
    expect(texts('db __FILE__\ndd __LINE__, __?LINE?__')).toEqual(["db 'a.asm'", 'dd 2, 2']);
  });
  it('sends %warning to onWarning', () => {
    const warnings: string[] = [];
    const out = texts('%warning "careful" now\n%rep -1\nnop\n%endrep\nnop', {
      onWarning: (w) => warnings.push(w.format()),
    });
    expect(out).toEqual(['nop']);
    expect(warnings).toEqual([
      'a.asm:1:1: error: "careful" now',
      'a.asm:2:1: error: negative %rep count: -1',
    ]);
  });
  it('supports %defstr and %strlen', () => {
    expect(texts("%define N 5\n%defstr S N + 1\n%strlen L 'abcd'\ndb S\ndd L")).toEqual([
      "db '5 + 1'",
      'dd 4',
    ]);
  });
  it('keeps %rmacro recursion bounded by its own counter', () => {
    const src = [
      '%assign n 3',
      '%rmacro down 0',
      '  db n',
      '  %assign n n-1',
      '  %if n > 0',
      '    down',
      '  %endif',
      '%endmacro',
      'down',
    ].join('\n');
    expect(texts(src)).toEqual(['db 3', 'db 2', 'db 1']);
  });
  it('removes a multi-line macro with %unmacro', () => {
    const src =
      '%macro m 1\ndb %1\n%endmacro\nm 1\n%unmacro m 1\n%ifmacro m\n%error still\n%endif\nm 2\n';
    expect(texts(src)).toEqual(['db 1', 'm 2']);
  });
});

// ------------------------------------------------------------------ errors

describe('errors name the file, line, column and what is wrong', () => {
  const cases: Array<[string, string, string, number, number]> = [
    // [source, message, file, line, column]
    ['%if 1\nnop\n', 'unterminated %if (started at a.asm:1) at end of file', 'a.asm', 3, 1],
    [
      'nop\n%ifdef X\n%else\n',
      'unterminated %ifdef (started at a.asm:2) at end of file',
      'a.asm',
      4,
      1,
    ],
    ['%macro foo 1\ndb 1\n', "unterminated %macro 'foo' (started at a.asm:1)", 'a.asm', 3, 1],
    ['%rep 3\nnop', 'unterminated %rep (started at a.asm:1)', 'a.asm', 3, 1],
    ['nop\n  %endif', "'%endif': no matching '%if'", 'a.asm', 2, 3],
    ['%else', "'%else': no matching '%if'", 'a.asm', 1, 1],
    ['%elif 1', "'%elif': no matching '%if'", 'a.asm', 1, 1],
    ['%if 1\n%else\n%else\n%endif', "'%else' after '%else' (the %if is at a.asm:1)", 'a.asm', 3, 1],
    [
      '%if 0\n%else\n%elif 1\n%endif',
      "'%elif' after '%else' (the %if is at a.asm:1)",
      'a.asm',
      3,
      1,
    ],
    ['%endmacro', "'%endmacro': not defining a macro", 'a.asm', 1, 1],
    ['%endrep', "'%endrep': no matching '%rep'", 'a.asm', 1, 1],
    ['%exitrep', "'%exitrep' not within a %rep block", 'a.asm', 1, 1],
    [
      '%macro m 1\n%endmacro\nm 1, 2',
      "multi-line macro 'm' exists, but not taking 2 parameters",
      'a.asm',
      3,
      1,
    ],
    [
      '%macro m 2\n%endmacro\n  m',
      "multi-line macro 'm' exists, but not taking 0 parameters",
      'a.asm',
      3,
      3,
    ],
    [
      '%define f(a) a\ndd f(1,2)',
      "single-line macro 'f' exists, but not taking 2 parameters",
      'a.asm',
      2,
      4,
    ],
    [
      '%define f(a) a\ndd f(1',
      "single-line macro 'f': missing ')' after its arguments",
      'a.asm',
      2,
      4,
    ],
    [
      '%define e 1\n%define e(x) x',
      "single-line macro 'e' defined both with and without parameters",
      'a.asm',
      2,
      9,
    ],
    ['%include "nope.inc"', "unable to open include file 'nope.inc'", 'a.asm', 1, 10],
    ['%include nope', "'%include' expects a file name in quotes", 'a.asm', 1, 10],
    ['%error "bad thing"', 'bad thing', 'a.asm', 1, 1],
    ['nop\n%fatal stop here', 'stop here', 'a.asm', 2, 1],
    ['%foo 3', "unknown preprocessor directive '%foo'", 'a.asm', 1, 1],
    ['%push ctx', "'%push' is not supported by this assembler", 'a.asm', 1, 1],
    ['%if x\n%endif', "%if: symbol 'x' is not a constant", 'a.asm', 1, 5],
    ['%define Y z\n%if Y + 1\n%endif', "%if: symbol 'z' is not a constant", 'a.asm', 2, 5],
    ['%if 1 +\n%endif', 'expected an expression, found end of line', 'a.asm', 1, 8],
    ['%if (1\n%endif', "expected ')' after expression, found end of line", 'a.asm', 1, 7],
    ['%if 1 2\n%endif', "unexpected '2' after the expression of '%if'", 'a.asm', 1, 7],
    ['%if 1/0\n%endif', 'division by zero', 'a.asm', 1, 6],
    ['%if $ > 0\n%endif', "'$' (the current address) cannot be used here", 'a.asm', 1, 5],
    ['%if\n%endif', "'%if' expects an expression", 'a.asm', 1, 4],
    ['%assign x y', "%assign: symbol 'y' is not a constant", 'a.asm', 1, 11],
    ['%assign 5 3', "'%assign' expects a macro identifier", 'a.asm', 1, 9],
    ['%define', "'%define' expects a macro identifier", 'a.asm', 1, 8],
    ['%undef', "'%undef' expects a macro identifier", 'a.asm', 1, 7],
    ['%rep x\n%endrep', "%rep: symbol 'x' is not a constant", 'a.asm', 1, 6],
    ['%rep 2000000\n%endrep', '%rep count 2000000 exceeds the limit of 1000000', 'a.asm', 1, 1],
    ['%macro\n%endmacro', "'%macro' expects a macro name", 'a.asm', 1, 7],
    ['%macro m x\n%endmacro', "'%macro' expects a parameter count", 'a.asm', 1, 10],
    ['%macro m 3-1\n%endmacro', 'minimum parameter count exceeds maximum', 'a.asm', 1, 12],
    ['%ifdef\n%endif', "'%ifdef' expects macro identifiers", 'a.asm', 1, 1],
    ['%ifdef 5\n%endif', "'%ifdef' expects macro identifiers", 'a.asm', 1, 8],
    ['%ifidn a\n%endif', "'%ifidn' expects two comma-separated arguments", 'a.asm', 1, 1],
    ['%ifidn a,b,c\n%endif', "'%ifidn': more than one comma on line", 'a.asm', 1, 11],
    ['%ifctx foo\n%endif', "'%ifctx' is not supported by this assembler", 'a.asm', 1, 1],
    ['db %1', "'%1': not in a macro call", 'a.asm', 1, 4],
    ['%%x: nop', "'%%x': not in a macro call", 'a.asm', 1, 1],
    ['%rotate 1', "'%rotate' invoked outside a macro call", 'a.asm', 1, 1],
    ['mov eax, %$x', "context-local names like '%$x' are not supported", 'a.asm', 1, 10],
    [
      'nop %define',
      "unexpected '%define': a preprocessor directive must start the line",
      'a.asm',
      1,
      5,
    ],
    ['%define X 1\ndb X, "abc', 'unterminated string: missing closing "', 'a.asm', 2, 7],
    ['%define f(a,', "')' expected to terminate the parameter list of 'f'", 'a.asm', 1, 13],
    ['%define f(a b) a', "',' or ')' expected in the parameter list of 'f'", 'a.asm', 1, 13],
    ['%macro m 1\n%endmacro\nm {a, b', 'expecting closing brace in macro parameter', 'a.asm', 3, 3],
    [
      '%macro m 1-2\n%endmacro\nm {a} b, c',
      'braces do not enclose all of macro parameter',
      'a.asm',
      3,
      7,
    ],
  ];
  for (const [src, message, file, line, column] of cases) {
    it(message, () => {
      const e = ppError(src);
      expect(e.message).toBe(message);
      expect(e.location).toEqual({ file, line, column });
    });
  }

  it('locates errors inside a macro at the body line and names the call', () => {
    const src = '%macro m 1\n  %if %1 / 0\n  %endif\n%endmacro\nnop\nm 5\n';
    const e = ppError(src);
    expect(e.message).toBe("division by zero (in macro 'm' invoked at a.asm:6)");
    expect(e.location).toEqual({ file: 'a.asm', line: 2, column: 9 });
  });
  it('reports an unterminated %if inside a macro body', () => {
    const e = ppError('%macro m 0\n%if 1\n%endmacro\nm\n');
    expect(e.message).toBe("unterminated %if (started at a.asm:2) at end of macro 'm'");
  });
  it('reports a missing include from inside an included file at its own line', () => {
    const provider = memoryProvider({ 'b.inc': 'nop\n%include "gone.inc"\n' });
    const e = ppError('%include "b.inc"', { provider });
    expect(e.message).toBe("unable to open include file 'gone.inc'");
    expect(e.location).toEqual({ file: 'b.inc', line: 2, column: 10 });
  });
  it('reports a recursive include with the chain', () => {
    const provider = memoryProvider({
      'a.asm': '%include "b.inc"\n',
      'b.inc': '%include "c.inc"\n',
      'c.inc': 'nop\n%include "b.inc"\n',
    });
    const e = ppError('%include "b.inc"\n', { provider });
    expect(e.message).toBe("recursive %include of 'b.inc' (a.asm -> b.inc -> c.inc -> b.inc)");
    expect(e.location).toEqual({ file: 'c.inc', line: 2, column: 10 });
  });
  it('limits include depth', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 10; i++) files[`f${i}.inc`] = `%include "f${i + 1}.inc"\n`;
    files['f10.inc'] = 'nop\n';
    const e = ppError('%include "f0.inc"', { provider: memoryProvider(files), maxIncludeDepth: 5 });
    expect(e.message).toBe('%include nested more than 5 levels deep');
    expect(e.location.file).toBe('f4.inc');
  });
  it('stops single-line macros that grow without end', () => {
    const defs = Array.from({ length: 30 }, (_, i) => `%define m${i} m${i + 1} m${i + 1}`);
    const e = ppError(`${defs.join('\n')}\ndd m0`);
    expect(e.message).toMatch(/^single-line macro expansion too large at 'm\d+'/);
    expect(e.location.line).toBe(31);
  });
  it('stops runaway output', () => {
    const e = ppError('%rep 1000\n%rep 1000\nnop\n%endrep\n%endrep', { maxLines: 10000 });
    expect(e.message).toBe('preprocessing produced more than 10000 lines (runaway %rep or macro?)');
  });
  it('includes nothing without a provider', () => {
    expect(ppError('%include "x.inc"').message).toBe("unable to open include file 'x.inc'");
  });
  it('throws only AsmError on garbage', () => {
    const junk = [
      '%',
      '%%',
      '%{',
      '%[',
      '%!',
      '%+',
      '%define f(',
      '%macro m 1-*+ .nolist 1,{2\n%endmacro',
      '%if (((\n%endif',
      '%rep %0\n%endrep',
      "%define s '\ns",
      '%ifidn\n%endif',
      '%ifmacro\n%endif',
      '%rotate',
      '`\\',
    ];
    for (const j of junk) {
      try {
        pp(j);
      } catch (e) {
        expect(e, j).toBeInstanceOf(AsmError);
      }
    }
  });
});

describe('robustness', () => {
  it('throws nothing but AsmError on random directive soup, and always ends', () => {
    const frags = [
      '%define',
      '%macro',
      '%endmacro',
      '%rep',
      '%endrep',
      '%if',
      '%elif',
      '%else',
      '%endif',
      '%ifdef',
      '%ifidn',
      '%assign',
      '%undef',
      '%exitrep',
      '%rotate',
      '%include',
      '%error',
      '%xdefine',
      '%ifmacro',
      '%exitmacro',
      '%1',
      '%0',
      '%%x',
      '%{2}',
      '%+',
      '%?',
      'm',
      'f',
      'X',
      'f(',
      ')',
      '(',
      ',',
      '{',
      '}',
      '1',
      '0',
      '-1',
      '2-*',
      '1+',
      "'s'",
      '"a,b"',
      '`q`',
      '$',
      '$$',
      '$X',
      ';c',
      '\\',
      'mov',
      '+',
      '//',
      '%%',
      '==',
      'X:',
      ':',
      '.nolist',
      '1-3',
      '0x',
      '1e3',
      '%$c',
      '%[x]',
    ];
    const prelude = [
      '%macro m 1-3+ 1,2',
      '%rep %0',
      'db %1, %{2}',
      '%rotate 1',
      '%endrep',
      '%%x: f(%1)',
      '%endmacro',
      '%define f(a,b+) a b',
      '%define X f(1, 2)',
    ];
    let seed = 12345; // deterministic LCG: the same soup every run
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let iter = 0; iter < 3000; iter++) {
      const lines = [...prelude];
      for (let i = 1 + rnd(12); i > 0; i--) {
        const parts: string[] = [];
        for (let k = rnd(6); k > 0; k--) parts.push(frags[rnd(frags.length)]);
        lines.push(parts.join(rnd(3) ? ' ' : ''));
      }
      const src = lines.join('\n');
      const provider = memoryProvider({ s: src });
      try {
        preprocess(src, 'f.asm', { maxLines: 100_000, provider });
      } catch (e) {
        expect(e, src).toBeInstanceOf(AsmError);
      }
    }
  });
});

// ------------------------------------------------------------------ scale

/** A kernel-like source with macros, conditionals and reps every so often. */
function generatedSource(lines: number): string {
  const parts: string[] = [
    '%define STACK 0x9000',
    '%define SEL(i) ((i) << 3)',
    '%macro outb 2',
    '  mov al, %2',
    '  out %1, al',
    '%endmacro',
    '%macro isr 1',
    'isr%1:',
    '  push byte %1',
    '  jmp common_isr',
    '%endmacro',
  ];
  for (let i = 0; parts.length < lines; i++) {
    switch (i % 10) {
      case 0:
        parts.push(`  outb 0x20, ${i & 0xff}`);
        break;
      case 3:
        parts.push(`  mov ax, SEL(${i % 8})`, `  mov esp, STACK - ${i}`);
        break;
      case 5:
        parts.push(`%if ${i} % 3`, '  nop', '%else', '  int3', '%endif');
        break;
      case 7:
        parts.push(`  isr ${i}`);
        break;
      default:
        parts.push(`  mov eax, ${i} ; plain line ${i}`);
    }
  }
  return parts.join('\n') + '\n';
}

describe('scale', () => {
  it('preprocesses a ~10 MB source', { timeout: 120_000 }, () => {
    const src = generatedSource(420_000);
    expect(src.length).toBeGreaterThan(9_000_000);
    const out = preprocess(src, 'big.asm', {});
    expect(out.length).toBeGreaterThan(420_000);
    expect(out[out.length - 1].line).toBeGreaterThan(400_000);
  });
  it('repeats a %rep of 100000 without re-reading its body', { timeout: 60_000 }, () => {
    const out = preprocess(
      '%assign i 0\n%rep 100000\n  dd i\n  %assign i i+1\n%endrep\n',
      'r.asm',
      {},
    );
    const data = out.filter((l) => l.text.startsWith('dd'));
    expect(data.length).toBe(100_000);
    expect(data[99_999].text).toBe('dd 99999');
  });
});
