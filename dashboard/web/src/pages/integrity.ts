// Audit integrity: the hash-chain state of every emitter as stored (ok / gaps / broken), the first few
// gaps and broken links of each, what each state means and what to do, and for one emitter every gap and
// broken link, paged. Over the whole store by default, or a recent time range.
import { get, type Session } from '../lib/api.js';
import { errorBox, h } from '../lib/dom.js';
import { ago, count, time } from '../lib/format.js';
import { requestSequence, statTile, tableCard } from '../lib/overview-widgets.js';
import { startPage } from '../lib/shell.js';
import { setQuery } from '../lib/time-range.js';

interface SeqRange { from_seq: number; to_seq: number; missing: number; after_ts: string; before_ts: string }
interface SeqMark { seq: number; ts: string }
interface Emitter {
  source: string; emitter: string; emitter_id: string; status: 'ok' | 'gaps' | 'broken';
  events: number; first_seq: number; last_seq: number; last_ts: string;
  gaps: number; missing_events: number; first_gaps: SeqRange[];
  broken_links: number; first_broken: SeqMark[]; forks: number; first_forks: SeqMark[];
}
interface State { meaning: string; action: string }
interface Answer {
  from: string | null; to: string | null; checked_at: string;
  totals: { emitters: number; ok: number; gaps: number; broken: number };
  emitters: Emitter[];
  states: { ok: State; gaps: State; broken: State };
}
interface GapPage { emitter: Emitter; offset: number; limit: number; gaps: SeqRange[] }
interface LinkPage { emitter: Emitter; offset: number; limit: number; links: (SeqMark & { kind: string })[] }

