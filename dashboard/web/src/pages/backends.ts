// Backends: is each backend reachable, since when, and what to do if not. A health matrix (subaccounts ×
// mappings, from the checks connectors run), then for the mapping picked: its timeline (state and duration
// of each check), the last check step by step with the fix of a failing step, the real calls that failed
// by error type, and for admins "Run check now". Below: every recommendation, and the relay's view of the
// tunnel sessions. The picked mapping and the range live in the URL.
import type { ChartConfiguration } from 'chart.js';
import { ApiError, get, post, type Session } from '../lib/api.js';
import { ALLOW, DENY, drawChart, ERROR } from '../lib/charts.js';
import { errorBox, h, table, type Column } from '../lib/dom.js';
import { ago, count, time } from '../lib/format.js';
import { bucketLabels } from '../lib/overview-charts.js';
import { callsLink, requestSequence, statTile, subaccountLink, tableCard, type Range } from '../lib/overview-widgets.js';
import { startPage } from '../lib/shell.js';
import { rangePicker, setQuery, type TimeRange } from '../lib/time-range.js';

interface Recommendation { step: string; outcome: string; classification: string; message: string; fix: string }
interface Backend {
  subaccount: string; virtual_host: string; internal_host: string; protocol: string; connector_id: string; location_id: string;
  state: string; classification: string; summary: string; last_check_id: string; last_check_at: string; last_trigger: string;
  since: string; since_exact: boolean; checks: { up: number; degraded: number; down: number };
  call_errors: Record<string, number>; call_errors_total: number; recommendation: Recommendation | null;
}
interface Matrix { from: string; to: string; backends: Backend[]; totals: { up: number; degraded: number; down: number } }
interface Step { step: string; outcome: string; duration_ms: number; classification: string; message: string; fix: string; detail: Record<string, unknown> }
interface Report { check_id: string; connector_id: string; location_id: string; started_at: string; duration_ms: number; state: string; trigger: string; requested_by: string; summary: string; steps: Step[] }
interface History { bucket_seconds: number; points: { at: string; state: string; duration_ms: number; checks: number; classification: string }[]; changes: { at: string; from: string; to: string }[] }
interface SessionView { connector_id: string; location_id: string; subaccounts: string[]; remote_address: string; connected_since: string; rtt_ms: number; open_streams: number; reconnects: number; last_error: string; last_error_at: string }

const STATES = ['up', 'degraded', 'down'] as const;
const BADGE: Record<string, string> = { up: 'allow', degraded: 'warn', down: 'deny', ok: 'allow', warn: 'warn', fail: 'deny', skipped: 'muted' };
const COLOR: Record<string, string> = { up: ALLOW, degraded: ERROR, down: DENY };

const badge = (state: string): HTMLElement => h('span', { class: `badge ${BADGE[state] ?? 'muted'}`, 'data-testid': 'state' }, state);
const rank = (state: string): number => (STATES as readonly string[]).indexOf(state);
const key = (b: { subaccount: string; virtual_host: string }): string => `${b.subaccount}/${b.virtual_host}`;
const since = (b: Backend): string => `${b.since_exact ? 'since' : 'at least since'} ${time(b.since)} (${ago(b.since).replace(' ago', '')})`;

function stepsTable(r: Report): HTMLElement {
  const columns: Column<Step>[] = [
    { title: 'Step', value: (s) => h('strong', {}, s.step) },
    { title: 'Outcome', value: (s) => h('span', { class: `badge ${BADGE[s.outcome] ?? 'muted'}` }, s.outcome) },
    { title: 'Time', value: (s) => (s.outcome === 'skipped' ? '–' : `${s.duration_ms} ms`), numeric: true },
    { title: 'Classification', value: (s) => (s.outcome === 'skipped' ? '' : h('code', {}, s.classification)) },
    { title: 'What was observed', value: (s) => s.message },
    { title: 'What to do', value: (s) => (s.fix ? h('span', { class: 'fix' }, s.fix) : h('span', { class: 'muted' }, '—')) },
  ];
  return table(columns, r.steps, 'The report has no steps.', 'check-steps');
}

