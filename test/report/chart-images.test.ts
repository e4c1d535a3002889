import { loadImage } from '@napi-rs/canvas';
import { describe, expect, it } from 'vitest';
import { buildCharts } from '../../shared/charts';
import { chartPng, chartSvg, DEFAULT_IMAGE_SIZE } from '../../src-main/report/chart-images';
import { sampleResults } from '../helpers/sample-results';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Well-formedness by tag balance: every element opened is closed, in order, one root. */
function checkXml(text: string): string {
  const body = text.replace(/^<\?xml[^>]*\?>\s*/, '').replace(/<!--[\s\S]*?-->/g, '');
  const stack: string[] = [];
  let root: string | undefined;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}>`);
    } else {
      if (stack.length === 0) {
        if (root !== undefined) throw new Error(`second root <${name}>`);
        root = name;
      }
      if (!selfClose) stack.push(name!);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (!root) throw new Error('no root element');
  return root;
}

describe('chart images', () => {
  // with a para-virtual run and translator metrics, so that every kind of chart is drawn (the
  // hypercalls and callouts ones too)
  const charts = buildCharts(sampleResults({ withParavirt: true, withBinaryTranslation: true }));

  it('draws the hypercalls and callouts charts too', () => {
    expect(charts.map((c) => c.id)).toContain('hypercalls-by-name');
    expect(charts.map((c) => c.id)).toContain('callouts-by-kind');
  });

  it('renders every chart as a PNG that decodes at the requested size', async () => {
    for (const chart of charts) {
      const png = chartPng(chart);
      expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
      const image = await loadImage(png);
      expect([image.width, image.height]).toEqual([
        DEFAULT_IMAGE_SIZE.width,
        DEFAULT_IMAGE_SIZE.height,
      ]);
    }
  });

  it('draws on white and actually draws something', async () => {
    const { createCanvas } = await import('@napi-rs/canvas');
    const png = chartPng(charts[0]!, { width: 400, height: 300 });
    const image = await loadImage(png);
    const canvas = createCanvas(400, 300);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(image, 0, 0);
    const { data } = ctx.getImageData(0, 0, 400, 300);
    expect([data[0], data[1], data[2], data[3]]).toEqual([255, 255, 255, 255]); // corner
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i]! < 200 || data[i + 1]! < 200 || data[i + 2]! < 200) inked++;
    }
    expect(inked).toBeGreaterThan(500);
  });

  it('renders every chart as a well-formed SVG document that decodes', async () => {
    for (const chart of charts) {
      const svg = chartSvg(chart);
      expect(checkXml(svg)).toBe('svg');
      expect(svg).toMatch(/<svg[^>]* width="800" height="450"/);
      expect(svg).toContain('<path'); // text converted to paths, bars drawn
      const image = await loadImage(Buffer.from(svg));
      expect(image.width).toBe(DEFAULT_IMAGE_SIZE.width);
    }
  });

  it('leaves the definition it was given unchanged', () => {
    const before = JSON.stringify(charts);
    chartPng(charts[2]!);
    chartSvg(charts[8]!);
    expect(JSON.stringify(charts)).toBe(before);
  });
});
