// The calls table: one row per audit event, newest first; a click (or Enter) on a row opens the full event
// below it, with links to its trace, its subaccount and related calls.
import { withQuery } from './api.js';
import { clear, h } from './dom.js';
import { bytes, micros, time } from './format.js';

/** An audit event as GET /api/v1/calls returns it (the spec's fields, and any later ones). */
export interface CallEvent {
  readonly event_id: string;
  readonly ts: string;
  readonly duration_us: number;
  readonly emitter: string;
  readonly emitter_id: string;
  readonly subaccount: string;
  readonly cloud_app: string;
  readonly principal: string;
  readonly client_ip: string;
  readonly protocol: string;
  readonly method: string;
  readonly virtual_host: string;
  readonly virtual_port: number;
  readonly internal_host: string;
  readonly internal_port: number;
  readonly path: string;
  readonly query: string;
  readonly decision: string;
  readonly rule_id: string;
  readonly deny_reason: string;
  readonly status: number;
  readonly error_type: string;
  readonly bytes_in: number;
  readonly bytes_out: number;
  readonly backend_connect_us: number;
  readonly backend_ttfb_us: number;
  readonly trace_id: string;
  readonly [field: string]: unknown;
}

const HEADINGS: readonly [string, boolean][] = [
  ['Time', false], ['Subaccount', false], ['App', false], ['Principal', false], ['Method', false], ['Virtual host', false],
  ['Path', false], ['Status', true], ['Decision', false], ['Reason / error', false], ['Duration', true], ['Bytes in / out', true],
];

export function decisionBadge(decision: string): HTMLElement {
  return h('span', { class: `badge ${decision === 'allow' ? 'allow' : 'deny'}` }, decision);
}

export function reasonBadge(e: { deny_reason: string; error_type: string }): HTMLElement | string {
  if (e.deny_reason) return h('span', { class: 'badge deny' }, e.deny_reason);
  if (e.error_type) return h('span', { class: 'badge warn' }, e.error_type);
  return '';
}

export function subaccountLink(name: string): HTMLElement {
  return name ? h('a', { href: `/subaccounts/${encodeURIComponent(name)}` }, name) : h('span', { class: 'muted', title: 'the caller was not authenticated' }, '(none)');
}

/** /calls with filters: a window of ±minutes around a time. */
export function callsLink(filters: Record<string, string | undefined>, aroundIso: string, minutes: number): string {
  const at = Date.parse(aroundIso);
  return withQuery('/calls', { ...filters, from: new Date(at - minutes * 60_000).toISOString(), to: new Date(at + minutes * 60_000).toISOString() });
}

// The event's fields in three groups, side by side: what was called, what came of it, the record itself.
const GROUPS: readonly [string, readonly string[]][] = [
  ['Call', ['ts', 'subaccount', 'location_id', 'cloud_app', 'principal', 'client_ip', 'protocol', 'method', 'virtual_host', 'virtual_port', 'internal_host', 'internal_port', 'path', 'query', 'user_agent']],
  ['Outcome', ['decision', 'rule_id', 'deny_reason', 'status', 'error_type', 'duration_us', 'backend_connect_us', 'backend_ttfb_us', 'bytes_in', 'bytes_out', 'trace_id', 'span_id']],
  ['Record', ['schema', 'event_id', 'emitter', 'emitter_id', 'seq', 'prev_hash', 'hash']],
];
const GROUPED = new Set(GROUPS.flatMap(([, keys]) => keys));

function fieldTable(e: CallEvent, keys: readonly string[]): HTMLElement {
  const rows = keys.map((key) => {
    const value = e[key];
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return h('tr', {}, h('th', { scope: 'row' }, key), h('td', { class: 'mono path' }, text === '' ? h('span', { class: 'muted' }, '""') : text));
  });
  return h('table', {}, h('tbody', {}, ...rows));
}

