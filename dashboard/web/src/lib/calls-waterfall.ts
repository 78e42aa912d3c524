// A trace's spans as a waterfall: one line per span (indented under its parent), a bar placed on a common
// time axis, and the latency phases drawn over the bars of the spans that measured them. Positions are
// set through the CSSOM (element.style), which the page's CSP allows, unlike style attributes.
import { h } from './dom.js';
import { micros } from './format.js';

export interface TraceSpan {
  readonly span_id: string;
  readonly parent_span_id: string;
  readonly depth: number;
  readonly name: string;
  readonly service: string;
  readonly service_instance: string;
  readonly kind: string;
  readonly start: string;
  readonly start_offset_us: number;
  readonly duration_us: number;
  readonly status_code: string;
  readonly status_message: string;
  readonly attributes: Record<string, string>;
  readonly events: { name: string; time: string; offset_us: number; attributes: Record<string, string> }[];
}

export interface TracePhase {
  readonly phase: 'relay' | 'tunnel' | 'backend_connect' | 'backend_ttfb';
  readonly label: string;
  readonly duration_us: number;
  readonly span_id: string;
  readonly start_offset_us: number;
}

export const PHASE_COLOURS: Record<TracePhase['phase'], string> = {
  relay: '#9333ea',
  tunnel: '#0891b2',
  backend_connect: '#ea580c',
  backend_ttfb: '#ca8a04',
};

const pct = (us: number, total: number): string => `${Math.max(0, Math.min(100, (100 * us) / total)).toFixed(3)}%`;

function place(el: HTMLElement, startUs: number, durationUs: number, total: number): HTMLElement {
  el.style.left = pct(startUs, total);
  el.style.width = pct(durationUs, total);
  return el;
}

export function swatch(colour: string): HTMLElement {
  const el = h('span', { 'aria-hidden': 'true' });
  el.style.display = 'inline-block';
  el.style.width = '10px';
  el.style.height = '10px';
  el.style.borderRadius = '2px';
  el.style.verticalAlign = 'middle';
  el.style.background = colour;
  return el;
}

/** The waterfall; `onSelect` gets the span whose line was clicked. */
export function waterfall(spans: readonly TraceSpan[], phases: readonly TracePhase[], onSelect: (span: TraceSpan) => void): HTMLElement {
  const total = Math.max(1, ...spans.map((s) => s.start_offset_us + s.duration_us));
  const grid = h('div', { class: 'waterfall', 'data-testid': 'waterfall', role: 'list' });
  grid.append(h('div', { class: 'name muted' }, 'Span'), h('div', { class: 'muted' }, `0 – ${micros(total)}`));
  for (const span of spans) {
    const failed = span.status_code === 'Error';
    const name = h('div', { class: 'name', title: `${span.service} · ${span.name} (${span.kind})` },
      h('a', { href: `#span-${span.span_id}`, 'data-span-id': span.span_id }, `${span.service.replace(/^tunnelwatch-/, '')} · ${span.name}`),
      h('span', { class: 'muted' }, ` ${span.kind.toLowerCase()} · ${micros(span.duration_us)}`));
    name.style.paddingLeft = `${span.depth * 16}px`;
    const bar = place(h('div', { class: failed ? 'bar error' : 'bar', title: `${span.name}: ${micros(span.duration_us)} from +${micros(span.start_offset_us)}` }), span.start_offset_us, span.duration_us, total);
    const lane = h('div', { class: 'lane', role: 'listitem', 'data-testid': 'waterfall-lane', 'data-span-id': span.span_id }, bar);
    for (const p of phases.filter((x) => x.span_id === span.span_id)) {
      const mark = place(h('div', { class: 'mark', title: `${p.label}: ${micros(p.duration_us)}`, 'data-phase': p.phase }), p.start_offset_us, p.duration_us, total);
      mark.style.background = PHASE_COLOURS[p.phase];
      mark.style.opacity = '0.75';
      mark.style.minWidth = '2px';
      mark.style.top = '6px';
      mark.style.height = '8px';
      lane.append(mark);
    }
    const select = (event: Event): void => {
      event.preventDefault();
      onSelect(span);
    };
    name.addEventListener('click', select);
    lane.addEventListener('click', select);
    grid.append(name, lane);
  }
  return grid;
}

function attributeTable(attributes: Record<string, string>): HTMLElement {
  const keys = Object.keys(attributes).sort();
  if (keys.length === 0) return h('p', { class: 'muted' }, 'No attributes.');
  return h('table', {}, h('tbody', {}, ...keys.map((k) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'mono path' }, attributes[k] ?? '')))));
}

/** Everything about one span. */
export function spanDetails(span: TraceSpan): HTMLElement {
  const facts: [string, string][] = [
    ['Span id', span.span_id],
    ['Parent', span.parent_span_id || '(root)'],
    ['Service', `${span.service}${span.service_instance ? ` (${span.service_instance})` : ''}`],
    ['Kind', span.kind],
    ['Start', span.start],
    ['Offset', `+${micros(span.start_offset_us)}`],
    ['Duration', micros(span.duration_us)],
    ['Status', `${span.status_code}${span.status_message ? `: ${span.status_message}` : ''}`],
  ];
  return h('div', { 'data-testid': 'span-details', id: `span-${span.span_id}` },
    h('table', {}, h('tbody', {}, ...facts.map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', { class: 'mono' }, v))))),
    h('h2', {}, 'Attributes'),
    attributeTable(span.attributes),
    h('h2', {}, 'Events'),
    span.events.length === 0
      ? h('p', { class: 'muted' }, 'No events.')
      : h('table', {}, h('tbody', {}, ...span.events.map((e) => h('tr', {},
        h('td', { class: 'mono' }, `+${micros(e.offset_us)}`), h('td', {}, e.name), h('td', { class: 'mono path' }, JSON.stringify(e.attributes)))))),
  );
}
