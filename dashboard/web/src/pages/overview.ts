// Overview: what crossed the tunnel in the chosen range, from one call to /api/v1/overview. Live ranges
// refresh every 10 s; charts redraw in place and tables are rebuilt, so the page does not jump.
import { get, type Session } from '../lib/api.js';
import { errorBox, h, table, type Column } from '../lib/dom.js';
import { bytes, count, micros, percent, time } from '../lib/format.js';
import { bucketLabels, drawAllowDeny, drawCallsBySubaccount, drawErrorRate, drawLatency, type LatencySeries, type SubaccountLine } from '../lib/overview-charts.js';
import { callsLink, chartCard, cutNote, endpoint, perBucket, requestSequence, statTile, subaccountLink, tableCard } from '../lib/overview-widgets.js';
import { startPage } from '../lib/shell.js';
import { currentRange, rangePicker, setQuery, type TimeRange } from '../lib/time-range.js';

interface Counts { calls: number; denied: number; errors: number; status_5xx: number }
interface Backend extends Counts {
  subaccount: string; virtual_host: string; virtual_port: number; internal_host: string; internal_port: number; protocol: string; p95_us: number | null;
}
interface Denied { subaccount: string; cloud_app: string; virtual_host: string; virtual_port: number; path: string; deny_reason: string; calls: number; last_minute: string }
interface Overview {
  from: string;
  to: string;
  bucket_seconds: number;
  totals: Counts & { allowed: number; bytes_in: number; bytes_out: number; subaccounts: number };
  latency_us: { calls: number; p50: number; p95: number; p99: number };
  subaccounts: (Counts & { subaccount: string })[];
  series: LatencySeries & {
    buckets: string[]; calls: number[]; allowed: number[]; denied: number[]; errors: number[]; status_5xx: number[]; by_subaccount: SubaccountLine[];
  };
  top_backends: { total: number; rows: Backend[] };
  top_denied: { total: number; rows: Denied[] };
}

const TOP = 10;

/** The range the figures on screen cover: links into the calls explorer use it. */
type Shown = Pick<Overview, 'from' | 'to'>;

function render(s: Session, root: HTMLElement): void {
  const tiles = {
    calls: statTile('Calls', 'calls'),
    denied: statTile('Denied', 'denied'),
    errors: statTile('Backend errors', 'errors'),
    latency: statTile('Latency p95', 'p95'),
  };
  const charts = {
    bySubaccount: chartCard('Calls by subaccount', 'calls-by-subaccount', 'span-12', 'Calls per time bucket, stacked by subaccount'),
    allowDeny: chartCard('Allowed vs denied', 'allow-deny', 'span-6', 'Allowed and denied calls per time bucket'),
    latency: chartCard('Latency p50 / p95 / p99', 'latency', 'span-6', 'Latency quantiles of allowed calls per time bucket'),
    errorRate: chartCard('Error rate', 'error-rate', 'span-6', 'Backend errors and 5xx answers as a share of calls per time bucket'),
  };
  const backends = tableCard('Top backends', 'span-6');
  const denied = tableCard('Top denied resources', 'span-12');

  const subaccountSelect = h('select', { 'aria-label': 'Subaccount', 'data-testid': 'subaccount-filter' }, h('option', { value: '' }, 'All subaccounts'));
  const notice = h('div', { 'data-testid': 'overview-status' });
  const updated = h('span', { class: 'muted', 'data-testid': 'updated' });
  let range: TimeRange = currentRange();
  const begin = requestSequence();

  const load = async (): Promise<void> => {
    const current = begin();
    const subaccount = new URLSearchParams(location.search).get('subaccount') ?? '';
    // Show the filter from the URL at once, so that if it is refused the menu still offers a way back.
    fillSubaccounts(subaccountSelect, [...subaccountSelect.options].map((x) => x.value), subaccount);
    try {
      const o = await get<Overview>('/api/v1/overview', { from: range.from, to: range.to, subaccount, limit: TOP });
      if (!current()) return;
      show(o, subaccount);
      notice.replaceChildren(...(o.totals.calls === 0 ? [h('p', { class: 'notice' }, 'No calls in this range. Pick a longer range, or check that the collector receives audit events (Audit integrity page).')] : []));
      updated.textContent = `updated ${time(new Date().toISOString())}`;
    } catch (err) {
      if (current()) notice.replaceChildren(errorBox(err));
    }
  };

  const show = (o: Overview, subaccount: string): void => {
    fillSubaccounts(subaccountSelect, o.subaccounts.map((x) => x.subaccount), subaccount);
    const t = o.totals;
    const minutes = (Date.parse(o.to) - Date.parse(o.from)) / 60_000;
    tiles.calls.set(count(t.calls), `${count(Math.round(t.calls / Math.max(minutes, 1)))}/min · ${count(t.subaccounts)} subaccount${t.subaccounts === 1 ? '' : 's'} · ${bytes(t.bytes_in + t.bytes_out)}`);
    tiles.denied.set(count(t.denied), `${percent(t.denied, t.calls)} of calls`, t.denied > 0 ? 'bad' : undefined);
    tiles.errors.set(count(t.errors), `${percent(t.errors, t.calls)} of calls · ${count(t.status_5xx)} answered 5xx`, t.errors > 0 ? 'bad' : undefined);
    tiles.latency.set(o.latency_us.calls > 0 ? micros(o.latency_us.p95) : '–',
      o.latency_us.calls > 0 ? `p50 ${micros(o.latency_us.p50)} · p99 ${micros(o.latency_us.p99)}` : 'no allowed calls');

    const per = perBucket(o.bucket_seconds);
    charts.bySubaccount.title(`Calls ${per} by subaccount`);
    charts.allowDeny.title(`Allowed vs denied ${per}`);
    charts.latency.title(`Latency p50 / p95 / p99 ${per}`);
    charts.errorRate.title(`Error rate ${per}`);
    const labels = bucketLabels(o.series.buckets);
    void drawCallsBySubaccount(charts.bySubaccount.canvas, labels, o.series.by_subaccount);
    void drawAllowDeny(charts.allowDeny.canvas, labels, o.series.allowed, o.series.denied);
    void drawLatency(charts.latency.canvas, labels, o.series);
    void drawErrorRate(charts.errorRate.canvas, labels, o.series.calls, o.series.errors, o.series.status_5xx);

    backends.fill(backendTable(s, o, o.top_backends.rows), cutNote(o.top_backends.rows.length, o.top_backends.total));
    denied.fill(deniedTable(s, o, o.top_denied.rows), cutNote(o.top_denied.rows.length, o.top_denied.total));
  };

  subaccountSelect.addEventListener('change', () => {
    setQuery({ subaccount: subaccountSelect.value });
    void load();
  });

  root.append(
    h('div', { class: 'toolbar' },
      rangePicker((r) => { range = r; void load(); }),
      h('label', {}, 'Subaccount', subaccountSelect),
      updated),
    notice,
    h('div', { class: 'grid' },
      tiles.calls.element, tiles.denied.element, tiles.errors.element, tiles.latency.element,
      charts.bySubaccount.element,
      charts.allowDeny.element, charts.errorRate.element,
      charts.latency.element, backends.element,
      denied.element),
  );
}

