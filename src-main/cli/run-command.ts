// `vmm-workbench run`: boot a multiboot kernel (a .bin, or an .asm assembled first) on the
// simulated PC and stream its serial output, byte for byte, to stdout. Diagnostics go to
// stderr; the exit status is the guest's isa-debug-exit value (low 8 bits), 124 when the
// instruction budget ran out, 125 on a triple fault or a halted machine, 2 on bad input.

import path from 'node:path';
import { type RunResult, SPEC_DEFAULTS } from '../../shared/results';
import { assemble } from '../engine/asm/assembler';
import { runExperiment } from '../engine/experiment';
import { DEFAULT_MEMORY } from '../engine/machine/machine';
import { sha256Hex } from '../engine/metrics/sha256';
import { type RunSpec } from '../engine/run-spec';
import { requireTechnique } from '../engine/vmm';
import { FileSourceProvider } from '../host/source-files';
import { writeFileAtomic } from '../report/atomic-write';
import { optionValue, parseArgs, parseNumberOption, UsageError } from './args';
import {
  HOST_CLOCK,
  parseIsa,
  parseProfile,
  parseTechnique,
  registryHelp,
} from './experiment-options';
import { readInputFile } from './files';
import { type CommandIo } from './io';

export function runHelp(): string {
  return `usage: vmm-workbench run KERNEL.bin|KERNEL.asm [options]

Boot a multiboot kernel on the simulated IA-32 PC, as qemu-system-i386 -kernel
would, and write its serial output (COM1) to stdout, byte for byte.

  --technique NAME      virtualization technique (default native)
  --isa classic|strict  ISA variant (default classic)
  --profile NAME        CPU profile of the cost model (default ${SPEC_DEFAULTS.profile})
  --append "TEXT"       kernel command line after the kernel path, as qemu -append
  --memory SIZE         RAM, e.g. 64M (default), 128M, 1G
  --max-insns N         stop after N instructions (default 1000000000)
  --metrics FILE.json   write the run's metrics (one RunResult) to FILE.json
  -h, --help            show this help

${registryHelp()}
exit status: the value the guest wrote to port 0xf4 (low 8 bits; QEMU itself
exits with (value << 1) | 1), 124 when --max-insns ran out, 125 on a triple
fault or a halted machine, 2 for a usage or input error.
`;
}

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

function describeEnd(result: RunResult): string {
  const end = result.end;
  const eip = end.eip === null ? '' : ` at EIP=0x${end.eip.toString(16)}`;
  switch (end.reason) {
    case 'exit':
      return `guest exited with value ${end.exitCode} (0x${(end.exitCode ?? 0).toString(16)})`;
    case 'instruction-limit':
      return `stopped: the instruction budget (--max-insns) ran out after ${result.guestInstructions.total} instructions`;
    case 'halted':
      return `stopped: the machine halted (hlt with interrupts off or nothing left to wake it)${eip}`;
    case 'triple-fault':
      return `stopped: triple fault${eip}: ${end.detail}`;
    default:
      return `stopped: ${end.detail}`;
  }
}

/** The exit status of `run` for how a run ended (MACHINE.md "Command line"). */
export function exitStatus(end: RunResult['end']): number {
  switch (end.reason) {
    case 'exit':
      return (end.exitCode ?? 0) & 0xff;
    case 'instruction-limit':
      return 124;
    case 'halted':
    case 'triple-fault':
      return 125;
    case 'error':
      return 2;
    default:
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

export async function runCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const args = parseArgs(argv, [
    { name: 'technique', value: true },
    { name: 'isa', value: true },
    { name: 'append', value: true },
    { name: 'memory', value: true },
    { name: 'max-insns', value: true },
    { name: 'profile', value: true },
    { name: 'metrics', value: true },
    { name: 'help', short: 'h' },
  ]);
  if (args.flags.has('help')) {
    io.stdout(runHelp());
    return 0;
  }
  if (args.positional.length !== 1) {
    throw new UsageError(
      args.positional.length === 0
        ? 'run needs a kernel file'
        : `run takes one kernel, got ${args.positional.length}`,
    );
  }
  const technique = parseTechnique(optionValue(args, 'technique') ?? 'native');
  const isa = parseIsa(optionValue(args, 'isa'));
  const profile = parseProfile(optionValue(args, 'profile'));
  const memoryText = optionValue(args, 'memory');
  const memoryBytes = memoryText === undefined ? DEFAULT_MEMORY : parseMemorySize(memoryText);
  const maxText = optionValue(args, 'max-insns');
  const maxInstructions =
    maxText === undefined ? 1_000_000_000 : parseNumberOption(maxText, '--max-insns');
  if (maxInstructions <= 0) throw new UsageError('--max-insns must be at least 1');
  const metricsFile = optionValue(args, 'metrics');

  const file = args.positional[0]!;
  const image = readKernel(file);
  // QEMU's multiboot command line: the kernel path as given, a space, the -append text
  // (the space is there even without -append).
  const spec: RunSpec = {
    experiment: {
      ...SPEC_DEFAULTS,
      kernel: { kind: 'file', name: path.basename(file), sha256: sha256Hex(image) },
      techniques: [technique],
      append: optionValue(args, 'append') ?? '',
      isa,
      profile,
      maxInstructions,
      memoryBytes,
      // `run` has no watchdog beyond the instruction budget: a day of host time
      timeoutMs: 24 * 3600 * 1000,
    },
    technique,
    kernel: { name: path.basename(file), image, build: requireTechnique(technique).kernelBuild },
    kernelPath: file,
  };
  // the serial output streams to stdout while the guest runs
  const result = runExperiment(spec, () => {}, undefined, HOST_CLOCK, {
    onOutput: (chunk) => io.stdout(chunk),
  });
  if (metricsFile !== undefined) {
    await writeFileAtomic(metricsFile, `${JSON.stringify(result, null, 2)}\n`);
  }
  if (result.status === 'failed') throw new UsageError(result.end.detail);
  if (result.end.reason !== 'exit') io.stderr(`vmm-workbench run: ${describeEnd(result)}\n`);
  return exitStatus(result.end);
}
