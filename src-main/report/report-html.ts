// report.html: the whole experiment in one self-contained file that opens offline from
// file:// years later: Chart.js inlined, the chart definitions of shared/charts.ts inlined as
// JSON, and the tables (summary, cost breakdown, a para-virtual run's para-API metrics, a
// binary-translation run's translator metrics, first events, guest output) as plain HTML.
//
// Everything the guest or the user chose — kernel names, command lines, guest output, the
// diverging lines, disassembly — is untrusted text: it goes through escapeHtml, and the JSON
// embedded in <script> has every `<` escaped, so no value can close the element or open markup.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  buildCharts,
  describeDivergence,
  describeMmuBatch,
  modeledMips,
  nativeRun,
  overheadVsNative,
  runLabels,
  type ChartDefinition,
} from '../../shared/charts';
import {
  type BinaryTranslationCell,
  binaryTranslationRows,
  calloutTotal,
  identShare,
} from '../../shared/binary-translation-summary';
import { type ParavirtCell, paravirtRows } from '../../shared/paravirt-summary';
import { type MacroExpansion, type MacroSource, paraApiMacros } from '../host/para-api-macros';
import { type ResultsFile, type RunResult } from '../../shared/results';
import { assertResultsFile } from './results-json';

/** How many event-log entries per run the report lists (the full log is in results.json). */
export const REPORT_EVENT_ROWS = 50;
/** How much of each run's guest output the report shows. */
export const REPORT_OUTPUT_CHARS = 32 * 1024;

let chartJsSource: string | undefined;

/**
 * The Chart.js UMD build, read once. chart.js's package `exports` hide dist/, so the file is
 * found next to the entry point the package does export.
 */
