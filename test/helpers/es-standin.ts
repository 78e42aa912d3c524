// An Elasticsearch 9 server for tests, in the test process, that can fail items, drop connections and restart.
//
// THIS IS A STAND-IN, NOT ELASTICSEARCH: no Elasticsearch (or OpenSearch) server can be installed here, so
// the exporter is tested against this wire stand-in: a Node HTTP(S) server on 127.0.0.1 that speaks as much
// of the REST protocol as @elastic/elasticsearch 9.4 uses, with the same headers (`x-elastic-product:
// Elasticsearch` on every answer, or the client refuses the server; content type
// application/vnd.elasticsearch+json;compatible-with=9 when asked for), status codes and error bodies.
// It does: GET / (info, version 9.x); GET/HEAD/PUT/DELETE of _index_template and _component_template
// (with the built-in `logs` template at priority 100, a priority clash refused, missing component templates
// refused unless in ignore_missing_component_templates, ?create=true); PUT/GET/DELETE _data_stream and
// auto-creation of a data stream on write into a matching data-stream template; _bulk (NDJSON, create and
// index, 201 created, 409 version_conflict_engine_exception for an _id already in that data stream,
// @timestamp required and only `create` in data streams, require_data_stream, pipeline existence, and a
// minimal mapping check (es-standin-mapping.ts) that answers 400 document_parsing_exception); _refresh,
// _count, GET _doc; response filtering (filter_path, without exclusions; error answers unfiltered, as
// Elasticsearch does); basic and ApiKey authentication (401; 403 for read-only principals); TLS; gzip request
// bodies. Faults on demand: per-item 429/400/503, whole-request statuses, dropped connections before,
// after or in the middle of a bulk answer, slow answers, and stop/start/restart with the data kept.
// It does NOT: search, analyse text, check value ranges, roll over (each data stream has one backing index,
// so _id uniqueness holds over the whole stream here, unlike after a real rollover), run ingest pipelines
// (they are only registered by name), update or delete documents, enforce field limits or circuit
// breakers, refuse compatible-with headers of other majors, or persist anything across a process exit.
// es-standin-main.ts runs it as a process of its own.
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Socket } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';
import type { ItemFault } from './es-standin-bulk.js';
import { errorBody, forbidden, unauthenticated } from './es-standin-errors.js';
import { compileFilter, type ResponseFilter } from './es-standin-filter.js';
import { isWrite, route, type Reply } from './es-standin-routes.js';
import { EsState, type Json } from './es-standin-state.js';

export type { ItemFault } from './es-standin-bulk.js';

export interface EsStandinOptions {
  /** Accepted credentials; none means security is off (every request is let through). */
  auth?: {
    users?: Record<string, string>;
    /** API keys by id: the client sends `ApiKey base64(id:key)`. */
    apiKeys?: Record<string, string>;
    /** User names or API key ids that may read but not write (403 security_exception). */
    readOnly?: readonly string[];
  };
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  port?: number;
  /** Refuse documents that do not fit the mappings (default true); false for benchmarks. */
  checkMappings?: boolean;
  /**
   * Keep every document's source (default true), for documents() and GET _doc. The benchmark keeps only
   * the _ids (for 409s and _count): on this VM, memory a process touches for the first time costs ~3 ms
   * of CPU per MB (measured), ~6 µs for each 2 KB document kept, which is the stand-in's storage and not
   * the exporter's work. Every document is still parsed.
   */
  keepSources?: boolean;
}

export type DropMode = 'before' | 'after' | 'mid-response';

export interface EsStandinStats {
  requests: number;
  bulkRequests: number;
  /** Raw bulk item attempts, whatever their outcome. */
  itemAttempts: number;
  /** Item answers by status (201, 409, 429, 400, ...). */
  itemStatuses: Record<number, number>;
  droppedConnections: number;
  unauthorized: number;
}

