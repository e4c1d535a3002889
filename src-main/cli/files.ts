// File access for the CLI: the SourceProvider that resolves %include as NASM does (the
// including file's folder, then each -I folder, then the working folder), and small helpers
// that turn file-system failures into messages that name the file.

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type SourceProvider } from '../engine/asm/preprocess';
import { UsageError } from './args';

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

/** Read a file the user named, or throw a UsageError that says which and why. */
export function readInputFile(file: string, what: string): Buffer {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new UsageError(`${what} '${file}' is not a file`);
    return readFileSync(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `${what} '${file}' does not exist`
        : `cannot read ${what} '${file}': ${String(e)}`,
    );
  }
}
