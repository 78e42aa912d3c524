// Calls explorer: every audit event, filtered by the toolbar (kept in the URL, so other pages link here
// with filters set), newest first, a page at a time, with CSV / NDJSON exports of the whole filtered set.
// A relative range is turned into fixed from/to when the filters are applied: "Load more" and the exports
// then cover exactly the set the table shows, however long the page stays open.
import { ApiError, get, withQuery, type Session } from '../lib/api.js';
import { callsTable, type CallEvent } from '../lib/calls-table.js';
import { apiParams, filterToolbar, readFilters, writeFilters, type CallFilters } from '../lib/calls-filters.js';
import { card, errorBox, h } from '../lib/dom.js';
import { count, time } from '../lib/format.js';
import { startPage } from '../lib/shell.js';
import { currentRange, rangePicker, type TimeRange } from '../lib/time-range.js';

interface CallsPage {
  readonly calls: CallEvent[];
  readonly next: string | null;
  /** Null on later pages, and on a first page whose count the server leaves to /api/v1/calls/count. */
  readonly total: number | null;
  readonly from: string;
  readonly to: string;
}

interface CallCount {
  readonly total: number;
}

const PAGE_SIZE = 100;

function render(s: Session, root: HTMLElement): void {
  let filters: CallFilters = readFilters();
  let range: TimeRange = currentRange();
  let next: string | null = null;
  /** Calls in the filtered set; null while it is being counted. */
  let total: number | null = 0;
  let generation = 0;

  const table = callsTable();
  const summary = h('p', { class: 'muted', 'data-testid': 'calls-summary', 'aria-live': 'polite' }, 'Loading…');
  const problem = h('div', {});
  const more = h('button', { type: 'button', class: 'secondary', 'data-testid': 'load-more', disabled: true, onclick: () => void loadMore() }, 'Load more');
  const shown = h('span', { class: 'muted', 'data-testid': 'calls-shown' });
  const exportCsv = h('a', { 'data-testid': 'export-csv', download: '', href: '#' }, '⤓ Export CSV');
  const exportNdjson = h('a', { 'data-testid': 'export-ndjson', download: '', href: '#' }, '⤓ Export NDJSON');

  // The picker refreshes live ranges on a timer; a results list must not reset under the reader, so only
  // a change of range reloads (Apply takes a fresh "last hour").
  let pickedKey: string | undefined;
  const picker = rangePicker((r) => {
    if (pickedKey !== undefined && r.key === pickedKey && r.live) return;
    pickedKey = r.key;
    void load();
  });
  picker.querySelector('.live')?.remove();

  const toolbar = filterToolbar(filters, s.subaccounts === '*' ? [] : s.subaccounts, (f) => {
    filters = f;
    writeFilters(f);
    void load();
  }, picker);

  function setExports(from: string, to: string): void {
    const params = apiParams(filters, { from, to });
    exportCsv.setAttribute('href', withQuery('/api/v1/calls/export', { ...params, format: 'csv' }));
    exportNdjson.setAttribute('href', withQuery('/api/v1/calls/export', { ...params, format: 'ndjson' }));
  }

  function showCounts(): void {
    if (total === null) shown.textContent = `Showing ${count(table.count())}`;
    else shown.textContent = total > 0 ? `Showing ${count(table.count())} of ${count(total)}` : '';
    more.disabled = next === null;
    more.hidden = next === null && table.count() === total;
  }

  function showSummary(from: string, to: string): void {
    summary.textContent = total === null
      ? `Counting the calls from ${time(from)} to ${time(to)}…`
      : `${count(total)} ${total === 1 ? 'call' : 'calls'} from ${time(from)} to ${time(to)}`;
  }

  /** The total of a filter the rollups cannot count: its own request, so the rows show meanwhile. */
  async function countLater(mine: number, from: string, to: string): Promise<void> {
    try {
      const counted = await get<CallCount>('/api/v1/calls/count', apiParams(filters, { ...range, from, to }));
      if (mine !== generation) return;
      total = counted.total;
    } catch {
      if (mine !== generation) return;
      summary.textContent = `Calls from ${time(from)} to ${time(to)} (the total could not be counted)`;
      return;
    }
    showSummary(from, to);
    showCounts();
  }

  function fail(err: unknown): void {
    problem.replaceChildren(err instanceof ApiError && err.status === 403
      ? h('div', { class: 'notice', role: 'alert' }, err.message)
      : errorBox(err));
  }

  async function load(): Promise<void> {
    const mine = ++generation;
    range = currentRange();
    problem.replaceChildren();
    summary.textContent = 'Loading…';
    more.disabled = true;
    try {
      const page = await get<CallsPage>('/api/v1/calls', { ...apiParams(filters, range), limit: String(PAGE_SIZE) });
      if (mine !== generation) return;
      // Keep the server's from/to: later pages and exports must name the same set.
      range = { ...range, from: page.from, to: page.to };
      next = page.next;
      total = page.total;
      table.reset(page.calls, 'No calls match these filters in this range. Widen the time range or clear a filter.');
      showSummary(page.from, page.to);
      setExports(page.from, page.to);
      showCounts();
      if (total === null) void countLater(mine, page.from, page.to);
    } catch (err) {
      if (mine !== generation) return;
      summary.textContent = '';
      table.reset([], 'Could not load calls.');
      fail(err);
    }
  }

  async function loadMore(): Promise<void> {
    if (!next) return;
    const mine = generation;
    more.disabled = true;
    try {
      const page = await get<CallsPage>('/api/v1/calls', { ...apiParams(filters, range), limit: String(PAGE_SIZE), cursor: next });
      if (mine !== generation) return;
      next = page.next;
      table.append(page.calls);
      showCounts();
    } catch (err) {
      fail(err);
      more.disabled = false;
    }
  }

  setExports(range.from, range.to);
  root.append(
    toolbar.element,
    card('Calls',
      h('div', { class: 'pager' }, summary, h('span', {}, exportCsv), h('span', {}, exportNdjson)),
      problem,
      h('div', { class: 'scroll' }, table.element),
      h('div', { class: 'pager' }, more, shown),
      h('p', { class: 'muted' }, 'Click a call for every field of its audit event and a link to its trace. Exports hold the whole filtered set (not only the rows shown) and are recorded in the admin audit log.'),
    ),
  );
}

void startPage(render);
