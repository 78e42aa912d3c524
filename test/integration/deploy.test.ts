// CI checks of deploy/ (issue 8, part 5): everything that can be checked on a machine without a Docker
// engine, a Kubernetes cluster or helm. Docker does NOT run here: the compose files are validated against
// the compose-spec JSON schema and the Tunnelwatch configs they mount against our own schemas, never
// started. The chart is rendered by a Go-template subset renderer (test/unit/deploy/go-template.ts) and
// its objects are checked against the Kubernetes API schemas (kubernetes-models); helm itself runs only
// where a helm binary is on PATH. systemd units are checked by systemd-analyze where it is installed.
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { hashToken } from '../../connector/relay/token-store.js';
import { verifyPassword } from '../../dashboard/auth/password.js';
import { CHART, chartValues, mergeValues, pods, renderChart, type Container, type K8sObject } from '../unit/deploy/chart.js';
import { composeSchemaProblems, mergeCompose, readCompose } from '../unit/deploy/compose.js';
import { serviceProblems, tunnelwatchConfigProblems } from '../unit/deploy/compose-checks.js';
import { configPaths, generated, REPO, repoPath, validateProcessConfig, which, within } from '../unit/deploy/deploy-files.js';
import { configProblems, haProblems, objectProblems, podProblems } from '../unit/deploy/k8s-checks.js';
import { readUnit, setting } from '../unit/deploy/systemd-unit.js';

