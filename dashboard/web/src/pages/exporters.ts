// Exporters: is the SIEM getting everything? Per exporter its state, how far behind it is per stream (in
// records and in time), when it last delivered, what went wrong last, and the dead letters waiting for
// `tunnelwatch siem dead-letters replay`. Refreshes itself every 10 s.
import { get, type Session } from '../lib/api.js';
import { errorBox, h, table, type Column } from '../lib/dom.js';
import { ago, count, time } from '../lib/format.js';
import { requestSequence, statTile, tableCard } from '../lib/overview-widgets.js';
import { startPage } from '../lib/shell.js';

interface Stream { stream: string; lag_records: number; lag_seconds: number; position_at: string | null; last_success_at: string | null; sent: number }
interface LastError { kind: string; reason: string; at: string }
interface Exporter {
  name: string; type: string; state: 'ok' | 'retrying' | 'failing' | 'disabled' | 'unknown'; streams: Stream[];
  last_success_at: string | null; last_error: LastError | null;
  errors: { retryable: number; failure: number; dead_letter: number; store: number }; dead_letters: number;
}
interface Answer { source: 'collector' | 'store'; checked_at: string; reasons_withheld: boolean; exporters: Exporter[] }

const REFRESH_MS = 10_000;
const BADGE = { ok: 'ok', retrying: 'warn', failing: 'bad', disabled: 'muted', unknown: 'muted' } as const;
const MEANING = {
  ok: 'delivering, or caught up and waiting for new records',
  retrying: 'the receiver asked to retry later or could not be reached: records wait in the store, nothing is lost',
  failing: 'the receiver refuses the configuration (credentials, address): fix collector.yaml; records wait in the store',
  disabled: 'enabled: false in collector.yaml: its cursor waits where it stopped',
  unknown: 'this dashboard runs apart from the collector: only the store\'s view is shown',
} as const;

