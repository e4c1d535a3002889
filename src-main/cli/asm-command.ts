// `vmm-workbench asm`: assemble a NASM-syntax source into a flat binary (what `nasm -f bin`
// makes of it), optionally with a listing.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { assemble, type ListingEntry } from '../engine/asm/assembler';
import { optionValue, parseArgs, UsageError } from './args';
import { FileSourceProvider } from '../host/source-files';
import { readInputFile } from './files';
import { type CommandIo } from './io';

export const ASM_HELP = `usage: vmm-workbench asm SRC.asm -o OUT.bin [-I DIR]... [-D NAME[=VAL]]... [--listing FILE]

Assemble a NASM-syntax source (bits 32) into a flat binary, byte for byte what
\`nasm -f bin\` produces.

  -o, --output FILE     where to write the binary (required)
  -I, --include DIR     another folder to search for %include files (repeatable);
                        the including file's folder is searched first, the
                        working folder last
  -D, --define NAME[=VAL]  predefine a macro, as %define NAME VAL (repeatable)
      --listing FILE    also write a listing: line, address, bytes, source
  -h, --help            show this help
`;

export function asmCommand(argv: readonly string[], io: CommandIo): number {
  const args = parseArgs(argv, [
    { name: 'output', short: 'o', value: true },
    { name: 'include', short: 'I', value: true, repeat: true },
    { name: 'define', short: 'D', value: true, repeat: true },
    { name: 'listing', value: true },
    { name: 'help', short: 'h' },
  ]);
  if (args.flags.has('help')) {
    io.stdout(ASM_HELP);
    return 0;
  }
  if (args.positional.length !== 1) {
    throw new UsageError(
      args.positional.length === 0
        ? 'asm needs a source file'
        : `asm takes one source file, got ${args.positional.length}`,
    );
  }
  const output = optionValue(args, 'output');
  if (!output) throw new UsageError('asm needs -o OUT.bin');
  const src = args.positional[0]!;
  const text = readInputFile(src, 'source file').toString('latin1');
  const defines = (args.options.get('define') ?? []).map((d): [string, string] => {
    const eq = d.indexOf('=');
    const name = eq < 0 ? d : d.slice(0, eq);
    if (!/^[A-Za-z_.?][A-Za-z0-9_.?$#@~]*$/.test(name)) {
      throw new UsageError(`-D expects NAME or NAME=VALUE, got '${d}'`);
    }
    return [name, eq < 0 ? '' : d.slice(eq + 1)];
  });
  const listingFile = optionValue(args, 'listing');
  const result = assemble(text, {
    file: src,
    defines,
    provider: new FileSourceProvider(args.options.get('include') ?? []),
    listing: listingFile !== undefined,
  });
  writeFileSync(output, result.bytes);
  if (listingFile && result.listing) writeFileSync(listingFile, formatListing(result.listing));
  io.stderr(
    `${path.basename(src)}: ${result.bytes.length} bytes at 0x${result.origin.toString(16)}\n`,
  );
  return 0;
}

/** NASM-like listing: line number, address, up to 9 bytes per row in hex, source text. */
export function formatListing(entries: readonly ListingEntry[]): string {
  const rows: string[] = [];
  for (const e of entries) {
    const lineNo = String(e.line).padStart(6);
    const marker = e.macroDepth > 0 ? `<${e.macroDepth}> ` : '';
    const hex = e.bytes.map((b) => b.toString(16).toUpperCase().padStart(2, '0'));
    const addr =
      e.address === undefined ? '        ' : e.address.toString(16).toUpperCase().padStart(8, '0');
    const first = hex.slice(0, 9).join('');
    rows.push(
      `${lineNo} ${addr} ${(first + (hex.length > 9 ? '-' : '')).padEnd(24)}${marker}${e.source}`,
    );
    for (let i = 9; i < hex.length; i += 9) {
      const more = hex.slice(i, i + 9).join('') + (i + 9 < hex.length ? '-' : '');
      const a = ((e.address ?? 0) + i).toString(16).toUpperCase().padStart(8, '0');
      rows.push(`${lineNo} ${a} ${more}`);
    }
  }
  return rows.join('\n') + '\n';
}