function drawTimeline(canvas: HTMLCanvasElement, hist: History): Promise<unknown> {
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: {
      labels: bucketLabels(hist.points.map((p) => p.at)),
      // One dataset per state so the colour says the state and the height the check's duration.
      datasets: STATES.map((state) => ({
        label: state, backgroundColor: COLOR[state], stack: 'checks', minBarLength: 4, maxBarThickness: 28,
        data: hist.points.map((p) => (p.state === state ? p.duration_ms : null)),
      })),
    },
    options: {
      scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } }, y: { stacked: true, beginAtZero: true, title: { display: true, text: hist.bucket_seconds ? 'mean check duration, ms' : 'check duration, ms' } } },
      plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
    },
  };
  return drawChart(canvas, config);
}

function matrixView(backends: Backend[], selected: string, pick: (b: Backend) => void): HTMLElement {
  if (backends.length === 0) {
    return h('p', { class: 'notice', 'data-testid': 'backends-empty' },
      'No backend checks yet. Each connector checks its mappings every diagnostics.interval_ms (default 60 s) and sends the reports to the collector; '
      + 'run `tunnelwatch check` on a connector host to check one now. Mappings show here after their first check.');
  }
  const bySub = new Map<string, Backend[]>();
  for (const b of backends) bySub.set(b.subaccount, [...(bySub.get(b.subaccount) ?? []), b]);
  return h('div', { class: 'matrix', 'data-testid': 'backend-matrix' }, ...[...bySub].map(([sub, list]) =>
    h('div', { class: 'matrix-row' }, h('div', { class: 'matrix-sub' }, subaccountLink(sub)),
      h('div', { class: 'matrix-cells' }, ...list.map((b) => h('button', {
        type: 'button', class: `cell ${b.state}`, 'aria-pressed': key(b) === selected ? 'true' : 'false', 'data-testid': 'backend-cell',
        'data-key': key(b), 'data-state': b.state, title: `${b.virtual_host} → ${b.internal_host}: ${b.summary}`, onclick: () => pick(b),
      }, h('span', {}, badge(b.state), ' ', h('strong', {}, b.virtual_host)), h('span', { class: 'sub' }, `→ ${b.internal_host}${b.location_id ? ` · ${b.location_id}` : ''}`),
      h('span', { class: 'sub' }, since(b))))))));
}

function errorsTable(s: Session, range: Range, b: Backend): HTMLElement {
  const host = b.virtual_host.replace(/:\d+$/, '');
  const rows = Object.entries(b.call_errors).sort((x, y) => y[1] - x[1]);
  return table<[string, number]>([
    { title: 'Error type', value: ([t]) => h('code', {}, t) },
    { title: 'Failed calls', value: ([t, n]) => callsLink(s, range, { subaccount: b.subaccount, virtual_host: host, error_type: t }, count(n)), numeric: true },
  ], rows, 'No real call to this mapping failed in this range.', 'call-errors');
}

function tunnelTable(list: SessionView[]): HTMLElement {
  return table<SessionView>([
    { title: 'Connector', value: (c) => h('span', {}, h('strong', {}, c.connector_id), c.location_id ? ` · ${c.location_id}` : '') },
    { title: 'Subaccounts', value: (c) => h('span', {}, ...c.subaccounts.flatMap((x, i) => [i > 0 ? ', ' : '', subaccountLink(x)])) },
    { title: 'From', value: (c) => h('span', { class: 'mono' }, c.remote_address) },
    { title: 'Connected since', value: (c) => h('span', { title: time(c.connected_since, true) }, `${time(c.connected_since)} (${ago(c.connected_since).replace(' ago', '')})`) },
    { title: 'RTT', value: (c) => (c.rtt_ms < 0 ? '–' : `${c.rtt_ms.toFixed(1)} ms`), numeric: true },
    { title: 'Open streams', value: (c) => count(c.open_streams), numeric: true },
    { title: 'Reconnects', value: (c) => count(c.reconnects), numeric: true },
    { title: 'Last error', value: (c) => (c.last_error ? h('span', {}, c.last_error, h('span', { class: 'muted' }, ` · ${ago(c.last_error_at)}`)) : h('span', { class: 'muted' }, 'none')) },
  ], list, 'No connector is connected to the relay.', 'tunnel-table');
}

