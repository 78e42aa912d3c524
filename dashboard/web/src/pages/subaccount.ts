// One subaccount (/subaccounts/<name>): usage over time, then who called (cloud apps, principals) and
// what (backends, resources with their busiest path prefixes), each row linking into the calls explorer.
import { get, type Session } from '../lib/api.js';
import { errorBox, h, table, type Column } from '../lib/dom.js';
import { ago, count, micros, percent, time } from '../lib/format.js';
import { bucketLabels, drawLatency, drawUsage, type LatencySeries } from '../lib/overview-charts.js';
import { callsLink, chartCard, cutNote, endpoint, perBucket, requestSequence, statTile, tableCard, type Range } from '../lib/overview-widgets.js';
import { startPage } from '../lib/shell.js';
import { rangePicker, type TimeRange } from '../lib/time-range.js';

interface Seen { calls: number; denied: number; errors: number; status_5xx: number; last_seen: string }
interface App extends Seen { cloud_app: string; principals: number }
interface PrincipalRow extends Seen { principal: string; apps: string[] }
interface Backend extends Seen { virtual_host: string; virtual_port: number; internal_host: string; internal_port: number; protocol: string; p95_us: number | null }
interface Resource extends Seen { rule_id: string; virtual_host: string; virtual_port: number; prefixes: (Seen & { prefix: string })[] }
interface Top<T> { total: number; rows: T[] }
interface Detail {
  subaccount: string;
  from: string;
  to: string;
  bucket_seconds: number;
  last_seen: string | null;
  totals: { calls: number; allowed: number; denied: number; errors: number; status_5xx: number; bytes_in: number; bytes_out: number };
  latency_us: { calls: number; p50: number; p95: number; p99: number };
  usage: LatencySeries & { buckets: string[]; calls: number[]; allowed: number[]; denied: number[]; errors: number[] };
  apps: Top<App>;
  principals: Top<PrincipalRow>;
  backends: Top<Backend>;
  resources: Top<Resource>;
}

