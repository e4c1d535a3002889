// A chart as a PNG image, drawn afresh rather than copied from the screen: a fixed size, the
// light theme on white (slides and papers), no animation — so the image is the same whatever
// the window size or theme, like the CLI's images (src-main/report/chart-images.ts).

import { Chart } from 'chart.js';
import { type ChartDefinition, type ImageSize, WHITE_BACKGROUND_PLUGIN } from '../../shared/charts';
import { toChartJsConfig } from '../charts/render-config';
import { registerChartJs } from '../charts/setup';

export const PNG_SIZE: ImageSize = { width: 1200, height: 675 };

/** The chart as a `data:image/png;base64,…` URL. */
export function chartPngDataUrl(definition: ChartDefinition, size: ImageSize = PNG_SIZE): string {
  registerChartJs();
  const canvas = document.createElement('canvas');
  canvas.width = size.width;
  canvas.height = size.height;
  // attached (off screen) so that Chart.js can read its computed style
  canvas.style.cssText = `position:fixed;left:-${size.width * 2}px;top:0;width:${size.width}px;height:${size.height}px`;
  document.body.appendChild(canvas);
  const config = toChartJsConfig(definition, { theme: 'light', interactive: false });
  config.options = { ...config.options, devicePixelRatio: 1 };
  config.plugins = [WHITE_BACKGROUND_PLUGIN];
  let chart: Chart<'bar' | 'line'> | null = null;
  try {
    chart = new Chart(canvas, config);
    chart.draw();
    return canvas.toDataURL('image/png');
  } finally {
    chart?.destroy();
    canvas.remove();
  }
}
