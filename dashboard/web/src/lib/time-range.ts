// The time-range picker shared by every page: relative ranges (last 15 min ... 30 days) that follow the
// clock and refresh live, or a fixed from/to. The choice lives in the URL (?range= or ?from=&to=), so a
// view can be bookmarked and shared.
import { h } from './dom.js';

export const RANGES = [
  { key: '15m', label: 'Last 15 min', ms: 15 * 60_000 },
  { key: '1h', label: 'Last hour', ms: 3_600_000 },
  { key: '6h', label: 'Last 6 h', ms: 6 * 3_600_000 },
  { key: '24h', label: 'Last 24 h', ms: 24 * 3_600_000 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;

export interface TimeRange {
  readonly from: string;
  readonly to: string;
  /** True for relative ranges: they move with the clock and the page refreshes itself. */
  readonly live: boolean;
  readonly key: string;
}

export function currentRange(defaultKey = '1h'): TimeRange {
  const q = new URLSearchParams(location.search);
  const from = q.get('from');
  const to = q.get('to');
  if (from && to && !Number.isNaN(Date.parse(from)) && !Number.isNaN(Date.parse(to))) {
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), live: false, key: 'custom' };
  }
  const key = q.get('range') ?? defaultKey;
  const range = RANGES.find((r) => r.key === key) ?? RANGES.find((r) => r.key === defaultKey) ?? RANGES[1];
  const now = Date.now();
  return { from: new Date(now - range.ms).toISOString(), to: new Date(now).toISOString(), live: true, key: range.key };
}

/** Sets URL parameters (others kept) without reloading. */
export function setQuery(params: Record<string, string | undefined>): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') q.delete(k);
    else q.set(k, v);
  }
  history.replaceState(null, '', `${location.pathname}${q.toString() ? `?${q}` : ''}`);
}

/**
 * The picker; `onChange` runs after every change and, for live ranges, every `refreshMs` (paused while
 * the tab is hidden).
 */
export function rangePicker(onChange: (range: TimeRange) => void, options: { defaultKey?: string; refreshMs?: number } = {}): HTMLElement {
  const refreshMs = options.refreshMs ?? 10_000;
  const initial = currentRange(options.defaultKey);
  const select = h('select', { 'aria-label': 'Time range', 'data-testid': 'range' },
    ...RANGES.map((r) => h('option', { value: r.key, selected: r.key === initial.key }, r.label)),
    initial.key === 'custom' ? h('option', { value: 'custom', selected: true }, 'Custom range') : null);
  const status = h('span', { class: 'live', 'data-testid': 'live' });
  let timer: number | undefined;
  const run = (): void => {
    const range = currentRange(options.defaultKey);
    status.textContent = range.live ? '● live' : '';
    onChange(range);
  };
  const schedule = (): void => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    if (currentRange(options.defaultKey).live) timer = window.setInterval(() => { if (!document.hidden) run(); }, refreshMs);
  };
  select.addEventListener('change', () => {
    setQuery({ range: select.value === 'custom' ? undefined : select.value, from: undefined, to: undefined });
    schedule();
    run();
  });
  queueMicrotask(() => { schedule(); run(); });
  return h('div', { class: 'range' }, select, status);
}