/** The name from /subaccounts/<name>; '' when the path has none. */
function nameFromPath(): string {
  const segment = location.pathname.split('/')[2] ?? '';
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function render(s: Session, root: HTMLElement): void {
  const name = nameFromPath();
  document.title = `${name} · Subaccount · Tunnelwatch`;
  const heading = document.querySelector('main > h1');
  if (heading) heading.textContent = `Subaccount ${name}`;

  const tiles = {
    calls: statTile('Calls', 'calls'),
    denied: statTile('Denied', 'denied'),
    errors: statTile('Backend errors', 'errors'),
    latency: statTile('Latency p95', 'p95'),
  };
  const usage = chartCard('Usage', 'subaccount-usage', 'span-8', 'Allowed and denied calls and backend errors per time bucket');
  const latency = chartCard('Latency', 'subaccount-latency', 'span-4', 'Latency quantiles of allowed calls per time bucket');
  const cards = {
    apps: tableCard('Cloud apps'),
    principals: tableCard('Principals'),
    backends: tableCard('Backends', 'span-12'),
    resources: tableCard('Resources', 'span-12'),
  };
  const notice = h('div');
  const lastSeen = h('span', { class: 'muted', 'data-testid': 'last-seen' });
  let range: TimeRange | undefined;
  const begin = requestSequence();

  const load = async (): Promise<void> => {
    if (!range) return;
    const current = begin();
    try {
      const d = await get<Detail>(`/api/v1/subaccounts/${encodeURIComponent(name)}`, { from: range.from, to: range.to });
      if (!current()) return;
      show(d);
      notice.replaceChildren(...(d.totals.calls === 0 ? [h('p', { class: 'notice' }, `${name} had no calls in this range.`)] : []));
    } catch (err) {
      if (current()) notice.replaceChildren(errorBox(err));
    }
  };

  const show = (d: Detail): void => {
    const t = d.totals;
    tiles.calls.set(count(t.calls), `${count(t.allowed)} allowed · ${count(d.apps.total)} app${d.apps.total === 1 ? '' : 's'} · ${count(d.principals.total)} principal${d.principals.total === 1 ? '' : 's'}`);
    tiles.denied.set(count(t.denied), `${percent(t.denied, t.calls)} of calls`, t.denied > 0 ? 'bad' : undefined);
    tiles.errors.set(count(t.errors), `${percent(t.errors, t.calls)} of calls · ${count(t.status_5xx)} answered 5xx`, t.errors > 0 ? 'bad' : undefined);
    tiles.latency.set(d.latency_us.calls > 0 ? micros(d.latency_us.p95) : '–',
      d.latency_us.calls > 0 ? `p50 ${micros(d.latency_us.p50)} · p99 ${micros(d.latency_us.p99)}` : 'no allowed calls');
    lastSeen.textContent = d.last_seen ? `last call ${ago(d.last_seen)} (${time(d.last_seen)})` : 'no call in this range';

    const per = perBucket(d.bucket_seconds);
    usage.title(`Usage ${per}`);
    latency.title(`Latency ${per}`);
    const labels = bucketLabels(d.usage.buckets);
    void drawUsage(usage.canvas, labels, d.usage.allowed, d.usage.denied, d.usage.errors);
    void drawLatency(latency.canvas, labels, d.usage);

    cards.apps.fill(appTable(s, d), cutNote(d.apps.rows.length, d.apps.total));
    cards.principals.fill(principalTable(s, d), cutNote(d.principals.rows.length, d.principals.total));
    cards.backends.fill(backendTable(s, d), cutNote(d.backends.rows.length, d.backends.total));
    cards.resources.fill(resourceTable(s, d), cutNote(d.resources.rows.length, d.resources.total));
  };

  root.append(
    h('p', {}, h('a', { href: '/subaccounts' }, '← All subaccounts')),
    h('div', { class: 'toolbar' }, rangePicker((r) => { range = r; void load(); }), lastSeen),
    notice,
    h('div', { class: 'grid' },
      tiles.calls.element, tiles.denied.element, tiles.errors.element, tiles.latency.element,
      usage.element, latency.element,
      cards.apps.element, cards.principals.element, cards.backends.element, cards.resources.element),
  );
}

/** Calls, denied, errors and last call: the columns every list shares. */
function figureColumns<T extends Seen>(s: Session, range: Range, filters: (row: T) => Record<string, string | undefined> | null): Column<T>[] {
  // null filters: the explorer cannot select these calls (e.g. no principal), so no link.
  const link = (r: T, extra: Record<string, string>, text: Node | string, title?: string): Node | string => {
    const f = filters(r);
    return f ? callsLink(s, range, { ...f, ...extra }, text, title) : text;
  };
  return [
    { title: 'Calls', value: (r) => link(r, {}, count(r.calls)), numeric: true },
    {
      title: 'Denied',
      value: (r) => (r.denied === 0 ? '0' : link(r, { decision: 'deny' }, h('span', { class: 'badge deny' }, count(r.denied)), 'Show the refused calls')),
      numeric: true,
    },
    { title: 'Errors', value: (r) => (r.errors === 0 ? '0' : h('span', { class: 'badge warn', title: `${percent(r.errors, r.calls)} of calls` }, count(r.errors))), numeric: true },
    { title: 'Last call', value: (r) => h('span', { title: time(r.last_seen, true) }, ago(r.last_seen)) },
  ];
}

function appTable(s: Session, d: Detail): HTMLElement {
  const columns: Column<App>[] = [
    { title: 'Cloud app', value: (r) => r.cloud_app || h('span', { class: 'muted' }, '(none)') },
    ...figureColumns<App>(s, d, (r) => (r.cloud_app ? { subaccount: d.subaccount, cloud_app: r.cloud_app } : null)),
    { title: 'Principals', value: (r) => count(r.principals), numeric: true },
  ];
  return table(columns, d.apps.rows, 'No cloud app called in this range.', 'subaccount-apps');
}

function principalTable(s: Session, d: Detail): HTMLElement {
  const columns: Column<PrincipalRow>[] = [
    { title: 'Principal', value: (r) => r.principal || h('span', { class: 'muted', title: 'the app named no end user' }, '(none)') },
    { title: 'Via apps', value: (r) => r.apps.join(', ') },
    ...figureColumns<PrincipalRow>(s, d, (r) => (r.principal ? { subaccount: d.subaccount, principal: r.principal } : null)),
  ];
  return table(columns, d.principals.rows, 'No principal in this range.', 'subaccount-principals');
}

function backendTable(s: Session, d: Detail): HTMLElement {
  const columns: Column<Backend>[] = [
    { title: 'Virtual host', value: (r) => h('span', { class: 'mono' }, endpoint(r.virtual_host, r.virtual_port) || '–') },
    { title: 'Internal host', value: (r) => (r.internal_host ? h('span', { class: 'mono' }, endpoint(r.internal_host, r.internal_port)) : h('span', { class: 'badge muted', title: 'no call got as far as a mapping' }, 'not mapped')) },
    { title: 'Protocol', value: (r) => r.protocol || '–' },
    ...figureColumns<Backend>(s, d, (r) => ({ subaccount: d.subaccount, virtual_host: r.virtual_host })),
    { title: 'p95', value: (r) => (r.p95_us === null ? '–' : micros(r.p95_us)), numeric: true },
  ];
  return table(columns, d.backends.rows, 'No backend was called in this range.', 'subaccount-backends');
}

function resourceTable(s: Session, d: Detail): HTMLElement {
  const prefixes = (r: Resource): HTMLElement => h('div', { 'data-testid': 'prefixes' }, ...r.prefixes.map((p) => h('div', {},
    callsLink(s, d, { subaccount: d.subaccount, virtual_host: r.virtual_host, path_prefix: p.prefix || undefined }, h('span', { class: 'mono path' }, p.prefix || '(no path)')),
    ` ${count(p.calls)}`, p.denied > 0 ? h('span', { class: 'muted' }, ` (${count(p.denied)} denied)`) : null)));
  const columns: Column<Resource>[] = [
    { title: 'Rule', value: (r) => (r.rule_id ? h('span', { class: 'mono' }, r.rule_id) : h('span', { class: 'badge deny', title: 'refused calls: no rule allowed them' }, 'no rule (refused)')) },
    { title: 'Virtual host', value: (r) => h('span', { class: 'mono' }, endpoint(r.virtual_host, r.virtual_port) || '–') },
    { title: 'Busiest path prefixes', value: prefixes },
    ...figureColumns<Resource>(s, d, (r) => ({ subaccount: d.subaccount, virtual_host: r.virtual_host, ...(r.rule_id ? {} : { decision: 'deny' }) })),
  ];
  return table(columns, d.resources.rows, 'No resource was used in this range.', 'subaccount-resources');
}

void startPage(render);
