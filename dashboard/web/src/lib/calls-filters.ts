// The calls explorer's filters: read from and written to the URL (same names as the API's parameters, so
// other pages link here with ?subaccount=..&decision=deny&virtual_host=..), and the toolbar that edits them.
import { h } from './dom.js';

export const DENY_REASONS = ['unauthenticated', 'no_connector', 'app_not_trusted', 'no_mapping', 'protocol_not_allowed', 'path_not_allowed', 'method_not_allowed', 'resource_suspended', 'malformed_request', 'rate_limited'];
export const ERROR_TYPES = ['dns', 'connect_refused', 'connect_timeout', 'tls', 'reset', 'backend_timeout', 'tunnel_down', 'internal'];

export interface CallFilters {
  subaccount?: string;
  cloud_app?: string;
  principal?: string;
  virtual_host?: string;
  path_prefix?: string;
  status?: string[];
  decision?: string;
  error_type?: string;
  deny_reason?: string;
  emitter?: string;
}

const TEXT_KEYS = ['subaccount', 'cloud_app', 'principal', 'virtual_host', 'path_prefix', 'decision', 'error_type', 'deny_reason', 'emitter'] as const;
const STATUS = /^(?:[0-9]{1,3}|[1-5]xx)$/;

export function readFilters(search = location.search): CallFilters {
  const q = new URLSearchParams(search);
  const f: CallFilters = {};
  for (const key of TEXT_KEYS) {
    const v = q.get(key)?.trim();
    if (v) f[key] = v;
  }
  // ?status=403&status=5xx, or ?status=403,5xx as typed into the toolbar.
  const status = q.getAll('status').flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== '');
  if (status.length > 0) f.status = status;
  return f;
}

/** Puts the filters in the URL (other parameters, like the range, kept) without reloading. */
export function writeFilters(f: CallFilters): void {
  const q = new URLSearchParams(location.search);
  for (const key of [...TEXT_KEYS, 'status'] as const) q.delete(key);
  for (const key of TEXT_KEYS) if (f[key]) q.set(key, f[key] as string);
  for (const s of f.status ?? []) q.append('status', s);
  history.replaceState(null, '', `${location.pathname}${q.toString() ? `?${q}` : ''}`);
}

/** The API's query parameters for these filters and a range. */
export function apiParams(f: CallFilters, range: { from: string; to: string }): Record<string, string | readonly string[] | undefined> {
  return { from: range.from, to: range.to, ...f };
}

function field(label: string, control: HTMLElement): HTMLElement {
  return h('label', {}, label, control);
}

function select(name: string, label: string, options: readonly [string, string][], value: string | undefined): HTMLSelectElement {
  return h('select', { name, 'aria-label': label, 'data-testid': `filter-${name}` },
    ...options.map(([v, text]) => h('option', { value: v, selected: v === (value ?? '') }, text)));
}

function input(name: string, placeholder: string, value: string | undefined, size = 14): HTMLInputElement {
  return h('input', { name, type: 'text', placeholder, value: value ?? '', size, autocomplete: 'off', spellcheck: 'false', 'data-testid': `filter-${name}` });
}

export interface FilterToolbar {
  readonly element: HTMLElement;
  /** Shows why the filters cannot be applied, or clears the message. */
  setError(message: string): void;
}

/**
 * The toolbar; `onApply` gets the filters when the form is submitted (Enter in any field, or Apply),
 * and with no filters on Reset. `subaccounts` feeds the subaccount field's suggestions; `lead` (the range
 * picker) opens the toolbar.
 */
export function filterToolbar(initial: CallFilters, subaccounts: readonly string[], onApply: (f: CallFilters) => void, lead?: HTMLElement): FilterToolbar {
  const listId = 'subaccount-options';
  const sub = input('subaccount', 'any', initial.subaccount, 12);
  sub.setAttribute('list', listId);
  const controls = {
    subaccount: sub,
    cloud_app: input('cloud_app', 'any', initial.cloud_app, 12),
    principal: input('principal', 'any', initial.principal, 16),
    virtual_host: input('virtual_host', 'any', initial.virtual_host, 14),
    path_prefix: input('path_prefix', '/api/…', initial.path_prefix, 14),
    status: input('status', '403, 5xx', initial.status?.join(', '), 9),
    decision: select('decision', 'Decision', [['', 'any'], ['allow', 'allow'], ['deny', 'deny']], initial.decision),
    deny_reason: select('deny_reason', 'Deny reason', [['', 'any'], ['any', 'every refusal'], ...DENY_REASONS.map((r): [string, string] => [r, r])], initial.deny_reason),
    error_type: select('error_type', 'Error type', [['', 'any'], ['any', 'every error'], ...ERROR_TYPES.map((r): [string, string] => [r, r])], initial.error_type),
    emitter: select('emitter', 'Emitter', [['', 'any'], ['connector', 'connector'], ['relay', 'relay']], initial.emitter),
  };
  const error = h('div', { class: 'error', role: 'alert', hidden: true, 'data-testid': 'filter-error' });

  const collect = (): CallFilters | string => {
    const f: CallFilters = {};
    for (const key of TEXT_KEYS) {
      const v = controls[key].value.trim();
      if (v) f[key] = v;
    }
    const status = controls.status.value.split(/[\s,]+/).filter((s) => s !== '');
    const wrong = status.find((s) => !STATUS.test(s));
    if (wrong) return `Status "${wrong}" is neither a status code (403) nor a class (4xx).`;
    if (status.length > 0) f.status = status;
    if (f.subaccount && !/^[a-z0-9][a-z0-9-]{0,63}$/.test(f.subaccount)) return `"${f.subaccount}" is not a subaccount id (lower-case letters, digits and -).`;
    return f;
  };

  const form = h('form', { class: 'toolbar', 'data-testid': 'call-filters', role: 'search' },
    lead ? field('Time range', lead) : null,
    field('Subaccount', sub),
    h('datalist', { id: listId }, ...subaccounts.map((s) => h('option', { value: s }))),
    field('Cloud app', controls.cloud_app),
    field('Principal', controls.principal),
    field('Virtual host', controls.virtual_host),
    field('Path prefix', controls.path_prefix),
    field('Status', controls.status),
    field('Decision', controls.decision),
    field('Deny reason', controls.deny_reason),
    field('Error type', controls.error_type),
    field('Emitter', controls.emitter),
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'apply-filters' }, 'Apply'),
    h('button', {
      type: 'button',
      class: 'secondary',
      'data-testid': 'reset-filters',
      onclick: () => {
        for (const key of [...TEXT_KEYS, 'status'] as const) controls[key].value = '';
        onApply({});
      },
    }, 'Reset'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const f = collect();
    if (typeof f === 'string') return setError(f);
    setError('');
    onApply(f);
  });
  // Picking from a list applies at once; text fields wait for Enter or Apply.
  for (const key of ['decision', 'deny_reason', 'error_type', 'emitter'] as const) {
    controls[key].addEventListener('change', () => form.requestSubmit());
  }

  function setError(message: string): void {
    error.textContent = message;
    error.hidden = message === '';
  }
  return { element: h('div', {}, form, error), setError };
}
