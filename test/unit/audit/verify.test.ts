import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditEmitter } from '../../../common/audit/emitter.js';
import { emptyCallRecord, type CallRecord } from '../../../common/audit/event.js';
import { createFileSink, listAuditFiles } from '../../../common/audit/file-sink.js';
import { computeEventHash, EMPTY_CHAIN } from '../../../common/audit/hash-chain.js';
import type { AuditSink } from '../../../common/audit/sink.js';
import { AuditInputError, formatVerifyResult, verifyAuditFiles, type EmitterSummary, type VerifyResult } from '../../../common/audit/verify.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const EVENTS = 30;

function call(i: number): CallRecord {
  return {
    ...emptyCallRecord(),
    ts: new Date(1_800_000_000_000 + i * 7).toISOString(),
    subaccount: 'acme',
    cloud_app: 'orders-app',
    protocol: 'http',
    method: 'GET',
    virtual_host: 'erp.virtual',
    virtual_port: 80,
    internal_host: 'erp.local',
    internal_port: 8080,
    path: `/orders/${i}`,
    decision: 'allow',
    rule_id: 'r1',
    status: 200,
  };
}

/** Real output: an AuditEmitter writing through a rotating FileSink. */
async function writeChain(dir: string, emitterId = 'connector-1', n = EVENTS): Promise<void> {
  const sink = createFileSink({ dir, emitterId, maxFileBytes: 2500 });
  const emitter = new AuditEmitter({ emitter: 'connector', emitterId, sinks: [sink], chain: sink.recovered });
  for (let i = 0; i < n; i++) emitter.emit(call(i));
  await emitter.close();
}

type Row = Record<string, unknown>;

/** The lines of every file of the directory, to tamper with and write back. */
class Tamper {
  readonly files: Map<string, string[]>;
  constructor(private readonly dir: string) {
    this.files = new Map(readdirSync(dir).sort().map((n) => [join(dir, n), readFileSync(join(dir, n), 'utf8').split('\n').filter((l) => l !== '')]));
  }
  /** File and 0-based index of the line carrying this seq. */
  find(seq: number): { file: string; index: number } {
    for (const [file, lines] of this.files) {
      const index = lines.findIndex((l) => (JSON.parse(l) as Row).seq === seq);
      if (index !== -1) return { file, index };
    }
    throw new Error(`seq ${seq} not found`);
  }
  lines(file: string): string[] {
    return this.files.get(file) as string[];
  }
  event(seq: number): Row {
    const { file, index } = this.find(seq);
    return JSON.parse(this.lines(file)[index] as string) as Row;
  }
  set(seq: number, row: Row): void {
    const { file, index } = this.find(seq);
    this.lines(file)[index] = JSON.stringify(row);
  }
  save(): void {
    for (const [file, lines] of this.files) writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  }
}

function only(result: VerifyResult): EmitterSummary {
  assert.equal(result.emitters.length, 1);
  return result.emitters[0] as EmitterSummary;
}

