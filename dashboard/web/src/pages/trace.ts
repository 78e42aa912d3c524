// One trace: the spans of relay, connector and backend call as a waterfall with the latency phases marked,
// the details of a span on click, and the call's audit event(s) with links back to the calls explorer.
import { ApiError, get, type Session } from '../lib/api.js';
import { callsLink, decisionBadge, reasonBadge, subaccountLink } from '../lib/calls-table.js';
import { PHASE_COLOURS, spanDetails, swatch, waterfall, type TracePhase, type TraceSpan } from '../lib/calls-waterfall.js';
import { card, h, table } from '../lib/dom.js';
import { micros, time } from '../lib/format.js';
import { startPage } from '../lib/shell.js';

interface AuditEvent {
  readonly event_id: string;
  readonly ts: string;
  readonly emitter: string;
  readonly emitter_id: string;
  readonly subaccount: string;
  readonly cloud_app: string;
  readonly principal: string;
  readonly method: string;
  readonly virtual_host: string;
  readonly path: string;
  readonly status: number;
  readonly decision: string;
  readonly deny_reason: string;
  readonly error_type: string;
  readonly duration_us: number;
  readonly backend_connect_us: number;
  readonly backend_ttfb_us: number;
  readonly span_id: string;
}

interface Trace {
  readonly trace_id: string;
  readonly start: string | null;
  readonly duration_us: number;
  readonly spans: TraceSpan[];
  readonly phases: TracePhase[];
  readonly audit_events: AuditEvent[];
  readonly subaccounts: string[];
}

function stat(label: string, value: string | HTMLElement, sub?: string, testid?: string): HTMLElement {
  return h('section', { class: 'card stat span-3', ...(testid ? { 'data-testid': testid } : {}) },
    h('h2', {}, label), h('div', { class: 'value' }, value), sub ? h('div', { class: 'sub' }, sub) : null);
}

function phaseCard(t: Trace): HTMLElement {
  const order: TracePhase['phase'][] = ['relay', 'tunnel', 'backend_connect', 'backend_ttfb'];
  const labels: Record<TracePhase['phase'], string> = { relay: 'Relay', tunnel: 'Tunnel', backend_connect: 'Backend connect', backend_ttfb: 'Backend first byte' };
  const notes: Record<TracePhase['phase'], string> = {
    relay: 'receipt at the relay until the stream to the connector is open',
    tunnel: 'relay receipt until the connector has the call (two hosts\' clocks: indicative)',
    backend_connect: 'opening (or taking from the pool) the backend connection',
    backend_ttfb: 'request sent until the backend\'s first response byte',
  };
  const rows = order.map((phase) => {
    const found = t.phases.filter((p) => p.phase === phase);
    return h('tr', { 'data-phase': phase },
      h('td', {}, swatch(PHASE_COLOURS[phase]), ' ', labels[phase]),
      h('td', { class: 'num' }, found.length === 0 ? '–' : found.map((p) => micros(p.duration_us)).join(', ')),
      h('td', { class: 'muted' }, notes[phase]));
  });
  return card('Latency phases (from spans)',
    h('table', { 'data-testid': 'trace-phases' }, h('thead', {}, h('tr', {}, h('th', {}, 'Phase'), h('th', { class: 'num' }, 'Time'), h('th', {}, 'Measures'))), h('tbody', {}, ...rows)));
}

