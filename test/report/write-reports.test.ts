import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCharts } from '../../shared/charts';
import { parseResultsFile, type ResultsFile } from '../../shared/results';
import { writeFileAtomic } from '../../src-main/report/atomic-write';
import { writeReports } from '../../src-main/report/index';
import { sampleResults } from '../helpers/sample-results';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vmm-reports-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('writeReports', () => {
  it('writes json, csv, html and a PNG and an SVG per chart into a new folder', async () => {
    const file = sampleResults();
    const out = join(tempDir(), 'nested', 'experiment');
    const written = await writeReports(file, out);
    const ids = buildCharts(file).map((c) => c.id);
    expect(written).toEqual([
      join(out, 'results.json'),
      join(out, 'results.csv'),
      join(out, 'report.html'),
      ...ids.flatMap((id) => [join(out, 'charts', `${id}.png`), join(out, 'charts', `${id}.svg`)]),
    ]);
    for (const path of written) expect(statSync(path).size).toBeGreaterThan(0);
    expect(parseResultsFile(readFileSync(join(out, 'results.json'), 'utf8'))).toStrictEqual(file);
    // nothing else, in particular no temporary files left behind
    expect(readdirSync(out).sort()).toEqual([
      'charts',
      'report.html',
      'results.csv',
      'results.json',
    ]);
    expect(readdirSync(join(out, 'charts'))).toHaveLength(ids.length * 2);
  });

  it('writes nothing for an invalid results file', async () => {
    const out = join(tempDir(), 'bad');
    const file = sampleResults();
    const bad = { ...file, spec: { ...file.spec, profile: '' } } as ResultsFile;
    await expect(writeReports(bad, out)).rejects.toThrow(/spec\.profile/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temporary file', async () => {
    const dir = tempDir();
    const path = join(dir, 'a.txt');
    await writeFileAtomic(path, 'first');
    await writeFileAtomic(path, new TextEncoder().encode('second'));
    expect(readFileSync(path, 'utf8')).toBe('second');
    expect(readdirSync(dir)).toEqual(['a.txt']);
  });

  it('leaves the old file and no temporary file when the write fails', async () => {
    const dir = tempDir();
    await expect(writeFileAtomic(join(dir, 'missing', 'a.txt'), 'x')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual([]);
  });
});
