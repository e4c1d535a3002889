// The para-virtual build of the guest kernel (`-D PARAVIRT`, lecture §5: "the guest OS prime").
// One source, two images; the difference must be exactly the para-API:
//
// (a) both builds assemble with our assembler and with nasm, byte for byte the same;
// (b) the builds differ, and only where the para-API is written. Attribution uses our
//     assembler's listing (one entry per emitted line: file and line at file level, macro
//     depth, address, bytes). An entry is *para-API* when
//       - it is a line of sensitive.inc or a paravirt-*.inc file itself (the PV data and
//         pv_mmu_flush), or
//       - it comes from expanding a macro defined in those files (the file-level call line
//         names one of their macros; nested expansions are attributed to the outermost call,
//         so a foreign macro that hid a para-API macro inside it would count as common and
//         fail here: conservative), or
//       - its file-level line lies inside a `%ifdef PARAVIRT` / `%ifndef PARAVIRT` block
//         (either branch) of the kernel's own files.
//     Every other entry is *common*, except `align` padding, whose length follows from the
//     address and so from what came before (it emits only fill). The common entries of the
//     two builds must pair up one to one, in order: same file, line, source text (macro-local
//     label names `..@N` normalized: N counts expansions) and, but for a relative jump, length
//     (nasm's optimizer may settle on the near form of a jump near the 127-byte limit in one
//     layout and the short form in another; the disassembly must still match, below). Their bytes may still differ,
//     because code moved and a few selector constants are the ABI's (KCODE...): a differing
//     instruction is accepted only when the disassembly of both is the same text except for
//     numbers, and each differing number pair (n, p) is the same symbol in each build: for a
//     named symbol s, n - native(s) = p - paravirt(s), or n is the address where a common
//     entry starts or ends and p the corresponding address in the other build (this covers
//     macro-local labels, whose generated names differ between builds). `dd` data is checked
//     the same way per dword; other data (a `dw` or `db` piece of an address) only has to name
//     a symbol whose value differs between the builds.
// (c) no sensitive instruction is left in the para-virtual image's code (data directives are
//     excluded: the listing says which bytes are code), while the native image has them all;
// (d) on bare hardware the para-virtual image cannot run: its first vmcall is #UD, and with no
//     IDT (the para-virtual kernel never loads one) that ends as a triple fault, on our machine
//     and on QEMU. It is meant to run only under the paravirt technique.

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assemble,
  type AssembleResult,
  type ListingEntry,
} from '../../../src-main/engine/asm/assembler';
import { FileSourceProvider } from '../../../src-main/host/source-files';
import { disassemble } from '../../../src-main/engine/isa/disasm';
import { nasm, nasmAvailable } from '../../helpers/nasm';
import { qemuAvailable, qemuRunImage } from '../../helpers/qemu';
import { runOurs } from '../../helpers/machine';

const GUEST = path.resolve(__dirname, '../../../src-main/engine/guest');
const MAIN = path.join(GUEST, 'kernel.asm');
/** The files that define the para-API side: sensitive.inc and every paravirt-*.inc. */
const PARA_FILES = [
  'sensitive.inc',
  ...readdirSync(GUEST).filter((f) => /^paravirt-.*\.inc$/.test(f)),
];
const ALL_INCLUDES = [
  ...new Set([...PARA_FILES, ...readdirSync(GUEST).filter((f) => f.endsWith('.inc'))]),
];

function build(paravirt: boolean): AssembleResult {
  return assemble(readFileSync(MAIN, 'latin1'), {
    file: MAIN,
    provider: new FileSourceProvider([GUEST]),
    defines: paravirt ? [['PARAVIRT', '']] : [],
    listing: true,
  });
}

const native = build(false);
const paravirt = build(true);

const fileLines = new Map<string, string[]>();
function linesOf(file: string): string[] {
  let lines = fileLines.get(file);
  if (!lines) {
    const full = path.isAbsolute(file) ? file : path.join(GUEST, file);
    lines = readFileSync(full, 'latin1').split('\n');
    fileLines.set(file, lines);
  }
  return lines;
}

/** Macro names defined in the para-API files. */
const PARA_MACROS = new Set(
  PARA_FILES.flatMap((f) =>
    [...readFileSync(path.join(GUEST, f), 'latin1').matchAll(/^\s*%i?macro\s+(\w+)/gm)].map((m) =>
      m[1]!.toUpperCase(),
    ),
  ),
);

/** Line numbers (1-based) of a file that lie inside a %ifdef/%ifndef PARAVIRT block. */
const paravirtBlocks = new Map<string, Set<number>>();
function inParavirtBlock(file: string, line: number): boolean {
  let set = paravirtBlocks.get(file);
  if (!set) {
    set = new Set<number>();
    const stack: boolean[] = [];
    linesOf(file).forEach((text, i) => {
      const t = text.trim();
      const inside = stack.some((b) => b);
      if (/^%if/i.test(t)) stack.push(/^%ifn?def\s+PARAVIRT\b/i.test(t));
      else if (/^%endif/i.test(t)) stack.pop();
      if (inside || stack.some((b) => b)) set!.add(i + 1);
    });
    paravirtBlocks.set(file, set);
  }
  return set.has(line);
}

