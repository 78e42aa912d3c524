// Access rules: every rule every connector enforces (from the snapshot each reports), grouped by connector
// and subaccount, with its allowed calls and last use over a window, unused and suspended rules marked;
// then rule ids that calls still name but no current snapshot holds. The API call takes the window; the
// connector, subaccount, text and "unused only" filters narrow the table in place, kept in the URL.
import { get, type Session } from '../lib/api.js';
import { errorBox, h, table, type Column } from '../lib/dom.js';
import { ago, count, time } from '../lib/format.js';
import { callsLink, requestSequence, statTile, subaccountLink, tableCard, type Range } from '../lib/overview-widgets.js';
import { startPage } from '../lib/shell.js';
import { setQuery } from '../lib/time-range.js';

interface Connector {
  connector_id: string; location_id: string; snapshot_hash: string; taken_at: string; age_s: number; stale: boolean;
  subaccounts: string[]; rules: number; unused: number; suspended: number;
}
interface Rule {
  connector_id: string; location_id: string; subaccount: string; rule_id: string; kind: string; mapping_id: string;
  virtual: string; internal: string; protocol: string; path: string; match: string; methods: string[];
  active: boolean; websocket: boolean; trusted_apps: string[]; calls: number; last_used: string | null; unused: boolean;
}
interface Missing { connector_id: string; subaccount: string; rule_id: string; calls: number; last_used: string; reason: string }
interface Answer { usage_days: number; from: string; to: string; stale_after_s: number; connectors: Connector[]; rules: Rule[]; missing: Missing[] }

const WINDOWS = [7, 30, 90, 365];
const COLUMNS = 7;

