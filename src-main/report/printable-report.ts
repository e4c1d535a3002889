// The report as a printable page, for the PDF export (the app's printToPDF, the browser's own
// print dialog in the web preview): report.html (src-main/report) with each
// chart drawn ahead of time as an SVG image, since the PDF is printed from a window that runs
// no JavaScript (report.html draws its charts with Chart.js in the page). The scripts are
// dropped, and every collapsed section (guest output) is opened, so the PDF shows what the
// page shows, and more.

import { buildCharts } from '../../shared/charts';
import { type ResultsFile } from '../../shared/results';
import { chartSvg } from './chart-images';
import { escapeHtml, reportHtml } from './report-html';

const CANVAS_BOX =
  /<div class="canvas-box"><canvas data-chart-id="([^"]*)"[^>]*><\/canvas><\/div>/g;
const SCRIPT = /<script\b[^>]*>[\s\S]*?<\/script>/g;

const PRINT_STYLE =
  '<style>img.chart-image { display: block; width: 100%; height: auto; } ' +
  '.print-hint { border: 1px solid #888; border-radius: 4px; padding: 0.5em 0.8em; } ' +
  '@page { margin: 1.5cm; } @media print { body { margin: 0; } .print-hint { display: none; } }</style>';

/** What a reader of the page in a browser tab is to do with it; never printed. */
const PRINT_HINT =
  '<p class="print-hint" role="note">To save this report as a PDF, print this page ' +
  '(Ctrl+P, or ⌘P on a Mac) and choose “Save as PDF” as the printer.</p>';

/** report.html for `file`, with static charts and no scripts. */
export function printableReportHtml(file: ResultsFile): string {
  const images = new Map<string, string>();
  for (const chart of buildCharts(file)) {
    const svg = Buffer.from(chartSvg(chart), 'utf8').toString('base64');
    images.set(
      escapeHtml(chart.id),
      `<img class="chart-image" src="data:image/svg+xml;base64,${svg}" alt="${escapeHtml(chart.title)}">`,
    );
  }
  return reportHtml(file)
    .replace(CANVAS_BOX, (whole, id: string) => images.get(id) ?? whole)
    .replace(SCRIPT, '')
    .replace(/<details>/g, '<details open>')
    .replace('</head>', `${PRINT_STYLE}\n</head>`)
    .replace(/<body([^>]*)>/, (body) => `${body}\n${PRINT_HINT}`);
}