function isParaEntry(e: ListingEntry): boolean {
  const base = path.basename(e.file);
  if (PARA_FILES.includes(base)) return true;
  if (inParavirtBlock(e.file, e.line)) return true;
  if (e.macroDepth > 0) {
    const call = (linesOf(e.file)[e.line - 1] ?? '').replace(/^\s*[\w.]+:/, '').trim();
    const name = /^(\w+)/.exec(call)?.[1]?.toUpperCase();
    return name !== undefined && PARA_MACROS.has(name);
  }
  return false;
}

const emitted = (r: AssembleResult): ListingEntry[] =>
  (r.listing ?? []).filter((e) => e.bytes.length > 0 && e.address !== undefined);

const DATA = /^\s*(?:[\w.@%]+:)?\s*(?:db|dw|dd|dq|times|align|alignb)\b/i;
const ALIGN = /^\s*(?:[\w.@%]+:)?\s*alignb?\b/i;
const isData = (e: ListingEntry): boolean => DATA.test(e.source);

const U32 = (x: number): number => x >>> 0;

/** Can the number pair (n, p) be the same symbol in the native and the para-virtual build? */
function sameSymbol(n: number, p: number, addressMap: Map<number, number>): boolean {
  if (U32(n) === U32(p)) return true;
  if (addressMap.get(U32(n)) === U32(p)) return true;
  for (const [name, nv] of native.symbols) {
    const pv = paravirt.symbols.get(name);
    if (pv !== undefined && U32(n - nv) === U32(p - pv)) return true;
  }
  return false;
}

const textOf = (bytes: readonly number[], address: number): string =>
  disassemble(Uint8Array.from(bytes), address)
    .map((l) => l.text)
    .join('; ');

const JUMP = /^(j\w+|call)\b/;
const NUMBER = /0x[0-9a-f]+|\b\d+\b/gi;

function explained(n: ListingEntry, p: ListingEntry, addressMap: Map<number, number>): boolean {
  if (isData(n)) {
    if (/^\s*(?:[\w.@%]+:)?\s*dd\b/i.test(n.source) && n.bytes.length % 4 === 0) {
      const dn = Buffer.from(n.bytes);
      const dp = Buffer.from(p.bytes);
      for (let i = 0; i < dn.length; i += 4) {
        if (!sameSymbol(dn.readUInt32LE(i), dp.readUInt32LE(i), addressMap)) return false;
      }
      return true;
    }
    const moved = [...n.source.matchAll(/[A-Za-z_.][\w.]*/g)].some((m) => {
      const a = native.symbols.get(m[0]);
      const b = paravirt.symbols.get(m[0]);
      return a !== undefined && b !== undefined && a !== b;
    });
    return moved;
  }
  const tn = textOf(n.bytes, n.address!).replace(/\b(?:short|near) /g, '');
  const tp = textOf(p.bytes, p.address!).replace(/\b(?:short|near) /g, '');
  if (tn.replace(NUMBER, '#') !== tp.replace(NUMBER, '#')) return false;
  const nn = [...tn.matchAll(NUMBER)].map((m) => Number(m[0]));
  const pp = [...tp.matchAll(NUMBER)].map((m) => Number(m[0]));
  return nn.every((v, i) => sameSymbol(v, pp[i]!, addressMap));
}

