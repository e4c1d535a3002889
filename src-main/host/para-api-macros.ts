// The guest kernel's sensitive-operation macros as its two builds expand them, read from the
// real sources — src-main/engine/guest/sensitive.inc (the native half before `%else`, the
// para-virtual half after it) and paravirt-abi.inc (the PV_* sequences the para-virtual half
// uses, and the equ constants they name) — for the report's paragraph on the para-API.
//
// Why read the sources instead of writing the text down here: the report shows what the
// kernel really assembles, so a change to a macro shows in the next report by itself, and a
// macro that moves or disappears is an error here (and in the test) rather than a report that
// quietly explains an older kernel. Node-side (it reads files); the renderer never does.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GUEST_KERNEL_SOURCE } from './guest-kernel';

/** Where the guest kernel's sources are: next to kernel.asm, found as guest-kernel.ts finds it
 *  (the packaged app ships them in out/engine/guest/, electron.vite.config.ts). */
export const GUEST_SOURCE_DIR = path.dirname(GUEST_KERNEL_SOURCE);

export const SENSITIVE_INC = 'sensitive.inc';
export const PARAVIRT_ABI_INC = 'paravirt-abi.inc';

/** The macros the report shows: the interrupt flag, the lecture's first example. */
export const REPORT_MACROS = ['CLI', 'STI'] as const;

/** One `%macro NAME` … `%endmacro` of a source file. */
export interface MacroSource {
  readonly name: string;
  /** the file's name (sensitive.inc, paravirt-abi.inc) */
  readonly file: string;
  /** 1-based line of the `%macro` line */
  readonly line: number;
  /** the lines between `%macro` and `%endmacro`, with their common indentation removed */
  readonly body: readonly string[];
  /** the comment lines right above `%macro`, without their `; ` */
  readonly comment: readonly string[];
}

/** An equ constant an expansion names: `SHARED_INFO_ADDRESS equ 0x000FF000 ; …`. */
export interface EquConstant {
  readonly name: string;
  readonly value: string;
  /** its trailing comment, '' when it has none */
  readonly comment: string;
}

/** One macro of sensitive.inc in both builds. */
export interface MacroExpansion {
  readonly name: string;
  /** its body in the native build: the instruction itself */
  readonly native: MacroSource;
  /** its body in the para-virtual build (`-D PARAVIRT`) */
  readonly paravirt: MacroSource;
  /** the paravirt-abi.inc macros that body uses (PV_CLI…), in the order it uses them */
  readonly uses: readonly MacroSource[];
  /** the paravirt-abi.inc constants the para-virtual body and `uses` name */
  readonly constants: readonly EquConstant[];
}

type Region = { readonly from: number; readonly to: number };

/** The two halves of `%ifndef PARAVIRT` … `%else` … `%endif` (0-based, exclusive `to`). */
function buildHalves(lines: readonly string[], file: string): { native: Region; paravirt: Region } {
  const start = lines.findIndex((l) => /^\s*%ifndef\s+PARAVIRT\b/.test(l));
  if (start < 0) throw new Error(`${file}: no '%ifndef PARAVIRT' that splits the two builds`);
  let depth = 0;
  let middle = -1;
  for (let i = start; i < lines.length; i++) {
    const directive = /^\s*%(if\w*|else|elif\w*|endif)\b/i.exec(lines[i]!)?.[1]?.toLowerCase();
    if (directive === undefined) continue;
    if (directive.startsWith('if')) depth++;
    else if (directive === 'endif') {
      depth--;
      if (depth === 0) {
        if (middle < 0) throw new Error(`${file}: '%ifndef PARAVIRT' has no '%else'`);
        return { native: { from: start + 1, to: middle }, paravirt: { from: middle + 1, to: i } };
      }
    } else if (depth === 1 && directive === 'else') middle = i;
  }
  throw new Error(`${file}: '%ifndef PARAVIRT' at line ${start + 1} is never closed by '%endif'`);
}

function dedent(lines: readonly string[]): string[] {
  const trimmed = lines.map((l) => l.replace(/\s+$/, ''));
  const indents = trimmed.filter((l) => l !== '').map((l) => /^\s*/.exec(l)![0].length);
  const cut = indents.length > 0 ? Math.min(...indents) : 0;
  return trimmed.map((l) => l.slice(cut));
}

