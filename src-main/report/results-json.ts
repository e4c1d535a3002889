// results.json: the experiment as the engine produced it, the file the history, the CLI and
// the app read back. Validated before it is written, so a file this writes always loads.

import { describeSchemaError, ResultsFileSchema, type ResultsFile } from '../../shared/results';

/** Throws an Error naming the offending fields when `file` is not a valid ResultsFile. */
export function assertResultsFile(file: ResultsFile): void {
  const parsed = ResultsFileSchema.safeParse(file);
  if (!parsed.success) {
    throw new Error(`not a valid results file: ${describeSchemaError(parsed.error)}`);
  }
}

/**
 * The text of results.json: pretty-printed, keys in the order the producer wrote them (so
 * two identical experiments give byte-identical files), ending with a newline.
 */
export function resultsJson(file: ResultsFile): string {
  assertResultsFile(file);
  return `${JSON.stringify(file, null, 2)}\n`;
}