function fieldList(e: CallEvent): HTMLElement {
  // Fields of later spec versions go with the record.
  const later = Object.keys(e).filter((k) => !GROUPED.has(k));
  return h('div', { class: 'grid' }, ...GROUPS.map(([title, keys]) =>
    h('div', { class: 'span-4' }, h('h2', {}, title), fieldTable(e, title === 'Record' ? [...keys, ...later] : keys))));
}

function detail(e: CallEvent, columns: number): HTMLTableRowElement {
  const links = h('div', { class: 'pager' },
    e.trace_id ? h('a', { href: `/traces/${e.trace_id}`, 'data-testid': 'open-trace' }, 'Open trace →') : null,
    e.subaccount ? h('a', { href: `/subaccounts/${encodeURIComponent(e.subaccount)}` }, `Subaccount ${e.subaccount}`) : null,
    e.cloud_app ? h('a', { href: callsLink({ subaccount: e.subaccount, cloud_app: e.cloud_app }, e.ts, 30) }, 'Calls of this app (±30 min)') : null,
    e.principal ? h('a', { href: callsLink({ subaccount: e.subaccount, principal: e.principal }, e.ts, 30) }, 'Calls of this principal (±30 min)') : null,
  );
  return h('tr', { class: 'detail', 'data-testid': 'call-detail' }, h('td', { colspan: columns }, links, fieldList(e)));
}

function row(e: CallEvent, columns: number): HTMLTableRowElement {
  const target = e.virtual_host ? `${e.virtual_host}:${e.virtual_port}` : '';
  const when = h('td', { class: 'mono' }, time(e.ts, true));
  when.style.whiteSpace = 'nowrap';
  const tr = h('tr', { tabindex: 0, class: 'call', 'data-event-id': e.event_id, title: 'Show the whole event' },
    when,
    h('td', {}, subaccountLink(e.subaccount)),
    h('td', {}, e.cloud_app),
    h('td', {}, e.principal),
    h('td', {}, e.method || e.protocol.toUpperCase()),
    h('td', {}, target),
    h('td', {}, h('span', { class: 'path mono' }, e.path + (e.query ? `?${e.query}` : ''))),
    h('td', { class: 'num' }, e.status === 0 ? '–' : e.status),
    h('td', {}, decisionBadge(e.decision)),
    h('td', {}, reasonBadge(e)),
    h('td', { class: 'num' }, micros(e.duration_us)),
    h('td', { class: 'num' }, `${bytes(e.bytes_in)} / ${bytes(e.bytes_out)}`),
  );
  const toggle = (event: Event): void => {
    // Links inside the row keep their own meaning.
    if ((event.target as HTMLElement).closest('a')) return;
    const next = tr.nextElementSibling;
    if (next?.classList.contains('detail')) {
      next.remove();
      tr.removeAttribute('aria-expanded');
      return;
    }
    tr.after(detail(e, columns));
    tr.setAttribute('aria-expanded', 'true');
  };
  tr.addEventListener('click', toggle);
  tr.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      toggle(event);
    }
  });
  return tr;
}

export interface CallsTable {
  readonly element: HTMLElement;
  /** Replaces the rows (first page). */
  reset(calls: readonly CallEvent[], empty: string): void;
  /** Adds the rows of a further page. */
  append(calls: readonly CallEvent[]): void;
  readonly count: () => number;
}

export function callsTable(): CallsTable {
  const body = h('tbody', {});
  const element = h('table', { 'data-testid': 'calls-table' },
    h('thead', {}, h('tr', {}, ...HEADINGS.map(([title, numeric]) => h('th', numeric ? { class: 'num' } : {}, title)))),
    body);
  let rows = 0;
  return {
    element,
    reset(calls, empty) {
      clear(body);
      rows = 0;
      if (calls.length === 0) body.appendChild(h('tr', {}, h('td', { colspan: HEADINGS.length, class: 'empty' }, empty)));
      else this.append(calls);
    },
    append(calls) {
      for (const e of calls) body.appendChild(row(e, HEADINGS.length));
      rows += calls.length;
    },
    count: () => rows,
  };
}
