// The page the PDF export prints: report.html with every chart drawn ahead of time as an SVG
// image, no scripts, sections opened. Checked as text, and in headless Chromium with
// JavaScript disabled — as the app's hidden print window runs it — where every chart image
// must load and the page must print to a PDF.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCharts } from '../../shared/charts';
import { printableReportHtml } from '../../src-main/report';
import { CHROMIUM_PATH } from '../helpers/chromium';
import { sampleResults } from '../helpers/sample-results';

// with a para-virtual run and translator metrics, so that the hypercalls and callouts charts
// are among the images
const file = sampleResults({
  kernelName: '<img src=x onerror=alert(1)>.bin',
  withParavirt: true,
  withBinaryTranslation: true,
});
const charts = buildCharts(file);
const html = printableReportHtml(file);

describe('printableReportHtml', () => {
  it('replaces every chart canvas with an SVG image and drops every script', () => {
    expect(charts.map((c) => c.id)).toContain('hypercalls-by-name');
    expect(charts.map((c) => c.id)).toContain('callouts-by-kind');
    expect(html).toContain('<section id="binary-translation">');
    expect(html).not.toMatch(/<script|<canvas/i);
    const images = html.match(
      /<img class="chart-image" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="[^"]*">/g,
    );
    expect(images).toHaveLength(charts.length);
    for (const chart of charts) expect(html).toContain(`id="chart-${chart.id}"`);
  });

  it('opens the collapsed sections and keeps hostile names escaped', () => {
    expect(html).not.toMatch(/<details>/);
    expect(html).toMatch(/<details open>/);
    expect(html).not.toContain('<img src=x');
  });
});

describe('printed without JavaScript (headless Chromium)', () => {
  let dir: string;
  let browser: Awaited<ReturnType<typeof chromium.launch>>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'vmm-print-'));
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows every chart and prints to a PDF', async () => {
    const page = path.join(dir, 'report.html');
    writeFileSync(page, html);
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    try {
      const tab = await context.newPage();
      await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
      const images = tab.locator('img.chart-image');
      expect(await images.count()).toBe(charts.length);
      for (let i = 0; i < charts.length; i++) {
        const box = await images.nth(i).boundingBox();
        // a loaded image keeps the 800×450 chart's proportions; a broken one is a line of alt text
        expect(box?.width, `chart ${i} is drawn`).toBeGreaterThan(100);
        expect(box!.height / box!.width, `chart ${i} is drawn`).toBeCloseTo(450 / 800, 2);
      }
      // a reader of the tab is told how to print it; the printed page does not say so
      const hint = tab.locator('.print-hint');
      expect(await hint.isVisible()).toBe(true);
      expect(await hint.textContent()).toContain('Save as PDF');
      await tab.emulateMedia({ media: 'print' });
      expect(await hint.isVisible()).toBe(false);
      const pdf = await tab.pdf({ format: 'A4', printBackground: true });
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(pdf.length).toBeGreaterThan(10_000);
    } finally {
      await context.close();
    }
  });
});
