// Administration: API tokens (create, shown once; revoke) and the sign-in log (admin events) with filters.
import { ApiError, del, get, post, type Session } from '../lib/api.js';
import { card, clear, errorBox, h, table, type Column } from '../lib/dom.js';
import { time } from '../lib/format.js';
import { startPage } from '../lib/shell.js';
import { changesCard } from './admin-changes.js';
import { currentRange, rangePicker, type TimeRange } from '../lib/time-range.js';

interface TokenInfo {
  id: string; name: string; role: string; subaccounts: '*' | string[]; source: 'config' | 'dashboard';
  created_at: string; created_by: string; expires_at: string; revoked_at: string; revoked_by: string;
}

interface AdminEvent {
  event_id: string; ts: string; seq: number; action: string; outcome: string; actor: string; actor_role: string;
  via: string; target: string; client_ip: string; user_agent: string; reason: string;
}

interface EventPage { events: AdminEvent[]; total: number; limit: number; offset: number }

const PAGE = 50;

const ACTIONS: Record<string, { label: string; actions: string[] }> = {
  all: { label: 'All actions', actions: [] },
  signin: { label: 'Sign-ins', actions: ['login.success', 'login.failure'] },
  logout: { label: 'Sign-outs', actions: ['logout'] },
  tokens: { label: 'Token changes', actions: ['token.create', 'token.revoke'] },
  exports: { label: 'Call exports', actions: ['calls.export'] },
  config: { label: 'Configuration changes', actions: ['rules.change', 'config.change', 'token.create', 'token.revoke', 'config.reload'] },
};

const ACTION_LABEL: Record<string, string> = {
  'login.success': 'Signed in', 'login.failure': 'Sign-in refused', logout: 'Signed out', 'token.create': 'Token created', 'token.revoke': 'Token revoked', 'calls.export': 'Calls exported',
};

function scope(s: '*' | readonly string[]): HTMLElement | string {
  if (s === '*') return 'all subaccounts';
  const out = h('span');
  s.forEach((name, i) => out.append(...(i ? [', '] : []), h('a', { href: `/subaccounts/${encodeURIComponent(name)}` }, name)));
  return out;
}

function tokenStatus(t: TokenInfo): HTMLElement {
  if (t.revoked_at) return h('span', { class: 'badge deny', title: `by ${t.revoked_by} at ${time(t.revoked_at)}` }, 'revoked');
  if (t.expires_at && Date.parse(t.expires_at) <= Date.now()) return h('span', { class: 'badge muted' }, 'expired');
  return h('span', { class: 'badge allow' }, 'active');
}

function copyButton(input: HTMLInputElement): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'copy-token' }, 'Copy');
  button.addEventListener('click', () => {
    input.select();
    const done = (): void => { button.textContent = 'Copied'; };
    if (navigator.clipboard) void navigator.clipboard.writeText(input.value).then(done, () => { input.select(); });
    else done();
  });
  return button;
}

/** Token changes are admin events too: the sign-in log reloads when one is made here. */
const CHANGED = 'tw:admin-changed';

