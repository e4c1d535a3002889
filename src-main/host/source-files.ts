// Node-side source access for the assembler (the engine gets text, never paths): the
// SourceProvider that resolves %include as NASM does — the including file's folder, then each
// -I folder, then the working folder. Used by the CLI, the service and the tests.

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type SourceProvider } from '../engine/asm/preprocess';

export class FileSourceProvider implements SourceProvider {
  constructor(
    private readonly includeDirs: readonly string[],
    private readonly cwd: string = process.cwd(),
  ) {}

  resolveInclude(name: string, includingFile: string): { path: string; text: string } | undefined {
    const candidates = path.isAbsolute(name)
      ? [name]
      : [
          path.resolve(path.dirname(includingFile), name),
          ...this.includeDirs.map((dir) => path.resolve(this.cwd, dir, name)),
          path.resolve(this.cwd, name),
        ];
    for (const candidate of candidates) {
      if (existsSync(candidate) && statSync(candidate).isFile()) {
        return { path: candidate, text: readFileSync(candidate, 'latin1') };
      }
    }
    return undefined;
  }
}
