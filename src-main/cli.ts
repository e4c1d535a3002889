// The `vmm-workbench` command line: dispatches to one module per subcommand and turns every
// failure into a message on stderr and an exit status — 2 for a usage or input error (a bad
// flag, a missing file, a source that does not assemble), never a stack trace for bad input.

import { AsmError } from './engine/asm/diagnostics';
import { UsageError } from './cli/args';
import { asmCommand } from './cli/asm-command';
import { disasmCommand } from './cli/disasm-command';
import { type CommandIo, processIo } from './cli/io';
import { runCommand } from './cli/run-command';
import { guestCommand } from './cli/guest-command';
import { experimentCommand } from './cli/experiment-command';
import { classifyCommand } from './cli/classify-command';

type Command = (argv: readonly string[], io: CommandIo) => number | Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  asm: { run: asmCommand, summary: 'assemble NASM-syntax source into a flat binary' },
  disasm: { run: disasmCommand, summary: 'disassemble a flat binary into NASM source' },
  run: { run: runCommand, summary: 'boot a multiboot kernel on the simulated PC' },
  guest: { run: guestCommand, summary: 'build the guest kernel, list its workloads' },
  classify: {
    run: classifyCommand,
    summary: 'Popek–Goldberg classification of every instruction form, and the verdict',
  },
  experiment: {
    run: experimentCommand,
    summary: 'run one guest under several techniques side by side and compare',
  },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: vmm-workbench COMMAND [options]   (vmm-workbench COMMAND --help for details)',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`vmm-workbench: unknown command '${name}'\n${help()}`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`vmm-workbench ${name}: ${e.message}\n(see 'vmm-workbench ${name} --help')\n`);
      return 2;
    }
    if (e instanceof AsmError) {
      io.stderr(`${e.format()}\n`);
      return 2;
    }
    io.stderr(
      `vmm-workbench ${name}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    return 1;
  }
}