describe('verifyAuditFiles', () => {
  let root: string;
  let dir: string;
  let n = 0;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'tw-verify-'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });
  beforeEach(async () => {
    dir = join(root, `case-${++n}`);
    await writeChain(dir);
  });

  it('accepts the real output of an emitter rotated over several files', async () => {
    const files = listAuditFiles(dir, 'connector-1');
    assert.ok(files.length >= 4, `rotation made ${files.length} files`);
    const result = await verifyAuditFiles([dir]);
    assert.equal(result.ok, true);
    assert.deepEqual(result.files, files);
    assert.equal(result.lines, EVENTS);
    const last = new Tamper(dir).event(EVENTS);
    assert.deepEqual(only(result), { emitterId: 'connector-1', events: EVENTS, firstSeq: 1, lastSeq: EVENTS, lastHash: last.hash, ok: true });
  });

  it('reads files named one by one in the order given, the same as their directory', async () => {
    const result = await verifyAuditFiles(listAuditFiles(dir, 'connector-1'));
    assert.equal(result.ok, true);
  });

  it('reports a field edited without re-hashing as altered, at that seq, file and line', async () => {
    const t = new Tamper(dir);
    t.set(12, { ...t.event(12), path: '/orders/999' });
    t.save();
    const { file, index } = t.find(12);
    const summary = only(await verifyAuditFiles([dir]));
    assert.equal(summary.ok, false);
    assert.deepEqual({ ...summary.break, reason: '' }, { kind: 'altered', emitterId: 'connector-1', seq: 12, file, line: index + 1, reason: '' });
    assert.match(summary.break?.reason ?? '', /does not match the event's content/);
    assert.equal(summary.events, EVENTS, 'counting goes on after the break');
  });

  it('reports an extension field added without re-hashing as altered', async () => {
    const t = new Tamper(dir);
    t.set(5, { ...t.event(5), note: 'added later' });
    t.save();
    assert.equal(only(await verifyAuditFiles([dir])).break?.kind, 'altered');
  });

  it('reports an event edited and re-hashed as a prev_hash mismatch at the next seq', async () => {
    const t = new Tamper(dir);
    const edited = { ...t.event(12), status: 500 };
    t.set(12, { ...edited, hash: computeEventHash(edited) });
    t.save();
    const { file, index } = t.find(13);
    const brk = only(await verifyAuditFiles([dir])).break;
    assert.equal(brk?.kind, 'prev_hash_mismatch');
    assert.equal(brk?.seq, 13);
    assert.equal(brk?.file, file);
    assert.equal(brk?.line, index + 1);
    assert.match(brk?.reason ?? '', /hash of seq 12 .*altered and re-hashed/);
  });

  it('reports a removed event as missing at the next seq and names the removed seq', async () => {
    const t = new Tamper(dir);
    const { file, index } = t.find(12);
    const next = t.find(13);
    t.lines(file).splice(index, 1);
    t.save();
    const brk = only(await verifyAuditFiles([dir])).break;
    assert.equal(brk?.kind, 'missing');
    assert.equal(brk?.seq, 13);
    assert.deepEqual(brk?.missing, { from: 12, to: 12 });
    assert.match(brk?.reason ?? '', /^seq 12 removed: seq 13 follows seq 11/);
    assert.equal(brk?.line, next.file === file ? next.index : next.index + 1);
  });

  it('counts a run of removed events and says a whole file may be missing when the gap falls between files', async () => {
    const files = listAuditFiles(dir, 'connector-1');
    const gone = files[1] as string;
    const t = new Tamper(dir);
    const seqs = t.lines(gone).map((l) => (JSON.parse(l) as Row).seq as number);
    rmSync(gone);
    const brk = only(await verifyAuditFiles([dir])).break;
    const from = seqs[0] as number;
    const to = seqs.at(-1) as number;
    assert.equal(brk?.kind, 'missing');
    assert.deepEqual(brk?.missing, { from, to });
    assert.equal(brk?.seq, to + 1);
    assert.equal(brk?.line, 1);
    assert.match(brk?.reason ?? '', new RegExp(`^seqs ${from}\\.\\.${to} \\(${seqs.length} events\\) removed.*a file may be missing`));
  });

  it('reports two swapped events as reordered, not missing', async () => {
    const t = new Tamper(dir);
    const a = t.find(12);
    const b = t.find(13);
    const lineA = t.lines(a.file)[a.index] as string;
    t.lines(a.file)[a.index] = t.lines(b.file)[b.index] as string;
    t.lines(b.file)[b.index] = lineA;
    t.save();
    const brk = only(await verifyAuditFiles([dir])).break;
    assert.equal(brk?.kind, 'reordered');
    assert.equal(brk?.seq, 13);
    assert.equal(brk?.file, a.file);
    assert.equal(brk?.line, a.index + 1);
    assert.match(brk?.reason ?? '', /seq 13 comes before seq 12, which appears later/);
  });

  it('reports rotated files read in the wrong order as reordered', async () => {
    const files = listAuditFiles(dir, 'connector-1');
    const result = await verifyAuditFiles([files[1] as string, files[0] as string, ...files.slice(2)]);
    assert.equal(only(result).break?.kind, 'reordered');
  });

  it('reports an event delivered twice as a duplicate, pointing at the first copy', async () => {
    const t = new Tamper(dir);
    const { file, index } = t.find(12);
    t.lines(file).splice(index + 1, 0, t.lines(file)[index] as string);
    t.save();
    const brk = only(await verifyAuditFiles([dir])).break;
    assert.equal(brk?.kind, 'duplicate');
    assert.equal(brk?.seq, 12);
    assert.equal(brk?.line, index + 2);
    assert.match(brk?.reason ?? '', new RegExp(`identical to ${basename(file)}:${index + 1}`));
  });

  it('reports a reused seq with different content as a duplicate that says so', async () => {
    const t = new Tamper(dir);
    const { file, index } = t.find(12);
    const other = { ...t.event(12), path: '/elsewhere' };
    t.lines(file).splice(index + 1, 0, JSON.stringify({ ...other, hash: computeEventHash(other) }));
    t.save();
    const brk = only(await verifyAuditFiles([dir])).break;
    assert.equal(brk?.kind, 'duplicate');
    assert.match(brk?.reason ?? '', /different content/);
  });

  it('reports a line that is not JSON as malformed with its file and line, tied to the emitter it names', async () => {
    const t = new Tamper(dir);
    const { file, index } = t.find(12);
    const lines = t.lines(file);
    lines[index] = (lines[index] as string).slice(0, 200);
    t.save();
    const brk = only(await verifyAuditFiles([dir])).break;
    assert.equal(brk?.kind, 'malformed');
    assert.equal(brk?.emitterId, 'connector-1');
    assert.equal(brk?.seq, 12);
    assert.equal(brk?.file, file);
    assert.equal(brk?.line, index + 1);
    assert.match(brk?.reason ?? '', /not valid JSON/);
  });

  it('reports a line without chain fields as malformed, naming the field', async () => {
    const t = new Tamper(dir);
    const { hash: _hash, ...noHash } = t.event(7);
    t.set(7, noHash);
    t.save();
    const brk = only(await verifyAuditFiles([dir])).break;
    assert.equal(brk?.kind, 'malformed');
    assert.match(brk?.reason ?? '', /"hash" is missing/);
  });

  it('fails the run on a line that names no emitter, and lists it on its own', async () => {
    const t = new Tamper(dir);
    const { file, index } = t.find(3);
    t.lines(file).splice(index + 1, 0, 'hello');
    t.save();
    const result = await verifyAuditFiles([dir]);
    assert.equal(result.ok, false);
    assert.equal(result.unattributedCount, 1);
    assert.equal(result.unattributed[0]?.line, index + 2);
    assert.equal(only(result).ok, true, 'the chain itself holds');
    assert.match(formatVerifyResult(result), new RegExp(`${basename(file)}:${index + 2}: malformed — not valid JSON`));
  });

  it('recognises a torn last line from a crash and says so', async () => {
    const last = listAuditFiles(dir, 'connector-1').at(-1) as string;
    writeFileSync(last, `${readFileSync(last, 'utf8')}{"schema":"tunnelwatch.audit/1","emitter_id":"connector-1","seq":31,"prev`);
    const brk = only(await verifyAuditFiles([dir])).break;
    assert.equal(brk?.kind, 'malformed');
    assert.equal(brk?.seq, 31);
    assert.match(brk?.reason ?? '', /torn by a crash/);
  });

  it('reports a chain that does not start at seq 1 as bad_start, unless the input may be partial', async () => {
    const files = listAuditFiles(dir, 'connector-1');
    const rest = files.slice(1);
    const t = new Tamper(dir);
    const firstKept = JSON.parse(t.lines(rest[0] as string)[0] as string) as Row;
    const brk = only(await verifyAuditFiles(rest)).break;
    assert.equal(brk?.kind, 'bad_start');
    assert.deepEqual(brk?.missing, { from: 1, to: (firstKept.seq as number) - 1 });
    const partial = await verifyAuditFiles(rest, { allowPartial: true });
    assert.equal(partial.ok, true);
    assert.equal(only(partial).firstSeq, firstKept.seq);
  });

  it('reports seq 1 with a non-empty prev_hash as bad_start', async () => {
    const t = new Tamper(dir);
    const first = { ...t.event(1), prev_hash: 'a'.repeat(64) };
    t.set(1, { ...first, hash: computeEventHash(first) });
    t.save();
    assert.equal(only(await verifyAuditFiles([dir])).break?.kind, 'bad_start');
  });

  it('verifies two emitters interleaved in one file separately', async () => {
    const lines: string[] = [];
    const sink: AuditSink = { write: (_e, line) => void lines.push(line), flush: async () => {}, close: async () => {} };
    const relay = new AuditEmitter({ emitter: 'relay', emitterId: 'relay-1', sinks: [sink], chain: EMPTY_CHAIN });
    const connector = new AuditEmitter({ emitter: 'connector', emitterId: 'connector-9', sinks: [sink], chain: EMPTY_CHAIN });
    for (let i = 0; i < 10; i++) (i % 3 === 0 ? relay : connector).emit(call(i));
    const mixed = join(dir, 'mixed.ndjson');
    writeFileSync(mixed, lines.join(''));
    const ok = await verifyAuditFiles([mixed]);
    assert.equal(ok.ok, true);
    assert.deepEqual(ok.emitters.map((e) => [e.emitterId, e.events, e.lastSeq]), [['connector-9', 6, 6], ['relay-1', 4, 4]]);

    const rows = lines.map((l) => JSON.parse(l) as Row);
    const victim = rows.findIndex((r) => r.emitter_id === 'connector-9' && r.seq === 3);
    rows[victim] = { ...rows[victim], bytes_out: 1 };
    writeFileSync(mixed, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const broken = await verifyAuditFiles([mixed]);
    assert.deepEqual(broken.emitters.map((e) => [e.emitterId, e.ok, e.break?.kind, e.break?.line]), [['connector-9', false, 'altered', victim + 1], ['relay-1', true, undefined, undefined]]);
  });

  it('reports progress before the first line and every so many lines', async () => {
    const seen: number[] = [];
    await verifyAuditFiles([dir], { progressEveryLines: 10, onProgress: (p) => seen.push(p.lines) });
    assert.deepEqual(seen, [0, 10, 20, 30]);
  });

  it('refuses missing paths and directories without audit files up front, naming each', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty, { recursive: true });
    // A dead-letter file is not a chain file: a directory holding only one counts as empty.
    writeFileSync(join(empty, 'dead-letter-connector-1.ndjson'), '{"not":"a chain event"}\n');
    await assert.rejects(verifyAuditFiles([join(root, 'nope.ndjson'), empty]), (err: Error) =>
      err instanceof AuditInputError && /nope\.ndjson: cannot read \(ENOENT\)/.test(err.message) && /no audit-\*\.ndjson files/.test(err.message));
    await assert.rejects(verifyAuditFiles([]), AuditInputError);
  });

  it('formats one line per emitter with thousands separators and a verdict', () => {
    const result: VerifyResult = {
      ok: false,
      files: ['/a/audit-relay-1-000000000001.ndjson', '/a/audit-connector-1-000000000001.ndjson'],
      lines: 1261,
      emitters: [
        { emitterId: 'connector-1', events: 57, firstSeq: 1, lastSeq: 57, lastHash: 'x', ok: false,
          break: { kind: 'altered', emitterId: 'connector-1', seq: 57, file: '/a/audit-connector-1-000000000001.ndjson', line: 57, reason: 'hash does not match' } },
        { emitterId: 'relay-1', events: 1204, firstSeq: 1, lastSeq: 1204, lastHash: 'y', ok: true },
      ],
      unattributed: [],
      unattributedCount: 0,
    };
    assert.equal(formatVerifyResult(result), [
      'connector-1: BROKEN at seq 57 (audit-connector-1-000000000001.ndjson:57): altered — hash does not match',
      'relay-1: 1,204 events, seq 1..1204, chain intact',
      'BROKEN: 1 of 2 chains broken (1,261 lines in 2 files)',
    ].join('\n'));
  });
});