/** The `%macro name` of `lines` within `region`, or undefined. */
function findMacro(
  lines: readonly string[],
  file: string,
  name: string,
  region: Region = { from: 0, to: lines.length },
): MacroSource | undefined {
  const head = new RegExp(`^\\s*%macro\\s+${name}\\b`, 'i');
  for (let i = region.from; i < region.to; i++) {
    if (!head.test(lines[i]!)) continue;
    const end = lines.findIndex((l, j) => j > i && /^\s*%endmacro\b/i.test(l));
    if (end < 0 || end > region.to)
      throw new Error(`${file}:${i + 1}: %macro ${name} has no %endmacro`);
    const comment: string[] = [];
    for (let j = i - 1; j >= 0 && /^\s*;/.test(lines[j]!); j--) {
      const text = lines[j]!.replace(/^\s*;\s?/, '').trimEnd();
      // a banner (`; ===== native build`) heads a section, it does not describe the macro
      if (!text.startsWith('===')) comment.unshift(text);
    }
    return { name, file, line: i + 1, body: dedent(lines.slice(i + 1, end)), comment };
  }
  return undefined;
}

function requireMacro(
  lines: readonly string[],
  file: string,
  name: string,
  region: Region,
  where: string,
): MacroSource {
  const found = findMacro(lines, file, name, region);
  if (!found) throw new Error(`${file}: no '%macro ${name}' in ${where}`);
  return found;
}

/** The instruction or macro a body line starts with (`PV_CLI`, `mov`), or null for none. */
function firstWord(line: string): string | null {
  const code = line.replace(/;.*$/, '').trim();
  if (code === '' || code.endsWith(':')) return null;
  return /^[A-Za-z_.%][\w.%]*/.exec(code)?.[0] ?? null;
}

function equConstants(lines: readonly string[]): Map<string, EquConstant> {
  const constants = new Map<string, EquConstant>();
  for (const line of lines) {
    const m = /^\s*([A-Za-z_]\w*)\s+equ\s+([^;]+?)\s*(?:;\s*(.*))?$/i.exec(line);
    if (m) constants.set(m[1]!, { name: m[1]!, value: m[2]!, comment: (m[3] ?? '').trim() });
  }
  return constants;
}

/** Read the macros `names` of sensitive.inc in both builds from the sources in `dir`. Throws
 *  an Error naming the file and the macro when one is not where the builds take it from. */
export function readMacroExpansions(
  dir: string = GUEST_SOURCE_DIR,
  names: readonly string[] = REPORT_MACROS,
): MacroExpansion[] {
  const read = (file: string): string[] => {
    try {
      return readFileSync(path.join(dir, file), 'latin1').split(/\r?\n/);
    } catch (e) {
      throw new Error(`${file}: cannot be read from ${dir}: ${(e as Error).message}`);
    }
  };
  const sensitive = read(SENSITIVE_INC);
  const abi = read(PARAVIRT_ABI_INC);
  const halves = buildHalves(sensitive, SENSITIVE_INC);
  const constants = equConstants(abi);
  return names.map((name) => {
    const native = requireMacro(sensitive, SENSITIVE_INC, name, halves.native, 'the native build');
    const paravirt = requireMacro(
      sensitive,
      SENSITIVE_INC,
      name,
      halves.paravirt,
      'the para-virtual build (after %else)',
    );
    const uses: MacroSource[] = [];
    for (const line of paravirt.body) {
      const word = firstWord(line);
      if (word === null || uses.some((u) => u.name === word)) continue;
      const used = findMacro(abi, PARAVIRT_ABI_INC, word);
      if (used) uses.push(used);
    }
    const named = new Map<string, EquConstant>();
    for (const line of [...paravirt.body, ...uses.flatMap((u) => u.body)]) {
      for (const word of line.replace(/;.*$/, '').match(/\b[A-Za-z_]\w*\b/g) ?? []) {
        const constant = constants.get(word);
        if (constant) named.set(word, constant);
      }
    }
    return { name, native, paravirt, uses, constants: [...named.values()] };
  });
}

let cached: MacroExpansion[] | undefined;

/** The report's macros from the bundled guest sources, read once (they do not change while
 *  the app runs). */
export function paraApiMacros(): readonly MacroExpansion[] {
  cached ??= readMacroExpansions();
  return cached;
}
