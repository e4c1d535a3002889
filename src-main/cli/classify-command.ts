// `vmm-workbench classify [--isa classic|strict] [--json]`: the Popek–Goldberg classification
// of every opcode-table form (src-main/engine/classify), printed as a table of the sensitive
// and privileged forms with the verdict, or as the whole classification in JSON.

import {
  type Classification,
  classify,
  type InstructionClassification,
  STATE_COUNT,
} from '../engine/classify/classifier';
import { CONFIGS, CPLS } from '../engine/classify/states';
import { parseArgs, optionValue, UsageError } from './args';
import { parseIsa } from './experiment-options';
import { type CommandIo } from './io';

export const CLASSIFY_HELP = `usage: vmm-workbench classify [--isa classic|strict] [--json]

Popek & Goldberg's classification of every instruction form of the opcode
table, derived by executing each form on the simulated CPU (never read from a
list) from ${STATE_COUNT} machine states: CPL 0, 1 and 3 (IOPL 0) in each of
${CONFIGS.length} privileged configurations (IF, CR0/CR4, CR3, table addresses, descriptors).

  T  traps: at CPL 1 and 3 it always transfers control to the supervisor
  P  privileged: #GP at CPL 1 and 3, not at CPL 0
  C  control-sensitive: it can change privileged state
  B  behaviour-sensitive: its result depends on privileged state

Verdict: virtualizable by trap-and-emulate iff every sensitive (C or B) form
traps; the sensitive forms that do not are listed.

      --isa ISA   classic (default: real IA-32) or strict (every sensitive
                  instruction raises #GP(0) at CPL > 0)
      --json      the whole classification, with evidence for every form:
                  { isa, virtualizable, instructions: [{ mnemonic, form, traps,
                  privileged, controlSensitive, behaviorSensitive, evidence }],
                  violators, uncovered }
  -h, --help      show this help
`;

export function classifyCommand(argv: readonly string[], io: CommandIo): number {
  const args = parseArgs(argv, [
    { name: 'isa', value: true },
    { name: 'json' },
    { name: 'help', short: 'h' },
  ]);
  if (args.flags.has('help')) {
    io.stdout(CLASSIFY_HELP);
    return 0;
  }
  if (args.positional.length > 0)
    throw new UsageError(`unexpected argument '${args.positional[0]!}'`);
  const isa = parseIsa(optionValue(args, 'isa'));
  const result = classify({ isa });
  io.stdout(
    args.flags.has('json') ? `${JSON.stringify(result, null, 2)}\n` : formatClassification(result),
  );
  return 0;
}

const sensitive = (i: InstructionClassification): boolean =>
  i.controlSensitive || i.behaviorSensitive;

/** The text report: sensitive and privileged forms as a T/P/C/B table, then the verdict. */
export function formatClassification(c: Classification): string {
  const listed = c.instructions.filter((i) => sensitive(i) || i.privileged);
  const innocuous = c.instructions.filter((i) => !sensitive(i)).length;
  const mnemonicWidth = Math.max('mnemonic'.length, ...listed.map((i) => i.mnemonic.length));
  const formWidth = Math.max('form'.length, ...listed.map((i) => i.form.length));
  const flag = (on: boolean, letter: string): string => (on ? letter : '-');
  const lines = [
    `Popek–Goldberg classification, ISA ${c.isa}: ${c.instructions.length} forms, each run at CPL ${CPLS.join('/')} (IOPL 0) in ${CONFIGS.length} configurations:`,
    `  ${CONFIGS.map((k) => k.name).join('; ')}`,
    '',
    `${'mnemonic'.padEnd(mnemonicWidth)}  ${'form'.padEnd(formWidth)}  T P C B`,
    ...listed.map(
      (i) =>
        `${i.mnemonic.padEnd(mnemonicWidth)}  ${i.form.padEnd(formWidth)}  ${flag(i.traps, 'T')} ${flag(i.privileged, 'P')} ${flag(i.controlSensitive, 'C')} ${flag(i.behaviorSensitive, 'B')}${sensitive(i) && !i.traps ? '  violator' : ''}`,
    ),
    '',
    `${innocuous} innocuous forms (neither control- nor behaviour-sensitive) not listed.`,
    'T traps at CPL 1 and 3 · P privileged (#GP at CPL 1/3, not at 0) · C control-sensitive · B behaviour-sensitive',
    '',
  ];
  if (c.uncovered.length > 0) {
    lines.push(
      `${c.uncovered.length} forms could not be executed (not classified):`,
      ...c.uncovered.map((u) => `  ${u.form}: ${u.reason}`),
      '',
    );
  }
  const sensitiveCount = c.instructions.filter(sensitive).length;
  if (c.virtualizable) {
    lines.push(
      `Verdict: virtualizable by trap-and-emulate — all ${sensitiveCount} sensitive forms trap at CPL 1 and 3.`,
    );
  } else {
    lines.push(
      `Verdict: NOT virtualizable by trap-and-emulate — ${c.violators.length} of ${sensitiveCount} sensitive forms do not trap at CPL 1 and 3:`,
      ...c.violators.map((v) => `  ${v.form}`),
    );
  }
  return `${lines.join('\n')}\n`;
}
