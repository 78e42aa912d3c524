// Pieces the Overview, Subaccounts and Subaccount pages share: stat tiles, chart cards, links to a
// subaccount and into the calls explorer (filtered, over the range on screen), and "top N of M" notes.
import type { Session } from './api.js';
import { withQuery } from './api.js';
import { h } from './dom.js';
import { count } from './format.js';

/** A fixed time range (ISO times), as the API reports the range it answered for. */
export interface Range {
  readonly from: string;
  readonly to: string;
}

export type Tone = 'good' | 'bad' | undefined;

export interface StatTile {
  readonly element: HTMLElement;
  set(value: string, sub: string, tone?: Tone): void;
}

/** A figure with a label and a line of context; `id` becomes its data-testid (stat-<id>). */
export function statTile(label: string, id: string, span = 'span-3'): StatTile {
  const value = h('div', { class: 'value', 'data-testid': `stat-${id}` }, '–');
  const sub = h('div', { class: 'sub' }, '');
  const element = h('section', { class: `card stat ${span}` }, h('h2', {}, label), value, sub);
  return {
    element,
    set(v, s, tone) {
      value.textContent = v;
      sub.textContent = s;
      element.classList.toggle('good', tone === 'good');
      element.classList.toggle('bad', tone === 'bad');
    },
  };
}

export interface ChartCard {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  /** Sets the heading (e.g. when the bucket width changes with the range). */
  title(text: string): void;
}

/** A card holding one chart canvas; the canvas's data-testid names the chart in window.__twCharts. */
export function chartCard(title: string, testid: string, span = 'span-6', label = title): ChartCard {
  const canvas = h('canvas', { 'data-testid': testid, role: 'img', 'aria-label': label });
  const heading = h('h2', {}, title);
  const element = h('section', { class: `card ${span}` }, heading, h('div', { class: 'chart' }, canvas));
  return { element, canvas, title: (text) => void (heading.textContent = text) };
}

/** A card whose body is replaced on every refresh (tables), with a note under the heading. */
export interface TableCard {
  readonly element: HTMLElement;
  fill(body: HTMLElement, note?: string): void;
}

export function tableCard(title: string, span = 'span-6'): TableCard {
  const note = h('span', { class: 'muted' });
  const body = h('div', { class: 'scroll' });
  const element = h('section', { class: `card ${span}` }, h('h2', {}, title, ' ', note), body);
  return {
    element,
    fill(content, text = '') {
      body.replaceChildren(content);
      note.textContent = text;
    },
  };
}

/** "top 10 of 281" when the list was cut, '' otherwise. */
export function cutNote(shown: number, total: number): string {
  return total > shown ? `· top ${count(shown)} of ${count(total)}` : '';
}

/** The calls explorer needs the analyst role: a viewer sees plain text instead of a link it cannot follow. */
export function canExplore(s: Session): boolean {
  return s.role === 'analyst' || s.role === 'admin';
}

/** /calls filtered by `filters`, over the range on screen (as fixed times, so the link shows these calls). */
export function callsHref(range: Range, filters: Record<string, string | undefined>): string {
  return withQuery('/calls', { ...filters, from: range.from, to: range.to });
}

/** `text` as a link into the calls explorer when the user may open it. */
export function callsLink(s: Session, range: Range, filters: Record<string, string | undefined>, text: string | Node, title = 'Show these calls'): Node {
  if (!canExplore(s)) return typeof text === 'string' ? document.createTextNode(text) : text;
  return h('a', { href: callsHref(range, filters), title }, text);
}

/** A subaccount name linking to its page; '' (refused before authentication) has none. */
export function subaccountLink(name: string): Node {
  if (name === '') return h('span', { class: 'muted', title: 'calls refused before a subaccount was known' }, '(none)');
  return h('a', { href: `/subaccounts/${encodeURIComponent(name)}` }, name);
}

/** "host:port" of a virtual or internal endpoint; port 0 is left out. */
export function endpoint(host: string, port: number): string {
  if (host === '') return '';
  return port > 0 ? `${host}:${port}` : host;
}

/** How a bucket width reads in a chart title: "per minute", "per 5 min", "per hour", "per day". */
export function perBucket(seconds: number): string {
  if (seconds === 60) return 'per minute';
  if (seconds < 3600) return `per ${seconds / 60} min`;
  if (seconds === 3600) return 'per hour';
  if (seconds < 86_400) return `per ${seconds / 3600} h`;
  return 'per day';
}

/**
 * Latest request wins: `begin()` before a request returns a check that is still true after the answer
 * only if no newer request began meanwhile (a slow answer must not overwrite a newer one).
 */
export function requestSequence(): () => () => boolean {
  let generation = 0;
  return () => {
    const mine = ++generation;
    return () => mine === generation;
  };
}
