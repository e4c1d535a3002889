// End to end: the real renderer, built by Vite, in Debian's Chromium (headless, through
// playwright-core) against the web preview server backed by the real ExperimentService and
// worker threads. A person's path through the app: run isprime under every registered
// technique and watch it finish, read every chart back and find exactly the numbers of the
// run's results.json, export JSON/CSV/HTML and chart images, print the report to PDF with the
// browser's own printing, open a saved experiment, refuse a corrupt one, run a kernel file of
// one's own, follow the lecture's isPrime(49) through the translation cache and step its replay,
// and cancel a long run. With UPDATE_SCREENSHOTS=1 it also refreshes
// docs/screenshots/.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCharts } from '../../shared/charts';
import { compareExperiments } from '../../shared/experiment-pair';
import { type HistoryFile, parseResultsFile } from '../../shared/results';
import { listTechniques } from '../../src-main/engine/vmm';
import { guestKernelSymbols } from '../../src-main/host/guest-kernel';
import { type PreviewServer, startPreviewServer } from '../../src-main/preview/server';
import { WorkbenchBackend } from '../../src-main/service/api-backend';
import { ExperimentService } from '../../src-main/service/experiment-service';
import { type HeadlessChromium, launchChromium } from '../helpers/chromium';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir: string;
let service: ExperimentService;
let backend: WorkbenchBackend;
let preview: PreviewServer;
let browser: HeadlessChromium;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vmm-e2e-'));
  const site = path.join(dir, 'site');
  await build({
    configFile: path.join(root, 'vite.renderer.config.ts'),
    logLevel: 'error',
    build: { outDir: site, emptyOutDir: true },
  });
  service = new ExperimentService({ dataDir: path.join(dir, 'data') });
  backend = new WorkbenchBackend(service);
  preview = await startPreviewServer({ backend, staticDir: site });
  browser = await launchChromium();
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.goto(preview.url);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await preview?.close();
  await backend?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function screenshot(name: string): Promise<void> {
  if (!process.env.UPDATE_SCREENSHOTS) return;
  const out = path.join(root, 'docs', 'screenshots');
  mkdirSync(out, { recursive: true });
  await page.screenshot({ path: path.join(out, `${name}.png`), fullPage: false });
}

async function startRun(workload: string, n: number, techniques: readonly string[]): Promise<void> {
  await page.getByRole('button', { name: 'Experiment', exact: false }).first().click();
  await page.selectOption('#workload', workload);
  await page.fill('#n', String(n));
  for (const t of listTechniques()) {
    if (t.id === 'native') continue;
    const box = page.locator(`input[data-technique="${t.id}"]`);
    if ((await box.isChecked()) !== techniques.includes(t.id)) await box.click();
  }
  await page.locator('button[type="submit"].primary').click();
}

/** The experiment the app shows now, as the service saved it. */
async function latestExperiment(): Promise<HistoryFile> {
  const listing = await service.listHistory();
  return service.load(listing.entries[0]!.id);
}