function tokensCard(session: Session): HTMLElement {
  const list = h('div', { class: 'scroll' });
  const created = h('div');
  const name = h('input', { name: 'name', required: true, maxlength: 128, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*', placeholder: 'e.g. siem-export', 'data-testid': 'token-name' });
  const role = h('select', { name: 'role', 'data-testid': 'token-role' }, ...['viewer', 'analyst', 'admin'].map((r) => h('option', { value: r }, r)));
  const subaccounts = h('input', { name: 'subaccounts', placeholder: session.subaccounts === '*' ? 'all' : session.subaccounts.join(', '), 'data-testid': 'token-subaccounts' });
  const expires = h('select', { name: 'expires' },
    h('option', { value: '' }, 'never'), h('option', { value: '30' }, '30 days'), h('option', { value: '90', selected: true }, '90 days'), h('option', { value: '365' }, '1 year'));
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'create-token' }, 'Create token');
  const problem = h('div');

  const load = async (): Promise<void> => {
    const { tokens } = await get<{ tokens: TokenInfo[] }>('/api/v1/tokens');
    const columns: Column<TokenInfo>[] = [
      { title: 'Name', value: (t) => h('strong', {}, t.name) },
      { title: 'Role', value: (t) => t.role },
      { title: 'Sees', value: (t) => scope(t.subaccounts) },
      { title: 'Created', value: (t) => (t.source === 'config' ? h('span', { class: 'muted' }, 'config file') : `${time(t.created_at)} by ${t.created_by}`) },
      { title: 'Expires', value: (t) => (t.expires_at ? time(t.expires_at) : 'never') },
      { title: 'Status', value: tokenStatus },
      {
        title: '',
        value: (t) => {
          if (t.source === 'config') return h('span', { class: 'muted', title: 'remove it from dashboard.api_tokens to revoke it' }, 'in config');
          if (t.revoked_at) return '';
          const button = h('button', { type: 'button', class: 'secondary', 'data-testid': `revoke-${t.name}` }, 'Revoke');
          button.addEventListener('click', () => {
            if (!confirm(`Revoke the API token "${t.name}"? Anything using it stops working at once.`)) return;
            button.disabled = true;
            del<TokenInfo>(`/api/v1/tokens/${encodeURIComponent(t.id)}`).then(async () => {
              clear(created);
              document.dispatchEvent(new Event(CHANGED));
              await load();
            }, (err: unknown) => { problem.replaceChildren(errorBox(err)); button.disabled = false; });
          });
          return button;
        },
      },
    ];
    list.replaceChildren(table(columns, tokens, 'No API tokens yet. Create one above for scripts and exports.', 'tokens'));
  };

  const form = h('form', { class: 'toolbar', 'aria-label': 'Create an API token' },
    h('label', {}, 'Name', name), h('label', {}, 'Role', role),
    h('label', {}, 'Subaccounts (comma-separated)', subaccounts), h('label', {}, 'Expires', expires), submit);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    problem.replaceChildren();
    const wanted = subaccounts.value.split(/[\s,]+/).filter(Boolean);
    submit.disabled = true;
    post<{ token: string; info: TokenInfo }>('/api/v1/tokens', {
      name: name.value.trim(), role: role.value,
      ...(wanted.length ? { subaccounts: wanted } : {}),
      ...(expires.value ? { expires_days: Number(expires.value) } : {}),
    }).then(async ({ token, info }) => {
      const value = h('input', { readonly: true, value: token, class: 'mono', size: 60, 'aria-label': 'New API token', 'data-testid': 'new-token' });
      const dismiss = h('button', { type: 'button', class: 'secondary' }, 'Done');
      dismiss.addEventListener('click', () => clear(created));
      created.replaceChildren(h('div', { class: 'notice', role: 'status' },
        h('p', {}, h('strong', {}, `Token "${info.name}" created. `), 'Copy it now: it is shown only this once and cannot be recovered. Use it as "Authorization: Bearer <token>".'),
        h('div', { class: 'toolbar' }, value, copyButton(value), dismiss)));
      value.select();
      name.value = '';
      document.dispatchEvent(new Event(CHANGED));
      await load();
    }, (err: unknown) => problem.replaceChildren(errorBox(err))).finally(() => { submit.disabled = false; });
  });

  void load().catch((err: unknown) => list.replaceChildren(errorBox(err)));
  return card('API tokens', h('p', { class: 'muted' }, 'Tokens let scripts and other tools call the dashboard API with a role and subaccount scope of their own. Only a hash is stored.'),
    form, problem, created, list);
}