describe('the para-virtual build (-D PARAVIRT)', () => {
  it('assembles, and differs from the native build', () => {
    expect(paravirt.bytes.length).toBeGreaterThan(0);
    expect(Buffer.from(paravirt.bytes).equals(Buffer.from(native.bytes))).toBe(false);
  });

  it.skipIf(!nasmAvailable())('our assembler and nasm give identical bytes, both builds', () => {
    const files: Record<string, string> = {};
    for (const name of ALL_INCLUDES) files[name] = readFileSync(path.join(GUEST, name), 'latin1');
    for (const [args, ours] of [
      [[], native],
      [['-DPARAVIRT'], paravirt],
    ] as const) {
      const reference = nasm(readFileSync(MAIN, 'latin1'), { files, args: [...args] });
      expect(reference.stderr).toBe('');
      expect(reference.ok).toBe(true);
      expect(Buffer.from(ours.bytes).equals(Buffer.from(reference.bytes))).toBe(true);
    }
  });

  it('the listing accounts for every byte of both images', () => {
    for (const r of [native, paravirt]) {
      const total = emitted(r).reduce((s, e) => s + e.bytes.length, 0);
      expect(total).toBe(r.bytes.length);
    }
  });

  it('differs only where the para-API macros expand or %ifdef PARAVIRT decides', () => {
    const common = (r: AssembleResult): ListingEntry[] =>
      emitted(r).filter((e) => !isParaEntry(e) && !ALIGN.test(e.source));
    const commonN = common(native);
    const commonP = common(paravirt);
    const key = (e: ListingEntry): string =>
      `${path.basename(e.file)}:${e.line}<${e.macroDepth}> ${e.source.trim().replace(/\.\.@\d+/g, '..@N')}` +
      (!isData(e) && JUMP.test(textOf(e.bytes, e.address!)) ? '' : ` [${e.bytes.length}]`);
    expect(commonP.map(key)).toEqual(commonN.map(key));
    // both builds have para-API code, and the para-virtual one has more of it
    const para = (r: AssembleResult): number =>
      emitted(r)
        .filter(isParaEntry)
        .reduce((s, e) => s + e.bytes.length, 0);
    expect(para(native)).toBeGreaterThan(0);
    expect(para(paravirt)).toBeGreaterThan(para(native));

    const addressMap = new Map<number, number>();
    commonN.forEach((n, i) => {
      const p = commonP[i]!;
      addressMap.set(U32(n.address!), U32(p.address!));
      addressMap.set(U32(n.address! + n.bytes.length), U32(p.address! + p.bytes.length));
    });
    const unexplained = commonN
      .map((n, i) => [n, commonP[i]!] as const)
      .filter(([n, p]) => !Buffer.from(n.bytes).equals(Buffer.from(p.bytes)))
      .filter(([n, p]) => !explained(n, p, addressMap))
      .map(([n]) => key(n));
    expect(unexplained).toEqual([]);
  });

  // (c) what the code of each image executes
  const SENSITIVE: ReadonlyArray<readonly [string, RegExp]> = [
    ['cli', /^cli\b/],
    ['sti', /^sti\b/],
    ['pushf', /^pushfd?\b/],
    ['popf', /^popfd?\b/],
    ['iret', /^iretd?\b/],
    ['mov crN', /^mov\b.*\bcr\d\b/],
    ['lgdt', /^lgdt\b/],
    ['lidt', /^lidt\b/],
    ['ltr', /^ltr\b/],
    ['invlpg', /^invlpg\b/],
    ['in', /^in\b/],
    ['out', /^out\b/],
    ['hlt', /^hlt\b/],
    ['mov r, cs', /^mov\b[^,]*,\s*cs\b/],
    ['jmp far', /^jmp\s+0x[0-9a-f]+:/i],
  ];

  function codeInstructions(r: AssembleResult): string[] {
    return emitted(r)
      .filter((e) => !isData(e))
      .flatMap((e) => disassemble(Uint8Array.from(e.bytes), e.address!).map((l) => l.text));
  }

  // The one exception: the return to user mode may be a real iretd, where shared_info.features
  // says it does not trap (classic IA-32; Xen's 32-bit guests do the same). It is executed only
  // behind that test, which the paravirt technique's tests check never traps on either ISA.
  const ALLOWED_IN_PARAVIRT: Readonly<Record<string, number>> = { iret: 1 };

  it('no sensitive instruction in the para-virtual code but the guarded iretd; the native code has every kind', () => {
    const pv = codeInstructions(paravirt);
    const nat = codeInstructions(native);
    for (const [name, re] of SENSITIVE) {
      expect(pv.filter((t) => re.test(t)).length, name).toBe(ALLOWED_IN_PARAVIRT[name] ?? 0);
      expect(
        nat.some((t) => re.test(t)),
        name,
      ).toBe(true);
    }
    expect(pv.filter((t) => /^vmcall\b/.test(t)).length).toBeGreaterThan(10);
    expect(nat.some((t) => /^vmcall\b/.test(t))).toBe(false);
    // every code line was decoded (no db fallbacks hiding bytes in code)
    expect(pv.filter((t) => /^db\b/.test(t))).toEqual([]);
  });
});

describe('the para-virtual image on bare hardware', () => {
  const append = 'workload=syscall n=5';

  it('our machine: #UD at the first vmcall, no IDT: a triple fault, no output', () => {
    const run = runOurs(paravirt.bytes, { append, maxInstructions: 1_000_000 });
    expect(run.end.kind).toBe('triple-fault');
    expect(run.exitValue).toBeUndefined();
    expect(run.serial.length).toBe(0);
  });

  it.skipIf(!qemuAvailable())('QEMU: it does not run either', () => {
    const run = qemuRunImage(paravirt.bytes, 'k.bin', { append, timeoutMs: 10_000 });
    expect(run.exitValue).toBeUndefined();
    expect(run.serial.length).toBe(0);
    expect(run.tripleFault || run.timedOut).toBe(true);
  });
});