/** Keeps the menu in step with the subaccounts in range, and the selection even when it had no calls. */
function fillSubaccounts(select: HTMLSelectElement, names: readonly string[], selected: string): void {
  const wanted = ['', ...names.filter((n) => n !== '')];
  if (selected !== '' && !wanted.includes(selected)) wanted.push(selected);
  const have = [...select.options].map((o) => o.value);
  if (have.join('\n') !== wanted.join('\n')) {
    select.replaceChildren(...wanted.map((n) => h('option', { value: n }, n === '' ? 'All subaccounts' : n)));
  }
  select.value = selected;
}

function backendTable(s: Session, range: Shown, rows: readonly Backend[]): HTMLElement {
  const columns: Column<Backend>[] = [
    { title: 'Subaccount', value: (r) => subaccountLink(r.subaccount) },
    {
      title: 'Virtual → internal',
      value: (r) => callsLink(s, range, { subaccount: r.subaccount, virtual_host: r.virtual_host },
        h('span', { class: 'mono' }, `${endpoint(r.virtual_host, r.virtual_port)} → ${endpoint(r.internal_host, r.internal_port)}`)),
    },
    { title: 'Calls', value: (r) => count(r.calls), numeric: true },
    { title: 'Errors', value: (r) => errorCell(r.errors, r.calls), numeric: true },
    { title: 'p95', value: (r) => (r.p95_us === null ? '–' : micros(r.p95_us)), numeric: true },
  ];
  return table(columns, rows, 'No backend was called in this range.', 'top-backends');
}

function errorCell(errors: number, calls: number): Node {
  if (errors === 0) return document.createTextNode('0');
  return h('span', { class: 'badge warn', title: `${percent(errors, calls)} of calls` }, count(errors));
}

function deniedTable(s: Session, range: Shown, rows: readonly Denied[]): HTMLElement {
  const columns: Column<Denied>[] = [
    { title: 'Subaccount', value: (r) => subaccountLink(r.subaccount) },
    { title: 'Cloud app', value: (r) => r.cloud_app || h('span', { class: 'muted' }, '–') },
    { title: 'Virtual host', value: (r) => h('span', { class: 'mono' }, endpoint(r.virtual_host, r.virtual_port) || '–') },
    {
      title: 'Path',
      value: (r) => callsLink(s, range, { subaccount: r.subaccount, decision: 'deny', virtual_host: r.virtual_host, path_prefix: r.path, cloud_app: r.cloud_app, deny_reason: r.deny_reason },
        h('span', { class: 'mono path' }, r.path || '(none)'), 'Show these refused calls'),
    },
    { title: 'Reason', value: (r) => h('span', { class: 'badge deny' }, r.deny_reason.replaceAll('_', ' ')) },
    { title: 'Calls', value: (r) => count(r.calls), numeric: true },
    { title: 'Last minute', value: (r) => time(r.last_minute) },
  ];
  return table(columns, rows, 'Nothing was refused in this range.', 'top-denied');
}

void startPage(render);
