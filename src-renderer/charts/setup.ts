// Chart.js, tree-shaken: only the controllers, elements, scales and plugins the chart
// definitions of shared/charts.ts use (bar and line charts on category and linear scales,
// with titles, legends and tooltips). A definition that needs more must register it here.

import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Title,
  Tooltip,
} from 'chart.js';

let registered = false;

export function registerChartJs(): void {
  if (registered) return;
  Chart.register(
    BarController,
    LineController,
    BarElement,
    LineElement,
    PointElement,
    CategoryScale,
    LinearScale,
    Title,
    Legend,
    Tooltip,
  );
  registered = true;
}