export function chartJsUmdSource(): string {
  if (chartJsSource === undefined) {
    const dist = dirname(createRequire(import.meta.url).resolve('chart.js'));
    let text: string | undefined;
    for (const name of ['chart.umd.min.js', 'chart.umd.js']) {
      try {
        text = readFileSync(join(dist, name), 'utf8');
        break;
      } catch {
        // try the next build
      }
    }
    if (text === undefined) throw new Error(`no Chart.js UMD build in ${dist}`);
    // a literal `</script` (or `<!--`) in the library would end or confuse the inline element
    chartJsSource = text.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
  }
  return chartJsSource;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text (or an attribute value) safe to place in HTML. */
export function escapeHtml(text: string): string {
  return (
    text
      .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
      // control bytes from the guest are not valid in HTML text
      // eslint-disable-next-line no-control-regex
      .replace(/[\0-\x08\x0b\x0c\x0e-\x1f\x7f]/g, '\ufffd')
  );
}

/** JSON that can sit inside a <script> element: no `<`, no line separators. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fixed(n: number | null, digits: number, suffix = ''): string {
  return n === null || !Number.isFinite(n) ? '—' : `${n.toFixed(digits)}${suffix}`;
}

function hex(n: number | null): string {
  return n === null ? '—' : `0x${n.toString(16).padStart(8, '0')}`;
}

function cell(text: string, numeric = false): string {
  return numeric ? `<td class="num">${escapeHtml(text)}</td>` : `<td>${escapeHtml(text)}</td>`;
}

function table(headers: string[], rows: string[][], numericColumns: ReadonlySet<number>): string {
  const head = headers
    .map((h, i) => `<th${numericColumns.has(i) ? ' class="num"' : ''}>${escapeHtml(h)}</th>`)
    .join('');
  const body = rows
    .map((row) => `<tr>${row.map((text, i) => cell(text, numericColumns.has(i))).join('')}</tr>`)
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function equivalentText(run: RunResult): string {
  return run.equivalent === null ? 'n.a.' : run.equivalent ? 'yes' : 'no';
}

function kernelTitle(file: ResultsFile): string {
  const k = file.spec.kernel;
  return k.kind === 'workload' ? `workload ${k.workload}` : `kernel file ${k.name}`;
}

function header(file: ResultsFile): string {
  const { spec, runs } = file;
  const images = [
    ...new Set(runs.map((r) => `${r.kernel.name} (${r.kernel.build}): ${r.kernel.sha256}`)),
  ];
  if (spec.kernel.kind === 'file' && images.length === 0) {
    images.push(`${spec.kernel.name}: ${spec.kernel.sha256}`);
  }
  const engines = [...new Set(runs.map((r) => r.engineVersion))];
  const items: [string, string][] = [
    ['Kernel', kernelTitle(file)],
    ['Image SHA-256', images.join('\n') || '—'],
    ['ISA variant', spec.isa],
    ['CPU profile', spec.profile],
    ['Engine version', engines.join(', ') || '—'],
    ['Techniques', spec.techniques.join(', ')],
    ['Appended to the command line', spec.append || '(nothing)'],
    ['Seed', String(spec.seed)],
    ['Instruction budget', count(spec.maxInstructions)],
    ['Memory', `${count(spec.memoryBytes / 1024)} KiB`],
    ['Page-table updates of the para-virtual guest', describeMmuBatch(spec.mmuBatch)],
  ];
  const dl = items
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v).replace(/\n/g, '<br>')}</dd>`)
    .join('\n');
  return `<header>\n<h1>VMM Workbench report: ${escapeHtml(kernelTitle(file))}</h1>\n<dl class="identity">\n${dl}\n</dl>\n</header>`;
}

function summary(file: ResultsFile, labels: readonly string[]): string {
  const native = nativeRun(file);
  const rows = file.runs.map((run, i) => [
    labels[i]!,
    run.status,
    run.end.detail ? `${run.end.reason}: ${run.end.detail}` : run.end.reason,
    count(run.guestInstructions.total),
    count(run.cycles.total),
    fixed(modeledMips(run), 2),
    fixed(overheadVsNative(run, native), 2, '×'),
    count(run.traps.total),
    count(run.guestEvents.total),
    count(run.worldSwitches.count),
    fixed(run.icache.hitRate * 100, 2, '%'),
    equivalentText(run),
    describeDivergence(run),
  ]);
  return `<section id="summary">\n<h2>Summary</h2>\n${table(
    [
      'Technique',
      'Status',
      'End',
      'Guest instructions',
      'Modeled cycles',
      'Modeled MIPS',
      'Overhead vs native',
      'Traps',
      'Guest events',
      'World switches',
      'I-cache hit rate',
      'Equivalent',
      'First divergence',
    ],
    rows,
    new Set([3, 4, 5, 6, 7, 8, 9, 10]),
  )}\n</section>`;
}

/** Whether the experiment has a run of the para-API build (which para-API metrics come from). */
export function hasParavirtRun(file: ResultsFile): boolean {
  return file.runs.some((r) => r.kernel.build === 'paravirt' || r.paravirt !== null);
}

function macroCode(source: MacroSource): string {
  return (
    `<pre class="macro"><code>${escapeHtml(source.body.join('\n'))}</code></pre>` +
    `<div class="source">${escapeHtml(`${source.file}:${source.line}`)}</div>`
  );
}

function macroRow(m: MacroExpansion): string {
  const uses = m.uses
    .map((u) => {
      // the source's comment starts with the macro's name (`PV_CLI: mask events…`)
      const about = u.comment.join(' ').replace(new RegExp(`^${u.name}:\\s*`), '');
      return `<p class="uses"><code>${escapeHtml(u.name)}</code> expands to${about ? ` (${escapeHtml(about)})` : ''}:</p>${macroCode(u)}`;
    })
    .join('\n');
  return `<tr><th><code>${escapeHtml(m.name)}</code></th><td>${macroCode(m.native)}</td><td>${macroCode(m.paravirt)}\n${uses}</td></tr>`;
}

/**
 * The para-API in one paragraph, with the interrupt-flag macros of both builds side by side as
 * the kernel's sources have them (src-main/host/para-api-macros.ts reads them); only when the
 * experiment has a para-virtual run.
 */
function paraApi(file: ResultsFile): string {
  if (!hasParavirtRun(file)) return '';
  const macros = paraApiMacros();
  const constants = [
    ...new Map(macros.flatMap((m) => m.constants).map((c) => [c.name, c])).values(),
  ];
  const names = macros.map((m) => `<code>${escapeHtml(m.name)}</code>`).join(' and ');
  const paragraph =
    'The para-virtual run boots the para-API build of the same guest kernel source: assembled ' +
    'with <code>-D PARAVIRT</code>, every sensitive operation of the kernel — each one a macro ' +
    'of <code>sensitive.inc</code> — becomes a use of the para-API instead of the ' +
    'instruction. Some uses are hypercalls (<code>vmcall</code> with the call number in ' +
    'EAX and the arguments in EBX, ECX, EDX…: <code>mmu_update</code> for page-table writes, ' +
    '<code>set_cr3</code> for a context switch, <code>iret</code>…), counted in the chart ' +
    '“Hypercalls by name”; others are plain memory accesses to the shared-info page, which ' +
    'the hypervisor and the guest both map. The interrupt flag is the lecture’s example: ' +
    'natively <code>cli</code> clears IF; deprivileged under trap-and-emulate it traps, a ' +
    'world switch every time; the para-virtual kernel’s ' +
    `${names} are stores to the shared-info page’s event mask, with no world switch, and ` +
    'only an <code>STI</code> that finds an event already waiting enters the hypervisor. ' +
    (file.spec.mmuBatch
      ? 'In this experiment the guest batched its page-table updates: many entries per ' +
        '<code>mmu_update</code>. '
      : 'In this experiment batching was off: one page-table entry per <code>mmu_update</code> ' +
        '(<code>mmu_batch=0</code>). ') +
    'The two builds’ expansions below are read from the kernel’s own sources.';
  const legend = constants
    .map(
      (c) =>
        `<dt><code>${escapeHtml(c.name)}</code> = <code>${escapeHtml(c.value)}</code></dt><dd>${escapeHtml(c.comment || '—')}</dd>`,
    )
    .join('\n');
  return [
    '<section id="para-api">',
    '<h2>The para-API</h2>',
    `<p>${paragraph}</p>`,
    '<table class="macro-expansions">',
    '<thead><tr><th>Macro</th><th>Native build</th><th>Para-virtual build (<code>-D PARAVIRT</code>)</th></tr></thead>',
    `<tbody>\n${macros.map(macroRow).join('\n')}\n</tbody>`,
    '</table>',
    `<dl class="constants">\n${legend}\n</dl>`,
    '</section>',
  ].join('\n');
}

/** Whether the experiment has a run with binary-translation metrics. */
export function hasBinaryTranslationRun(file: ResultsFile): boolean {
  return file.runs.some((r) => r.binaryTranslation !== null);
}

/**
 * Binary translation in one paragraph (lecture §6), ending with what each binary-translation
 * run of this experiment translated; only when the experiment has one with metrics.
 */
function binaryTranslation(file: ResultsFile, labels: readonly string[]): string {
  if (!hasBinaryTranslationRun(file)) return '';
  const figures = file.runs
    .flatMap((run, i) => {
      const m = run.binaryTranslation;
      if (!m) return [];
      return [
        `${escapeHtml(labels[i]!)} translated ${count(m.guestInstructions)} guest instructions ` +
          `in ${count(m.units)} translation units (${escapeHtml(identShare(m))} of them IDENT) ` +
          `and its code made ${count(calloutTotal(m))} callouts`,
      ];
    })
    .join('; ');
  const paragraph =
    'The binary-translation run never executes the guest kernel’s own code (lecture §6). ' +
    'Just before kernel code first runs, the translator reads it one translation unit at a ' +
    'time — at most 12 instructions, or up to and including the first control-flow ' +
    'instruction — and writes a compiled code fragment into the translation cache, ' +
    'hypervisor memory outside the guest’s address space, which the CPU then runs instead. ' +
    'Most instructions are innocuous and copied unchanged (IDENT); jumps, calls, returns and ' +
    'loops are rewritten because the code has moved; sensitive instructions become safe code: ' +
    'an inline sequence on the virtual CPU where one suffices (<code>cli</code> is a store to ' +
    'the virtual interrupt flag, with no exit), a callout into the hypervisor where it does ' +
    'not (a CR3 load, I/O) — cheaper than a trap, since no fault is taken (chart “Callouts by ' +
    'kind”). A jump to code not translated yet goes to the translator once and is then ' +
    'patched to jump straight to the new fragment (chaining); a fragment placed right after ' +
    'its predecessor needs no jump at all, and returns and indirect jumps look their target ' +
    'up. Only code that runs is ever translated, each piece once, laid out in the order it ' +
    'ran; a guest write to a page of translated code throws its fragments away. Guest user ' +
    `code runs directly, untranslated. In this experiment ${figures}.`;
  return [
    '<section id="binary-translation">',
    '<h2>Binary translation</h2>',
    `<p>${paragraph}</p>`,
    '</section>',
  ].join('\n');
}

function charts(definitions: readonly ChartDefinition[]): string {
  const figures = definitions
    .map(
      (d) =>
        `<figure class="chart" id="chart-${escapeHtml(d.id)}">\n<h3>${escapeHtml(d.title)}</h3>\n` +
        `<div class="canvas-box"><canvas data-chart-id="${escapeHtml(d.id)}" role="img" aria-label="${escapeHtml(d.title)}"></canvas></div>\n` +
        `<figcaption>${escapeHtml(d.description)}</figcaption>\n</figure>`,
    )
    .join('\n');
  return `<section id="charts">\n<h2>Charts</h2>\n<div class="charts">\n${figures}\n</div>\n</section>`;
}

function paravirtCell(value: ParavirtCell): string {
  if (value === null) return '—';
  if (typeof value === 'string') return value;
  return Number.isInteger(value) ? count(value) : value.toFixed(2);
}

/** A para-virtual run's para-API metrics (shared/paravirt-summary.ts, as the app shows them). */
function paravirtDetails(run: RunResult): string[] {
  const rows = paravirtRows(run);
  if (rows.length === 0) return [];
  return [
    `<h3>Para-API</h3>`,
    table(
      ['Para-API', 'Value'],
      rows.map((r) => [r.label, paravirtCell(r.value)]),
      new Set([1]),
    ),
  ];
}

function binaryTranslationCell(value: BinaryTranslationCell): string {
  if (typeof value === 'string') return value;
  return Number.isInteger(value) ? count(value) : value.toFixed(2);
}

/** A binary-translation run's translator metrics (shared/binary-translation-summary.ts, as the
 *  app shows them). */
function binaryTranslationDetails(run: RunResult): string[] {
  const rows = binaryTranslationRows(run);
  if (rows.length === 0) return [];
  return [
    `<h3>Binary translation</h3>`,
    table(
      ['Binary translation', 'Value'],
      rows.map((r) => [r.label, binaryTranslationCell(r.value)]),
      new Set([1]),
    ),
  ];
}

function runDetails(run: RunResult, label: string, index: number): string {
  const costRows = run.costBreakdown.map((line) => [
    line.kind,
    line.category,
    count(line.count),
    count(line.unitCycles),
    count(line.cycles),
    line.source,
  ]);
  costRows.push(['total', '', '', '', count(run.cycles.total), '']);
  const shown = run.events.entries.slice(0, REPORT_EVENT_ROWS);
  const eventRows = shown.map((e) => [
    count(e.instruction),
    count(e.cycle),
    hex(e.eip),
    e.bytes,
    e.disasm,
    e.kind,
    e.detail ? `${e.cause} (${e.detail})` : e.cause,
    count(e.cost),
  ]);
  const kept = run.events.entries.length;
  const eventNote =
    `Showing ${shown.length} of ${count(kept)} logged events` +
    (run.events.dropped > 0 ? ` (${count(run.events.dropped)} more were not logged).` : '.');
  const output = run.outputText.slice(0, REPORT_OUTPUT_CHARS);
  const outputNote =
    `${count(run.output.lines)} lines, ${count(run.output.bytes)} bytes` +
    (run.outputText.length > REPORT_OUTPUT_CHARS || run.outputTruncated
      ? `; the first ${count(output.length)} characters shown`
      : '');
  return [
    `<section class="run" id="run-${index}">`,
    `<h2>${escapeHtml(label)}</h2>`,
    `<p>Kernel ${escapeHtml(run.kernel.name)} (${escapeHtml(run.kernel.build)} build, ${escapeHtml(count(run.kernel.bytes))} bytes, SHA-256 <code>${escapeHtml(run.kernel.sha256)}</code>); command line <code>${escapeHtml(run.cmdline)}</code>; ${escapeHtml(run.status)}, ${escapeHtml(run.end.reason)}; host ${escapeHtml(fixed(run.host.wallMs, 0))} ms wall time.</p>`,
    `<h3>Cost breakdown</h3>`,
    table(
      ['Kind', 'Category', 'Count', 'Unit cycles', 'Cycles', 'Source'],
      costRows,
      new Set([2, 3, 4]),
    ),
    ...paravirtDetails(run),
    ...binaryTranslationDetails(run),
    `<h3>First events</h3>`,
    `<p>${escapeHtml(eventNote)}</p>`,
    table(
      ['Instruction', 'Cycle', 'EIP', 'Bytes', 'Disassembly', 'Kind', 'Cause', 'Cost'],
      eventRows,
      new Set([0, 1, 7]),
    ),
    `<details><summary>Guest output (${escapeHtml(outputNote)})</summary><pre class="output">${escapeHtml(output)}</pre></details>`,
    `</section>`,
  ].join('\n');
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 2rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1rem; }
dl.identity { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; }
dl.identity dt { font-weight: 600; } dl.identity dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 1.5rem; }
figure.chart { margin: 0; } .canvas-box { position: relative; height: 340px; }
canvas { background: #fff; } figcaption { font-size: 12px; color: #444; }
pre.output { background: #f7f7f7; padding: 0.5rem; max-height: 24rem; overflow: auto; }
code { font-family: ui-monospace, monospace; }
pre.macro { margin: 0.2rem 0; padding: 0.3rem 0.5rem; background: #f7f7f7; }
table.macro-expansions td { min-width: 18rem; } .source { font-size: 12px; color: #555; } p.uses { margin: 0.6rem 0 0; }
dl.constants { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; font-size: 13px; } dl.constants dd { margin: 0; }
@media print { .charts { display: block; } figure.chart { break-inside: avoid; } }
`;

// Runs in the page: draws each chart into its canvas. Inline titles are off because the page
// shows each title as text above its chart; animation is off so the report prints as shown.
const DRAW = `
(function () {
  var definitions = JSON.parse(document.getElementById('chart-definitions').textContent);
  var byId = {};
  definitions.forEach(function (d) { byId[d.id] = d; });
  document.querySelectorAll('canvas[data-chart-id]').forEach(function (canvas) {
    var d = byId[canvas.getAttribute('data-chart-id')];
    if (!d) return;
    var config = d.config;
    var options = Object.assign({}, config.options, { animation: false, responsive: true, maintainAspectRatio: false });
    options.plugins = Object.assign({}, options.plugins, { title: { display: false } });
    new Chart(canvas, { type: config.type, data: config.data, options: options });
  });
})();
`;

/** report.html for one experiment. */
export function reportHtml(file: ResultsFile): string {
  assertResultsFile(file);
  const labels = runLabels(file.runs);
  const definitions = buildCharts(file);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(`VMM Workbench report: ${kernelTitle(file)}`)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    header(file),
    '<main>',
    summary(file, labels),
    paraApi(file),
    binaryTranslation(file, labels),
    charts(definitions),
    ...file.runs.map((run, i) => runDetails(run, labels[i]!, i)),
    '</main>',
    `<script type="application/json" id="chart-definitions">${scriptJson(definitions)}</script>`,
    `<script>${chartJsUmdSource()}</script>`,
    `<script>${DRAW}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
