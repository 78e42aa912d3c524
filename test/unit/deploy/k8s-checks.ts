// What the chart promises about its objects, as lists of problems (empty = fine), so a failing check
// names every object and field at once.
import { posix } from 'node:path';
import { parse } from 'yaml';
import { pods, validateK8s, type Container, type K8sObject, type PodView } from './chart.js';
import { configPaths, validateProcessConfig, within } from './deploy-files.js';

export function objectProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const o of objects) {
    const id = `${o.kind ?? '?'}/${o.metadata?.name ?? '?'}`;
    if (!o.apiVersion || !o.kind || !o.metadata?.name) problems.push(`${id}: apiVersion, kind and metadata.name are required`);
    if (names.has(id)) problems.push(`${id}: rendered twice`);
    names.add(id);
    try {
      validateK8s(o);
    } catch (err) {
      problems.push(`${id}: Kubernetes schema: ${(err as Error).message}`);
    }
    if (o.kind === 'Secret' && (o.data !== undefined || o.stringData !== undefined)) problems.push(`${id}: a Secret in the chart must carry no values`);
  }
  return problems;
}

function containerProblems(id: string, c: Container, pod: PodView): string[] {
  const problems: string[] = [];
  const where = `${id} container ${c.name}`;
  if (!c.readinessProbe) problems.push(`${where}: no readinessProbe`);
  if (!c.livenessProbe) problems.push(`${where}: no livenessProbe`);
  if (!c.resources?.requests?.cpu || !c.resources.requests.memory || !c.resources.limits?.memory) problems.push(`${where}: resources need cpu and memory requests and a memory limit`);
  const sc = c.securityContext ?? {};
  if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem must be true`);
  if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation must be false`);
  if (!((sc.capabilities as { drop?: string[] } | undefined)?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities must drop ALL`);
  const portNames = new Set((c.ports ?? []).map((p) => p.name));
  for (const [kind, probe] of Object.entries({ liveness: c.livenessProbe, readiness: c.readinessProbe, startup: c.startupProbe })) {
    const port = ((probe?.httpGet ?? probe?.tcpSocket) as { port?: string | number } | undefined)?.port;
    if (typeof port === 'string' && !portNames.has(port)) problems.push(`${where}: ${kind} probe names port "${port}", which the container does not have`);
    // The relay logs every connection to its mTLS tunnel port that ends before the handshake.
    const command = ((probe?.exec as { command?: string[] } | undefined)?.command ?? []).join(' ');
    if (port === 'tunnel' || command.includes('tcp://')) problems.push(`${where}: ${kind} probe connects to a tunnel port (each probe would be logged as a failed handshake)`);
  }
  const volumes = new Set([...(pod.spec.volumes ?? []).map((v) => v.name), ...pod.claims]);
  for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name)) problems.push(`${where}: mounts "${m.name}", which is no volume of the pod`);
  return problems;
}

export function podProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const views = pods(objects);
  if (views.length === 0) problems.push('no workloads rendered');
  const selectors = new Map<string, string>();
  for (const pod of views) {
    const id = `${pod.owner.kind}/${pod.owner.metadata.name}`;
    if (pod.spec.enableServiceLinks !== false) problems.push(`${id}: enableServiceLinks must be false (service links would add TUNNELWATCH_* variables, read as config overrides)`);
    if (pod.spec.automountServiceAccountToken !== false) problems.push(`${id}: automountServiceAccountToken must be false`);
    if ((pod.spec.securityContext as { runAsNonRoot?: boolean } | undefined)?.runAsNonRoot !== true) problems.push(`${id}: runAsNonRoot must be true`);
    const selector = JSON.stringify((pod.owner.spec as { selector: unknown }).selector);
    if (selectors.has(selector)) problems.push(`${id}: same selector as ${selectors.get(selector) ?? ''}`);
    selectors.set(selector, id);
    const serviceName = (pod.owner.spec as { serviceName?: string }).serviceName;
    if (pod.owner.kind === 'StatefulSet' && !objects.some((o) => o.kind === 'Service' && o.metadata.name === serviceName)) problems.push(`${id}: serviceName ${serviceName ?? ''} is not rendered`);
    for (const c of pod.spec.containers) problems.push(...containerProblems(id, c, pod));
  }
  return problems;
}

/**
 * Each container's config (from its ConfigMap, through its --config argument) against the process's
 * schema, and its paths against the pod: files it reads must be in a mounted Secret or ConfigMap,
 * folders it writes must be on the data volume, and listen ports must be container ports.
 */
export function configProblems(objects: K8sObject[]): { problems: string[]; configs: Map<string, Record<string, unknown>> } {
  const problems: string[] = [];
  const configs = new Map<string, Record<string, unknown>>();
  for (const pod of pods(objects)) {
    for (const c of pod.spec.containers) {
      const where = `${pod.owner.metadata.name}/${c.name}`;
      const [command, , configPath] = c.args ?? [];
      const mount = (c.volumeMounts ?? []).find((m) => configPath && within(configPath, m.mountPath));
      const volume = pod.spec.volumes?.find((v) => v.name === mount?.name);
      const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === volume?.configMap?.name);
      const text = mount && configPath ? map?.data?.[posix.relative(mount.mountPath, configPath)] : undefined;
      if (!command || text === undefined) {
        problems.push(`${where}: --config ${configPath ?? '(none)'} is not a key of a mounted ConfigMap`);
        continue;
      }
      const raw = parse(text) as Record<string, unknown>;
      const ha = raw.ha as { role?: string } | undefined;
      if (ha !== undefined && ha.role !== (pod.owner.metadata.labels?.['tunnelwatch.io/ha-role'] ?? '')) problems.push(`${where}: ha.role does not match the pod's role label`);
      let config: Record<string, unknown>;
      try {
        config = validateProcessConfig(command, raw, `${where} ${configPath}`);
      } catch (err) {
        problems.push((err as Error).message);
        continue;
      }
      configs.set(where, raw);
      const mounts = c.volumeMounts ?? [];
      const kindOf = (name: string) => pod.spec.volumes?.find((v) => v.name === name);
      const { reads, writes } = configPaths(config);
      for (const [key, file] of reads) {
        const m = mounts.find((x) => within(file, x.mountPath));
        if (!m || !(kindOf(m.name)?.secret || kindOf(m.name)?.configMap)) problems.push(`${where}: ${key} = ${file} is in no mounted Secret or ConfigMap`);
      }
      for (const [key, dir] of writes) {
        const abs = posix.resolve(posix.dirname(configPath as string), dir);
        const m = mounts.find((x) => within(abs, x.mountPath));
        if (!m || m.readOnly || (m.name !== 'data' && !pod.claims.includes(m.name))) problems.push(`${where}: ${key} = ${abs} is not on the data volume`);
      }
      for (const section of ['proxy', 'tunnel', 'collector', 'dashboard', 'admin', 'ops', 'ha']) {
        const listen = (config[section] as { listen?: string } | undefined)?.listen;
        const port = listen ? Number(listen.split(':').at(-1)) : undefined;
        if (port !== undefined && !(c.ports ?? []).some((p) => p.containerPort === port)) problems.push(`${where}: ${section}.listen ${listen ?? ''} but no containerPort ${port}`);
      }
    }
  }
  return { problems, configs };
}

