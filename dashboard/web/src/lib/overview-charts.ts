// The charts of the Overview and Subaccount pages, as chart.js configurations drawn with drawChart() (so a
// refresh redraws in place, and tests read each chart's data from window.__twCharts by its test id).
// Values are the API's counts per bucket; durations in ms and rates in % for the axes an analyst reads.
import type { ChartConfiguration, ChartDataset, ChartOptions } from 'chart.js';
import { ALLOW, color, DENY, drawChart, ERROR } from './charts.js';
import { axisTime } from './format.js';

/** Axis labels for bucket starts; with the date when the range spans more than a day. */
export function bucketLabels(buckets: readonly string[]): string[] {
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  const withDate = first !== undefined && last !== undefined && Date.parse(last) - Date.parse(first) >= 86_400_000;
  return buckets.map((b) => axisTime(b, withDate));
}

type CartesianScales = ChartOptions<'bar'>['scales'];

function axes(stacked: boolean, yTitle: string, extra: CartesianScales = {}): CartesianScales {
  return {
    x: { stacked, ticks: { maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } },
    y: { stacked, beginAtZero: true, title: { display: true, text: yTitle } },
    ...extra,
  };
}

const LEGEND = { position: 'bottom' as const, labels: { boxWidth: 12 } };

function ms(values: readonly (number | null)[]): (number | null)[] {
  return values.map((v) => (v === null ? null : Math.round(v / 10) / 100));
}

/** Share of part in whole per bucket, in %; null where there were no calls (a gap, not a false 0 %). */
function percentOf(part: readonly number[], whole: readonly number[]): (number | null)[] {
  return part.map((p, i) => {
    const w = whole[i] ?? 0;
    return w === 0 ? null : Math.round((10_000 * p) / w) / 100;
  });
}

export interface SubaccountLine {
  readonly subaccount: string;
  readonly other: boolean;
  readonly calls: readonly number[];
}

export function drawCallsBySubaccount(canvas: HTMLCanvasElement, labels: string[], lines: readonly SubaccountLine[]): Promise<unknown> {
  const datasets: ChartDataset<'bar'>[] = lines.map((line, i) => ({
    label: line.other ? 'other subaccounts' : line.subaccount || '(none)',
    data: [...line.calls],
    backgroundColor: line.other ? '#94a3b8' : color(i),
    stack: 'calls',
  }));
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: { labels, datasets },
    options: { scales: axes(true, 'calls'), plugins: { legend: LEGEND } },
  };
  return drawChart(canvas, config);
}

export function drawAllowDeny(canvas: HTMLCanvasElement, labels: string[], allowed: readonly number[], denied: readonly number[]): Promise<unknown> {
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { label: 'allowed', data: [...allowed], backgroundColor: ALLOW, stack: 'calls' },
        { label: 'denied', data: [...denied], backgroundColor: DENY, stack: 'calls' },
      ],
    },
    options: { scales: axes(true, 'calls'), plugins: { legend: LEGEND } },
  };
  return drawChart(canvas, config);
}

export interface LatencySeries {
  readonly latency_p50_us: readonly (number | null)[];
  readonly latency_p95_us: readonly (number | null)[];
  readonly latency_p99_us: readonly (number | null)[];
}

export function drawLatency(canvas: HTMLCanvasElement, labels: string[], s: LatencySeries): Promise<unknown> {
  const line = (label: string, data: (number | null)[], c: string): ChartDataset<'line'> =>
    ({ label, data, borderColor: c, backgroundColor: c, pointRadius: 1.5, pointHoverRadius: 4, borderWidth: 2, spanGaps: false, tension: 0.2 });
  const config: ChartConfiguration<'line'> = {
    type: 'line',
    data: {
      labels,
      datasets: [
        line('p50', ms(s.latency_p50_us), color(0)),
        line('p95', ms(s.latency_p95_us), ERROR),
        line('p99', ms(s.latency_p99_us), DENY),
      ],
    },
    options: { scales: axes(false, 'ms (allowed calls)'), plugins: { legend: LEGEND } },
  };
  return drawChart(canvas, config);
}

export function drawErrorRate(canvas: HTMLCanvasElement, labels: string[], calls: readonly number[], errors: readonly number[], status5xx: readonly number[]): Promise<unknown> {
  const config: ChartConfiguration<'line'> = {
    type: 'line',
    data: {
      labels,
      datasets: [
        { label: 'backend errors', data: percentOf(errors, calls), borderColor: ERROR, backgroundColor: ERROR, pointRadius: 1.5, borderWidth: 2 },
        { label: '5xx answers', data: percentOf(status5xx, calls), borderColor: DENY, backgroundColor: DENY, pointRadius: 1.5, borderWidth: 2, borderDash: [5, 4] },
      ],
    },
    options: { scales: axes(false, '% of calls'), plugins: { legend: LEGEND } },
  };
  return drawChart(canvas, config);
}

/** A subaccount's usage: allowed and denied calls stacked, backend errors as a line over them. */
export function drawUsage(canvas: HTMLCanvasElement, labels: string[], allowed: readonly number[], denied: readonly number[], errors: readonly number[]): Promise<unknown> {
  const config: ChartConfiguration<'bar' | 'line'> = {
    type: 'bar',
    data: {
      labels,
      datasets: [
        { type: 'bar', label: 'allowed', data: [...allowed], backgroundColor: ALLOW, stack: 'calls', order: 2 },
        { type: 'bar', label: 'denied', data: [...denied], backgroundColor: DENY, stack: 'calls', order: 2 },
        { type: 'line', label: 'backend errors', data: [...errors], borderColor: ERROR, backgroundColor: ERROR, pointRadius: 0, borderWidth: 2, order: 1 },
      ],
    },
    options: { scales: axes(true, 'calls'), plugins: { legend: LEGEND } },
  };
  return drawChart(canvas, config);
}
