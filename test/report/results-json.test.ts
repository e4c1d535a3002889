import { describe, expect, it } from 'vitest';
import { parseResultsFile, type ResultsFile } from '../../shared/results';
import { resultsJson } from '../../src-main/report/results-json';
import { sampleResults } from '../helpers/sample-results';

describe('results.json', () => {
  it('round-trips through parseResultsFile', () => {
    const file = sampleResults({ kernelName: 'odd "name", with\nnewline <b>' });
    const text = resultsJson(file);
    expect(parseResultsFile(text)).toStrictEqual(file);
  });

  it('is pretty-printed, ends with a newline and is byte-identical for the same input', () => {
    const text = resultsJson(sampleResults());
    expect(text.startsWith('{\n  "schemaVersion": 4,\n  "spec": {')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    expect(resultsJson(sampleResults())).toBe(text);
  });

  it('refuses an invalid file, naming the field', () => {
    const file = sampleResults();
    const bad = { ...file, runs: [{ ...file.runs[0]!, outputHash: 'nope' }] } as ResultsFile;
    expect(() => resultsJson(bad)).toThrow(/runs\.0\.outputHash/);
  });
});
