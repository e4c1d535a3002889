// Test helper: the real `nasm -f bin`, the reference our assembler is compared with.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export function nasmAvailable(): boolean {
  return spawnSync('nasm', ['-v']).status === 0;
}

export interface NasmResult {
  ok: boolean;
  bytes: Uint8Array;
  stderr: string;
}

/** Assemble `source` (written to a temp folder together with `files`) with nasm -f bin. */
export function nasm(
  source: string,
  options: { args?: string[]; files?: Record<string, string> } = {},
): NasmResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-nasm-'));
  try {
    for (const [name, text] of Object.entries(options.files ?? {})) {
      writeFileSync(path.join(dir, name), text);
    }
    const src = path.join(dir, 'main.asm');
    const out = path.join(dir, 'out.bin');
    writeFileSync(src, source);
    const r = spawnSync('nasm', ['-f', 'bin', '-w-all', ...(options.args ?? []), '-o', out, src], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (r.status !== 0) return { ok: false, bytes: new Uint8Array(), stderr: r.stderr };
    return { ok: true, bytes: new Uint8Array(readFileSync(out)), stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function nasmVersion(): string {
  return execFileSync('nasm', ['-v'], { encoding: 'utf8' }).trim();
}

export interface NasmListingLine {
  line: number;
  address: number;
  bytes: number[];
}

/**
 * Assemble with nasm and return, per source line that emitted bytes, its address and bytes
 * (read from nasm's own listing), plus the line numbers nasm rejected.
 */
export function nasmListing(source: string): {
  lines: Map<number, NasmListingLine>;
  errors: Map<number, string>;
} {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmwb-nasm-'));
  try {
    const src = path.join(dir, 'main.asm');
    writeFileSync(src, source);
    const r = spawnSync(
      'nasm',
      [
        '-f',
        'bin',
        '-w-all',
        '-l',
        path.join(dir, 'main.lst'),
        '-o',
        path.join(dir, 'out.bin'),
        src,
      ],
      {
        encoding: 'utf8',
      },
    );
    const errors = new Map<number, string>();
    for (const m of r.stderr.matchAll(/main\.asm:(\d+): error: (.*)/g))
      errors.set(Number(m[1]), m[2]!);
    if (r.status !== 0 && errors.size === 0) throw new Error(`nasm failed: ${r.stderr}`);
    if (errors.size > 0) return { lines: new Map(), errors };
    const lines = new Map<number, NasmListingLine>();
    for (const row of readFileSync(path.join(dir, 'main.lst'), 'latin1').split('\n')) {
      const m = /^\s*(\d+) ([0-9A-F]{8}) ([0-9A-F[\]()]+)-?(\s|$)/.exec(row);
      if (!m) continue;
      const lineNo = Number(m[1]);
      const hex = m[3]!.replace(/[[\]()]/g, '');
      const bytes = hex.match(/../g)!.map((h) => parseInt(h, 16));
      const entry = lines.get(lineNo);
      if (entry) entry.bytes.push(...bytes);
      else lines.set(lineNo, { line: lineNo, address: parseInt(m[2]!, 16), bytes });
    }
    return { lines, errors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
