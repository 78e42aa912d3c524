// The title and explanation of an ops finding (docs/alerts.md), written from its evidence: what happened,
// since when, the figures, and what to do. Rewritten at every change, so a resolved finding reads as such.
import type { OpsEvidence } from './ops-findings.js';

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  if (min < 2880) return `${Math.floor(min / 60)} h ${min % 60} min`;
  return `${Math.round(min / 1440)} days`;
}

const str = (v: unknown): string => (Array.isArray(v) ? v.join(', ') : v === undefined || v === null ? '' : String(v));
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v) || 0);

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}

/** How a resolved finding ended, as a sentence. */
function ending(ev: OpsEvidence, what: string): string {
  if (ev.state !== 'resolved') return '';
  const after = duration(ev.duration_ms ?? 0);
  if (ev.resolution === 'superseded') return ` Closed at ${ev.recovered_at ?? ''}: ${ev.emitter_id} restarted and reported a new episode.`;
  if (ev.resolution === 'cleared') return ` ${ev.emitter_id} found ${what} fine at ${ev.recovered_at ?? ''} (after a restart): resolved by then at the latest, after ${after} or less.`;
  return ` Resolved at ${ev.recovered_at ?? ''} after ${after}.`;
}

export function opsTexts(ev: OpsEvidence): { title: string; explanation: string } {
  const d = ev.detail;
  const resolved = ev.state === 'resolved';
  const lasted = duration(ev.duration_ms ?? 0);
  switch (ev.alert) {
    case 'tunnel_down': {
      const loc = str(d.location_id) ? ` (location ${str(d.location_id)})` : '';
      const unserved = str(d.unserved_subaccounts);
      const impact = unserved
        ? `Calls for ${unserved} get 503 TW_ERR_PROXY_NO_CONNECTOR while it is down.`
        : str(d.served_by) ? `Connector ${str(d.served_by)} serves its subaccounts meanwhile (HA), so no calls fail, but the pair has no standby.` : '';
      return {
        title: resolved ? `Tunnel of connector ${ev.subject}${loc} was down for ${lasted}` : `Tunnel of connector ${ev.subject}${loc} is down`,
        explanation: `Relay ${str(d.relay_id) || ev.emitter_id} saw the tunnel session of connector ${ev.subject} (subaccounts ${str(d.subaccounts)}, from ${str(d.remote_address)}) end at ${ev.since}`
          + ` and no new session register within ${duration(num(d.grace_ms))}. Last error on its sessions: ${str(d.last_error) || 'none recorded'}. ${impact}`
          + ' What to do: check the connector host and process (its log, `tunnelwatch doctor`), the network path to the relay\'s tunnel port and its client certificate.'
          + ending(ev, 'the tunnel'),
      };
    }
    case 'failover': {
      const planned = d.planned === true;
      return {
        title: planned
          ? `Planned switch-over: connector ${ev.subject} now serves ${str(d.subaccounts)} in place of ${str(d.from)}`
          : `Failover: connector ${ev.subject} took over ${str(d.subaccounts)} from ${str(d.from)}`,
        explanation: `At ${ev.since} relay ${str(d.relay_id) || ev.emitter_id} made connector ${ev.subject} (HA ${str(d.ha_role)}) active for location "${str(d.location_id)}", subaccounts ${str(d.subaccounts)},`
          + ` in place of ${str(d.from)}: ${str(d.why)}.`
          + (planned ? ' Nothing to do if the switch-over was intended.' : ` What to do: find out why ${str(d.from)} failed (its host, its log, a tunnel_down alert) and bring it back; it rejoins as standby. Until then the pair has no standby.`),
      };
    }
    case 'spool_filling': {
      const pct = Math.round(num(d.fill_ratio) * 100);
      const full = d.refusing === true || num(d.fill_ratio) >= 1;
      return {
        title: resolved ? `Audit spool of ${ev.emitter} ${ev.subject} was filling for ${lasted}` : full ? `Audit spool of ${ev.emitter} ${ev.subject} is full${d.refusing === true ? ': calls are refused' : ''}` : `Audit spool of ${ev.emitter} ${ev.subject} is ${pct} % full`,
        explanation: `${ev.emitter} ${ev.subject} holds ${bytes(num(d.spool_bytes))} of audit events the collector has not acknowledged (${pct} % of audit.spool_max_bytes = ${bytes(num(d.spool_max_bytes))}, ${num(d.unshipped_events)} events).`
          + ` Last delivery error: ${str(d.last_error) || 'none'}; last delivery: ${str(d.last_success_at) || 'none since start'}.`
          + ' When full, calls are refused (audit.spool_full: refuse) or the oldest events stop being shipped (drop_oldest).'
          + ' What to do: check that the collector runs, is reachable from this host and accepts the ingest token (see the emitter\'s log, TW_ERR_SHIPPER_*), and the collector\'s store.'
          + (resolved ? ` Back at ${pct} % when resolved.` : '') + ending(ev, 'the spool'),
      };
    }
    case 'cert_expiring': {
      const key = str(d.config_key);
      const days = num(d.days_left);
      const renewed = str(d.renewed_on_disk_valid_to);
      const what = `Certificate ${key} of ${ev.emitter_id} (CN ${str(d.subject_cn)})`;
      return {
        title: resolved ? `${what} was replaced` : d.expired === true ? `${what} has expired` : `${what} expires in ${days} days`,
        explanation: `${str(d.file)} (${key}), issued by ${str(d.issuer_cn)}, serial ${str(d.serial)}, is valid until ${str(d.valid_to)}.`
          + ' A tunnel certificate that expires stops the tunnel: the relay refuses an expired client certificate and a connector refuses an expired relay certificate.'
          + (renewed ? ` A renewed certificate (valid until ${renewed}) is on disk: restart the ${ev.emitter} to load it.` : ` What to do: issue a new one (\`tunnelwatch pki issue\`, or your CA) and restart the ${ev.emitter}.`)
          + (resolved ? ` ${ev.emitter_id} no longer presents it since ${ev.recovered_at ?? ''}.` : ''),
      };
    }
    case 'exporter_stuck':
      return {
        title: resolved ? `Exporter ${ev.subject} delivers again after ${lasted}` : `Exporter ${ev.subject} is stuck: ${num(d.lag_records)} records waiting, nothing delivered since ${ev.since}`,
        explanation: `Exporter ${ev.subject} (${str(d.type)}) has ${num(d.lag_records)} records waiting, the oldest ${duration(num(d.lag_seconds) * 1000)} old, and no successful send since ${ev.since}`
          + ` (export.stuck_after_s = ${num(d.stuck_after_s)}); state ${str(d.exporter_state)}. Last error${str(d.last_error_kind) ? ` (${str(d.last_error_kind)})` : ''}: ${str(d.last_error) || 'none'}.`
          + ' What to do: check the receiver (up, credentials, index template or mapping) and the collector\'s log; the Exporters page shows lag and errors. This alert is itself a finding: it reaches the SIEM through the exporters that still deliver.'
          + ending(ev, 'the exporter'),
      };
  }
}
