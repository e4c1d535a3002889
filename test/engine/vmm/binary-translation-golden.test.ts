// Golden fragments: what the binary translator makes of small guest kernel routines, checked
// in as text (test/fixtures/translation/NAME.txt) and compared exactly — every unit, every
// IDENT copy, every rewritten instruction and every exit, and the order in which units were
// translated and their open jumps filled in. Addresses are written relative to the routine
// (guest) and to the fragment (cache), so the files change only when the translation does.
// Regenerate after a deliberate change with UPDATE_TRANSLATION_GOLDEN=1.
//
// lecture-isprime is lecture §6's walk-through of isPrime(49): the first unit stops after jge
// with its jump left open; the loop's units follow (each placed right after the one before:
// the fall-through elided) and the loop's jl is chained at once; when 49 mod 7 = 0 the
// notPrime unit is translated and jz filled in; `prime` is never translated.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SPEC_DEFAULTS } from '../../../shared/results';
import {
  type TranslationCacheDump,
  TranslationCacheDumpSchema,
} from '../../../shared/translation-cache-dump';
import { runExperiment } from '../../../src-main/engine/experiment';
import {
  PENDING_HOOK,
  RETURN_TAGS,
  RETURN_TARGET,
  RETURN_TARGETS,
  SCRATCH0,
  SCRATCH1,
  VIRTUAL_IF,
  VIRTUAL_IOPL,
} from '../../../src-main/engine/vmm/techniques/binary-translation/translation-cache';
import { guestKernelImage, guestKernelSymbols } from '../../../src-main/host/guest-kernel';

const GOLDEN = path.resolve(__dirname, '../../fixtures/translation');
const UPDATE = process.env.UPDATE_TRANSLATION_GOLDEN === '1';

function dumpOf(workload: string, append: string): TranslationCacheDump {
  let dump: TranslationCacheDump | undefined;
  const r = runExperiment(
    {
      experiment: {
        ...SPEC_DEFAULTS,
        kernel: { kind: 'workload', workload },
        techniques: ['binary-translation'],
        append,
      },
      technique: 'binary-translation',
      kernel: { name: 'k', image: guestKernelImage('native'), build: 'native' },
      kernelPath: 'vmm-guest.bin',
    },
    () => {},
    undefined,
    undefined,
    { onTranslationCache: (d) => (dump = d) },
  );
  expect(r.status).toBe('completed');
  return TranslationCacheDumpSchema.parse(dump);
}