const RANGES = [
  { key: 'all', label: 'Whole store', ms: 0 },
  { key: '24h', label: 'Last 24 h', ms: 86_400_000 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
];
const PAGE = 50;
const BADGE = { ok: 'ok', gaps: 'warn', broken: 'bad' } as const;
const LABEL = { ok: 'ok', gaps: 'gaps', broken: 'broken' } as const;

const seqs = (r: SeqRange): string => (r.from_seq === r.to_seq ? `${r.from_seq}` : `${r.from_seq}–${r.to_seq}`);
const between = (r: SeqRange): string => `missing between events of ${time(r.after_ts, true)} and ${time(r.before_ts, true)}`;

function rangeParams(key: string): { from?: string; to?: string } {
  const r = RANGES.find((x) => x.key === key);
  if (!r || r.ms === 0) return {};
  const now = Date.now();
  return { from: new Date(now - r.ms).toISOString(), to: new Date(now).toISOString() };
}

function list(items: Node[], total: number, noun: string): Node {
  if (total === 0) return document.createTextNode('0');
  const more = total > items.length ? h('span', { class: 'muted' }, ` … ${count(total - items.length)} more`) : null;
  return h('span', {}, h('strong', {}, `${count(total)} ${noun}`), h('br'), ...items.flatMap((n, i) => (i === 0 ? [n] : [', ', n])), more);
}

function emitterRow(e: Emitter, open: (e: Emitter) => void): HTMLElement {
  const gaps = e.first_gaps.map((g) => h('span', { class: 'mono', title: between(g) }, `${seqs(g)} (${count(g.missing)})`));
  const broken = [...e.first_broken.map((b) => h('span', { class: 'mono', title: `event ${b.seq} (${time(b.ts, true)}) does not link to event ${b.seq - 1}` }, String(b.seq))),
    ...e.first_forks.map((f) => h('span', { class: 'mono', title: `two different events claim seq ${f.seq}` }, `${f.seq} (fork)`))];
  const who = h('span', {}, h('strong', {}, e.emitter_id), h('span', { class: 'muted' }, ` ${e.emitter}${e.source === 'admin' ? ' · admin trail' : ''}`));
  const details = e.status === 'ok' ? null : h('button', { type: 'button', class: 'secondary', onclick: () => open(e) }, 'All problems');
  return h('tr', { 'data-emitter': e.emitter_id },
    h('td', {}, h('span', { class: `badge ${BADGE[e.status]}`, 'data-testid': 'integrity-status' }, LABEL[e.status])),
    h('td', {}, who),
    h('td', { class: 'num' }, count(e.events)),
    h('td', { class: 'num' }, `${count(e.first_seq)} – ${count(e.last_seq)}`, e.first_seq > 1 ? h('div', { class: 'muted', title: 'events before it are past the retention, in the archive table, or were never shipped' }, `starts at ${count(e.first_seq)}`) : null),
    h('td', {}, h('span', { title: time(e.last_ts, true) }, ago(e.last_ts))),
    h('td', {}, e.gaps === 0 ? '0' : h('span', {}, list(gaps, e.gaps, e.gaps === 1 ? 'gap' : 'gaps'), h('div', { class: 'muted' }, `${count(e.missing_events)} events missing`))),
    h('td', {}, list(broken, e.broken_links + e.forks, e.broken_links + e.forks === 1 ? 'problem' : 'problems')),
    h('td', {}, details),
  );
}

function emittersTable(d: Answer, open: (e: Emitter) => void): HTMLElement {
  const head = h('tr', {}, ...['Status', 'Emitter', 'Events', 'Seq', 'Last event', 'Gaps (seq, missing)', 'Broken links and forks (seq)', ''].map((t, i) => h('th', i === 2 || i === 3 ? { class: 'num' } : {}, t)));
  const rows = d.emitters.length === 0
    ? [h('tr', {}, h('td', { colspan: 8, class: 'empty' }, d.from ? 'No audit events in this range.' : 'No audit events in the store yet.'))]
    : d.emitters.map((e) => emitterRow(e, open));
  return h('table', { 'data-testid': 'integrity-table' }, h('thead', {}, head), h('tbody', {}, ...rows));
}

/** Text with `commands` in backticks, the commands as code. */
function prose(text: string): Node[] {
  return text.split('`').map((part, i) => (i % 2 === 1 ? h('code', {}, part) : document.createTextNode(part)));
}

function statesCard(states: Answer['states']): HTMLElement {
  const block = (key: keyof Answer['states']) => h('div', { class: 'span-4' },
    h('p', {}, h('span', { class: `badge ${BADGE[key]}` }, LABEL[key]), ' ', ...prose(states[key].meaning)),
    h('p', { class: 'muted' }, h('strong', {}, 'What to do: '), ...prose(states[key].action)));
  return h('section', { class: 'card span-12', 'data-testid': 'integrity-states' }, h('h2', {}, 'What the states mean'),
    h('div', { class: 'grid' }, block('ok'), block('gaps'), block('broken')),
    h('p', { class: 'muted' }, ...prose('Each emitter (relay, connector, the dashboard\'s admin trail) numbers its events 1, 2, 3 … and puts the SHA-256 of the previous event in each new one. The store checks that chain here; only `tunnelwatch audit verify` on the emitter\'s own files can also recompute every event\'s hash.')));
}

function render(_s: Session, root: HTMLElement): void {
  const q = new URLSearchParams(location.search);
  const range = h('select', { 'aria-label': 'Events checked', 'data-testid': 'integrity-range' },
    ...RANGES.map((r) => h('option', { value: r.key, selected: r.key === (q.get('range') ?? 'all') }, r.label)));
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Check again');
  const checked = h('span', { class: 'muted', 'data-testid': 'checked-at' });
  const tiles = { emitters: statTile('Emitters', 'emitters'), ok: statTile('OK', 'ok'), gaps: statTile('With gaps', 'gaps'), broken: statTile('Broken', 'broken') };
  const main = tableCard('Hash chains per emitter', 'span-12');
  const detail = h('div', { class: 'span-12' });
  const explain = h('div', { class: 'span-12' });
  const notice = h('div');
  const begin = requestSequence();

  const openDetail = async (e: Emitter, kind: 'gaps' | 'links', offset: number): Promise<void> => {
    const card = tableCard(`${e.emitter_id}: every ${kind === 'gaps' ? 'gap' : 'broken link and fork'}`, 'span-12');
    detail.replaceChildren(card.element);
    const params = { ...rangeParams(range.value), source: e.source, offset, limit: PAGE };
    try {
      const id = encodeURIComponent(e.emitter_id);
      const total = kind === 'gaps' ? e.gaps : e.broken_links + e.forks;
      const rows: HTMLElement[] = kind === 'gaps'
        ? (await get<GapPage>(`/api/v1/integrity/${id}/gaps`, params)).gaps.map((g) => h('tr', {}, h('td', { class: 'mono' }, seqs(g)), h('td', { class: 'num' }, count(g.missing)), h('td', {}, time(g.after_ts, true)), h('td', {}, time(g.before_ts, true))))
        : (await get<LinkPage>(`/api/v1/integrity/${id}/links`, params)).links.map((l) => h('tr', {}, h('td', { class: 'mono' }, String(l.seq)), h('td', {}, l.kind === 'fork' ? 'fork: two events with this seq' : `does not link to event ${l.seq - 1}`), h('td', {}, time(l.ts, true))));
      const titles = kind === 'gaps' ? ['Missing seqs', 'Events', 'Last event before', 'First event after'] : ['Seq', 'Problem', 'Event time'];
      const other = kind === 'gaps' ? (e.broken_links + e.forks > 0 ? 'links' : undefined) : (e.gaps > 0 ? 'gaps' : undefined);
      const pager = h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => void openDetail(e, kind, Math.max(0, offset - PAGE)) }, 'Previous'),
        h('span', { class: 'muted' }, `${count(offset + 1)}–${count(Math.min(total, offset + PAGE))} of ${count(total)}`),
        h('button', { type: 'button', class: 'secondary', disabled: offset + PAGE >= total, onclick: () => void openDetail(e, kind, offset + PAGE) }, 'Next'),
        other ? h('button', { type: 'button', class: 'secondary', onclick: () => void openDetail(e, other, 0) }, other === 'gaps' ? 'Show the gaps' : 'Show the broken links') : null);
      card.fill(h('div', {}, h('table', { 'data-testid': `integrity-${kind}` }, h('thead', {}, h('tr', {}, ...titles.map((t) => h('th', {}, t)))), h('tbody', {}, ...rows)), pager));
      card.element.scrollIntoView({ block: 'nearest' });
    } catch (err) {
      card.fill(errorBox(err));
    }
  };

  const load = async (): Promise<void> => {
    const current = begin();
    refresh.disabled = true;
    try {
      const d = await get<Answer>('/api/v1/integrity', rangeParams(range.value));
      if (!current()) return;
      tiles.emitters.set(count(d.totals.emitters), d.from ? 'with events in the range' : 'with events in the store');
      tiles.ok.set(count(d.totals.ok), 'complete, unbroken chains', d.totals.ok === d.totals.emitters ? 'good' : undefined);
      tiles.gaps.set(count(d.totals.gaps), 'events missing: not shipped yet, or lost', d.totals.gaps > 0 ? 'bad' : undefined);
      tiles.broken.set(count(d.totals.broken), 'tampering or corruption: investigate', d.totals.broken > 0 ? 'bad' : undefined);
      main.fill(emittersTable(d, (e) => void openDetail(e, e.gaps > 0 ? 'gaps' : 'links', 0)), `· ${d.from ? `events from ${time(d.from)} to ${time(d.to ?? d.checked_at)}` : 'every stored event'}`);
      checked.textContent = `checked ${time(d.checked_at)}`;
      explain.replaceChildren(statesCard(d.states));
      detail.replaceChildren();
      notice.replaceChildren(...(d.totals.broken > 0 ? [h('p', { class: 'error', role: 'alert' }, `${count(d.totals.broken)} emitter chain${d.totals.broken === 1 ? ' is' : 's are'} broken. See what to do below.`)] : []));
    } catch (err) {
      if (current()) notice.replaceChildren(errorBox(err));
    } finally {
      refresh.disabled = false;
    }
  };

  range.addEventListener('change', () => { setQuery({ range: range.value === 'all' ? undefined : range.value }); void load(); });
  refresh.addEventListener('click', () => void load());
  root.append(
    h('div', { class: 'toolbar' }, h('label', {}, 'Events checked', range), refresh, checked),
    notice,
    h('div', { class: 'grid' }, tiles.emitters.element, tiles.ok.element, tiles.gaps.element, tiles.broken.element, main.element, detail, explain),
  );
  void load();
}

void startPage(render);
