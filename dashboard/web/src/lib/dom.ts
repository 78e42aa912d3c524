// Building DOM without innerHTML: text always goes through textContent, so nothing from the API (paths,
// user agents, principals) can inject markup.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** The page's content area, emptied. */
export function content(): HTMLElement {
  const el = document.getElementById('content');
  if (!el) throw new Error('page has no #content');
  clear(el);
  el.removeAttribute('aria-busy');
  return el;
}

export function errorBox(err: unknown): HTMLElement {
  const message = err instanceof Error ? err.message : String(err);
  return h('div', { class: 'error', role: 'alert' }, message);
}

export interface Column<Row> {
  readonly title: string;
  readonly value: (row: Row) => Child;
  readonly numeric?: boolean;
}

/** A table; `empty` is shown in place of the body when there are no rows. */
export function table<Row>(columns: readonly Column<Row>[], rows: readonly Row[], empty = 'Nothing in this range.', testid?: string): HTMLElement {
  const head = h('tr', {}, ...columns.map((c) => h('th', c.numeric ? { class: 'num' } : {}, c.title)));
  const body = rows.length === 0
    ? [h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, empty))]
    : rows.map((row) => h('tr', {}, ...columns.map((c) => h('td', c.numeric ? { class: 'num' } : {}, c.value(row)))));
  return h('table', testid ? { 'data-testid': testid } : {}, h('thead', {}, head), h('tbody', {}, ...body));
}

export function card(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}