interface HaView {
  id: string;
  role: string;
  ha: { peer: string; peer_id: string; listen: string };
  labels: Record<string, string>;
  subaccounts: string[];
}

/**
 * Master and shadow must find each other: each one's ha.peer is a rendered headless Service that selects
 * exactly the other's pod, publishes it before it is ready (the HA link does not depend on /readyz) and
 * serves the port; peer_id is the other's connector.id; the ids differ; and the relay (when rendered)
 * authorises both ids for the connector's subaccounts.
 */
export function haProblems(objects: K8sObject[], configs: Map<string, Record<string, unknown>>): string[] {
  const problems: string[] = [];
  const views: HaView[] = [];
  for (const pod of pods(objects)) {
    const raw = configs.get(`${pod.owner.metadata.name}/connector`);
    if (!raw?.ha) continue;
    views.push({
      id: (raw.connector as { id: string }).id,
      role: (raw.ha as { role: string }).role,
      ha: raw.ha as HaView['ha'],
      labels: (pod.owner.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels,
      subaccounts: Object.keys((raw.subaccounts as object | undefined) ?? {}),
    });
  }
  if (views.length === 0) return problems;
  if (views.length !== 2 || views[0]?.role === views[1]?.role) return [`HA needs one master and one shadow, rendered: ${views.map((v) => `${v.id} (${v.role})`).join(', ')}`];
  const relayConfig = [...configs.entries()].find(([k]) => k.endsWith('/relay'))?.[1] as { tunnel: { connectors: { cn: string; subaccounts: string[] }[] } } | undefined;
  for (const [self, other] of [[views[0], views[1]], [views[1], views[0]]] as [HaView, HaView][]) {
    const where = `connector ${self.id} (${self.role})`;
    if (self.ha.peer_id !== other.id) problems.push(`${where}: ha.peer_id ${self.ha.peer_id} is not the ${other.role}'s id ${other.id}`);
    const [host, port] = [self.ha.peer.slice(0, self.ha.peer.lastIndexOf(':')), Number(self.ha.peer.split(':').at(-1))];
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === host);
    const spec = service?.spec as { clusterIP?: string; publishNotReadyAddresses?: boolean; selector?: Record<string, string>; ports?: { port: number }[] } | undefined;
    if (!spec) problems.push(`${where}: ha.peer ${self.ha.peer} names no rendered Service`);
    else {
      const selects = (labels: Record<string, string>) => Object.entries(spec.selector ?? {}).every(([k, v]) => labels[k] === v);
      if (!selects(other.labels) || selects(self.labels)) problems.push(`${where}: Service ${host} must select the ${other.role}'s pod only`);
      if (spec.clusterIP !== 'None' || spec.publishNotReadyAddresses !== true) problems.push(`${where}: Service ${host} must be headless and publish not-ready addresses`);
      if (!(spec.ports ?? []).some((p) => p.port === port)) problems.push(`${where}: Service ${host} has no port ${port}`);
    }
    if (Number(other.ha.listen.split(':').at(-1)) !== port) problems.push(`${where}: ha.peer port ${port} is not the ${other.role}'s ha.listen ${other.ha.listen}`);
    if (relayConfig) {
      const entry = relayConfig.tunnel.connectors.find((e) => e.cn === self.id);
      const missing = self.subaccounts.filter((s) => !(entry?.subaccounts ?? []).includes(s));
      if (!entry || missing.length > 0) problems.push(`${where}: the relay's tunnel.connectors does not authorise it for ${missing.join(', ') || 'any subaccount'}`);
    }
  }
  return problems;
}
