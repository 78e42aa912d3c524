// chart.js (served locally as a UMD global) with the dashboard's colours. Every chart is registered in
// window.__twCharts under its test id, so browser tests can read the data a chart draws.
import type { Chart as ChartJs, ChartConfiguration, ChartType } from 'chart.js';

declare global {
  interface Window {
    Chart: typeof ChartJs;
    __twCharts: Record<string, ChartJs>;
  }
}

export const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
export const ALLOW = '#16a34a';
export const DENY = '#dc2626';
export const ERROR = '#ea580c';

let chartJsLoad: Promise<typeof ChartJs> | undefined;

/** Loads /assets/vendor/chart.umd.min.js once. */
export function loadChartJs(): Promise<typeof ChartJs> {
  chartJsLoad ??= new Promise((resolve, reject) => {
    if (window.Chart) return resolve(window.Chart);
    const script = document.createElement('script');
    script.src = '/assets/vendor/chart.umd.min.js';
    script.onload = () => resolve(window.Chart);
    script.onerror = () => reject(new Error('cannot load chart.js'));
    document.head.appendChild(script);
  });
  return chartJsLoad;
}

/**
 * Draws (or redraws in place, keeping the canvas) a chart on `canvas`; the canvas's data-testid names it
 * in window.__twCharts.
 */
export async function drawChart<T extends ChartType>(canvas: HTMLCanvasElement, config: ChartConfiguration<T>): Promise<ChartJs> {
  const Chart = await loadChartJs();
  window.__twCharts ??= {};
  const id = canvas.dataset.testid ?? canvas.id;
  const existing = Chart.getChart(canvas);
  if (existing) {
    existing.data = config.data as never;
    existing.update('none');
    window.__twCharts[id] = existing;
    return existing;
  }
  const chart = new Chart(canvas, {
    ...config,
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      ...(config.options as object),
    },
  } as never);
  window.__twCharts[id] = chart;
  return chart;
}

export function color(i: number): string {
  return PALETTE[i % PALETTE.length] ?? '#4b5563';
}
