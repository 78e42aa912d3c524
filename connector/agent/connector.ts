// The connector process: keeps the tunnel up and turns each incoming stream into a decided,
// forwarded and audited call.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { AuditEmitter } from '../../common/audit/emitter.js';
import { openAuditEmitter } from '../../common/audit/open-emitter.js';
import { resolveFrom } from '../../common/config/load-config.js';
import { splitHostPort } from '../../common/config/schema-parts.js';
import type { Logger } from '../../common/log.js';
import { decide } from '../acl/decide.js';
import { compilePolicy, type CompiledPolicy } from '../acl/policy.js';
import { readTlsFiles } from '../tunnel/tls-files.js';
import { BackendPool } from './backend-pool.js';
import type { ConnectorConfig } from './config-schema.js';
import { ConnectorCall } from './connector-call.js';
import { forwardHttp, type BackendTimeouts } from './forward-http.js';
import { forwardTcp } from './forward-tcp.js';
import { ruleReporterOf } from './rule-report.js';
import { TunnelClient } from './tunnel-client.js';
import { createCallTracer } from '../../common/tracing/create-tracer.js';
import type { CallTracer } from '../../common/tracing/call-span.js';

export interface RunningConnector {
  readonly tunnel: TunnelClient;
  /**
   * Reports a policy's rules to the collector (with audit.collector; otherwise nothing). Called at start;
   * whatever swaps the policy at run time must call it with the new one.
   */
  reportRules(policy: CompiledPolicy): void;
  close(): Promise<void>;
}

export async function startConnector(config: ConnectorConfig, configFile: string, log: Logger): Promise<RunningConnector> {
  const policy: CompiledPolicy = compilePolicy(config.subaccounts);
  const tlsMaterial = readTlsFiles(configFile, 'relay.tls', config.relay.tls);
  const audit = openAuditEmitter({ emitter: 'connector', emitterId: config.connector.id, audit: config.audit, configFile, log: log.child({ component: 'connector.audit' }) });
  const pool = new BackendPool({ maxIdleSockets: config.backend.max_idle_sockets, resolvePath: (p) => resolveFrom(configFile, p) });
  const timeouts: BackendTimeouts = { connectTimeoutMs: config.backend.connect_timeout_ms, responseTimeoutMs: config.backend.response_timeout_ms };
  const callLog = log.child({ component: 'connector.call' });
  const tracer = createCallTracer({ serviceName: 'tunnelwatch-connector', instanceId: config.connector.id, config: config.tracing, configFile, log });
  const secretQueryParams = config.audit.secret_query_params;
  const rules = ruleReporterOf(config, configFile, log);
  const reportRules = (p: CompiledPolicy): void => rules?.report(p);
  reportRules(policy);

  const onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    handleCall(stream, headers, { policy, tracer, audit, pool, timeouts, log: callLog, secretQueryParams });
  };
  const relay = splitHostPort(config.relay.address);
  const tunnel = new TunnelClient({
    host: relay.host,
    port: relay.port,
    serverName: config.relay.server_name,
    tls: tlsMaterial,
    pingIntervalMs: config.relay.ping_interval_ms,
    backoff: {
      initialDelayMs: config.relay.reconnect.initial_delay_ms,
      maxDelayMs: config.relay.reconnect.max_delay_ms,
      jitter: config.relay.reconnect.jitter,
    },
    hello: () => ({
      connector_id: config.connector.id,
      location_id: config.connector.location_id,
      subaccounts: Object.keys(config.subaccounts),
      protocol: 1,
      version: '0.1.0',
    }),
    onStream,
    log,
  });
  tunnel.start();
  log.info({ relay: config.relay.address, connector_id: config.connector.id, location_id: config.connector.location_id, subaccounts: Object.keys(config.subaccounts) }, 'connector started');
  return {
    tunnel,
    reportRules,
    async close() {
      rules?.close();
      await tunnel.stop();
      pool.close();
      await audit.close();
      await tracer.shutdown();
    },
  };
}

interface CallContext {
  policy: CompiledPolicy;
  tracer: CallTracer;
  audit: AuditEmitter;
  pool: BackendPool;
  timeouts: BackendTimeouts;
  log: Logger;
  secretQueryParams: readonly string[];
}

function handleCall(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ctx: CallContext): void {
  const call = new ConnectorCall(stream, headers, ctx.audit, ctx.log, ctx.tracer);
  stream.once('close', () => call.finish());
  stream.on('error', (err) => ctx.log.debug({ err: err.message, trace_id: call.record.trace_id }, 'call stream error'));
  if (!ctx.audit.healthy) {
    call.failBackend({ errorType: 'internal', code: 'TW_ERR_AUDIT_UNAVAILABLE', detail: 'the connector cannot keep audit events (disk error, or the delivery spool is full)' });
    return;
  }
  const decision = decide(ctx.policy, call.accessRequest());
  call.applyDecision(decision, ctx.secretQueryParams);
  if (decision.decision === 'deny' || !decision.mapping) {
    call.deny(decision);
    return;
  }
  const mapping = decision.mapping;
  if (call.kind === 'connect') forwardTcp(call, mapping, ctx.pool, ctx.timeouts);
  else forwardHttp(call, mapping, decision.query ? `${decision.path}?${decision.query}` : decision.path, ctx.pool, ctx.timeouts);
}