function auditCard(t: Trace): HTMLElement {
  const rows = t.audit_events;
  return card('Audit events of this trace',
    table<AuditEvent>([
      { title: 'Time', value: (e) => h('span', { class: 'mono' }, time(e.ts, true)) },
      { title: 'Emitter', value: (e) => `${e.emitter} (${e.emitter_id})` },
      { title: 'Subaccount', value: (e) => subaccountLink(e.subaccount) },
      { title: 'App / principal', value: (e) => [e.cloud_app, e.principal].filter((x) => x).join(' · ') },
      { title: 'Call', value: (e) => h('span', { class: 'path mono' }, `${e.method} ${e.virtual_host}${e.path}`) },
      { title: 'Status', value: (e) => (e.status === 0 ? '–' : e.status), numeric: true },
      { title: 'Decision', value: (e) => decisionBadge(e.decision) },
      { title: 'Reason / error', value: (e) => reasonBadge(e) },
      { title: 'Duration', value: (e) => micros(e.duration_us), numeric: true },
      { title: 'Backend connect', value: (e) => (e.backend_connect_us ? micros(e.backend_connect_us) : '–'), numeric: true },
      { title: 'Backend first byte', value: (e) => (e.backend_ttfb_us ? micros(e.backend_ttfb_us) : '–'), numeric: true },
      {
        title: 'In the explorer',
        value: (e) => h('span', {},
          h('a', { href: callsLink({ subaccount: e.subaccount || undefined, virtual_host: e.virtual_host || undefined, path_prefix: e.path || undefined }, e.ts, 1), 'data-testid': 'trace-call-link' }, 'this call'),
          ' · ',
          h('a', { href: callsLink({ subaccount: e.subaccount || undefined }, e.ts, 5) }, 'calls ±5 min')),
      },
    ], rows, 'No audit event carries this trace id (the trace comes from spans only).', 'trace-audit-events'));
}

async function render(_s: Session, root: HTMLElement): Promise<void> {
  const traceId = decodeURIComponent(location.pathname.split('/')[2] ?? '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(traceId)) {
    root.append(h('p', { class: 'error', role: 'alert' }, `"${traceId}" is not a trace id (32 hex digits).`));
    return;
  }
  let t: Trace;
  try {
    t = await get<Trace>(`/api/v1/traces/${traceId}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      root.append(h('p', { class: 'notice', role: 'alert', 'data-testid': 'trace-missing' },
        `No trace ${traceId}: unknown, past the trace retention, or outside your subaccounts. `,
        h('a', { href: '/calls' }, 'Back to the calls explorer')));
      return;
    }
    throw err;
  }

  const services = [...new Set(t.spans.map((s) => s.service))];
  const details = h('div', { 'data-testid': 'span-details-card' }, h('p', { class: 'muted' }, 'Click a span for its attributes and events.'));
  const select = (span: TraceSpan): void => {
    details.replaceChildren(spanDetails(span));
    for (const el of root.querySelectorAll('[data-testid="waterfall-lane"]')) el.toggleAttribute('aria-current', (el as HTMLElement).dataset.spanId === span.span_id);
  };
  const legend = h('p', { class: 'muted' }, 'Phases: ',
    ...(['relay', 'tunnel', 'backend_connect', 'backend_ttfb'] as const).flatMap((p) => [swatch(PHASE_COLOURS[p]), ` ${p.replace('_', ' ').replace('ttfb', 'first byte')}  `]));

  root.append(
    h('p', { class: 'mono', 'data-testid': 'trace-id' }, traceId),
    h('div', { class: 'grid' },
      stat('Start', t.start ? time(t.start, true).slice(11) : '–', t.start ? `${time(t.start).slice(0, 10)} (local) · ${t.start}` : undefined),
      stat('Duration', micros(t.duration_us), 'first span start to last span end', 'trace-duration'),
      stat('Spans', String(t.spans.length), services.join(', ') || 'none stored', 'trace-span-count'),
      stat('Subaccount', t.subaccounts.length === 0 ? '–' : h('span', {}, ...t.subaccounts.flatMap((s, i) => [i > 0 ? ', ' : '', subaccountLink(s)])),
        `${t.audit_events.length} audit ${t.audit_events.length === 1 ? 'event' : 'events'}`),
      h('div', { class: 'span-12' },
        card('Waterfall',
          t.spans.length === 0
            ? h('p', { class: 'muted' }, 'No spans stored for this trace: tracing may be off on the relay and connector, or the spans are past their retention.')
            : h('div', {}, legend, waterfall(t.spans, t.phases, select)))),
      h('div', { class: 'span-6' }, phaseCard(t)),
      h('div', { class: 'span-6' }, card('Span', details)),
      h('div', { class: 'span-12' }, auditCard(t)),
    ),
  );
  const first = t.spans[0];
  if (first) select(first);
}

void startPage(render);
