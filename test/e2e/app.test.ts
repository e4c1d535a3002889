// End to end: the real renderer, built by Vite, in Debian's Chromium (headless, through
// playwright-core) against the web preview server backed by the real ExperimentService and
// worker threads. A person's path through the app: run isprime under every registered
// technique and watch it finish, read every chart back and find exactly the numbers of the
// run's results.json, export JSON/CSV/HTML, open a saved experiment, refuse a corrupt one, and
// cancel a long run. With UPDATE_SCREENSHOTS=1 it also refreshes docs/screenshots/.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCharts } from '../../shared/charts';
import { type HistoryFile, parseResultsFile } from '../../shared/results';
import { listTechniques } from '../../src-main/engine/vmm';
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
