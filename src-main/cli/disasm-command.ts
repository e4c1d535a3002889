// `vmm-workbench disasm`: a flat binary → a NASM source listing that reassembles to the same
// bytes (bytes the assembler would encode differently are written as `db` with the decoded
// instruction in a comment).

import { assembleInstruction } from '../engine/asm/assembler';
import { disassemble, formatListing } from '../engine/isa/disasm';
import { optionValue, parseArgs, parseNumberOption, UsageError } from './args';
import { readInputFile } from './files';
import { type CommandIo } from './io';

export const DISASM_HELP = `usage: vmm-workbench disasm FILE.bin [--org ADDR]

Disassemble a flat 32-bit binary into NASM syntax. The output is a complete
source: \`vmm-workbench asm\` (or nasm -f bin) turns it back into the same bytes.

      --org ADDR   address of the first byte (decimal or 0x hex; default 0)
  -h, --help       show this help
`;

export function disasmCommand(argv: readonly string[], io: CommandIo): number {
  const args = parseArgs(argv, [
    { name: 'org', value: true },
    { name: 'help', short: 'h' },
  ]);
  if (args.flags.has('help')) {
    io.stdout(DISASM_HELP);
    return 0;
  }
  if (args.positional.length !== 1) {
    throw new UsageError(
      args.positional.length === 0
        ? 'disasm needs a binary file'
        : `disasm takes one file, got ${args.positional.length}`,
    );
  }
  const orgText = optionValue(args, 'org');
  const org = orgText === undefined ? 0 : parseNumberOption(orgText, '--org');
  if (org > 0xffffffff) throw new UsageError(`--org ${orgText} is beyond the 32-bit address space`);
  const bytes = new Uint8Array(readInputFile(args.positional[0]!, 'binary file'));
  const lines = disassemble(bytes, org, { verify: assembleInstruction });
  io.stdout(formatListing(lines));
  return 0;
}