function render(s: Session, root: HTMLElement): void {
  const q = new URLSearchParams(location.search);
  let selected = q.get('subaccount') && q.get('virtual_host') ? `${q.get('subaccount')}/${(q.get('virtual_host') ?? '').toLowerCase()}` : '';
  let range: TimeRange | undefined;
  let current: Matrix | undefined;
  const begin = requestSequence();
  const tiles = { up: statTile('Up', 'up', 'span-4'), degraded: statTile('Degraded', 'degraded', 'span-4'), down: statTile('Down', 'down', 'span-4') };
  const matrixCard = h('section', { class: 'card span-12' }, h('h2', {}, 'Health matrix'), h('div', { 'aria-busy': 'true' }));
  const detail = h('div', { class: 'grid span-12', 'data-testid': 'backend-detail' });
  const recommendations = tableCard('Recommendations', 'span-12');
  const tunnel = tableCard('Tunnel sessions (the relay\'s view)', 'span-12');
  const notice = h('div');
  // One canvas for the page's life: drawChart redraws it in place on every refresh and pick.
  // Kept across refreshes: the answer to "Run check now" must outlive the reload it triggers.
  const result = h('span', { class: 'muted', 'data-testid': 'run-check-result' });
  const timeline = h('canvas', { 'data-testid': 'backend-timeline', role: 'img', 'aria-label': 'State and duration of each check of the picked mapping' });

  const pick = (b: Backend): void => {
    selected = key(b);
    result.replaceChildren();
    setQuery({ subaccount: b.subaccount, virtual_host: b.virtual_host });
    if (current) show(current);
  };

  const load = async (): Promise<void> => {
    if (!range) return;
    const mine = begin();
    try {
      const m = await get<Matrix>('/api/v1/backends', { from: range.from, to: range.to });
      if (!mine()) return;
      current = m;
      notice.replaceChildren();
      show(m);
    } catch (err) {
      if (mine()) notice.replaceChildren(errorBox(err));
    }
    void loadTunnel();
  };

  const show = (m: Matrix): void => {
    tiles.up.set(count(m.totals.up), 'mappings whose last check passed', m.totals.up > 0 ? 'good' : undefined);
    tiles.degraded.set(count(m.totals.degraded), 'reachable with a warning (slow, certificate expiring, 401/403)');
    tiles.down.set(count(m.totals.down), 'mappings whose last check failed', m.totals.down > 0 ? 'bad' : undefined);
    if (!m.backends.some((b) => key(b) === selected)) selected = key(m.backends.find((b) => b.state === 'down') ?? m.backends[0] ?? { subaccount: '', virtual_host: '' });
    matrixCard.replaceChildren(h('h2', {}, 'Health matrix'), h('p', { class: 'muted' }, 'Last check of every mapping, per subaccount. Pick one for its timeline and last check.'), matrixView(m.backends, selected, pick));
    const b = m.backends.find((x) => key(x) === selected);
    detail.replaceChildren();
    if (b) void showDetail(b, { from: m.from, to: m.to });
    const todo = m.backends.filter((x) => x.recommendation).sort((x, y) => rank(y.state) - rank(x.state));
    recommendations.fill(table<Backend>([
      { title: 'State', value: (x) => badge(x.state) },
      { title: 'Mapping', value: (x) => h('a', { href: `?subaccount=${encodeURIComponent(x.subaccount)}&virtual_host=${encodeURIComponent(x.virtual_host)}` }, key(x)) },
      { title: 'Failing step', value: (x) => h('span', {}, x.recommendation?.step ?? '', ' ', h('code', {}, x.recommendation?.classification ?? '')) },
      { title: 'Observed', value: (x) => x.recommendation?.message ?? '' },
      { title: 'What to do', value: (x) => h('span', { class: 'fix' }, x.recommendation?.fix ?? '') },
    ], todo, 'Nothing to do: every checked mapping passed its last check.', 'recommendations'));
  };

  const showDetail = async (b: Backend, r: Range): Promise<void> => {
    const changes = h('p', { class: 'muted' });
    const last = h('div', { 'aria-busy': 'true' });
    const heading = h('div', { class: 'toolbar' }, h('span', {}, badge(b.state), ' ', h('strong', {}, key(b)), ` → ${b.internal_host} (${b.protocol}) · ${since(b)}`));
    if (s.role === 'admin') heading.appendChild(runButton(b));
    detail.replaceChildren(
      h('div', { class: 'span-12' }, heading),
      h('section', { class: 'card span-8' }, h('h2', {}, 'Timeline: state and duration of each check'), h('div', { class: 'chart' }, timeline), changes),
      h('section', { class: 'card span-4' }, h('h2', {}, 'Real calls that failed'), h('p', { class: 'muted' }, `Calls of cloud apps to ${b.virtual_host} in the range, by error type.`), errorsTable(s, r, b)),
      h('section', { class: 'card span-12' }, h('h2', {}, 'Last check, step by step'), last),
    );
    const [hist, rep] = await Promise.allSettled([
      get<History>('/api/v1/backends/history', { subaccount: b.subaccount, virtual_host: b.virtual_host, from: r.from, to: r.to }),
      get<{ report: Report | null }>('/api/v1/backends/last', { subaccount: b.subaccount, virtual_host: b.virtual_host }),
    ]);
    if (hist.status === 'fulfilled') {
      void drawTimeline(timeline, hist.value);
      changes.textContent = hist.value.points.length === 0 ? 'No check of this mapping in the range.'
        : hist.value.bucket_seconds ? `${count(hist.value.points.reduce((n, p) => n + p.checks, 0))} checks, each bar the worst state of ${hist.value.bucket_seconds / 60} min.`
          : hist.value.changes.length ? `Changes: ${hist.value.changes.map((c) => `${c.from} → ${c.to} at ${time(c.at)}`).join('; ')}.` : `No state change in the range (${count(hist.value.points.length)} check${hist.value.points.length === 1 ? '' : 's'}).`;
    } else changes.replaceChildren(errorBox(hist.reason));
    last.removeAttribute('aria-busy');
    if (rep.status === 'rejected') last.replaceChildren(errorBox(rep.reason));
    else if (!rep.value.report) last.replaceChildren(h('p', { class: 'muted' }, 'This mapping has not been checked yet.'));
    else {
      const x = rep.value.report;
      last.replaceChildren(
        h('p', { 'data-testid': 'last-summary' }, badge(x.state), ` ${x.summary} · ${time(x.started_at, true)} · ${x.duration_ms} ms · ${x.trigger}${x.requested_by ? ` by ${x.requested_by}` : ''} · connector ${x.connector_id}`),
        stepsTable(x));
    }
  };

  const runButton = (b: Backend): HTMLElement => {
    const button = h('button', { type: 'button', class: 'primary', 'data-testid': 'run-check' }, 'Run check now');
    button.addEventListener('click', () => {
      button.disabled = true;
      button.textContent = 'Checking…';
      result.textContent = '';
      post<{ report: Report }>('/api/v1/backends/check', { subaccount: b.subaccount, virtual_host: b.virtual_host, location_id: b.location_id })
        .then((answer) => { result.textContent = `${answer.report.state}: ${answer.report.summary}`; void load(); })
        .catch((err: unknown) => { result.replaceChildren(errorBox(err)); })
        .finally(() => { button.disabled = false; button.textContent = 'Run check now'; });
    });
    return h('span', { class: 'range' }, button, result);
  };

  const loadTunnel = async (): Promise<void> => {
    try {
      const t = await get<{ connectors: SessionView[] }>('/api/v1/backends/tunnel');
      tunnel.fill(tunnelTable(t.connectors));
    } catch (err) {
      const unconfigured = err instanceof ApiError && err.code === 'TW_ERR_DASH_RELAY_ADMIN_UNCONFIGURED';
      tunnel.fill(unconfigured ? h('p', { class: 'muted', 'data-testid': 'tunnel-unconfigured' }, 'The relay\'s admin API is not configured for this dashboard (dashboard.relay_admin), so the tunnel sessions cannot be shown.') : errorBox(err));
    }
  };

  root.append(
    h('div', { class: 'toolbar' }, rangePicker((r) => { range = r; void load(); }, { defaultKey: '24h', refreshMs: 30_000 })),
    notice,
    h('div', { class: 'grid' }, tiles.up.element, tiles.degraded.element, tiles.down.element, matrixCard, detail, recommendations.element, tunnel.element),
  );
}

void startPage(render);