export interface EsStandin {
  readonly url: string;
  readonly port: number;
  /** Every request seen: method, path with query, principal, Authorization scheme and Content-Encoding. */
  readonly requestLog: { method: string; path: string; principal?: string; scheme?: string; encoding?: string }[];
  readonly stats: EsStandinStats;
  /** Documents of a data stream, plain index or backing index, by _id. */
  documents(index: string): Map<string, Json>;
  /** How many documents hold each _id, over every data stream and index (1 everywhere = exactly once). */
  idCounts(): Map<string, number>;
  /** How many bulk item attempts named this _id. */
  attempts(id: string): number;
  dataStreams(): string[];
  indexTemplate(name: string): Json | undefined;
  componentTemplate(name: string): Json | undefined;
  /** The next `n` bulk items (any _id) fail with this fault. */
  failNextItems(n: number, fault?: ItemFault): void;
  /** Every attempt at these _ids fails with this fault, until clearFaults(). */
  failIds(ids: Iterable<string>, fault?: ItemFault): void;
  /** The next `n` _bulk requests are answered with this status and an Elasticsearch error body. */
  failNextRequests(n: number, status: number, type?: string): void;
  /** The next `n` _bulk requests lose their connection: before processing, after it, or mid-answer. */
  dropNextConnections(n: number, when?: DropMode): void;
  /** Answers to _bulk wait this long (0 to stop), e.g. to run into the client's request timeout. */
  delayBulk(ms: number): void;
  clearFaults(): void;
  /** Stops listening and cuts every open connection; data stays. */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

function principalOf(header: string | undefined, auth: NonNullable<EsStandinOptions['auth']>): string | undefined {
  if (!header) return undefined;
  const [scheme, value = ''] = header.split(' ', 2);
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const [name, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  if (scheme === 'Basic' && auth.users?.[name] === secret) return name;
  if (scheme === 'ApiKey' && auth.apiKeys?.[name] === secret) return name;
  return undefined;
}

function basicUser(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!header.startsWith('Basic ')) return '';
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  return decoded.slice(0, Math.max(0, decoded.indexOf(':')));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      let raw = Buffer.concat(chunks);
      const enc = req.headers['content-encoding'];
      if (enc === 'gzip') raw = gunzipSync(raw);
      else if (enc === 'deflate') raw = inflateSync(raw);
      resolve(raw);
    });
  });
}

