import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCharts } from '../../shared/charts';
import { readMacroExpansions } from '../../src-main/host/para-api-macros';
import { chartJsUmdSource, escapeHtml, reportHtml } from '../../src-main/report/report-html';
import { launchChromium, type HeadlessChromium } from '../helpers/chromium';
import { sampleResults } from '../helpers/sample-results';

/** What the test reads of the page: the canvases and the Chart.js global. */
interface PageCanvas {
  width: number;
  height: number;
  dataset: Record<string, string | undefined>;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  } | null;
}
interface PageGlobals {
  document: { querySelectorAll(selector: string): Iterable<PageCanvas> };
  Chart: { getChart(canvas: PageCanvas): unknown };
}

const HOSTILE_NAME = '<script>alert(1)</script>';
const HOSTILE_OUTPUT =
  'boot ok\n</script><script>alert(2)</script>\n<img src=x onerror=alert(3)>\n';

describe('report.html (static)', () => {
  const file = sampleResults();
  const html = reportHtml(file);

  it('is one self-contained document: Chart.js inline, nothing loaded from elsewhere', () => {
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).toContain(chartJsUmdSource());
    expect(html.replace(chartJsUmdSource(), '')).not.toMatch(/https?:\/\//);
  });

  it('has one canvas per chart definition', () => {
    const ids = [...html.matchAll(/<canvas data-chart-id="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toEqual(buildCharts(file).map((c) => c.id));
  });

  it('lists the identity, the summary, the cost breakdown and the first 50 events', () => {
    expect(html).toContain('workload primes');
    expect(html).toContain(file.runs[0]!.kernel.sha256);
    expect(html).toContain('p4-2006');
    expect(html).toContain('0.1.0-test');
    for (const line of file.runs[1]!.costBreakdown) expect(html).toContain(escapeHtml(line.source));
    expect(html).toContain('Showing 50 of 60 logged events');
    expect(html).toContain('line 2: expected');
  });

  it('says in the spec table whether the para-virtual guest batched its page-table updates', () => {
    const row = (mmuBatch: boolean) =>
      /<dt>Page-table updates of the para-virtual guest<\/dt><dd>([^<]*)<\/dd>/.exec(
        reportHtml({ ...file, spec: { ...file.spec, mmuBatch } }),
      )?.[1];
    expect(row(true)).toBe('batched: many entries per mmu_update hypercall');
    expect(row(false)).toBe('one entry per mmu_update hypercall (mmu_batch=0)');
  });

  it('lists a para-virtual run’s para-API metrics in its section, and draws the hypercalls chart', () => {
    expect(html).not.toContain('<h3>Para-API</h3>');
    expect(html).not.toContain('data-chart-id="hypercalls-by-name"');
    const withParavirt = reportHtml(sampleResults({ withParavirt: true }));
    expect(withParavirt).toContain('<canvas data-chart-id="hypercalls-by-name"');
    const sections = withParavirt.split('<section class="run"');
    expect(sections.map((x) => x.includes('<h3>Para-API</h3>'))).toEqual([
      false,
      false,
      false,
      false,
      true,
    ]);
    const cells = (label: string) =>
      new RegExp(`<tr><td>${label}</td><td class="num">([^<]*)</td></tr>`).exec(sections[4]!)?.[1];
    expect(cells('mmu_update calls')).toBe('14');
    expect(cells('page-table entries applied')).toBe('121');
    expect(cells('entries per mmu_update call')).toBe('8.64');
    expect(cells('batch sizes \\(entries: calls\\)')).toBe(
      '1 entry: 10 calls; 16 entries: 3 calls; 64 entries: 1 call',
    );
    expect(cells('refused hypercalls \\(name:error\\)')).toBe(
      'mmu_update:EPERM × 1; unknown:ENOSYS × 1',
    );
  });

  it('explains the para-API in one paragraph, with CLI and STI of both builds from the sources', () => {
    expect(html).not.toContain('id="para-api"');
    const withParavirt = reportHtml(sampleResults({ withParavirt: true }));
    const start = withParavirt.indexOf('<section id="para-api">');
    expect(start).toBeGreaterThan(withParavirt.indexOf('<section id="summary">'));
    const section = withParavirt.slice(start, withParavirt.indexOf('</section>', start));
    expect(section.match(/<p>/g)).toHaveLength(1);
    expect(section).toContain('the guest batched its page-table updates');
    const [cli, sti] = readMacroExpansions();
    for (const m of [cli!, sti!]) {
      const row = new RegExp(
        `<tr><th><code>${m.name}</code></th><td>(.*?)</td><td>([\\s\\S]*?)</td></tr>`,
      ).exec(section);
      expect(row, m.name).not.toBeNull();
      const [, native, paravirt] = row!;
      // the texts as the files have them, escaped, with where they are
      expect(native).toContain(`<code>${escapeHtml(m.native.body.join('\n'))}</code>`);
      expect(native).toContain(`sensitive.inc:${m.native.line}`);
      expect(paravirt).toContain(`<code>${escapeHtml(m.paravirt.body.join('\n'))}</code>`);
      for (const u of m.uses) {
        expect(paravirt).toContain(`<code>${escapeHtml(u.body.join('\n'))}</code>`);
        expect(paravirt).toContain(`paravirt-abi.inc:${u.line}`);
      }
    }
    expect(section).toContain('<td><pre class="macro"><code>cli</code></pre>');
    expect(section).toContain(
      'mov byte [SHARED_INFO_ADDRESS + SHARED_INFO_evtchn_upcall_mask], 1</code>',
    );
    expect(section).toMatch(/<dt><code>SHARED_INFO_ADDRESS<\/code> = <code>0x[0-9A-F]+<\/code>/i);
    const unbatched = sampleResults({ withParavirt: true });
    unbatched.spec.mmuBatch = false;
    expect(reportHtml(unbatched)).toContain(
      'batching was off: one page-table entry per <code>mmu_update</code> (<code>mmu_batch=0</code>)',
    );
  });

  it('lists a binary-translation run’s translator metrics in its section, and draws the callouts chart', () => {
    expect(html).not.toContain('<h3>Binary translation</h3>');
    expect(html).not.toContain('data-chart-id="callouts-by-kind"');
    const withBt = reportHtml(sampleResults({ withParavirt: true, withBinaryTranslation: true }));
    expect(withBt).toContain('<canvas data-chart-id="callouts-by-kind"');
    const sections = withBt.split('<section class="run"');
    // native, trap-and-emulate, binary-translation, paravirt
    expect(sections.map((x) => x.includes('<h3>Binary translation</h3>'))).toEqual([
      false,
      false,
      false,
      true,
      false,
    ]);
    expect(sections[4]).toContain('<h3>Para-API</h3>');
    const cells = (label: string) =>
      new RegExp(`<tr><td>${label}</td><td class="num">([^<]*)</td></tr>`).exec(sections[3]!)?.[1];
    expect(cells('translation units')).toBe('486');
    expect(cells('guest instructions translated')).toBe('3,412');
    expect(cells('IDENT share \\(copied unchanged\\)')).toBe('81.9%');
    expect(cells('fragment bytes emitted')).toBe('16,873');
    expect(cells('fragment bytes per guest instruction')).toBe('4.95');
    expect(cells('translation cache used \\(bytes emitted of capacity\\)')).toBe(
      '16,873 of 262,144 bytes (6.4%)',
    );
    expect(cells('chains patched \\(jumps linked to their fragment\\)')).toBe('391');
    expect(cells('callouts executed')).toBe('3,355');
    expect(cells('callouts by kind')).toMatch(/^lookup:ret × 2,140; translate × 486; /);
    // the table comes after the run's cost breakdown, before its events
    const run = sections[3]!;
    expect(run.indexOf('<h3>Binary translation</h3>')).toBeGreaterThan(
      run.indexOf('<h3>Cost breakdown</h3>'),
    );
    expect(run.indexOf('<h3>Binary translation</h3>')).toBeLessThan(
      run.indexOf('<h3>First events</h3>'),
    );
  });

  it('explains binary translation in one paragraph, with what each run translated', () => {
    expect(html).not.toContain('id="binary-translation"');
    const withBt = reportHtml(sampleResults({ withParavirt: true, withBinaryTranslation: true }));
    const start = withBt.indexOf('<section id="binary-translation">');
    expect(start).toBeGreaterThan(withBt.indexOf('<section id="para-api">'));
    expect(start).toBeLessThan(withBt.indexOf('<section id="charts">'));
    const section = withBt.slice(start, withBt.indexOf('</section>', start));
    expect(section).toContain('<h2>Binary translation</h2>');
    expect(section.match(/<p>/g)).toHaveLength(1);
    for (const phrase of [
      'lecture §6',
      'translation unit',
      'at most 12 instructions',
      'control-flow instruction',
      'compiled code fragment',
      'translation cache',
      'copied unchanged (IDENT)',
      'rewritten because the code has moved',
      'an inline sequence',
      'a callout into the hypervisor',
      'chaining',
      'Guest user code runs directly, untranslated.',
      '“Callouts by kind”',
    ]) {
      expect(section, phrase).toContain(phrase);
    }
    expect(section).toContain(
      'In this experiment binary-translation translated 3,412 guest instructions in 486 ' +
        'translation units (81.9% of them IDENT) and its code made 3,355 callouts.',
    );
    // one clause per run with metrics; labels are escaped like any text of the file
    const two = sampleResults({ withBinaryTranslation: true });
    two.runs.push({ ...two.runs[2]!, technique: '<b>bt</b>' });
    const both = reportHtml(two);
    expect(both).toContain(
      '(81.9% of them IDENT) and its code made 3,355 callouts; &lt;b&gt;bt&lt;/b&gt; translated 3,412',
    );
    expect(both).not.toContain('<b>bt</b>');
    // a run of the technique that reported nothing (failed before it did) explains nothing
    expect(reportHtml(sampleResults())).not.toContain('id="binary-translation"');
  });

  it('escapes text', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
    expect(escapeHtml('bell\x07nul\0')).toBe('bell\ufffdnul\ufffd');
    const hostile = reportHtml(
      sampleResults({ kernelName: HOSTILE_NAME, outputText: HOSTILE_OUTPUT }),
    );
    expect(hostile).not.toContain(HOSTILE_NAME);
    expect(hostile).not.toContain('<img src=x');
    expect(hostile.match(/<script/g)).toHaveLength(3);
  });
});

describe('report.html in headless Chromium', () => {
  let browser: HeadlessChromium;
  let dir: string;
  beforeAll(async () => {
    browser = await launchChromium();
    dir = mkdtempSync(join(tmpdir(), 'vmm-report-html-'));
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(html: string) {
    const path = join(dir, `report-${Math.random().toString(36).slice(2)}.html`);
    writeFileSync(path, html);
    const page = await browser.context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console: ${m.text()}`);
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
    return { page, problems, requests };
  }

  it('opens offline without errors and draws every chart', async () => {
    // with a para-virtual run and translator metrics: the hypercalls and callouts charts, the
    // para-API and binary-translation sections are drawn too
    const file = sampleResults({
      kernelName: HOSTILE_NAME,
      outputText: HOSTILE_OUTPUT,
      withParavirt: true,
      withBinaryTranslation: true,
    });
    const charts = buildCharts(file);
    const { page, problems, requests } = await open(reportHtml(file));
    // runs in the page (serialized): only page globals, typed here because tests have no DOM lib
    const drawn = await page.evaluate(() => {
      const page = globalThis as unknown as PageGlobals;
      return [...page.document.querySelectorAll('canvas[data-chart-id]')].map((canvas) => {
        const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
        let painted = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
        return {
          id: canvas.dataset.chartId,
          chart: page.Chart.getChart(canvas) !== undefined,
          painted,
          width: canvas.width,
        };
      });
    });
    expect(problems).toEqual([]);
    expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
    expect(drawn.map((d) => d.id)).toEqual(charts.map((c) => c.id));
    for (const d of drawn) {
      expect(d.chart, d.id).toBe(true);
      expect(d.width, d.id).toBeGreaterThan(100);
      expect(d.painted, d.id).toBeGreaterThan(1000);
    }

    // titles and hostile text are text, not markup
    const text = await page.locator('body').innerText();
    for (const c of charts) expect(text).toContain(c.title);
    expect(charts.map((c) => c.id)).toContain('callouts-by-kind');
    expect(text).toContain('Guest user code runs directly, untranslated.');
    expect(text).toContain(`kernel file ${HOSTILE_NAME}`);
    expect(await page.title()).toContain(HOSTILE_NAME);
    expect(await page.locator('script').count()).toBe(3);
    expect(await page.locator('img').count()).toBe(0);
    const output = await page.locator('pre.output').first().textContent();
    expect(output).toBe(HOSTILE_OUTPUT);
    await page.close();
  });
});
