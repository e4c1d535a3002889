// The report set of one experiment, written to a folder: results.json (the data), results.csv
// (for spreadsheets), report.html (self-contained, offline) and charts/<id>.png + .svg. The
// service, the CLI and the app call this; the builders it uses are pure and separately usable.
//
// Every file is written atomically and stands alone, so a crash leaves each file either whole
// from this call or as it was before; never a truncated one.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCharts } from '../../shared/charts';
import { type ResultsFile } from '../../shared/results';
import { writeFileAtomic } from './atomic-write';
import { chartPng, chartSvg } from './chart-images';
import { reportHtml } from './report-html';
import { resultsCsv } from './results-csv';
import { resultsJson } from './results-json';

export { writeFileAtomic } from './atomic-write';
export { chartPng, chartSvg, DEFAULT_IMAGE_SIZE, type ImageSize } from './chart-images';
export { printableReportHtml } from './printable-report';
export { escapeHtml, reportHtml } from './report-html';
export { resultsCsv, resultsCsvColumns } from './results-csv';
export { assertResultsFile, resultsJson } from './results-json';

/**
 * Write every report of `file` into `outDir` (created if missing) and return the paths
 * written, in order. Throws before writing anything when `file` is not a valid ResultsFile.
 */
export async function writeReports(file: ResultsFile, outDir: string): Promise<string[]> {
  // build everything first: an invalid file or a drawing failure writes nothing
  const contents: [string, string | Uint8Array][] = [
    ['results.json', resultsJson(file)],
    ['results.csv', resultsCsv(file)],
    ['report.html', reportHtml(file)],
  ];
  for (const chart of buildCharts(file)) {
    contents.push([join('charts', `${chart.id}.png`), chartPng(chart)]);
    contents.push([join('charts', `${chart.id}.svg`), chartSvg(chart)]);
  }
  await mkdir(join(outDir, 'charts'), { recursive: true });
  const written: string[] = [];
  for (const [name, data] of contents) {
    const path = join(outDir, name);
    await writeFileAtomic(path, data);
    written.push(path);
  }
  return written;
}
