// Hand-written sources using every directive, expression and preprocessor feature, assembled
// by our assembler and by nasm: the bytes must be identical.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../src-main/engine/asm/assembler';
import { FileSourceProvider } from '../../../src-main/host/source-files';
import { nasm } from '../../helpers/nasm';

const FIXTURES = path.resolve(__dirname, '../../fixtures/asm');

describe('hand-written sources vs nasm', () => {
  const sources = readdirSync(FIXTURES).filter((f) => f.endsWith('.asm'));

  it('has the fixtures', () => {
    expect(sources).toEqual(expect.arrayContaining(['directives.asm', 'macros.asm']));
  });

  for (const name of sources) {
    it(`${name} assembles to nasm's bytes`, () => {
      const file = path.join(FIXTURES, name);
      const text = readFileSync(file, 'latin1');
      const ours = assemble(text, { file, provider: new FileSourceProvider([], FIXTURES) });
      const ref = nasm(text, { args: ['-I', FIXTURES + '/'] });
      expect(ref.ok, ref.stderr).toBe(true);
      expect(Buffer.from(ours.bytes).toString('hex')).toBe(Buffer.from(ref.bytes).toString('hex'));
    });
  }
});
