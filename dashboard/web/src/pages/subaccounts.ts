// Subaccounts: every subaccount with calls in the range, busiest first, each linking to its own page.
// A name filter narrows the table as you type (no new request); live ranges refresh every 10 s.
import { get, type Session } from '../lib/api.js';
import { errorBox, h, table, type Column } from '../lib/dom.js';
import { ago, bytes, count, micros, percent, time } from '../lib/format.js';
import { callsLink, requestSequence, subaccountLink, tableCard, type Range } from '../lib/overview-widgets.js';
import { startPage } from '../lib/shell.js';
import { rangePicker, setQuery, type TimeRange } from '../lib/time-range.js';

interface Row {
  subaccount: string;
  calls: number;
  allowed: number;
  denied: number;
  errors: number;
  status_5xx: number;
  bytes_in: number;
  bytes_out: number;
  p95_us: number | null;
  apps: number;
  principals: number;
  last_seen: string | null;
}
interface List { from: string; to: string; total: number; subaccounts: Row[] }

function render(s: Session, root: HTMLElement): void {
  const card = tableCard('Subaccounts with calls in the range', 'span-12');
  const notice = h('div');
  const filter = h('input', {
    type: 'search', placeholder: 'filter by name', 'aria-label': 'Filter subaccounts by name', 'data-testid': 'subaccount-search',
    value: new URLSearchParams(location.search).get('q') ?? '', autocomplete: 'off', spellcheck: 'false',
  });
  let last: List | undefined;
  let range: TimeRange | undefined;
  const begin = requestSequence();

  const draw = (): void => {
    if (!last) return;
    const needle = filter.value.trim().toLowerCase();
    const rows = needle ? last.subaccounts.filter((r) => r.subaccount.toLowerCase().includes(needle)) : last.subaccounts;
    const note = needle ? `· ${count(rows.length)} of ${count(last.subaccounts.length)} match` : `· ${count(last.total)}`;
    card.fill(listTable(s, last, rows, needle ? 'No subaccount matches the filter.' : 'No subaccount had calls in this range.'), note);
  };

  const load = async (): Promise<void> => {
    if (!range) return;
    const current = begin();
    try {
      const list = await get<List>('/api/v1/subaccounts', { from: range.from, to: range.to });
      if (!current()) return;
      last = list;
      notice.replaceChildren();
      draw();
    } catch (err) {
      if (current()) notice.replaceChildren(errorBox(err));
    }
  };

  filter.addEventListener('input', () => {
    setQuery({ q: filter.value.trim() });
    draw();
  });

  root.append(
    h('div', { class: 'toolbar' }, rangePicker((r) => { range = r; void load(); }), h('label', {}, 'Name', filter)),
    notice,
    h('div', { class: 'grid' }, card.element),
  );
}

function listTable(s: Session, range: Range, rows: readonly Row[], empty: string): HTMLElement {
  const columns: Column<Row>[] = [
    { title: 'Subaccount', value: (r) => subaccountLink(r.subaccount) },
    { title: 'Calls', value: (r) => callsLink(s, range, { subaccount: r.subaccount }, count(r.calls)), numeric: true },
    { title: 'Allowed', value: (r) => percent(r.allowed, r.calls), numeric: true },
    {
      title: 'Denied',
      value: (r) => (r.denied === 0 ? '0' : callsLink(s, range, { subaccount: r.subaccount, decision: 'deny' }, h('span', { class: 'badge deny' }, count(r.denied)), 'Show the refused calls')),
      numeric: true,
    },
    { title: 'Backend errors', value: (r) => (r.errors === 0 ? '0' : h('span', { class: 'badge warn', title: `${percent(r.errors, r.calls)} of calls` }, count(r.errors))), numeric: true },
    { title: 'p95', value: (r) => (r.p95_us === null ? '–' : micros(r.p95_us)), numeric: true },
    { title: 'Apps', value: (r) => count(r.apps), numeric: true },
    { title: 'Principals', value: (r) => count(r.principals), numeric: true },
    { title: 'Traffic', value: (r) => bytes(r.bytes_in + r.bytes_out), numeric: true },
    { title: 'Last call', value: (r) => (r.last_seen ? h('span', { title: time(r.last_seen, true) }, ago(r.last_seen)) : '–') },
  ];
  return table(columns, rows, empty, 'subaccounts');
}

void startPage(render);