describe('the app in Chromium against the web preview', () => {
  it('lists the techniques from the registry', async () => {
    for (const t of listTechniques()) {
      if (t.id === 'native') continue;
      await expect(page.locator(`input[data-technique="${t.id}"]`).count()).resolves.toBe(1);
    }
    await screenshot('experiment');
  });

  it('runs isprime under every technique, and every chart shows the numbers of results.json', async () => {
    const all = listTechniques().map((t) => t.id);
    await startRun('isprime', 40, all);
    // progress reaches the end, then the app opens Compare by itself
    await page.waitForSelector('#compare-title', { timeout: 120_000 });
    const saved = await latestExperiment();
    expect(saved.runs.map((r) => r.technique)).toEqual(all);
    expect(saved.runs.every((r) => r.status === 'completed')).toBe(true);
    await page.waitForFunction(
      (ids) =>
        ids.every(
          (id) =>
            (window as unknown as { __vmmCharts?: object }).__vmmCharts &&
            id in (window as unknown as { __vmmCharts: object }).__vmmCharts,
        ),
      buildCharts(saved).map((c) => c.id),
      { timeout: 30_000 },
    );
    const drawn = await page.evaluate(() => {
      const charts = (
        window as unknown as {
          __vmmCharts: Record<
            string,
            { data: { labels: unknown; datasets: { label: string; data: unknown }[] } }
          >;
        }
      ).__vmmCharts;
      return Object.fromEntries(
        Object.entries(charts).map(([id, c]) => [
          id,
          {
            labels: c.data.labels,
            datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })),
          },
        ]),
      );
    });
    for (const def of buildCharts(saved)) {
      const expected = def.config.data as {
        labels: unknown;
        datasets: { label: string; data: unknown }[];
      };
      expect(drawn[def.id], def.id).toEqual({
        // a line chart of {x, y} points has no labels: Chart.js keeps an empty list
        labels: expected.labels ?? [],
        datasets: expected.datasets.map((d) => ({ label: d.label, data: d.data })),
      });
    }
    await screenshot('compare');
  });

  it('exports the experiment as JSON, CSV and HTML', async () => {
    const saved = await latestExperiment();
    const files: Record<string, string> = {};
    for (const format of ['json', 'csv', 'html']) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator(`button[data-format="${format}"]`).click(),
      ]);
      const target = path.join(dir, download.suggestedFilename());
      await download.saveAs(target);
      files[format] = readFileSync(target, 'utf8');
    }
    expect(parseResultsFile(files.json!).runs).toEqual(saved.runs);
    expect(files.csv!.split('\r\n')[1]).toMatch(/^native,/);
    expect(files.html).toContain('<canvas');
  });

  it('saves a chart as PNG and as SVG', async () => {
    const saved = await latestExperiment();
    const panel = page
      .locator('section.chart-panel')
      .filter({ has: page.locator('[data-chart-id="traps-by-cause"]') });
    const images: Record<string, Buffer> = {};
    for (const format of ['png', 'svg']) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        panel.locator(`button[data-image="${format}"]`).click(),
      ]);
      expect(download.suggestedFilename()).toBe(`${saved.id}-traps-by-cause.${format}`);
      const target = path.join(dir, download.suggestedFilename());
      await download.saveAs(target);
      images[format] = readFileSync(target);
    }
    expect(images.png!.subarray(1, 4).toString('latin1')).toBe('PNG');
    const svg = images.svg!.toString('utf8');
    expect(svg).toMatch(/<svg[\s>]/);
    expect(svg).toContain('</svg>');
  });

  it("prints the report to PDF through the browser's own printing of the printable page", async () => {
    const saved = await latestExperiment();
    const [popup] = await Promise.all([
      page.waitForEvent('popup'),
      page.locator('button[data-format="pdf"]').click(),
    ]);
    await popup.waitForLoadState('load');
    expect(new URL(popup.url()).pathname).toBe(
      `/report/${encodeURIComponent(saved.id)}/printable.html`,
    );
    // every chart is an image that loaded, under the page's no-script policy
    const charts = await popup.evaluate(() =>
      [...document.querySelectorAll('img.chart-image')].map((img) => ({
        alt: img.getAttribute('alt'),
        loaded: (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0,
      })),
    );
    expect(charts.map((c) => c.alt)).toEqual(buildCharts(saved).map((c) => c.title));
    expect(charts.every((c) => c.loaded)).toBe(true);
    const pdf = await popup.pdf({ format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pages = pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) ?? [];
    expect(pages.length).toBeGreaterThanOrEqual(2);
    await popup.close();
  });

  it('opens a saved experiment file, and refuses a corrupt one with a clear error', async () => {
    const saved = await latestExperiment();
    const good = path.join(dir, 'saved.vmwb.json');
    writeFileSync(good, JSON.stringify({ schemaVersion: 1, spec: saved.spec, runs: saved.runs }));
    const before = (await service.listHistory()).entries.length;
    await page.locator('input[type="file"]').first().setInputFiles(good);
    await expect.poll(async () => (await service.listHistory()).entries.length).toBe(before + 1);

    const bad = path.join(dir, 'corrupt.vmwb.json');
    writeFileSync(bad, '{"schemaVersion": 1, "spec": {"kernel": 42}}');
    await page.locator('input[type="file"]').first().setInputFiles(bad);
    const alert = page.getByRole('alert');
    await alert.first().waitFor({ timeout: 10_000 });
    expect(await alert.first().innerText()).toMatch(
      /corrupt\.vmwb\.json is not a VMM Workbench experiment/,
    );
    expect((await service.listHistory()).entries.length).toBe(before + 1);
  });

  it('runs a kernel file of its own, given as NASM source', async () => {
    await page.getByRole('button', { name: 'Experiment', exact: false }).first().click();
    await page.locator('[data-testid="kernel-source-file"]').check();
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      page.locator('button[data-action="choose-kernel"]').click(),
    ]);
    await chooser.setFiles(path.join(root, 'test/fixtures/kernels/standalone.asm'));
    await expect
      .poll(() => page.locator('[data-testid="kernel-file"]').innerText(), { timeout: 20_000 })
      .toMatch(/standalone\.asm.*assembled/);
    await page.fill('#n', '');
    for (const t of listTechniques()) {
      if (t.id === 'native') continue;
      const box = page.locator(`input[data-technique="${t.id}"]`);
      if ((await box.isChecked()) !== (t.id === 'trap-and-emulate')) await box.click();
    }
    await page.locator('input[name="isa"][value="classic"]').check();
    await page.locator('button[type="submit"].primary').click();
    await page.waitForSelector('#compare-title', { timeout: 60_000 });
    const saved = await latestExperiment();
    expect(saved.spec.kernel).toMatchObject({ kind: 'file', name: 'standalone.asm' });
    expect(saved.runs.map((r) => r.outputText)).toEqual([
      'hello from a kernel file\ncs rpl = 0\n',
      'hello from a kernel file\ncs rpl = 1\n',
    ]);
    // the equivalence badge names the diverging line
    await expect
      .poll(() => page.locator('#main-content').innerText(), { timeout: 10_000 })
      .toMatch(/cs rpl = 1/);
    await page.getByRole('button', { name: 'Experiment', exact: false }).first().click();
    await page.locator('input[name="kernel-source"][value="workload"]').check();
  });

  it('compares two saved experiments in the History, with the numbers of both files', async () => {
    const listing = await service.listHistory();
    // the isprime run (all techniques) and the kernel-file run: the newest workload run and
    // the newest kernel-file run
    const fileRun = listing.entries.find((e) => e.spec.kernel.kind === 'file')!;
    const workloadRun = listing.entries.find((e) => e.spec.kernel.kind === 'workload')!;
    await page.getByRole('button', { name: 'History', exact: true }).click();
    for (const id of [workloadRun.id, fileRun.id]) {
      await page.locator(`tr[data-id="${id}"] input[data-action="select"]`).check();
    }
    await page.locator('button[data-action="compare-two"]').click();
    await page.locator('#pair-title').waitFor({ timeout: 20_000 });
    const [a, b] = [await service.load(workloadRun.id), await service.load(fileRun.id)].sort(
      (x, y) => x.createdAt.localeCompare(y.createdAt),
    );
    const expected = compareExperiments(a!, b!).charts;
    await page.waitForFunction(
      (ids) => ids.every((id) => id in ((window as { __vmmCharts?: object }).__vmmCharts ?? {})),
      expected.map((c) => c.id),
      { timeout: 20_000 },
    );
    const drawn = await page.evaluate(
      (ids) =>
        ids.map((id) => {
          const c = (
            window as unknown as {
              __vmmCharts: Record<
                string,
                { data: { labels: unknown; datasets: { label: string; data: unknown }[] } }
              >;
            }
          ).__vmmCharts[id]!;
          return {
            labels: c.data.labels,
            datasets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })),
          };
        }),
      expected.map((c) => c.id),
    );
    expect(drawn).toEqual(
      expected.map((def) => {
        const data = def.config.data as {
          labels: unknown;
          datasets: { label: string; data: unknown }[];
        };
        return {
          labels: data.labels,
          datasets: data.datasets.map((d) => ({ label: d.label, data: d.data })),
        };
      }),
    );
  });

  it('opens the translation cache of a binary-translation run and steps its replay', async () => {
    await startRun('lecture', 49, ['binary-translation']);
    await page.waitForSelector('#compare-title', { timeout: 120_000 });
    const saved = await latestExperiment();
    expect(saved.spec.kernel).toEqual({ kind: 'workload', workload: 'lecture' });
    expect(saved.runs.map((r) => r.technique)).toEqual(['native', 'binary-translation']);
    const dump = await service.loadTranslationCache(saved.id);
    await page.locator('button[data-action="open-translation-cache"]').click();
    await page.locator('#tc-title').waitFor({ timeout: 10_000 });
    await expect
      .poll(() => page.locator('.tc-fragment-list button').count(), { timeout: 20_000 })
      .toBe(dump.fragments.length);
    // focus on the lecture's isprime: the units the lecture walks through, nothing else
    const symbols = guestKernelSymbols('native');
    const lo = symbols.get('lecture_isprime')!;
    const hi = symbols.get('lecture_isprime_end')!;
    await page.fill('#tc-from', `0x${lo.toString(16)}`);
    await page.fill('#tc-to', `0x${(hi - 1).toString(16)}`);
    const units = dump.fragments.filter((f) => f.guestEip >= lo && f.guestEip < hi);
    expect(units.length).toBeGreaterThanOrEqual(3);
    const listed = async (): Promise<number[]> =>
      (await page
        .locator('.tc-fragment-list button')
        .evaluateAll((bs) => bs.map((b) => Number(b.getAttribute('data-fragment'))))) as number[];
    await expect.poll(listed, { timeout: 10_000 }).toEqual(units.map((f) => f.id));
    // `prime` was never executed, so never translated
    const prime = symbols.get('lecture_isprime.prime')!;
    await expect
      .poll(() => page.locator('.tc-gaps tbody tr').first().getAttribute('data-gap'))
      .toBe(String(prime));
    // the first unit's instructions beside their translation; its jge (jnl) rewritten
    const first = units[0]!;
    expect(await page.locator('#tc-fragment-title').innerText()).toMatch(
      new RegExp(`^Fragment #${first.id}\\b`),
    );
    const treatments = await page
      .locator('.tc-table tbody tr.tc-first')
      .evaluateAll((rows) =>
        rows.map((r) => r.querySelector('.tc-treatment')!.textContent!.trim()),
      );
    expect(treatments).toEqual(first.instructions.map((i) => i.treatment));
    expect(treatments).toContain('control-flow');

    // the replay, from an empty cache
    const status = page.locator('[data-testid="replay-status"]');
    const boxes = (): Promise<number[]> =>
      page
        .locator('.chain-diagram .tc-box')
        .evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-fragment'))));
    const exitState = (key: string): Promise<string | null> =>
      page.locator(`.chain-diagram .tc-exit[data-exit="${key}"]`).getAttribute('data-state');
    await page.locator('button[data-step="first"]').click();
    await expect.poll(() => status.innerText()).toMatch(/^After 0 of [\d,]+ events/);
    expect(await boxes()).toEqual([]);
    // step to the event that translates isprime's first unit: its jump is open
    const translated = dump.events.findIndex(
      (e) => e.kind === 'translate' && e.fragment === first.id,
    );
    await page.fill('#tc-step', String(translated + 1));
    await page.locator('#tc-step').press('Enter');
    await expect.poll(boxes).toEqual([first.id]);
    expect(await exitState(`${first.id}:0`)).toBe('open');
    // a jump inside isprime stays open until the step that fills it in (the loop, then jz)
    const chain = dump.events.findIndex(
      (e) => e.kind === 'chain' && units.some((u) => u.id === e.from) && e.from !== first.id,
    );
    expect(chain).toBeGreaterThan(translated);
    const event = dump.events[chain]!;
    if (event.kind !== 'chain') throw new Error('not a chain event');
    await page.fill('#tc-step', String(chain));
    await page.locator('#tc-step').press('Enter');
    expect(await exitState(`${event.from}:${event.exit}`)).toBe('open');
    await page.locator('button[data-step="next"]').click();
    await expect.poll(() => exitState(`${event.from}:${event.exit}`)).toBe('chained');
    expect(await status.innerText()).toContain(
      `fragment #${event.from}'s exit ${event.exit} filled in: it now jumps straight to fragment #${event.to}`,
    );
    await page.locator('button[data-step="previous"]').click();
    await expect.poll(() => exitState(`${event.from}:${event.exit}`)).toBe('open');
    await page.locator('button[data-step="last"]').click();
    await expect
      .poll(() => status.innerText())
      .toMatch(new RegExp(`^After ${dump.events.length.toLocaleString('en-US')} of`));
    // a box selects its fragment
    const last = units.at(-1)!;
    await page.locator(`.chain-diagram .tc-box[data-fragment="${last.id}"]`).click();
    await expect
      .poll(() => page.locator('#tc-fragment-title').innerText())
      .toMatch(new RegExp(`^Fragment #${last.id}\\b`));
    await screenshot('translation-cache');
  });

  it('runs the preset “isprime(49), as in the lecture” and walks through isprime', async () => {
    const before = (await service.listHistory()).entries.length;
    await page.locator('.tc-view button[data-action="lecture-preset"]').click();
    const caption = page.locator('[data-testid="lecture-caption"]');
    await caption.waitFor({ timeout: 120_000 });
    expect((await service.listHistory()).entries.length).toBe(before + 1);
    const saved = await latestExperiment();
    expect(saved.spec.kernel).toEqual({ kind: 'workload', workload: 'lecture' });
    expect(saved.spec.append).toBe('n=49');
    expect(saved.runs.map((r) => r.technique)).toEqual(['native', 'binary-translation']);
    const dump = await service.loadTranslationCache(saved.id);
    const symbols = guestKernelSymbols('native');
    const lo = symbols.get('lecture_isprime')!;
    const hi = symbols.get('lecture_isprime_end')!;
    const prime = symbols.get('lecture_isprime.prime')!;
    const notPrime = symbols.get('lecture_isprime.not_prime')!;
    expect(await page.inputValue('#tc-from')).toBe(`0x${lo.toString(16).padStart(8, '0')}`);
    expect(await page.inputValue('#tc-to')).toBe(`0x${(hi - 1).toString(16).padStart(8, '0')}`);
    const units = dump.fragments.filter((f) => f.guestEip >= lo && f.guestEip < hi);
    const boxes = (): Promise<number[]> =>
      page
        .locator('.chain-diagram .tc-box')
        .evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-fragment'))));
    const exitState = (key: string): Promise<string | null> =>
      page.locator(`.chain-diagram .tc-exit[data-exit="${key}"]`).getAttribute('data-state');
    // the first step: the first unit, its jge left open
    const first = units[0]!;
    await expect.poll(boxes).toEqual([first.id]);
    const jge = first.exits.findIndex((x) => x.kind === 'jump' && x.target === prime);
    expect(jge).toBeGreaterThanOrEqual(0);
    expect(await exitState(`${first.id}:${jge}`)).toBe('open');
    expect(await caption.innerText()).toMatch(/^Translation unit 1 .*jge to prime .* is left open/);
    // to the end of isprime: four fragments, jz filled in to notPrime's, prime never translated
    await page.locator('button[data-routine-step="last"]').click();
    await expect.poll(() => boxes().then((b) => b.length)).toBe(4);
    const notPrimeFragment = units.find((f) => f.guestEip === notPrime)!;
    expect(notPrimeFragment).toBeDefined();
    const withJz = units.find((f) => f.exits.some((x) => x.target === notPrime))!;
    const jz = withJz.exits.findIndex((x) => x.target === notPrime);
    expect(await exitState(`${withJz.id}:${jz}`)).toBe('chained');
    expect(withJz.exits[jz]!.linkedTo).toBe(notPrimeFragment.id);
    await page.locator('.tc-replay-exits summary').click();
    expect(
      await page.locator(`.tc-replay-exits li[data-exit="${withJz.id}:${jz}"]`).innerText(),
    ).toContain(`filled in: jumps to #${notPrimeFragment.id}`);
    expect(await caption.innerText()).toMatch(/prime \(0x[0-9a-f]{8}\) is never translated/);
    await expect
      .poll(() => page.locator('.tc-gaps tbody tr').first().getAttribute('data-gap'))
      .toBe(String(prime));
  });

  it('explains the lecture vocabulary in the glossary (F1)', async () => {
    await page.keyboard.press('F1');
    const dialog = page.locator('dialog.glossary-dialog');
    await dialog.waitFor({ state: 'visible', timeout: 10_000 });
    await page.keyboard.type('popf');
    await expect
      .poll(() => dialog.locator('dt').first().innerText(), { timeout: 10_000 })
      .toMatch(/POPF/i);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
  });

  it('cancels a long run, which ends with its partial metrics', async () => {
    await startRun('cr3', 100_000_000, ['trap-and-emulate']);
    const cancel = page.getByRole('button', { name: /^Cancel/ });
    await cancel.waitFor({ timeout: 30_000 });
    // cancel once the guest is really running (the progress bars move)
    await expect
      .poll(
        async () => {
          const r = await backend.handle({ method: 'activeExperiments' });
          const active = r.ok ? (r.value as unknown as { runs: { instructions: number }[] }[]) : [];
          return active.some((a) => a.runs.some((run) => run.instructions > 0));
        },
        { timeout: 60_000 },
      )
      .toBe(true);
    await cancel.click();
    await expect
      .poll(
        async () => {
          const e = (await service.listHistory()).entries[0];
          return e?.spec.append;
        },
        { timeout: 60_000 },
      )
      .toBe('n=100000000');
    const saved = await latestExperiment();
    expect(saved.runs.map((r) => r.end.reason)).toEqual(['cancelled', 'cancelled']);
    expect(saved.runs.some((r) => r.guestInstructions.total > 0)).toBe(true);
  });

  it('raised no page errors on the way', () => {
    expect(pageErrors).toEqual([]);
  });
});