describe('tunnelwatch audit verify', () => {
  let root: string;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'tw-verify-cli-'));
    await writeChain(join(root, 'good'));
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/tunnelwatch.js', 'audit', ...args], { cwd: REPO, encoding: 'utf8' });

  it('exits 0 and prints one intact line per emitter when every chain holds', () => {
    const r = cli('verify', join(root, 'good'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^connector-1: 30 events, seq 1\.\.30, chain intact$/m);
    assert.match(r.stdout, /^OK: the chain holds/m);
    assert.equal(r.stderr, '', 'no progress noise for a small input');
  });

  it('exits 1 and says where and how the chain broke', () => {
    const bad = join(root, 'bad');
    cpSync(join(root, 'good'), bad, { recursive: true });
    const t = new Tamper(bad);
    t.set(12, { ...t.event(12), principal: 'mallory' });
    t.save();
    const { file, index } = t.find(12);
    const r = cli('verify', bad);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, new RegExp(`^connector-1: BROKEN at seq 12 \\(${basename(file)}:${index + 1}\\): altered — `, 'm'));
  });

  it('prints the result as JSON on stdout with --json', () => {
    const r = cli('verify', '--json', '--allow-partial', join(root, 'good'));
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as VerifyResult;
    assert.equal(result.ok, true);
    assert.equal(result.emitters[0]?.lastSeq, 30);
  });

  it('exits 2 on usage errors: no files, an unreadable path, an unknown subcommand or option', () => {
    for (const args of [['verify'], ['verify', join(root, 'missing.ndjson')], [], ['check', 'x'], ['verify', '--frobnicate', 'x']]) {
      const r = cli(...args);
      assert.equal(r.status, 2, `audit ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.notEqual(r.stderr, '', `audit ${args.join(' ')} explains itself on stderr`);
      assert.equal(r.stdout, '');
    }
    assert.match(cli('verify', join(root, 'missing.ndjson')).stderr, /missing\.ndjson: cannot read \(ENOENT\)/);
  });

  it('explains the subcommand, options, kinds of break and exit codes in --help', () => {
    const r = cli('--help');
    assert.equal(r.status, 0);
    for (const word of ['audit verify', 'FILE|DIR', '--json', '--allow-partial', 'altered', 'prev_hash_mismatch', 'missing', 'reordered', 'duplicate', 'malformed', 'bad_start', 'Exit status']) {
      assert.ok(r.stdout.includes(word), `help mentions ${word}`);
    }
  });
});