function duration(s: number): string {
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

const badge = (kind: string, text: string, title?: string): HTMLElement => h('span', { class: `badge ${kind}`, ...(title ? { title } : {}) }, text);
const lastUse = (iso: string | null): Node => (iso ? h('span', { title: time(iso, true) }, ago(iso)) : h('span', { class: 'muted' }, 'never in the window'));

/** A rule's calls as a link into the explorer, by virtual host and path prefix (the explorer has no rule filter). */
function callsOf(s: Session, range: Range, r: Rule): Node {
  if (r.calls === 0) return document.createTextNode('0');
  const host = r.virtual.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const filters = { subaccount: r.subaccount, virtual_host: host, decision: 'allow', ...(r.path ? { path_prefix: r.path } : {}) };
  return callsLink(s, range, filters, count(r.calls), 'Allowed calls to this host and path in the window');
}

function badges(r: Rule): Node[] {
  const out: Node[] = [];
  if (r.kind === 'empty_mapping') out.push(badge('muted', 'allows nothing', 'an http mapping without resources: every call to it is refused'));
  if (!r.active) out.push(badge('bad', 'suspended', 'active: false: calls are refused with resource_suspended'));
  if (r.unused) out.push(badge('warn', 'unused', 'no allowed call in the window: a candidate for removal'));
  if (r.calls > 0) out.push(badge('ok', 'in use'));
  if (r.websocket) out.push(badge('muted', 'websocket', 'WebSocket upgrades allowed'));
  return out;
}

function rulesTable(s: Session, d: Answer, rules: readonly Rule[]): HTMLElement {
  const head = h('tr', {}, ...['Rule id', 'Mapping', 'Path', 'Methods', 'Status', 'Calls', 'Last used'].map((t, i) => h('th', i === 5 ? { class: 'num' } : {}, t)));
  const body = h('tbody');
  if (rules.length === 0) body.append(h('tr', {}, h('td', { colspan: COLUMNS, class: 'empty' }, 'No rule matches these filters.')));
  let group = '';
  for (const r of rules) {
    const g = `${r.connector_id}\u0000${r.subaccount}`;
    if (g !== group) {
      group = g;
      const apps = r.trusted_apps.length === 0 ? 'every cloud app of the subaccount' : r.trusted_apps.join(', ');
      body.append(h('tr', { 'data-group': `${r.connector_id}/${r.subaccount}` }, h('td', { colspan: COLUMNS },
        h('strong', {}, r.connector_id), r.location_id ? ` · location ${r.location_id}` : ' · default location', ' › ',
        subaccountLink(r.subaccount), h('span', { class: 'muted' }, ` · trusted apps: ${apps}`))));
    }
    body.append(h('tr', { 'data-rule': r.rule_id },
      h('td', {}, h('span', { class: 'mono' }, r.rule_id || '(no rule id)')),
      h('td', {}, h('span', { class: 'mono' }, r.virtual), ' → ', h('span', { class: 'mono' }, r.internal), h('span', { class: 'muted' }, ` ${r.protocol}`)),
      h('td', {}, r.path ? h('span', { class: 'mono path' }, r.path, r.match === 'prefix' ? h('span', { class: 'muted' }, ' and below') : '') : h('span', { class: 'muted' }, r.kind === 'tcp_mapping' ? 'TCP: the whole port' : '–')),
      h('td', {}, r.kind === 'tcp_mapping' ? '–' : r.methods.length === 0 ? h('span', { class: 'muted' }, 'every method') : r.methods.join(' ')),
      h('td', {}, ...badges(r).flatMap((b, i) => (i === 0 ? [b] : [' ', b]))),
      h('td', { class: 'num' }, r.kind === 'empty_mapping' ? '–' : callsOf(s, d, r)),
      h('td', {}, r.active && r.kind !== 'empty_mapping' ? lastUse(r.last_used) : h('span', { class: 'muted' }, '–')),
    ));
  }
  return h('table', { 'data-testid': 'rules-table' }, h('thead', {}, head), body);
}

function connectorsTable(d: Answer, pick: (id: string) => void): HTMLElement {
  const columns: Column<Connector>[] = [
    { title: 'Connector', value: (c) => h('a', { href: `?connector=${encodeURIComponent(c.connector_id)}`, onclick: (e: Event) => { e.preventDefault(); pick(c.connector_id); } }, c.connector_id) },
    { title: 'Location', value: (c) => c.location_id || h('span', { class: 'muted' }, 'default') },
    { title: 'Subaccounts', value: (c) => c.subaccounts.join(', ') },
    { title: 'Rules', value: (c) => count(c.rules), numeric: true },
    { title: 'Unused', value: (c) => (c.unused ? badge('warn', count(c.unused)) : '0'), numeric: true },
    { title: 'Suspended', value: (c) => (c.suspended ? badge('bad', count(c.suspended)) : '0'), numeric: true },
    { title: 'Snapshot', value: (c) => h('span', { title: `taken ${time(c.taken_at, true)} · sha256 ${c.snapshot_hash}` }, ago(c.taken_at), ' ', c.stale ? badge('warn', 'stale', `older than ${duration(d.stale_after_s)}`) : badge('ok', 'current')) },
  ];
  return table(columns, d.connectors, 'No connector has reported its rules yet.', 'rule-connectors');
}

function missingTable(d: Answer, rows: readonly Missing[]): HTMLElement {
  const columns: Column<Missing>[] = [
    { title: 'Connector', value: (m) => m.connector_id },
    { title: 'Subaccount', value: (m) => subaccountLink(m.subaccount) },
    { title: 'Rule id', value: (m) => h('span', { class: 'mono' }, m.rule_id) },
    { title: 'Calls', value: (m) => count(m.calls), numeric: true },
    { title: 'Last used', value: (m) => lastUse(m.last_used) },
    { title: 'Why it is listed', value: (m) => (m.reason === 'no_snapshot' ? 'this connector never reported its rules (older version, or no audit.collector in connector.yaml)' : 'not in the connector\'s current rules: removed or renamed since') },
  ];
  return table(columns, rows, `Every rule id that allowed a call in the last ${d.usage_days} days is in a current snapshot.`, 'rules-missing');
}

function render(s: Session, root: HTMLElement): void {
  const q = new URLSearchParams(location.search);
  const days = h('select', { 'aria-label': 'Usage window', 'data-testid': 'usage-days' }, ...WINDOWS.map((n) => h('option', { value: n, selected: String(n) === (q.get('usage_days') ?? '30') }, `last ${n} days`)));
  const connector = h('select', { 'aria-label': 'Connector', 'data-testid': 'rules-connector' });
  const subaccount = h('select', { 'aria-label': 'Subaccount', 'data-testid': 'rules-subaccount' });
  const search = h('input', { type: 'search', placeholder: 'rule id, host or path', 'aria-label': 'Search rules', value: q.get('q') ?? '', autocomplete: 'off', spellcheck: 'false' });
  const unusedOnly = h('input', { type: 'checkbox', 'data-testid': 'unused-only', checked: q.get('unused') === '1' });
  const tiles = { rules: statTile('Rules', 'rules'), unused: statTile('Unused', 'unused'), suspended: statTile('Suspended', 'suspended'), missing: statTile('Removed, still called', 'missing') };
  const connectorsCard = tableCard('Connectors and their snapshots', 'span-12');
  const rulesCard = tableCard('Rules', 'span-12');
  const missingCard = tableCard('Rule ids in calls but not in any current snapshot', 'span-12');
  const notice = h('div');
  const begin = requestSequence();
  let d: Answer | undefined;
  let wanted = { connector: q.get('connector') ?? '', subaccount: q.get('subaccount') ?? '' };

  const options = (select: HTMLSelectElement, all: string, values: string[], selected: string): void => {
    select.replaceChildren(h('option', { value: '' }, all), ...values.map((v) => h('option', { value: v, selected: v === selected }, v)));
  };

  const draw = (): void => {
    if (!d) return;
    const needle = search.value.trim().toLowerCase();
    const rules = d.rules.filter((r) => (!wanted.connector || r.connector_id === wanted.connector)
      && (!wanted.subaccount || r.subaccount === wanted.subaccount)
      && (!unusedOnly.checked || r.unused)
      && (!needle || `${r.rule_id} ${r.virtual} ${r.internal} ${r.path}`.toLowerCase().includes(needle)));
    const missing = d.missing.filter((m) => (!wanted.connector || m.connector_id === wanted.connector) && (!wanted.subaccount || m.subaccount === wanted.subaccount));
    const counted = d.rules.filter((r) => (!wanted.connector || r.connector_id === wanted.connector) && (!wanted.subaccount || r.subaccount === wanted.subaccount) && r.kind !== 'empty_mapping');
    const unused = counted.filter((r) => r.unused).length;
    tiles.rules.set(count(counted.length), `in ${count(new Set(counted.map((r) => r.connector_id)).size)} connector snapshots`);
    tiles.unused.set(count(unused), `no allowed call in ${d.usage_days} days`, unused > 0 ? 'bad' : 'good');
    tiles.suspended.set(count(counted.filter((r) => !r.active).length), 'active: false');
    tiles.missing.set(count(missing.length), 'rule ids that calls named, absent from the snapshots', missing.length > 0 ? 'bad' : undefined);
    rulesCard.fill(rulesTable(s, d, rules), `· ${count(rules.length)} shown · calls and last use over the last ${d.usage_days} days`);
    missingCard.fill(missingTable(d, missing));
    setQuery({ connector: wanted.connector, subaccount: wanted.subaccount, q: search.value.trim(), unused: unusedOnly.checked ? '1' : undefined });
  };

  const load = async (): Promise<void> => {
    const current = begin();
    try {
      const answer = await get<Answer>('/api/v1/rules', { usage_days: days.value });
      if (!current()) return;
      d = answer;
      options(connector, 'all connectors', answer.connectors.map((c) => c.connector_id), wanted.connector);
      options(subaccount, 'all subaccounts', [...new Set(answer.rules.map((r) => r.subaccount))].sort(), wanted.subaccount);
      connectorsCard.fill(connectorsTable(answer, (id) => { connector.value = id; wanted = { ...wanted, connector: id }; draw(); }));
      const stale = answer.connectors.filter((c) => c.stale);
      notice.replaceChildren(...stale.map((c) => h('p', { class: 'notice', 'data-testid': 'stale-snapshot' },
        `${c.connector_id} last reported its rules ${duration(c.age_s)} ago. Connectors report at start, on change and every 6 hours, so it is stopped or cannot reach the collector: its rules may have changed since.`)));
      draw();
    } catch (err) {
      if (current()) notice.replaceChildren(errorBox(err));
    }
  };

  days.addEventListener('change', () => { setQuery({ usage_days: days.value === '30' ? undefined : days.value }); void load(); });
  connector.addEventListener('change', () => { wanted = { ...wanted, connector: connector.value }; draw(); });
  subaccount.addEventListener('change', () => { wanted = { ...wanted, subaccount: subaccount.value }; draw(); });
  search.addEventListener('input', draw);
  unusedOnly.addEventListener('change', draw);

  root.append(
    h('div', { class: 'toolbar' },
      h('label', {}, 'Usage over', days), h('label', {}, 'Connector', connector), h('label', {}, 'Subaccount', subaccount),
      h('label', {}, 'Search', search), h('label', {}, h('span', {}, 'Unused only'), unusedOnly)),
    notice,
    h('div', { class: 'grid' }, tiles.rules.element, tiles.unused.element, tiles.suspended.element, tiles.missing.element,
      connectorsCard.element, rulesCard.element, missingCard.element),
  );
  void load();
}

void startPage(render);
