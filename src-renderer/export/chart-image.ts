// A chart as a PNG image, drawn afresh rather than copied from the screen: a fixed size, the
// light theme on white (slides and papers), no animation — so the image is the same whatever
// the window size or theme, like the CLI's images (src-main/report/chart-images.ts).

import { Chart, type Plugin } from 'chart.js';
import { type ChartDefinition } from '../../shared/charts';
import { toChartJsConfig } from '../charts/render-config';
import { registerChartJs } from '../charts/setup';

export interface ImageSize {
  width: number;
  height: number;
}

export const PNG_SIZE: ImageSize = { width: 1200, height: 675 };

const whiteBackground: Plugin = {
  id: 'vmm-white-background',
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

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
  config.plugins = [whiteBackground];
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
