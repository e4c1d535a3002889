// `vmm-workbench run`: boot a multiboot kernel (a .bin, or an .asm assembled first) on the
// simulated PC and stream its serial output, byte for byte, to stdout. Diagnostics go to
// stderr; the exit status is the guest's isa-debug-exit value (low 8 bits), 124 when the
// instruction budget ran out, 125 on a triple fault or a halted machine, 2 on bad input.

import path from 'node:path';
import { assemble } from '../engine/asm/assembler';
import { createMachine } from '../engine/machine/machine';
import { MultibootError, multibootCommandLine } from '../engine/machine/multiboot';
import { type EndReason } from '../engine/machine/interfaces';
import { ISA_VARIANTS, type IsaVariant } from '../engine/isa/types';
import { optionValue, parseArgs, parseNumberOption, UsageError } from './args';
import { FileSourceProvider, readInputFile } from './files';
import { type CommandIo } from './io';

export const RUN_HELP = `usage: vmm-workbench run KERNEL.bin|KERNEL.asm [options]

Boot a multiboot kernel on the simulated IA-32 PC, as qemu-system-i386 -kernel
would, and write its serial output (COM1) to stdout, byte for byte.

  --technique NAME    virtualization technique (available: native)
  --isa classic|strict  ISA variant (default classic)
  --append "TEXT"     kernel command line after the kernel path, as qemu -append
  --memory SIZE       RAM, e.g. 64M (default), 128M, 1G
  --max-insns N       stop after N instructions (default 1000000000)
  -h, --help          show this help

exit status: the value the guest wrote to port 0xf4 (low 8 bits; QEMU itself
exits with (value << 1) | 1), 124 when --max-insns ran out, 125 on a triple
fault or a halted machine, 2 for a usage or input error.
`;

const TECHNIQUES = ['native'];

export function parseMemorySize(text: string): number {
  const m = /^(\d+)([KMG]?)i?B?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--memory expects a size like 64M or 1G, got '${text}'`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[
    m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'
  ];
  const bytes = Number(m[1]) * unit;
  if (bytes < 2 * 1024 ** 2 || bytes > 3 * 1024 ** 3 || bytes % 4096 !== 0) {
    throw new UsageError(`--memory ${text}: RAM must be between 2M and 3G, in whole 4 KiB pages`);
  }
  return bytes;
}

function describeEnd(end: EndReason, where: string): string {
  switch (end.kind) {
    case 'exit':
      return `guest exited with value ${end.code} (0x${end.code.toString(16)})`;
    case 'instruction-limit':
      return `stopped: the instruction budget (--max-insns) ran out at ${where}`;
    case 'halted':
      return `stopped: the machine halted (hlt with interrupts off or nothing left to wake it) at EIP=0x${end.eip.toString(16)}`;
    case 'triple-fault':
      return `stopped: triple fault at EIP=0x${end.eip.toString(16)}: ${end.detail}`;
    case 'cancelled':
      return 'stopped: cancelled';
  }
}

export function exitStatus(end: EndReason): number {
  switch (end.kind) {
    case 'exit':
      return end.code & 0xff;
    case 'instruction-limit':
      return 124;
    case 'halted':
    case 'triple-fault':
      return 125;
    case 'cancelled':
      return 130;
  }
}

/** Read a kernel argument: a flat binary, or NASM source assembled on the way. */
export function readKernel(file: string, includeDirs: readonly string[] = []): Uint8Array {
  const bytes = readInputFile(file, 'kernel');
  if (path.extname(file).toLowerCase() === '.asm') {
    const result = assemble(bytes.toString('latin1'), {
      file,
      provider: new FileSourceProvider(includeDirs),
    });
    return result.bytes;
  }
  return new Uint8Array(bytes);
}

export function runCommand(argv: readonly string[], io: CommandIo): number {
  const args = parseArgs(argv, [
    { name: 'technique', value: true },
    { name: 'isa', value: true },
    { name: 'append', value: true },
    { name: 'memory', value: true },
    { name: 'max-insns', value: true },
    { name: 'help', short: 'h' },
  ]);
  if (args.flags.has('help')) {
    io.stdout(RUN_HELP);
    return 0;
  }
  if (args.positional.length !== 1) {
    throw new UsageError(
      args.positional.length === 0
        ? 'run needs a kernel file'
        : `run takes one kernel, got ${args.positional.length}`,
    );
  }
  const technique = optionValue(args, 'technique') ?? 'native';
  if (!TECHNIQUES.includes(technique)) {
    throw new UsageError(`unknown technique '${technique}' (available: ${TECHNIQUES.join(', ')})`);
  }
  const isa = (optionValue(args, 'isa') ?? 'classic') as IsaVariant;
  if (!ISA_VARIANTS.includes(isa))
    throw new UsageError(`--isa must be classic or strict, not '${isa}'`);
  const memoryText = optionValue(args, 'memory');
  const memoryBytes = memoryText === undefined ? undefined : parseMemorySize(memoryText);
  const maxText = optionValue(args, 'max-insns');
  const maxInstructions =
    maxText === undefined ? 1_000_000_000 : parseNumberOption(maxText, '--max-insns');
  if (maxInstructions <= 0) throw new UsageError('--max-insns must be at least 1');

  const file = args.positional[0]!;
  const image = readKernel(file);
  const append = optionValue(args, 'append');
  // QEMU's multiboot command line: the kernel path as given, a space, the -append text
  // (the space is there even without -append).
  const cmdline = multibootCommandLine(file, append ?? '');
  const machine = createMachine({ isa, ...(memoryBytes ? { memoryBytes } : {}) });
  try {
    machine.loadKernel(image, cmdline);
  } catch (e) {
    if (e instanceof MultibootError) throw new UsageError(`${file}: ${e.message}`);
    throw e;
  }
  // Run in slices so the serial output streams while the guest runs.
  let written = 0;
  let end: EndReason;
  const slice = 20_000_000;
  for (;;) {
    end = machine.run({
      maxInstructions: Math.min(maxInstructions, machine.cpu.instructions + slice),
    });
    const out = machine.serialOutput();
    if (out.length > written) {
      io.stdout(out.subarray(written));
      written = out.length;
    }
    if (end.kind !== 'instruction-limit' || machine.cpu.instructions >= maxInstructions) break;
  }
  const status = exitStatus(end);
  if (end.kind !== 'exit') io.stderr(`vmm-workbench run: ${describeEnd(end, machine.where())}\n`);
  return status;
}
