// Command-line option parsing for the `vmm-workbench` subcommands: each command declares its
// options; anything else is a usage error (exit status 2) that names the offending word.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** long name without dashes, e.g. 'listing' */
  readonly name: string;
  /** short alias without dash, e.g. 'o' */
  readonly short?: string;
  /** takes a value */
  readonly value?: boolean;
  /** may repeat (values collected in order) */
  readonly repeat?: boolean;
}

export interface ParsedArgs {
  readonly positional: string[];
  readonly options: Map<string, string[]>;
  readonly flags: Set<string>;
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  const byName = new Map<string, OptionSpec>();
  for (const spec of specs) {
    byName.set(`--${spec.name}`, spec);
    if (spec.short) byName.set(`-${spec.short}`, spec);
  }
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      positional.push(word);
      continue;
    }
    let name = word;
    let inline: string | undefined;
    const eq = word.indexOf('=');
    if (word.startsWith('--') && eq > 0) {
      name = word.slice(0, eq);
      inline = word.slice(eq + 1);
    } else if (!word.startsWith('--') && word.length > 2 && !byName.has(word)) {
      // -Iinclude, -DNAME=1: value glued to a short option
      name = word.slice(0, 2);
      inline = word.slice(2);
    }
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown option '${word}'`);
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`option '${name}' takes no value`);
      flags.add(spec.name);
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`option '${name}' needs a value`);
    const list = options.get(spec.name) ?? [];
    if (list.length > 0 && !spec.repeat) throw new UsageError(`option '${name}' given twice`);
    list.push(value);
    options.set(spec.name, list);
  }
  return { positional, options, flags };
}

/** The single value of an option, or undefined. */
export function optionValue(args: ParsedArgs, name: string): string | undefined {
  return args.options.get(name)?.[0];
}

/** Parse a number written as decimal or 0x-hex, or throw a UsageError naming the option. */
export function parseNumberOption(text: string, option: string): number {
  const value = /^0x[0-9a-f]+$/i.test(text)
    ? parseInt(text.slice(2), 16)
    : /^[0-9]+$/.test(text)
      ? parseInt(text, 10)
      : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new UsageError(`${option} expects a number (decimal or 0x hex), got '${text}'`);
  }
  return value;
}
