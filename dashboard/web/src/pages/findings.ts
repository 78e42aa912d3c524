// Findings: what the anomaly detectors flagged, newest first, filtered by severity, detector and
// subaccount (kept in the URL). A row opens the finding: its explanation (observed value, baseline,
// threshold), its evidence, sample events, and a link to the calls behind it in the calls explorer.
import { get, withQuery } from '../lib/api.js';
import { card, clear, errorBox, h, table, type Column } from '../lib/dom.js';
import { count, time } from '../lib/format.js';
import { startPage } from '../lib/shell.js';
import { rangePicker, setQuery, type TimeRange } from '../lib/time-range.js';

interface Finding {
  finding_id: string; detector: string; severity: string; score: number; subaccount: string;
  entity_type: string; entity: string; window_start: string; window_end: string; title: string;
  explanation: string; evidence: Record<string, unknown>; first_detected_at: string; detected_at: string;
  calls_filter: Record<string, string>;
}
interface Answer { findings: Finding[]; by_severity: Record<string, number>; by_detector: Record<string, number> }

const SEVERITY_BADGE: Record<string, string> = { critical: 'deny', high: 'deny', medium: 'warn', low: 'muted' };
const SEVERITIES = ['low', 'medium', 'high', 'critical'];

const severityBadge = (s: string): HTMLElement => h('span', { class: `badge ${SEVERITY_BADGE[s] ?? 'muted'}`, 'data-testid': 'severity' }, s);

function evidenceTable(evidence: Record<string, unknown>): HTMLElement {
  const rows = Object.entries(evidence).filter(([k]) => k !== 'sample_event_ids');
  return table<[string, unknown]>([
    { title: 'Figure', value: ([k]) => h('code', {}, k) },
    { title: 'Value', value: ([, v]) => h('span', { class: 'mono' }, typeof v === 'string' ? v : JSON.stringify(v)) },
  ], rows, 'No figures.', 'finding-evidence');
}

function details(f: Finding): HTMLElement {
  const samples = Array.isArray(f.evidence.sample_event_ids) ? (f.evidence.sample_event_ids as string[]) : [];
  return card(f.title,
    h('p', {}, severityBadge(f.severity), ` score ${Math.round(f.score)} · `, h('code', {}, f.detector), ' · ',
      f.subaccount ? h('a', { href: `/subaccounts/${encodeURIComponent(f.subaccount)}` }, f.subaccount) : 'across subaccounts',
      ` · ${f.entity_type || 'subaccount'} `, h('strong', {}, f.entity || f.subaccount)),
    h('p', { 'data-testid': 'finding-explanation' }, f.explanation),
    h('p', { class: 'muted' }, `Window ${time(f.window_start)} – ${time(f.window_end)} · first flagged ${time(f.first_detected_at)} · updated ${time(f.detected_at)}`),
    h('p', {}, h('a', { href: withQuery('/calls', f.calls_filter), 'data-testid': 'finding-calls' }, 'Show the calls behind this finding →')),
    evidenceTable(f.evidence),
    samples.length > 0
      ? h('p', {}, 'Sample event ids (in the calls shown by the link above): ', h('span', { class: 'mono', 'data-testid': 'finding-samples' }, samples.join(', ')))
      : null);
}

void startPage((_session, root) => {
  const q = new URLSearchParams(location.search);
  const severity = h('select', { 'aria-label': 'Least severity', 'data-testid': 'min-severity' },
    h('option', { value: '' }, 'Any severity'), ...SEVERITIES.slice(1).map((s) => h('option', { value: s, selected: q.get('min_severity') === s }, `${s} or higher`)));
  const subaccount = h('input', { type: 'search', placeholder: 'all subaccounts', value: q.get('subaccount') ?? '', 'aria-label': 'Subaccount', 'data-testid': 'finding-subaccount' });
  const summary = h('div', { class: 'grid' });
  const list = h('div', { class: 'scroll' });
  const detail = h('div', { id: 'finding-detail' });
  let range: TimeRange | undefined;
  let selected = q.get('finding') ?? '';

  const columns: Column<Finding>[] = [
    { title: 'Severity', value: (f) => severityBadge(f.severity) },
    { title: 'Score', value: (f) => Math.round(f.score), numeric: true },
    { title: 'Window', value: (f) => h('span', { title: `${f.window_start} – ${f.window_end}` }, time(f.window_start)) },
    { title: 'Detector', value: (f) => h('code', {}, f.detector) },
    { title: 'Subaccount', value: (f) => f.subaccount || h('span', { class: 'muted' }, 'several') },
    { title: 'Entity', value: (f) => h('span', { class: 'path' }, f.entity ? `${f.entity_type}: ${f.entity}` : '—') },
    { title: 'What happened', value: (f) => h('a', { href: withQuery('/findings', { ...Object.fromEntries(new URLSearchParams(location.search)), finding: f.finding_id }), 'data-finding': f.finding_id }, f.title) },
  ];

  const load = async (): Promise<void> => {
    if (!range) return;
    try {
      const answer = await get<Answer>('/api/v1/findings', {
        from: range.from, to: range.to, min_severity: severity.value || undefined, subaccount: subaccount.value.trim() || undefined, limit: 500,
      });
      summary.replaceChildren(
        ...['critical', 'high', 'medium', 'low'].map((s) => h('div', { class: `card stat span-3${s === 'critical' || s === 'high' ? ' bad' : ''}` },
          h('h2', {}, s), h('div', { class: 'value' }, count(answer.by_severity[s] ?? 0)),
          h('div', { class: 'sub' }, s === 'critical' || s === 'high' ? 'act on these first' : 'review when time allows'))));
      list.replaceChildren(table(columns, answer.findings, 'No findings in this range: nothing unusual was flagged.', 'findings-table'));
      for (const a of list.querySelectorAll<HTMLAnchorElement>('a[data-finding]')) {
        a.addEventListener('click', (event) => {
          event.preventDefault();
          selected = a.dataset.finding ?? '';
          setQuery({ finding: selected });
          show(answer.findings);
        });
      }
      show(answer.findings);
    } catch (err) {
      list.replaceChildren(errorBox(err));
    }
  };
  const show = (findings: Finding[]): void => {
    clear(detail);
    const f = findings.find((x) => x.finding_id === selected);
    if (f) detail.appendChild(details(f));
  };
  const refilter = (): void => {
    setQuery({ min_severity: severity.value || undefined, subaccount: subaccount.value.trim() || undefined });
    void load();
  };
  severity.addEventListener('change', refilter);
  let typing: number | undefined;
  subaccount.addEventListener('input', () => { clearTimeout(typing); typing = window.setTimeout(refilter, 300); });

  const picker = rangePicker((r) => { range = r; void load(); }, { defaultKey: '24h', refreshMs: 30_000 });
  root.append(
    h('div', { class: 'toolbar' }, picker, severity, subaccount),
    summary,
    detail,
    card('Findings', h('p', { class: 'muted' }, 'Newest first. Each finding says what was observed, against which baseline, and the threshold it crossed; open one for its evidence and the calls behind it.'), list),
  );
});