/** The fragments of guest code in [first label, end label), as relative text. */
function describeRoutine(dump: TranslationCacheDump, from: string, to: string): string {
  const symbols = guestKernelSymbols('native');
  const lo = symbols.get(from)!;
  const hi = symbols.get(to)!;
  const frags = dump.fragments.filter((f) => f.guestEip >= lo && f.guestEip < hi);
  const number = new Map(frags.map((f, i) => [f.id, i + 1]));
  const rel = (a: number): string => `+0x${(a - lo).toString(16)}`;
  const tcName = (a: number): string => {
    const f = frags.find((g) => a >= g.tcStart && a < g.tcEnd);
    if (f) return `#${number.get(f.id)}+0x${(a - f.tcStart).toString(16)}`;
    return a >= dump.windowBase ? 'tc:stub' : rel(a);
  };
  const byAddress = new Map<number, string>();
  for (const [name, a] of symbols)
    if (!name.includes('.') && !byAddress.has(a)) byAddress.set(a, name);
  const monitor = new Map([
    [PENDING_HOOK, 'pending_hook'],
    [VIRTUAL_IF, 'virtual_if'],
    [VIRTUAL_IOPL, 'virtual_iopl'],
    [SCRATCH0, 'scratch0'],
    [SCRATCH1, 'scratch1'],
    [RETURN_TARGET, 'return_target'],
    [RETURN_TAGS, 'return_tags'],
    [RETURN_TARGETS, 'return_targets'],
  ]);
  // exit stubs grow down from the arena's end (three pages of the window precede the arena)
  const arenaEnd = dump.windowBase + 3 * 4096 + dump.cacheBytes;
  const stubsFrom = arenaEnd - dump.usedBytes;
  const addresses = (text: string): string =>
    text
      // a displacement the disassembler shows as negative (the window is at the top)
      .replace(/-0x([0-9a-f]{6,8})\b/g, (m, h: string) => {
        const name = monitor.get((0x100000000 - parseInt(h, 16)) >>> 0);
        return name ? `+${name}` : m;
      })
      .replace(/\(fragment (\d+)\)/g, (_m, id: string) =>
        number.has(Number(id)) ? `(#${number.get(Number(id))})` : '(elsewhere)',
      )
      .replace(/0x([0-9a-f]{6,8})\b/g, (m, h: string) => {
        const a = parseInt(h, 16);
        if (monitor.has(a)) return monitor.get(a)!;
        if (frags.some((g) => a >= g.tcStart && a < g.tcEnd)) return tcName(a);
        if (a >= stubsFrom && a < arenaEnd) return 'tc:stub';
        if (a >= lo && a < hi) return rel(a);
        return byAddress.get(a) ?? m;
      });
  const lines: string[] = [];
  for (const f of frags) {
    lines.push(`fragment #${number.get(f.id)!} at ${rel(f.guestEip)}`);
    for (const i of f.instructions) {
      const guest = `${rel(i.guestEip).padEnd(6)} ${i.guestBytes.padEnd(14)} ${addresses(i.guestText).padEnd(22)}`;
      i.cache.forEach((c, k) => {
        const text = addresses(c.text);
        const left = k === 0 ? `${guest} ${i.treatment.padEnd(12)}` : ' '.repeat(58);
        lines.push(
          `  ${left} | ${tcName(c.address).padEnd(7)} ${pinned(c.bytes, text).padEnd(22)} ${text}`,
        );
      });
    }
    for (const e of f.exits) {
      const to =
        e.linkedTo === null
          ? 'open'
          : number.has(e.linkedTo)
            ? `#${number.get(e.linkedTo)}`
            : 'elsewhere';
      lines.push(`  exit ${e.kind} to ${rel(e.target)}: ${e.elided ? 'elided' : to}`);
    }
  }
  lines.push('events:');
  for (const e of dump.events) {
    const n = (id: number) => (number.has(id) ? `#${number.get(id)}` : null);
    if (e.kind === 'translate' && n(e.fragment)) lines.push(`  translate ${n(e.fragment)}`);
    if (e.kind === 'chain' && n(e.from) && n(e.to))
      lines.push(`  chain ${n(e.from)} exit ${e.exit} to ${n(e.to)}`);
    if (e.kind === 'chain' && !n(e.from) && n(e.to)) lines.push(`  chain (caller) to ${n(e.to)}`);
    if (e.kind === 'elide' && n(e.from) && n(e.to))
      lines.push(`  elide ${n(e.from)} into ${n(e.to)}`);
    if (e.kind === 'invalidate' && n(e.fragment)) lines.push(`  invalidate ${n(e.fragment)}`);
  }
  return lines.join('\n') + '\n';
}

/** An open jump's rel32 depends on where the stubs happen to be: not pinned. */
function pinned(bytes: string, text: string): string {
  return text.includes('tc:stub') ? `${bytes.slice(0, -8)}xxxxxxxx` : bytes;
}

function golden(name: string, text: string): void {
  const file = path.join(GOLDEN, `${name}.txt`);
  if (UPDATE) writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

describe('golden translations', () => {
  it('lecture-isprime: isPrime(49) as the lecture walks through it', () => {
    const text = describeRoutine(
      dumpOf('lecture', 'n=49'),
      'lecture_isprime',
      'lecture_isprime_end',
    );
    golden('lecture-isprime', text);
    // the lecture's points, stated outright
    const prime = guestKernelSymbols('native').get('lecture_isprime.prime')!;
    const lo = guestKernelSymbols('native').get('lecture_isprime')!;
    expect(text).not.toMatch(
      new RegExp(`^fragment #\\d+ at \\+0x${(prime - lo).toString(16)}$`, 'm'),
    );
    expect(text.match(/^fragment /gm)).toHaveLength(4);
    expect(text).toContain('events:\n  translate #1\n');
  });

  it('cr3loop: the lecture’s cli; mov cr3; sti — inline, callout, inline with the pending check', () => {
    const text = describeRoutine(dumpOf('cr3', 'n=3'), 'sys_cr3loop', 'sys_ioloop');
    golden('cr3loop', text);
    expect(text).toMatch(/cli +inline/);
    expect(text).toMatch(/mov cr3, eax +callout/);
    expect(text).toMatch(/sti +inline/);
  });
});
