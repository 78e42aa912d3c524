// `tunnelwatch connector switch-roles | ha-status | ha-cert`: running a master/shadow connector pair
// (docs/ha.md). switch-roles and ha-status talk to the local connector's HA listener with the connector's own
// HA certificate (the listener admits its own CN and the peer's); ha-cert issues that certificate.
import { loadConfigFile } from '../../common/config/load-config.js';
import { TunnelwatchError } from '../../common/errors.js';
import { ConnectorConfigSchema, type ConnectorConfig, type HaConfig } from '../../connector/agent/config-schema.js';
import { HaClient, localAddress, readHaTls } from '../../connector/ha/ha-link.js';
import type { HaState } from '../../connector/ha/ha-node.js';
import { haCertFiles, issueHaFiles } from '../../connector/ha/ha-pki.js';
import { ACK_TIMEOUT_MS } from '../../connector/ha/ha-runtime.js';
import { PkiError } from '../../connector/pki/pki.js';
import { parseOptions, UsageError } from '../command.js';

export interface ConnectorSubcommand {
  readonly name: string;
  run(args: string[]): Promise<number>;
}

export const HA_HELP = `High availability (docs/ha.md):
  tunnelwatch connector switch-roles --config connector.yaml [--json]
      Planned switch-over of a master/shadow pair, run on either connector's host: the standby connector
      is made active at the relay first (new calls go to it), then the old active one drains its calls
      in flight (up to ha.drain_timeout_ms). No call fails. Exit 0 done, 1 refused or failed.
  tunnelwatch connector ha-status --config connector.yaml [--json]
      This connector's HA state (active or standby, routed, ready, tunnel, rules hash, calls in flight)
      and what it last heard from its peer; with relay.addresses, each relay's tunnel and routing.
  tunnelwatch connector ha-cert --pki DIR --name CONNECTOR_ID [--force]
      Issues DIR/CONNECTOR_ID-ha.crt and .key from the tunnel CA in DIR (ca.crt, ca.key): the
      certificate of ha.tls (CN = connector id, serverAuth and clientAuth).`;

const CONFIG_OPTIONS = { config: { type: 'string', short: 'c' }, json: { type: 'boolean', default: false } } as const;

function localClient(args: string[]): { client: HaClient; config: ConnectorConfig; ha: HaConfig; json: boolean } {
  const { values } = parseOptions(args, CONFIG_OPTIONS);
  if (!values.config) throw new UsageError('--config FILE is required');
  const config = loadConfigFile(ConnectorConfigSchema, values.config) as ConnectorConfig;
  const ha = config.ha;
  if (!ha) throw new TunnelwatchError('TW_ERR_HA_NOT_CONFIGURED', values.config);
  const tls = readHaTls(values.config, ha, config.connector.id);
  return { client: new HaClient({ address: localAddress(ha.listen), expectId: config.connector.id, tls }), config, ha, json: values.json };
}

interface SwitchResult {
  from: string;
  to: string;
  drained: boolean;
  inflight_left: number;
  ms: number;
}

const switchRoles: ConnectorSubcommand = {
  name: 'switch-roles',
  async run(args) {
    const { client, ha, json } = localClient(args);
    try {
      const r = await client.request<SwitchResult & { code?: string; message?: string }>('POST', '/ha/v1/switch-roles', {}, ha.drain_timeout_ms + 3 * ACK_TIMEOUT_MS + 10_000);
      if (json) console.log(JSON.stringify(r.body ?? { status: r.status }));
      if (r.status !== 200 || !r.body) {
        if (!json) console.error(`switch-over refused or failed (${r.status}): ${r.body?.code ?? ''} ${r.body?.message ?? ''}`.trim());
        return 1;
      }
      const b = r.body;
      if (!json) {
        console.log(`switch-over done in ${b.ms} ms: ${b.to} is active, ${b.from} is standby`);
        console.log(b.drained ? `${b.from} finished all its calls in flight` : `${b.from} still had ${b.inflight_left} call(s) in flight after ha.drain_timeout_ms; they go on`);
      }
      return 0;
    } catch (err) {
      console.error(`cannot reach this connector's HA listener at ${localAddress(ha.listen)}: ${(err as Error).message}`);
      return 1;
    } finally {
      client.close();
    }
  },
};

const haStatus: ConnectorSubcommand = {
  name: 'ha-status',
  async run(args) {
    const { client, ha, json } = localClient(args);
    try {
      const r = await client.request<HaState>('GET', '/ha/v1/state?rules=0', undefined, 5_000);
      if (r.status !== 200 || !r.body) {
        console.error(`the HA listener answered ${r.status}`);
        return 1;
      }
      const s = r.body;
      if (json) console.log(JSON.stringify(s));
      else {
        console.log(`${s.connector_id} (${s.role}): ${s.active ? 'active' : 'standby'}${s.routed ? ', routed by the relay' : ''}${s.switching ? ', switching' : ''} since ${s.since}`);
        console.log(`  tunnel ${s.tunnel}, ${s.ready ? 'ready' : 'not ready (no rules from the master yet)'}, rules ${s.rules_hash}, ${s.inflight} call(s) in flight`);
        for (const r of s.relays ?? []) console.log(`  relay ${r.address}: tunnel ${r.tunnel}${r.routed ? ', routes to this connector' : ''}`);
        console.log(`  peer ${s.peer.id}: ${s.peer.answered ? `answering, ${s.peer.active ? 'active' : 'standby'}` : `not answering (${s.peer.misses} checks missed${s.peer.last_answer_at ? `, last answer ${s.peer.last_answer_at}` : ''})`}`);
      }
      return 0;
    } catch (err) {
      console.error(`cannot reach this connector's HA listener at ${localAddress(ha.listen)}: ${(err as Error).message}`);
      return 1;
    } finally {
      client.close();
    }
  },
};

const haCert: ConnectorSubcommand = {
  name: 'ha-cert',
  async run(args) {
    const { values } = parseOptions(args, { pki: { type: 'string' }, name: { type: 'string' }, force: { type: 'boolean', default: false } });
    if (!values.pki || !values.name) throw new UsageError('--pki DIR and --name CONNECTOR_ID are required');
    try {
      const written = await issueHaFiles(values.pki, values.name, { force: values.force });
      for (const p of written) console.log(p);
      const f = haCertFiles(values.name);
      console.error(`ha.tls of ${values.name}: { cert: ${f.cert}, key: ${f.key}, ca: ca.crt } (paths relative to connector.yaml)`);
      return 0;
    } catch (err) {
      if (err instanceof PkiError) {
        console.error(`tunnelwatch connector ha-cert: ${err.message}`);
        return 2;
      }
      throw err;
    }
  },
};

export const HA_SUBCOMMANDS: readonly ConnectorSubcommand[] = [switchRoles, haStatus, haCert];