function duration(s: number): string {
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

const when = (iso: string | null, never: string): Node => (iso ? h('span', { title: time(iso, true) }, ago(iso)) : h('span', { class: 'muted' }, never));

function lag(e: Exporter): Node {
  if (e.streams.length === 0) return h('span', { class: 'muted' }, 'no cursor yet');
  return h('div', {}, ...e.streams.map((s) => h('div', { 'data-stream': s.stream },
    h('strong', {}, s.stream), ': ',
    s.lag_records === 0 ? h('span', { class: 'badge ok' }, 'caught up') : h('span', { 'data-testid': `lag-${e.name}-${s.stream}` }, `${count(s.lag_records)} behind, oldest ${duration(s.lag_seconds)} old`),
    s.position_at ? h('span', { class: 'muted', title: 'the store time the cursor stands at' }, ` · at ${time(s.position_at)}`) : null)));
}

function errors(e: Exporter): Node {
  const parts = [['retryable', e.errors.retryable], ['failures', e.errors.failure], ['dead-lettered', e.errors.dead_letter], ['store', e.errors.store]] as const;
  const shown = parts.filter(([, n]) => n > 0);
  const last = e.last_error
    ? h('div', { class: 'muted', 'data-testid': `last-error-${e.name}` }, `last: ${e.last_error.kind}, ${ago(e.last_error.at)}: `, h('span', { class: 'mono' }, e.last_error.reason))
    : null;
  if (shown.length === 0 && !last) return h('span', { class: 'muted' }, 'none since the collector started');
  return h('div', {}, shown.map(([k, n]) => `${count(n)} ${k}`).join(' · '), last);
}

function exportersTable(rows: readonly Exporter[]): HTMLElement {
  const columns: Column<Exporter>[] = [
    { title: 'Exporter', value: (e) => h('span', {}, h('strong', {}, e.name), e.type ? h('span', { class: 'muted' }, ` ${e.type}`) : null) },
    { title: 'State', value: (e) => h('span', { class: `badge ${BADGE[e.state]}`, title: MEANING[e.state], 'data-testid': `state-${e.name}` }, e.state) },
    { title: 'Behind', value: lag },
    { title: 'Last delivery', value: (e) => when(e.last_success_at, 'none yet') },
    { title: 'Errors', value: errors },
    { title: 'Dead letters', numeric: true, value: (e) => (e.dead_letters > 0 ? h('span', { class: 'badge bad', title: `tunnelwatch siem dead-letters list --exporter ${e.name}`, 'data-testid': `dead-${e.name}` }, count(e.dead_letters)) : '0') },
  ];
  return table(columns, rows, 'No exporter is configured. Add an exporters: list to collector.yaml to stream audit events and findings to a SIEM (docs/siem.md).', 'exporters-table');
}

function render(_s: Session, root: HTMLElement): void {
  const tiles = {
    exporters: statTile('Exporters', 'exporters'),
    trouble: statTile('Not delivering', 'trouble'),
    behind: statTile('Records behind', 'behind'),
    dead: statTile('Dead letters', 'dead'),
  };
  const card = tableCard('Exporters', 'span-12');
  const notice = h('div');
  const help = h('section', { class: 'card span-12' }, h('h2', {}, 'What to do'),
    h('p', {}, 'Retrying and failing exporters lose nothing: records stay in the store and are sent once the receiver takes them. A failing one needs its configuration fixed (credentials, address, certificate) in collector.yaml.'),
    h('p', {}, 'Dead letters are records the receiver refused for good (for example a mapping error). List them with ', h('code', {}, 'tunnelwatch siem dead-letters list --config collector.yaml'),
      ' and send them again, once the cause is fixed, with ', h('code', {}, 'tunnelwatch siem dead-letters replay --config collector.yaml --exporter NAME'), ' (stop the collector first on the embedded store).'));
  const begin = requestSequence();

  const load = async (): Promise<void> => {
    const current = begin();
    try {
      const d = await get<Answer>('/api/v1/exporters');
      if (!current()) return;
      const trouble = d.exporters.filter((e) => e.state === 'failing' || e.state === 'retrying');
      const behind = d.exporters.reduce((n, e) => n + e.streams.reduce((m, s) => m + s.lag_records, 0), 0);
      const dead = d.exporters.reduce((n, e) => n + e.dead_letters, 0);
      tiles.exporters.set(count(d.exporters.length), `${count(d.exporters.filter((e) => e.state === 'disabled').length)} disabled`);
      tiles.trouble.set(count(trouble.length), trouble.length ? trouble.map((e) => `${e.name} ${e.state}`).join(', ') : 'every exporter delivers', trouble.length ? 'bad' : 'good');
      tiles.behind.set(count(behind), 'stored, not delivered yet (the last few seconds are always held back)');
      tiles.dead.set(count(dead), 'refused for good, waiting for a replay', dead > 0 ? 'bad' : undefined);
      card.fill(exportersTable(d.exporters), `· checked ${time(d.checked_at)}`);
      const notes: Node[] = [];
      if (d.source === 'store') notes.push(h('p', { class: 'notice', 'data-testid': 'standalone-note' }, 'The exporters run in the collector; this dashboard runs apart from it, so it shows what the store tells: each exporter\'s cursor, how far behind it is and its dead letters. Live states and error counts are in the collector\'s own dashboard and at its /metrics.'));
      if (d.reasons_withheld) notes.push(h('p', { class: 'notice' }, 'Error reasons are withheld: exporters carry every subaccount\'s records and your access is limited to some.'));
      notice.replaceChildren(...notes);
    } catch (err) {
      if (current()) notice.replaceChildren(errorBox(err));
    }
  };

  root.append(notice, h('div', { class: 'grid' }, tiles.exporters.element, tiles.trouble.element, tiles.behind.element, tiles.dead.element, card.element, help));
  void load();
  setInterval(() => void load(), REFRESH_MS);
}

void startPage(render);
