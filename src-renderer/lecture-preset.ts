// The preset "isprime(49), as in the lecture" (lecture §6): the experiment it runs, the labels
// of the bundled kernel it asks the API for (the range of the lecture's isprime routine), and
// the lecture's walk-through as captions on the replay's steps — each derived from the dump's
// events restricted to the routine's fragments: a unit translated (its instructions left alone
// or rewritten, its jumps left open), a jump filled in as its target appears, a fall-through
// needing no jump, and at the end the code never translated (the lecture's `prime`).

import { SPEC_DEFAULTS, type ExperimentSpec } from '../shared/results';
import { type DumpedFragment, type TranslationCacheDump } from '../shared/translation-cache-dump';
import {
  type AddressRange,
  describeEvent,
  fragmentInRange,
  hexAddress,
  replay,
  untranslatedCode,
} from './translation-cache';

export const LECTURE_PRESET_LABEL = 'isprime(49), as in the lecture';

/** the routine the lecture walks through, its end, and its local labels (for the captions) */
export const ROUTINE = 'lecture_isprime';
export const ROUTINE_END = 'lecture_isprime_end';
export const ROUTINE_LABELS = [
  ROUTINE,
  ROUTINE_END,
  'lecture_isprime.nexti',
  'lecture_isprime.prime',
  'lecture_isprime.not_prime',
] as const;

/** The experiment: the lecture workload with n=49, natively and under binary translation. */
export function lecturePresetSpec(): ExperimentSpec {
  return {
    ...SPEC_DEFAULTS,
    kernel: { kind: 'workload', workload: 'lecture' },
    techniques: ['native', 'binary-translation'],
    append: 'n=49',
  };
}

/** The routine's guest range (both ends included) from the kernel's labels. */
export function routineRange(symbols: Readonly<Record<string, number>>): AddressRange {
  const from = symbols[ROUTINE];
  const end = symbols[ROUTINE_END];
  if (from === undefined || end === undefined || end <= from) {
    throw new Error(`the kernel's labels give no range for ${ROUTINE}`);
  }
  return { from, to: end - 1 };
}

/** address → the label's short name (`prime` for `lecture_isprime.prime`) */
export function labelNames(symbols: Readonly<Record<string, number>>): Map<number, string> {
  const names = new Map<number, string>();
  for (const [name, address] of Object.entries(symbols)) {
    if (name === ROUTINE_END) continue;
    const short = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : name;
    if (!names.has(address) || name.includes('.')) names.set(address, short);
  }
  return names;
}

export interface RoutineStep {
  /** the replay step (1-based event number) */
  readonly step: number;
  readonly caption: string;
}

/** what the lecture calls a conditional jump the disassembler spells otherwise */
const LECTURE_MNEMONIC: Record<string, string> = { jnl: 'jge', je: 'jz', jnge: 'jl', jne: 'jnz' };

/** The guest instruction behind exit `k` of `f`, as the lecture would name it ("jge"). */
export function exitMnemonic(f: DumpedFragment, k: number): string {
  const x = f.exits[k];
  if (!x) return 'exit';
  if (x.kind === 'fall-through') return 'fall-through';
  const target = x.target.toString(16);
  const ins = [...f.instructions]
    .reverse()
    .find((i) => i.treatment === 'control-flow' && i.guestText.toLowerCase().includes(target));
  const word = ins?.guestText.trim().split(/\s+/)[0]?.toLowerCase() ?? 'jump';
  return LECTURE_MNEMONIC[word] ?? word;
}

/**
 * The replay steps that concern the routine (`range`), each with a caption in the lecture's
 * words; the last also names the code in the routine never translated. Empty when no fragment
 * of the dump has code in the range.
 */
export function routineSteps(
  dump: TranslationCacheDump,
  range: AddressRange,
  names: ReadonlyMap<number, string> = new Map(),
): RoutineStep[] {
  const byId = new Map(dump.fragments.map((f) => [f.id, f]));
  const inRoutine = (id: number): boolean => {
    const f = byId.get(id);
    return f !== undefined && fragmentInRange(f, range);
  };
  const where = (address: number): string => {
    const name = names.get(address);
    return name ? `${name} (${hexAddress(address)})` : hexAddress(address);
  };
  const steps: RoutineStep[] = [];
  let unit = 0;
  dump.events.forEach((e, k) => {
    const step = k + 1;
    if (e.kind === 'translate' && inRoutine(e.fragment)) {
      const f = byId.get(e.fragment)!;
      unit++;
      const n = f.instructions.length;
      const rewritten = f.instructions.filter((i) => i.treatment !== 'ident');
      const sensitive = rewritten.filter((i) => i.treatment !== 'control-flow');
      const what =
        sensitive.length === 0
          ? `all ${n} instructions are innocuous and are left alone${rewritten.length > 0 ? ' (only the jumps are rewritten, since the code moved)' : ''}`
          : `${sensitive.length} of its ${n} instructions are translated (${[...new Set(sensitive.map((i) => i.treatment))].join(', ')}), the others left alone`;
      const after = replay(dump, step).fragments.find((g) => g.id === f.id);
      const open = (after?.exits ?? []).filter((x) => x.state === 'open' && x.kind === 'jump');
      const openText = open
        .map(
          (x) =>
            ` The address of its ${exitMnemonic(f, x.exit)} to ${where(x.target)} is left open.`,
        )
        .join('');
      steps.push({
        step,
        caption: `Translation unit ${unit} read at ${where(f.guestEip)} and translated into fragment #${f.id}: ${what}.${openText}`,
      });
    } else if (e.kind === 'chain' && inRoutine(e.from)) {
      const f = byId.get(e.from)!;
      const x = f.exits[e.exit];
      const target = x ? where(x.target) : `fragment #${e.to}`;
      steps.push({
        step,
        caption: `Now that the code at ${target} is translated (fragment #${e.to}), fragment #${e.from}'s ${exitMnemonic(f, e.exit)} is filled in: it jumps straight there.`,
      });
    } else if (e.kind === 'elide' && inRoutine(e.from)) {
      const to = byId.get(e.to);
      steps.push({
        step,
        caption: `Fragment #${e.to}${to ? ` (${where(to.guestEip)})` : ''} is placed right after fragment #${e.from}: its fall-through needs no jump.`,
      });
    } else if (
      (e.kind === 'invalidate' && inRoutine(e.fragment)) ||
      (e.kind === 'flush' && steps.length > 0)
    ) {
      steps.push({ step, caption: `${describeEvent(e, dump)}.` });
    }
  });
  const last = steps.at(-1);
  if (last) {
    const never = untranslatedCode(dump, range).flatMap((g) => g.knownStarts.map((s) => s.address));
    if (never.length > 0) {
      const list = never.map(where).join(', ');
      steps[steps.length - 1] = {
        step: last.step,
        caption: `${last.caption} ${list} ${never.length === 1 ? 'is' : 'are'} never translated: in this execution ${never.length === 1 ? 'it is' : 'they are'} never executed, and so we don't need to translate ${never.length === 1 ? 'it' : 'them'}.`,
      };
    }
  }
  return steps;
}