function signInLogCard(): HTMLElement {
  const body = h('div', { class: 'scroll' });
  const pager = h('div', { class: 'pager' });
  const kind = h('select', { 'aria-label': 'Action', 'data-testid': 'event-action' }, ...Object.entries(ACTIONS).map(([k, v]) => h('option', { value: k }, v.label)));
  const outcome = h('select', { 'aria-label': 'Outcome', 'data-testid': 'event-outcome' },
    h('option', { value: '' }, 'Any outcome'), h('option', { value: 'failure' }, 'Failures only'), h('option', { value: 'success' }, 'Successes only'));
  const user = h('input', { type: 'search', placeholder: 'user or token name', 'aria-label': 'User', 'data-testid': 'event-user' });
  let range: TimeRange | undefined;
  let offset = 0;

  const columns: Column<AdminEvent>[] = [
    { title: 'Time', value: (e) => h('span', { title: e.ts }, time(e.ts)) },
    { title: 'Action', value: (e) => ACTION_LABEL[e.action] ?? e.action },
    { title: 'Outcome', value: (e) => h('span', { class: `badge ${e.outcome === 'success' ? 'allow' : 'deny'}` }, e.outcome) },
    { title: 'By', value: (e) => e.actor || h('span', { class: 'muted' }, '—') },
    { title: 'User / token', value: (e) => e.target },
    { title: 'Role', value: (e) => e.actor_role },
    { title: 'Via', value: (e) => e.via },
    { title: 'Client', value: (e) => h('span', { title: e.user_agent || 'no user agent' }, e.client_ip) },
    { title: 'Reason', value: (e) => e.reason },
    { title: 'Seq', value: (e) => h('span', { class: 'muted' }, e.seq), numeric: true },
  ];

  const load = async (): Promise<void> => {
    if (!range) return;
    try {
      const page = await get<EventPage>('/api/v1/admin/events', {
        from: range.from, to: range.to, limit: PAGE, offset,
        action: ACTIONS[kind.value]?.actions ?? [], outcome: outcome.value, user: user.value.trim(),
      });
      body.replaceChildren(table(columns, page.events, 'No admin events match these filters in this range.', 'admin-events'));
      const prev = h('button', { type: 'button', class: 'secondary', disabled: offset === 0 }, '← Newer');
      const nextButton = h('button', { type: 'button', class: 'secondary', disabled: offset + PAGE >= page.total }, 'Older →');
      prev.addEventListener('click', () => { offset = Math.max(0, offset - PAGE); void load(); });
      nextButton.addEventListener('click', () => { offset += PAGE; void load(); });
      const shown = page.total === 0 ? '0' : `${offset + 1}–${Math.min(offset + PAGE, page.total)}`;
      pager.replaceChildren(prev, nextButton, h('span', { class: 'muted' }, `${shown} of ${page.total} events`));
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        body.replaceChildren(h('p', { class: 'notice' }, 'The sign-in log names users of every subaccount, so only admins who see all subaccounts may read it.'));
      } else body.replaceChildren(errorBox(err));
      pager.replaceChildren();
    }
  };
  // A live range is taken afresh: after a token change its event must be inside the range asked for.
  const refilter = (): void => {
    offset = 0;
    if (range?.live) range = currentRange('7d');
    void load();
  };
  document.addEventListener(CHANGED, refilter);
  kind.addEventListener('change', refilter);
  outcome.addEventListener('change', refilter);
  let typing: number | undefined;
  user.addEventListener('input', () => { clearTimeout(typing); typing = window.setTimeout(refilter, 300); });

  const picker = rangePicker((r) => { range = r; void load(); }, { defaultKey: '7d', refreshMs: 30_000 });
  return card('Sign-in log',
    h('p', { class: 'muted' }, 'Sign-ins, refused sign-ins with the reason, sign-outs, token changes and call exports, newest first. Each event is hash-chained (seq) so that gaps and edits show.'),
    h('div', { class: 'toolbar' }, picker, kind, outcome, user), body, pager);
}

void startPage((session, root) => {
  root.appendChild(h('div', { class: 'grid' },
    h('div', { class: 'span-12' }, tokensCard(session)),
    h('div', { class: 'span-12' }, changesCard()),
    h('div', { class: 'span-12' }, signInLogCard())));
});