export async function startEsStandin(options: EsStandinOptions = {}): Promise<EsStandin> {
  const state = new EsState();
  const pipelines = new Set<string>();
  const attempts = new Map<string, number>();
  const stats: EsStandinStats = { requests: 0, bulkRequests: 0, itemAttempts: 0, itemStatuses: {}, droppedConnections: 0, unauthorized: 0 };
  const requestLog: EsStandin['requestLog'] = [];
  let nextItemFaults: ItemFault[] = [];
  let idFaults = new Map<string, ItemFault>();
  let requestFaults: { status: number; type: string }[] = [];
  let drops: DropMode[] = [];
  let bulkDelayMs = 0;
  const sockets = new Set<Socket>();

  const hooks = {
    pipelines,
    checkMappings: options.checkMappings ?? true,
    keepSources: options.keepSources ?? true,
    putPipeline: (id: string) => void pipelines.add(id),
    itemFault: (id: string | undefined): ItemFault | undefined => nextItemFaults.shift() ?? (id === undefined ? undefined : idFaults.get(id)),
    onItem: (id: string | undefined, _index: string, status: number) => {
      stats.itemAttempts++;
      stats.itemStatuses[status] = (stats.itemStatuses[status] ?? 0) + 1;
      if (id !== undefined) attempts.set(id, (attempts.get(id) ?? 0) + 1);
    },
  };

  const send = (req: IncomingMessage, res: ServerResponse, reply: Reply, mode?: DropMode, filter?: ResponseFilter): void => {
    const accept = String(req.headers.accept ?? '');
    const compat = /compatible-with=(\d+)/.exec(accept)?.[1];
    const contentType = compat ? `application/vnd.elasticsearch+json;compatible-with=${compat}` : 'application/json';
    // Elasticsearch filters answers (filter_path), but never error answers.
    const body = filter && reply.status < 400 && reply.body !== undefined ? filter(reply.body) : reply.body;
    const text = reply.text ?? (body === undefined ? '' : JSON.stringify(body));
    const headers: Record<string, string | number> = { 'x-elastic-product': 'Elasticsearch', 'content-type': contentType, 'content-length': Buffer.byteLength(text) };
    if (reply.status === 401) headers['www-authenticate'] = 'Basic realm="security", charset="UTF-8", ApiKey';
    if (mode === 'mid-response') {
      res.writeHead(reply.status, headers);
      res.write(text.slice(0, Math.max(1, text.length >> 1)));
      setImmediate(() => req.socket.destroy());
      return;
    }
    res.writeHead(reply.status, headers);
    res.end(req.method === 'HEAD' ? undefined : text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://standin');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const isBulk = segments.includes('_bulk');
    const authHeader = req.headers.authorization;
    const principal = options.auth ? principalOf(authHeader, options.auth) : 'anonymous';
    requestLog.push({ method: req.method ?? '', path: url.pathname + url.search, principal, scheme: authHeader?.split(' ')[0], encoding: req.headers['content-encoding'] });
    const drop = isBulk ? drops.shift() : undefined;
    if (drop === 'before') {
      stats.droppedConnections++;
      req.socket.destroy();
      return;
    }
    const raw = await readBody(req);
    if (options.auth && principal === undefined) {
      stats.unauthorized++;
      send(req, res, { status: 401, body: errorBody(unauthenticated(url.pathname, basicUser(authHeader))) });
      return;
    }
    if (options.auth?.readOnly?.includes(principal ?? '') && isWrite(req.method ?? '', segments)) {
      const action = isBulk ? 'indices:data/write/bulk' : 'cluster:admin/index_template/put';
      send(req, res, { status: 403, body: errorBody(forbidden(action, principal ?? '')) });
      return;
    }
    if (isBulk) {
      stats.bulkRequests++;
      if (bulkDelayMs > 0) await new Promise((r) => setTimeout(r, bulkDelayMs));
      const fault = requestFaults.shift();
      if (fault) {
        send(req, res, { status: fault.status, body: errorBody({ status: fault.status, error: { type: fault.type, reason: `injected ${fault.status} by the stand-in` } }) });
        return;
      }
    }
    let filter: ResponseFilter | undefined;
    try {
      filter = compileFilter(url.searchParams.get('filter_path'));
    } catch (err) {
      send(req, res, { status: 400, body: errorBody({ status: 400, error: { type: 'illegal_argument_exception', reason: (err as Error).message } }) });
      return;
    }
    // A _bulk body is decoded line by line where it is parsed; the others are small JSON bodies.
    const reply = route(state, { method: req.method ?? 'GET', segments, query: url.searchParams, body: isBulk ? '' : raw.toString('utf8'), raw, ...(filter ? { filter } : {}) }, hooks);
    if (drop === 'after') {
      stats.droppedConnections++;
      req.socket.destroy();
      return;
    }
    if (drop === 'mid-response') stats.droppedConnections++;
    send(req, res, reply, drop, filter);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(req, res, { status: 500, body: errorBody({ status: 500, error: { type: 'exception', reason: String(err) } }) });
    });
  };

  let server: Server | undefined;
  let port = options.port ?? 0;
  const scheme = options.tls ? 'https' : 'http';

  const start = async (): Promise<void> => {
    const s = options.tls ? createHttps({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createHttp(onRequest);
    s.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const stop = async (): Promise<void> => {
    const s = server;
    server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    s.closeAllConnections();
    await closed;
  };

  await start();
  const targetsNamed = (index: string) => [...state.targets.values()].filter((t) => t.name === index || t.writeIndex === index);

  return {
    get url() { return `${scheme}://127.0.0.1:${port}`; },
    get port() { return port; },
    requestLog,
    stats,
    documents: (index) => {
      if (options.keepSources === false) throw new Error('this stand-in keeps no sources (keepSources: false)');
      return new Map(targetsNamed(index).flatMap((t) => [...t.docs].map(([id, source]): [string, Json] => [id, JSON.parse(source?.toString('utf8') ?? 'null') as Json])));
    },
    idCounts: () => {
      const counts = new Map<string, number>();
      for (const t of state.targets.values()) for (const id of t.docs.keys()) counts.set(id, (counts.get(id) ?? 0) + 1);
      return counts;
    },
    attempts: (id) => attempts.get(id) ?? 0,
    dataStreams: () => [...state.targets.values()].filter((t) => t.dataStream).map((t) => t.name),
    indexTemplate: (name) => state.indexTemplates.get(name),
    componentTemplate: (name) => state.componentTemplates.get(name),
    failNextItems: (n, fault = 429) => { nextItemFaults.push(...Array<ItemFault>(n).fill(fault)); },
    failIds: (ids, fault = 400) => { for (const id of ids) idFaults.set(id, fault); },
    failNextRequests: (n, status, type = status === 429 ? 'es_rejected_execution_exception' : 'exception') => {
      for (let i = 0; i < n; i++) requestFaults.push({ status, type });
    },
    dropNextConnections: (n, when = 'after') => { drops.push(...Array<DropMode>(n).fill(when)); },
    delayBulk: (ms) => { bulkDelayMs = ms; },
    clearFaults: () => {
      nextItemFaults = [];
      idFaults = new Map();
      requestFaults = [];
      drops = [];
      bulkDelayMs = 0;
    },
    stop,
    start,
    restart: async () => { await stop(); await start(); },
    close: stop,
  };
}
