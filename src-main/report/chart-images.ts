// PNG and SVG images of the charts, drawn headless with Chart.js on @napi-rs/canvas, for
// papers, slides and the CLI (no browser needed). The pictures come from the same definitions
// as the HTML report and the app (shared/charts.ts), so they show the same thing.
//
// Chart.js picks its BasicPlatform by itself when there is no DOM (Node): no resize observers,
// no events, a canvas of exactly the size asked for. Animation and responsiveness are turned
// off so a chart is complete the moment it is constructed.

import { createCanvas, SvgExportFlag, type Canvas, type SvgCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration } from 'chart.js';
import { type ChartDefinition, type ImageSize, WHITE_BACKGROUND_PLUGIN } from '../../shared/charts';
export type { ImageSize } from '../../shared/charts';

Chart.register(...registerables);

export const DEFAULT_IMAGE_SIZE: ImageSize = { width: 800, height: 450 };

function render<T>(definition: ChartDefinition, canvas: Canvas | SvgCanvas, read: () => T): T {
  // Chart.js writes into the configuration it is given: keep the caller's definition intact
  const config = structuredClone(definition.config) as unknown as ChartConfiguration;
  config.options = {
    ...config.options,
    animation: false,
    responsive: false,
    devicePixelRatio: 1,
  };
  config.plugins = [WHITE_BACKGROUND_PLUGIN];
  // @napi-rs/canvas implements the 2D context Chart.js draws with, not the DOM canvas type
  const chart = new Chart(canvas as unknown as ConstructorParameters<typeof Chart>[0], config);
  try {
    chart.draw();
    return read(); // before destroy(), which clears the canvas
  } finally {
    chart.destroy();
  }
}

/** The chart as a PNG image. */
export function chartPng(
  definition: ChartDefinition,
  size: ImageSize = DEFAULT_IMAGE_SIZE,
): Buffer {
  const canvas = createCanvas(size.width, size.height);
  return render(definition, canvas, () => canvas.toBuffer('image/png'));
}

/** The chart as an SVG document, its text converted to paths so it needs no fonts to view. */
export function chartSvg(
  definition: ChartDefinition,
  size: ImageSize = DEFAULT_IMAGE_SIZE,
): string {
  const canvas = createCanvas(size.width, size.height, SvgExportFlag.ConvertTextToPaths);
  return render(definition, canvas, () => canvas.getContent().toString('utf8'));
}
