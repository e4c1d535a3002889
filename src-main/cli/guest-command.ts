// `vmm-workbench guest`: the guest kernel (src-main/engine/guest/kernel.asm) as a product.
//   guest build [--paravirt] -o KERNEL.bin   assemble it with our assembler (byte for byte what
//                                            nasm makes); --paravirt defines PARAVIRT, the
//                                            para-virtual build from the same source
//   guest workloads                          list the workloads it runs (workload=NAME)

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { AsmError } from '../engine/asm/diagnostics';
import { WORKLOADS } from '../engine/guest/workloads';
import { optionValue, parseArgs, UsageError } from './args';
import { guestKernelImage } from '../host/guest-kernel';
import { type CommandIo } from './io';

export const GUEST_HELP = `usage: vmm-workbench guest build [--paravirt] -o KERNEL.bin
       vmm-workbench guest workloads

The guest kernel: one small multitasking x86 kernel that every virtualization
technique of the workbench runs. Boot it with
  vmm-workbench run KERNEL.bin --append "workload=NAME [n=NUMBER]"

  build                 assemble the kernel (multiboot, loaded at 1 MiB)
    -o, --output FILE   where to write it (required)
        --paravirt      the para-virtual build (-D PARAVIRT): sensitive
                        operations become calls of the para-API
  workloads             one line per workload: NAME  description
  -h, --help            show this help
`;

export function guestCommand(argv: readonly string[], io: CommandIo): number {
  const args = parseArgs(argv, [
    { name: 'output', short: 'o', value: true },
    { name: 'paravirt' },
    { name: 'help', short: 'h' },
  ]);
  if (args.flags.has('help')) {
    io.stdout(GUEST_HELP);
    return 0;
  }
  const [sub, ...extra] = args.positional;
  if (sub === undefined) throw new UsageError('guest needs a subcommand: build or workloads');
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]!}'`);
  if (sub === 'workloads') {
    if (args.options.has('output') || args.flags.has('paravirt')) {
      throw new UsageError('guest workloads takes no options');
    }
    const width = Math.max(...WORKLOADS.map((w) => w.name.length));
    io.stdout(WORKLOADS.map((w) => `${w.name.padEnd(width)}  ${w.description}\n`).join(''));
    return 0;
  }
  if (sub !== 'build') throw new UsageError(`unknown guest subcommand '${sub}'`);
  const output = optionValue(args, 'output');
  if (!output) throw new UsageError('guest build needs -o KERNEL.bin');
  const paravirt = args.flags.has('paravirt');
  const bytes = buildGuestKernel(paravirt, io);
  if (bytes === undefined) return 2;
  writeFileSync(output, bytes);
  io.stderr(
    `${path.basename(output)}: ${bytes.length} bytes, ${paravirt ? 'para-virtual' : 'native'} build\n`,
  );
  return 0;
}

/** Assemble the guest kernel; on an assembler error, say which build failed and return
 *  undefined (the caller exits with status 2). */
function buildGuestKernel(paravirt: boolean, io: CommandIo): Uint8Array | undefined {
  try {
    return guestKernelImage(paravirt ? 'paravirt' : 'native');
  } catch (e) {
    if (!(e instanceof AsmError)) throw e;
    io.stderr(
      `vmm-workbench guest build: the ${paravirt ? 'para-virtual' : 'native'} kernel does not assemble:\n${e.format()}\n`,
    );
    return undefined;
  }
}
