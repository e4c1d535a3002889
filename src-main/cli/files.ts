// File access for the CLI: helpers that turn file-system failures into messages that name the
// file.

import { readFileSync, statSync } from 'node:fs';
import { UsageError } from './args';

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
