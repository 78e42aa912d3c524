// The configuration change history on the Administration page: every change to rules, tokens, users and
// exporter settings, from a connector's rules reload, the CLI or this dashboard, with who, when, via what,
// and a line diff of before and after.
import { ApiError, get, post } from '../lib/api.js';
import { diffLines, prettyJson } from '../lib/diff.js';
import { card, errorBox, h, table, type Column } from '../lib/dom.js';
import { time } from '../lib/format.js';

export interface ChangeEvent {
  event_id: string; ts: string; seq: number; action: string; outcome: string; actor: string; actor_role: string;
  via: string; target: string; reason: string; before: string; after: string;
}

/** Actions that change configuration (the others on the page are sign-ins and exports). */
export const CHANGE_ACTIONS = ['rules.change', 'token.create', 'token.revoke', 'user.create', 'user.update', 'user.delete', 'config.reload', 'config.change', 'exporter.change'];

const LABEL: Record<string, string> = {
  'rules.change': 'Access rules changed', 'token.create': 'Token created', 'token.revoke': 'Token revoked', 'user.create': 'User created',
  'user.update': 'User changed', 'user.delete': 'User removed', 'config.reload': 'Configuration reloaded', 'config.change': 'Configuration changed', 'exporter.change': 'Exporter settings changed',
};

function diffView(e: ChangeEvent): HTMLElement {
  const lines = diffLines(prettyJson(e.before), prettyJson(e.after));
  const added = lines.filter((l) => l.kind === 'added').length;
  const removed = lines.filter((l) => l.kind === 'removed').length;
  const pre = h('pre', { class: 'diff mono', 'data-testid': 'change-diff' },
    ...lines.map((l) => h('span', { class: `diff-${l.kind}` }, `${l.kind === 'added' ? '+ ' : l.kind === 'removed' ? '- ' : '  '}${l.text}`)));
  const summary = h('summary', {}, `Diff: +${added} −${removed} lines`);
  return h('details', {}, summary, pre);
}

export function changesCard(): HTMLElement {
  const body = h('div', { class: 'scroll' });
  // Its own range (the page's picker belongs to the sign-in log and lives in the URL).
  const span = h('select', { 'aria-label': 'Changes from', 'data-testid': 'changes-range' },
    ...[['7', 'Last 7 days'], ['30', 'Last 30 days'], ['90', 'Last 90 days'], ['365', 'Last year']].map(([v, l]) => h('option', { value: v as string, selected: v === '30' }, l as string)));
  const columns: Column<ChangeEvent>[] = [
    { title: 'Time', value: (e) => h('span', { title: e.ts }, time(e.ts)) },
    { title: 'Change', value: (e) => LABEL[e.action] ?? e.action },
    { title: 'Of', value: (e) => e.target },
    { title: 'By', value: (e) => e.actor || h('span', { class: 'muted' }, '—') },
    { title: 'Via', value: (e) => e.via },
    { title: 'What', value: (e) => h('div', {}, h('div', {}, e.reason), e.before || e.after ? diffView(e) : '') },
    { title: 'Seq', value: (e) => h('span', { class: 'muted' }, e.seq), numeric: true },
  ];
  const load = async (): Promise<void> => {
    const to = new Date();
    const from = new Date(to.getTime() - Number(span.value) * 86_400_000);
    try {
      const page = await get<{ events: ChangeEvent[]; total: number }>('/api/v1/admin/events', { from: from.toISOString(), to: to.toISOString(), limit: 100, offset: 0, action: CHANGE_ACTIONS });
      body.replaceChildren(table(columns, page.events, 'No configuration changes in this range.', 'config-changes'),
        ...(page.total > page.events.length ? [h('p', { class: 'muted' }, `The newest ${page.events.length} of ${page.total} changes; narrow the range to see older ones.`)] : []));
    } catch (err) {
      body.replaceChildren(err instanceof ApiError && err.status === 403
        ? h('p', { class: 'notice' }, 'The change history names users of every subaccount, so only admins who see all subaccounts may read it.')
        : errorBox(err));
    }
  };
  span.addEventListener('change', () => void load());
  void load();
  const { button, outcome } = reloadButton(() => void load());
  return card('Configuration changes',
    h('p', { class: 'muted' }, 'Every change to access rules (reported by each connector on start and reload), relay and collector settings, API tokens, users and exporter settings, with who made it and how. Open a diff to see before and after.'),
    h('div', { class: 'toolbar' }, span, button), outcome, body);
}

interface ReloadAnswer { applied: boolean; message: string; changed: string[]; restart_needed: string[] }

/** Re-reads collector.yaml (as SIGHUP does): applied whole or refused whole; the answer says which. */
function reloadButton(done: () => void): { button: HTMLButtonElement; outcome: HTMLElement } {
  const outcome = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'button', 'data-testid': 'reload-config', title: 'Read collector.yaml again and apply it: users, API tokens, LDAP, ingest tokens, exporters and detection settings' }, 'Reload collector.yaml') as HTMLButtonElement;
  button.addEventListener('click', () => {
    button.disabled = true;
    post<ReloadAnswer>('/api/v1/admin/reload', {}).then((r) => {
      const restart = r.restart_needed.length > 0 ? ` Needs a restart to take effect: ${r.restart_needed.join(', ')}.` : '';
      outcome.replaceChildren(h('p', { class: 'notice', role: 'status' }, `Reloaded. ${r.changed.length > 0 ? `Changed: ${r.changed.join(', ')}.` : 'Nothing that can change live was different.'}${restart}`));
      done();
    }, (err: unknown) => outcome.replaceChildren(err instanceof ApiError && err.status === 422
      ? h('p', { class: 'notice', role: 'alert' }, `Refused, nothing changed: ${err.message}`)
      : errorBox(err))).finally(() => { button.disabled = false; });
  });
  return { button, outcome };
}
