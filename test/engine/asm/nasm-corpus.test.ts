// The assembler against nasm, byte for byte, on the corpus generated from the opcode table.
import { describe, expect, it } from 'vitest';
import { assemble, assembleInstruction } from '../../../src-main/engine/asm/assembler';
import { generateCorpus } from '../isa/corpus';
import { nasm, nasmListing } from '../../helpers/nasm';

const ORG = 0x100000;
const HEADER = ['bits 32', `org ${ORG}`];

describe('assembler vs nasm on the table-generated corpus', () => {
  const corpus = generateCorpus();
  const first = nasmListing([...HEADER, ...corpus].join('\n') + '\n');
  const rejectedByNasm = new Map<string, string>();
  for (const [lineNo, message] of first.errors)
    rejectedByNasm.set(corpus[lineNo - HEADER.length - 1]!, message);
  const accepted = corpus.map((l) => (rejectedByNasm.has(l) ? '; rejected by nasm: ' + l : l));
  const source = [...HEADER, ...accepted].join('\n') + '\n';
  const listing = nasmListing(source);

  it('covers the table (thousands of lines)', () => {
    expect(corpus.length).toBeGreaterThan(2000);
    expect(listing.errors.size).toBe(0);
  });

  it('encodes every line exactly as nasm does', () => {
    const mismatches: string[] = [];
    for (const [lineNo, ref] of listing.lines) {
      const text = accepted[lineNo - HEADER.length - 1]!;
      const ours = assembleInstruction(text, ref.address);
      const hex = (b: readonly number[] | undefined): string =>
        b === undefined ? 'error' : b.map((x) => x.toString(16).padStart(2, '0')).join(' ');
      if (hex(ours) !== hex(ref.bytes))
        mismatches.push(`${text}\n    nasm: ${hex(ref.bytes)}\n    ours: ${hex(ours)}`);
    }
    expect(mismatches.slice(0, 40).join('\n')).toBe('');
  });

  it('rejects what nasm rejects', () => {
    const accepts = [...rejectedByNasm.keys()].filter(
      (l) => assembleInstruction(l, ORG) !== undefined,
    );
    expect(accepts.map((l) => `${l}  (nasm: ${rejectedByNasm.get(l)})`).join('\n')).toBe('');
  });

  it('assembles the whole corpus file to the same bytes', () => {
    const ours = assemble(source, { file: 'corpus.asm' });
    const ref = nasm(source);
    expect(ref.ok).toBe(true);
    expect(Buffer.from(ours.bytes).equals(Buffer.from(ref.bytes))).toBe(true);
  });
});