const require = createRequire(import.meta.url);
const COMPOSE = repoPath('deploy/compose');
const base = readCompose(`${COMPOSE}/docker-compose.yml`);
const override = readCompose(`${COMPOSE}/docker-compose.clickhouse.yml`);
const merged = mergeCompose(base, override);
const withHa = mergeCompose(base, readCompose(`${COMPOSE}/docker-compose.ha.yml`));
const temps: string[] = [];
after(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('deploy/compose', () => {
  it('docker-compose.yml, the ClickHouse and HA overrides and their merges are valid compose-spec files', () => {
    assert.deepEqual(composeSchemaProblems(base), []);
    assert.deepEqual(composeSchemaProblems(override), []);
    assert.deepEqual(composeSchemaProblems(merged), []);
    assert.deepEqual(composeSchemaProblems(readCompose(`${COMPOSE}/docker-compose.ha.yml`)), []);
    assert.deepEqual(composeSchemaProblems(withHa), []);
    assert.deepEqual(Object.keys(withHa.services).sort(), ['collector', 'connector', 'connector-shadow', 'relay']);
    assert.match(composeSchemaProblems({ services: { x: { imagex: 'y', restart: 1 } } }).join('\n'), /additional properties/, 'the schema is live');
    assert.deepEqual(Object.keys(base.services).sort(), ['collector', 'connector', 'relay']);
    assert.equal(merged.services.collector?.command?.at(-1), '/etc/tunnelwatch/collector-clickhouse.yaml');
    assert.match(String(merged.services.clickhouse?.image), /^\$\{CLICKHOUSE_IMAGE:-clickhouse\/clickhouse-server:/);
  });

  it('every service has an image or build, a healthcheck and a restart policy, and secrets only as files', () => {
    assert.deepEqual(serviceProblems(base), []);
    assert.deepEqual(serviceProblems(merged), []);
    assert.deepEqual(serviceProblems(withHa), []);
    for (const [name, svc] of Object.entries(withHa.services)) {
      assert.equal(svc?.read_only, true, `${name}: read-only root file system`);
      assert.deepEqual(svc?.cap_drop, ['ALL'], `${name}: drops every capability`);
    }
    assert.match(readFileSync(`${COMPOSE}/.gitignore`, 'utf8'), /^secrets\/$/m);
    // The relay logs every connection to its mTLS tunnel port that ends before the handshake.
    for (const [name, svc] of Object.entries({ ...merged.services, ...withHa.services })) assert.doesNotMatch(svc.healthcheck?.test?.join(' ') ?? '', /:8443/, `${name}: no health check on the tunnel port`);
    // Relay and connectors are checked on their own health routes (admin and ops listeners), not by a
    // connection or a writable folder.
    const probes = Object.fromEntries(Object.entries(withHa.services).map(([n, svc]) => [n, svc.healthcheck?.test?.at(-1)]));
    assert.deepEqual(probes, { collector: 'http://127.0.0.1:4318/readyz', relay: 'http://127.0.0.1:9090/readyz', connector: 'http://127.0.0.1:9091/readyz', 'connector-shadow': 'http://127.0.0.1:9091/readyz' });
  });

  it('the configs it mounts are valid for their process, and what they read and write exists in the container', () => {
    const a = tunnelwatchConfigProblems(base, COMPOSE);
    const b = tunnelwatchConfigProblems(merged, COMPOSE);
    assert.deepEqual([...a.problems, ...b.problems], []);
    assert.deepEqual(a.checked.sort(), ['collector:config/collector.yaml', 'connector:config/connector.yaml', 'relay:config/relay.yaml']);
    assert.ok(b.checked.includes('collector:config/collector-clickhouse.yaml'));
    const relay = a.configs.get('relay') as { admin: { listen: string }; tunnel: { connectors: { cn: string }[] } };
    const collector = a.configs.get('collector') as { dashboard: { relay_admin: { url: string; token_file: string } } };
    assert.equal(collector.dashboard.relay_admin.url, `http://relay:${relay.admin.listen.split(':')[1] ?? ''}`, 'the dashboard reaches the relay admin listener');
    assert.equal(base.services.collector?.secrets?.includes(collector.dashboard.relay_admin.token_file.replace('/run/secrets/', '')), true);
    assert.equal((a.configs.get('connector') as { ops?: { listen: string } }).ops?.listen, '0.0.0.0:9091');
    assert.equal('ha' in (a.configs.get('connector') ?? {}), false, 'the plain stack runs a standalone connector');
  });

  it('the HA override: the master gets its ha section from the environment, master and shadow name each other', () => {
    const { problems, checked, configs } = tunnelwatchConfigProblems(withHa, COMPOSE);
    assert.deepEqual(problems, []);
    assert.ok(checked.includes('connector-shadow:config/connector-shadow.yaml'));
    type Ha = { connector: { id: string; location_id: string }; ha: { role: string; listen: string; peer: string; peer_id: string; rules_cache?: string } };
    const master = configs.get('connector') as Ha;
    const shadow = configs.get('connector-shadow') as Ha;
    assert.equal(master.ha.role, 'master');
    assert.equal(shadow.ha.role, 'shadow');
    for (const [self, other, service] of [[master, shadow, 'connector-shadow'], [shadow, master, 'connector']] as const) {
      assert.equal(self.ha.peer_id, other.connector.id);
      assert.equal(self.ha.peer, `${service}:${other.ha.listen.split(':')[1] ?? ''}`, 'peer = the other service and its HA port');
    }
    assert.equal(master.connector.location_id, shadow.connector.location_id, 'one route: same location');
    assert.notEqual(master.connector.id, shadow.connector.id);
    const relayConnectors = (configs.get('relay') as { tunnel: { connectors: { cn: string }[] } }).tunnel.connectors.map((c) => c.cn);
    assert.ok(relayConnectors.includes(master.connector.id) && relayConnectors.includes(shadow.connector.id), 'the relay authorises both');
    const volumes = (n: string) => (withHa.services[n]?.volumes ?? []).find((v) => v.endsWith(':/var/lib/tunnelwatch'));
    assert.notEqual(volumes('connector'), volumes('connector-shadow'), 'each has its own spool volume');
    const broken = structuredClone(withHa);
    (broken.services.connector?.environment as Record<string, string>).TUNNELWATCH_HA__ROLE = 'primary';
    assert.match(tunnelwatchConfigProblems(broken, COMPOSE).problems.join('\n'), /ha\.role/, 'the environment is validated too');
  });

  it('the checks catch a bad config key, an inline secret and an unmounted file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-deploy-'));
    temps.push(dir);
    cpSync(COMPOSE, dir, { recursive: true });
    const relay = readFileSync(`${dir}/config/relay.yaml`, 'utf8');
    const bad = relay.replace('  listen: 0.0.0.0:8080', '  listen: 0.0.0.0:8080\n  colour: blue').replace('/run/secrets/relay_tls_key', '/run/secrets/nowhere');
    writeFileSync(`${dir}/config/relay.yaml`, bad);
    const problems = tunnelwatchConfigProblems(base, dir).problems.join('\n');
    assert.match(problems, /proxy\.colour: unknown key/);
    const withSecret = structuredClone(base);
    (withSecret.services.relay as { environment?: Record<string, string> }).environment = { CLICKHOUSE_PASSWORD: 'hunter2' };
    assert.match(serviceProblems(withSecret).join('\n'), /CLICKHOUSE_PASSWORD looks like an inline secret/);
    const unmounted = structuredClone(base);
    unmounted.services.relay!.secrets = ['tunnel_ca'];
    assert.match(tunnelwatchConfigProblems(unmounted, COMPOSE).problems.join('\n'), /tunnel\.tls\.key = \/run\/secrets\/relay_tls_key is neither one of its secrets/);
  });

  it('init-secrets.sh writes every secret the stack names, and configs that still validate (run twice)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tw-compose-'));
    temps.push(dir);
    cpSync(COMPOSE, dir, { recursive: true, filter: (src) => !src.includes('/secrets') });
    const env = { ...process.env, TW: `${process.execPath} ${repoPath('bin/tunnelwatch.js')}` };
    for (let run = 0; run < 2; run++) {
      const r = spawnSync('sh', [`${dir}/init-secrets.sh`], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    for (const [name, def] of Object.entries({ ...merged.secrets, ...withHa.secrets })) assert.ok(existsSync(join(dir, def.file ?? '')), `secret ${name}: ${def.file ?? ''} written`);
    const collector = parse(readFileSync(`${dir}/config/collector.yaml`, 'utf8')) as { collector: { ingest_tokens: { name: string; sha256: string }[] }; dashboard: { users: { password_hash: string }[] } };
    const token = (f: string) => readFileSync(`${dir}/secrets/${f}`, 'utf8');
    assert.deepEqual(collector.collector.ingest_tokens.map((t) => t.sha256), [hashToken(token('relay_ingest.token')), hashToken(token('connector_ingest.token'))]);
    assert.equal(await verifyPassword(token('dashboard_admin.password'), collector.dashboard.users[0]?.password_hash ?? ''), true);
    assert.equal(readFileSync(`${dir}/config/collector-clickhouse.yaml`, 'utf8').includes(collector.collector.ingest_tokens[0]?.sha256 ?? '-'), true);
    const relayAdmin = parse(readFileSync(`${dir}/config/relay.yaml`, 'utf8')) as { admin: { tokens: { sha256: string }[] } };
    assert.deepEqual(relayAdmin.admin.tokens.map((t) => t.sha256), [hashToken(token('relay_admin.token'))], 'the dashboard\'s relay admin token');
    for (const id of ['connector-1', 'connector-2']) {
      const ha = new X509Certificate(readFileSync(`${dir}/secrets/pki/${id}-ha.crt`));
      assert.match(ha.subject, new RegExp(`CN=${id}$`, 'm'));
      assert.deepEqual([...(ha.keyUsage ?? [])].sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], `${id}: HA certificate for server and client`);
    }
    const relayCert = new X509Certificate(readFileSync(`${dir}/secrets/pki/relay.crt`));
    assert.match(relayCert.subjectAltName ?? '', /DNS:relay\b/, 'the connector reaches the relay as "relay"');
    assert.match(new X509Certificate(readFileSync(`${dir}/secrets/pki/connector-1.crt`)).subject, /CN=connector-1/);
    const again = tunnelwatchConfigProblems(base, dir);
    assert.deepEqual(again.problems, []);
    assert.deepEqual(tunnelwatchConfigProblems(withHa, dir).problems, []);
  });

  it('docker compose config (needs the compose plugin; no Docker engine runs on this machine)', (t) => {
    const docker = which('docker');
    if (!docker || spawnSync(docker, ['compose', 'version']).status !== 0) {
      t.skip('no `docker compose` here: the files are checked against the compose-spec schema above, and never started');
      return;
    }
    for (const extra of ['docker-compose.clickhouse.yml', 'docker-compose.ha.yml']) {
      const r: SpawnSyncReturns<string> = spawnSync(docker, ['compose', '-f', 'docker-compose.yml', '-f', extra, 'config', '-q'], { cwd: COMPOSE, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = readFileSync(repoPath('deploy/Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const copies = (stage: string) => [...stage.matchAll(/^COPY (?!--from)(\S+) /gm)].map((m) => (m[1] as string).replace(/\/$/, ''));

  it('is multi-stage on node:20-bookworm-slim, builds with npm ci and tsc, prunes, and runs as a non-root user', () => {
    assert.equal(stages.length, 2);
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    assert.match(stages[0] ?? '', /npm ci/);
    assert.match(stages[0] ?? '', /npx tsc -p tsconfig\.json && npx tsc -p dashboard\/web\/tsconfig\.json/);
    assert.match(stages[0] ?? '', /npm prune --omit=dev/);
    assert.match(stages[1] ?? '', /^USER 10001:10001$/m);
  });

  it('copies every source folder the build compiles, and every folder the code reads at run time', () => {
    const tsconfig = JSON.parse(readFileSync(repoPath('tsconfig.json'), 'utf8')) as { include: string[] };
    const built = copies(stages[0] ?? '');
    for (const dir of tsconfig.include.filter((d) => d !== 'test' && d !== 'bench')) assert.ok(built.includes(dir), `build stage copies ${dir}`);
    const runtime = [...(stages[1] ?? '').matchAll(/^COPY --from=build \/src\/(\S+) /gm)].map((m) => m[1] as string);
    const grep = spawnSync('grep', ['-rhoE', "new URL\\('(\\.\\./)+[a-z]+/[^']*'", 'common', 'connector', 'collector', 'dashboard', 'cli'], { cwd: REPO, encoding: 'utf8' });
    const read = new Set(grep.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^new URL\('(\.\.\/)+/, '').replace(/\/?'$/, '')).filter((p) => !p.startsWith('docs/') && !p.startsWith('dist/')));
    assert.ok(read.has('collector/store/migrations'), `found the run-time reads: ${[...read].join(', ')}`);
    for (const p of read) assert.ok(runtime.some((c) => within(p, c.replace(/\/$/, ''))), `runtime stage copies ${p}`);
    assert.ok(runtime.includes('dashboard/web/static'), 'the dashboard static files');
  });

  it('its .dockerignore lets every copied path into the build context', () => {
    const ignore = readFileSync(repoPath('deploy/Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const src of [...copies(stages[0] ?? ''), ...copies(stages[1] ?? '')]) {
      assert.ok(existsSync(repoPath(src)), `${src} exists`);
      assert.ok(ignore.includes(`!${src}`) || ignore.includes(`!${src}/`), `.dockerignore re-includes ${src}`);
    }
  });
});

const objectsOf = (kind: string, objects: K8sObject[]) => objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).sort();
/** HA on, with the shadow authorised at the relay (values lists replace, so the whole list). */
const HA = {
  connector: { ha: { enabled: true, timings: { check_interval_ms: 500 } } },
  relay: { config: { tunnel: { connectors: [{ cn: 'connector-1', subaccounts: ['example'] }, { cn: 'connector-1-shadow', subaccounts: ['example'] }] } } },
};

describe('deploy/helm/tunnelwatch', () => {
  const Ajv = (require('ajv') as { default: new (o: object) => { compile(s: unknown): ((d: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null } } }).default;
  const valuesSchema = JSON.parse(readFileSync(`${CHART}/values.schema.json`, 'utf8')) as unknown;

  it('values.schema.json is what scripts/gen-helm-schema.mjs makes from the config schemas', () => {
    assert.equal(readFileSync(`${CHART}/values.schema.json`, 'utf8'), generated('gen-helm-schema.mjs'), 'run `npm run build && node scripts/gen-helm-schema.mjs`');
  });

  it('values.yaml passes values.schema.json (as helm checks at install), and a wrong config key does not', () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(valuesSchema);
    assert.equal(validate(chartValues()), true, JSON.stringify(validate.errors));
    assert.equal(validate(mergeValues(chartValues(), HA)), true, JSON.stringify(validate.errors));
    type Bad = { connector: { config: Record<string, Record<string, unknown>>; ha: { timings: Record<string, unknown> } }; relay: { probes: Record<string, unknown>; config: Record<string, unknown> } };
    const bad = chartValues() as Bad;
    bad.connector.config.relay!.adress = 'x:1';
    bad.connector.config.ha = { role: 'master' };   // the chart renders ha from connector.ha
    bad.connector.ha.timings.check_interval_ms = 10; // below the connector's minimum
    bad.relay.probes.liveness = { periodSeconds: 5 };
    delete bad.relay.config.admin;                   // the probes need the admin listener
    assert.equal(validate(bad), false);
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`).join('\n');
    for (const at of ['/connector/config/relay ', '/connector/config ', '/connector/ha/timings/check_interval_ms ', '/relay/probes/liveness ', "/relay/config must have required property 'admin'"]) assert.ok(errors.includes(at), `${at}\n${errors}`);
  });

  const variants: [string, Record<string, unknown>][] = [
    ['defaults', {}],
    ['HA, placeholder Secrets, ClickHouse server', {
      ...HA,
      secrets: { createPlaceholders: true },
      collector: { clickhousePasswordSecret: 'tw-clickhouse', config: { store: { url: 'http://clickhouse:8123', password_file: '/etc/tunnelwatch/clickhouse/password' } } },
    }],
    ['relay only, three replicas', { relay: { replicas: 3 }, connector: { enabled: false }, collector: { enabled: false } }],
  ];
  for (const [name, overrides] of variants) {
    it(`renders (${name}) into valid objects with probes, resources, security contexts and valid configs`, () => {
      const { objects } = renderChart(overrides);
      assert.deepEqual(objectProblems(objects), []);
      assert.deepEqual(podProblems(objects), []);
      const { problems, configs } = configProblems(objects);
      assert.deepEqual(problems, []);
      assert.deepEqual(haProblems(objects, configs), []);
    });
  }

  it('probes relay and connector over HTTP on their admin and ops listeners; the admin port stays inside the cluster', () => {
    const { objects } = renderChart(HA);
    const container = (name: string): Container => pods(objects).find((p) => p.owner.metadata.name === name)?.spec.containers[0] as Container;
    const probe = (c: Container, kind: 'livenessProbe' | 'readinessProbe') => c[kind]?.httpGet as { path: string; port: string } | undefined;
    for (const [pod, port] of [['tunnelwatch-relay', 'admin'], ['tunnelwatch-connector', 'ops'], ['tunnelwatch-connector-shadow', 'ops']]) {
      const c = container(pod as string);
      assert.deepEqual([probe(c, 'livenessProbe'), probe(c, 'readinessProbe')], [{ path: '/healthz', port }, { path: '/readyz', port }], pod);
      assert.equal(c.startupProbe, undefined, `${pod}: no exec or startup probe`);
    }
    const ports = (name: string) => ((objects.find((o) => o.kind === 'Service' && o.metadata.name === name)?.spec as { ports: { name: string; port: number }[] }).ports).map((p) => `${p.name}:${p.port}`);
    assert.deepEqual(ports('tunnelwatch-relay'), ['proxy:8080', 'tunnel:8443'], 'no admin port on the LoadBalancer');
    assert.deepEqual(ports('tunnelwatch-relay-admin'), ['admin:9090']);
    assert.equal((objects.find((o) => o.metadata.name === 'tunnelwatch-relay-admin')?.spec as { type: string }).type, 'ClusterIP');
    // The dashboard reaches that Service with a token from an optional Secret (the pod starts without it).
    const { configs } = configProblems(objects);
    const dashboard = configs.get('tunnelwatch-collector/collector')?.dashboard as { relay_admin: { url: string; token_file: string } };
    assert.equal(dashboard.relay_admin.url, 'http://tunnelwatch-relay-admin:9090');
    const collector = pods(objects).find((p) => p.owner.metadata.name === 'tunnelwatch-collector');
    const volume = collector?.spec.volumes?.find((v) => v.name === 'relay-admin') as { secret?: { secretName: string; optional?: boolean } } | undefined;
    assert.deepEqual(volume?.secret && { name: volume.secret.secretName, optional: volume.secret.optional }, { name: 'tunnelwatch-relay-admin', optional: true });
    assert.ok(collector?.spec.containers[0]?.volumeMounts?.some((m) => m.name === 'relay-admin' && dashboard.relay_admin.token_file.startsWith(`${m.mountPath}/`)));
  });

  it('renders master only by default, and master plus shadow with complete ha sections when HA is on', () => {
    const plain = renderChart().objects;
    assert.deepEqual(objectsOf('StatefulSet', plain), ['tunnelwatch-collector', 'tunnelwatch-connector', 'tunnelwatch-relay']);
    assert.equal([...configProblems(plain).configs.values()].some((c) => 'ha' in c), false, 'a standalone connector without HA');
    assert.equal(objectsOf('Secret', plain).length, 0, 'no Secret objects unless placeholders are asked for');
    const ha = renderChart(variants[1]?.[1]).objects;
    assert.deepEqual(objectsOf('StatefulSet', ha), ['tunnelwatch-collector', 'tunnelwatch-connector', 'tunnelwatch-connector-shadow', 'tunnelwatch-relay']);
    const configs = configProblems(ha).configs;
    const master = configs.get('tunnelwatch-connector/connector') as Record<string, unknown>;
    const shadow = configs.get('tunnelwatch-connector-shadow/connector') as Record<string, unknown>;
    const tls = { cert: '/etc/tunnelwatch/ha-tls/tls.crt', key: '/etc/tunnelwatch/ha-tls/tls.key', ca: '/etc/tunnelwatch/ha-tls/ca.crt' };
    const timings = { check_interval_ms: 500, takeover_delay_ms: 3000, drain_timeout_ms: 30000 };
    assert.deepEqual(master.ha, { role: 'master', listen: '0.0.0.0:9443', peer: 'tunnelwatch-connector-shadow-headless:9443', peer_id: 'connector-1-shadow', tls, ...timings });
    assert.deepEqual(shadow.ha, { role: 'shadow', listen: '0.0.0.0:9443', peer: 'tunnelwatch-connector-headless:9443', peer_id: 'connector-1', tls, ...timings, rules_cache: '/var/lib/tunnelwatch/ha-rules.json' });
    const { ha: _m, connector: masterId, ...masterRest } = master;
    const { ha: _s, connector: shadowId, ...shadowRest } = shadow;
    assert.deepEqual(shadowRest, masterRest, 'the same config but for connector.id and ha');
    assert.deepEqual([masterId, shadowId], [{ id: 'connector-1', location_id: '' }, { id: 'connector-1-shadow', location_id: '' }]);
    // Each mounts its own certificates at the same paths.
    const secretOf = (sts: string, volume: string) => pods(ha).find((p) => p.owner.metadata.name === sts)?.spec.volumes?.find((v) => v.name === volume)?.secret?.secretName;
    assert.deepEqual([secretOf('tunnelwatch-connector', 'tls'), secretOf('tunnelwatch-connector', 'ha-tls'), secretOf('tunnelwatch-connector-shadow', 'tls'), secretOf('tunnelwatch-connector-shadow', 'ha-tls')],
      ['tunnelwatch-connector-tls', 'tunnelwatch-connector-ha-tls', 'tunnelwatch-connector-shadow-tls', 'tunnelwatch-connector-shadow-ha-tls']);
    assert.deepEqual(objectsOf('Secret', ha), ['tunnelwatch-connector-ha-tls', 'tunnelwatch-connector-ingest', 'tunnelwatch-connector-shadow-ha-tls', 'tunnelwatch-connector-shadow-tls', 'tunnelwatch-connector-tls', 'tunnelwatch-relay-admin', 'tunnelwatch-relay-ingest', 'tunnelwatch-relay-tls', 'tw-clickhouse']);
    const collector = ha.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'tunnelwatch-collector');
    assert.equal((collector?.spec as { volumeClaimTemplates?: unknown }).volumeClaimTemplates, undefined, 'no volume claim with a ClickHouse server');
  });

  it('a rule change rolls the master only; the chart refuses a shadow with the master\'s id', () => {
    const checksum = (o: Record<string, unknown>, sts: string) => (renderChart(mergeValues(HA, o) as Record<string, unknown>).objects.find((x) => x.kind === 'StatefulSet' && x.metadata.name === sts)?.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations['checksum/config'];
    const rules = { connector: { config: { subaccounts: { example: { mappings: [{ virtual: 'erp:80', internal: 'erp.corp:80', protocol: 'http' }] } } } } };
    const timing = { connector: { ha: { timings: { takeover_delay_ms: 5000 } } } };
    assert.notEqual(checksum(rules, 'tunnelwatch-connector'), checksum({}, 'tunnelwatch-connector'));
    assert.equal(checksum(rules, 'tunnelwatch-connector-shadow'), checksum({}, 'tunnelwatch-connector-shadow'), 'the shadow enforces the master\'s rules');
    assert.notEqual(checksum(timing, 'tunnelwatch-connector-shadow'), checksum({}, 'tunnelwatch-connector-shadow'));
    assert.throws(() => renderChart(mergeValues(HA, { connector: { ha: { shadow: { id: 'connector-1' } } } }) as Record<string, unknown>), /shadow\.id must differ/);
  });

  it('gives each relay replica its pod name as relay.id (one audit emitter per instance)', () => {
    const relay = renderChart(variants[2]?.[1]).objects.find((o) => o.metadata.name === 'tunnelwatch-relay' && o.kind === 'StatefulSet');
    const env = (relay?.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }).template.spec.containers[0]?.env ?? [];
    assert.equal(env.find((e) => e.name === 'TUNNELWATCH_RELAY__ID')?.value, '$(POD_NAME)');
    const config = { ...(chartValues() as { relay: { config: { relay: object } } }).relay.config, relay: { id: 'tunnelwatch-relay-2' } };
    assert.doesNotThrow(() => validateProcessConfig('relay', config, 'relay.id from a pod name'));
  });

  it('the checks catch a probe on a missing port, a config typo, a Secret with values and a broken HA pair', () => {
    const { objects } = renderChart({ relay: { probes: { liveness: { httpGet: { port: 'metrics' } }, readiness: { httpGet: { port: 'tunnel' } } } }, collector: { config: { store: { data_dri: '/x' } } } });
    assert.match(podProblems(objects).join('\n'), /liveness probe names port "metrics"/);
    assert.match(podProblems(objects).join('\n'), /readiness probe connects to a tunnel port/);
    assert.match(configProblems(objects).problems.join('\n'), /store\.data_dri: unknown key/);
    const secret: K8sObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { token: 'eA==' } };
    assert.match(objectProblems([secret]).join('\n'), /must carry no values/);
    const ha = renderChart(mergeValues(HA, { relay: { config: { tunnel: { connectors: [{ cn: 'connector-1', subaccounts: ['example'] }] } } } }) as Record<string, unknown>).objects;
    const headless = ha.find((o) => o.metadata.name === 'tunnelwatch-connector-shadow-headless')?.spec as { publishNotReadyAddresses?: boolean };
    delete headless.publishNotReadyAddresses;
    const problems = haProblems(ha, configProblems(ha).configs).join('\n');
    assert.match(problems, /connector-1-shadow \(shadow\): the relay's tunnel\.connectors does not authorise it/);
    assert.match(problems, /Service tunnelwatch-connector-shadow-headless must be headless and publish not-ready addresses/);
  });

  it('helm lint and helm template (only where a helm binary is installed)', (t) => {
    const helm = which('helm');
    if (!helm) {
      t.skip('no helm binary on this machine: the chart is rendered by the Go-template subset renderer above');
      return;
    }
    assert.equal(spawnSync(helm, ['lint', CHART]).status, 0);
    const r = spawnSync(helm, ['template', 'tunnelwatch', CHART], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.match(/^kind: \w+$/gm)?.sort(), renderChart().objects.map((o) => `kind: ${o.kind}`).sort());
  });
});

describe('deploy/systemd', () => {
  const SYSTEMD = repoPath('deploy/systemd');
  const units = ['relay', 'connector', 'collector'];
  const HARDENING: Record<string, string> = {
    User: 'tunnelwatch', NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', PrivateDevices: 'yes',
    CapabilityBoundingSet: '', AmbientCapabilities: '', RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX', RestrictNamespaces: 'yes',
    LockPersonality: 'yes', Restart: 'on-failure',
  };
  // SIGHUP no longer ends any process: the connector reloads its rules, relay and collector only log that
  // a restart is needed, so only the connector has a reload worth a `systemctl reload`.
  const RELOAD: Record<string, string | undefined> = { connector: '/bin/kill -HUP $MAINPID', relay: undefined, collector: undefined };

  for (const name of units) {
    it(`tunnelwatch-${name}.service: hardening, restart, reload, and paths that match its example config`, () => {
      const unit = readUnit(`${SYSTEMD}/tunnelwatch-${name}.service`);
      for (const [key, value] of Object.entries(HARDENING)) assert.equal(setting(unit, 'Service', key), value, `${name}: ${key}`);
      assert.equal(setting(unit, 'Service', 'ExecReload'), RELOAD[name], `${name}: ExecReload`);
      assert.equal(setting(unit, 'Service', 'RestartForceExitStatus'), undefined, `${name}: SIGHUP is no exit any more`);
      assert.equal(setting(unit, 'Service', 'MemoryDenyWriteExecute'), undefined, 'V8 needs W+X memory');
      assert.equal(setting(unit, 'Service', 'ExecStart'), `/usr/bin/node /opt/tunnelwatch/bin/tunnelwatch.js ${name} --config /etc/tunnelwatch/${name}.yaml`);
      assert.equal(setting(unit, 'Service', 'EnvironmentFile'), `-/etc/tunnelwatch/${name}.env`, 'optional environment file');
      const config = validateProcessConfig(name, parse(readFileSync(`${SYSTEMD}/${name}.yaml`, 'utf8')), `deploy/systemd/${name}.yaml`);
      const writable = setting(unit, 'Service', 'ReadWritePaths') ?? '';
      const { writes } = configPaths(config);
      assert.ok(writes.size > 0);
      for (const [key, dir] of writes) assert.ok(within(dir, writable), `${key} = ${dir} is under ReadWritePaths=${writable}`);
      assert.equal(`/var/lib/${setting(unit, 'Service', 'StateDirectory') ?? ''}`, writable, 'StateDirectory creates it for the user');
    });
  }

  it('the sysusers file creates the user the units run as', () => {
    assert.match(readFileSync(`${SYSTEMD}/tunnelwatch.sysusers`, 'utf8'), /^u tunnelwatch - /m);
  });

  const analyze = which('systemd-analyze');
  it('systemd-analyze verify finds no problem (warnings included)', (t) => {
    if (!analyze) {
      t.skip('systemd-analyze is not installed (Debian package systemd): only the key checks above ran');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'tw-units-'));
    temps.push(dir);
    for (const name of units) {
      // verify checks that ExecStart's binary exists: point at this machine's node when it lives elsewhere.
      const text = readFileSync(`${SYSTEMD}/tunnelwatch-${name}.service`, 'utf8');
      writeFileSync(`${dir}/tunnelwatch-${name}.service`, existsSync('/usr/bin/node') ? text : text.replaceAll('/usr/bin/node', process.execPath));
    }
    const r = spawnSync(analyze, ['verify', ...units.map((n) => `${dir}/tunnelwatch-${n}.service`)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no warnings (an unknown key is only a warning)');
    for (const n of units) {
      const s: SpawnSyncReturns<string> = spawnSync(analyze, ['security', '--offline=true', '--threshold=20', `${dir}/tunnelwatch-${n}.service`], { encoding: 'utf8' });
      assert.equal(s.status, 0, `${n}: exposure above 2.0\n${s.stdout.split('\n').filter((l) => l.includes('✗')).join('\n')}`);
    }
  });
});

describe('deploy/clickhouse/cluster.sql', () => {
  it('is exactly what collector/store/cluster-ddl.ts renders from the current migrations', () => {
    const file = readFileSync(repoPath('deploy/clickhouse/cluster.sql'), 'utf8');
    assert.equal(file, generated('gen-cluster-ddl.mjs'), 'run `npm run build && node scripts/gen-cluster-ddl.mjs`');
    const creates = file.match(/^CREATE (TABLE|MATERIALIZED VIEW) IF NOT EXISTS \w+ ON CLUSTER tunnelwatch_cluster/gm) ?? [];
    assert.equal(creates.length, (file.match(/^CREATE /gm) ?? []).length, 'every CREATE runs ON CLUSTER');
    assert.match(file, /CREATE TABLE IF NOT EXISTS audit_events ON CLUSTER tunnelwatch_cluster AS audit_events_local\nENGINE = Distributed/);
  });
});
