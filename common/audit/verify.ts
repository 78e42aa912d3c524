// Verifies the per-emitter hash chains of audit-event-v1 files (seq, prev_hash, hash) and says where each
// first breaks. Streams line by line with constant memory per emitter, so multi-GB inputs work.
import { createReadStream, type ReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { computeEventHash } from './hash-chain.js';

/** The files an emitter's chain lives in (see file-sink.ts); other *.ndjson files are not chain files. */
const AUDIT_FILE = /^audit-.+-\d+\.ndjson$/;

export type BreakKind = 'altered' | 'prev_hash_mismatch' | 'missing' | 'reordered' | 'duplicate' | 'malformed' | 'bad_start';

export interface ChainBreak {
  kind: BreakKind;
  /** '' for a malformed line that names no emitter. */
  emitterId: string;
  /** The seq written on the line where the chain first fails; null when it cannot be read. */
  seq: number | null;
  file: string;
  /** 1-based. */
  line: number;
  /** Plain language: what is wrong and what probably happened. */
  reason: string;
  /** For 'missing' and 'bad_start': the seqs that never appear in the input. */
  missing?: { from: number; to: number };
}

export interface EmitterSummary {
  emitterId: string;
  /** Lines of this emitter that carried valid chain fields. */
  events: number;
  /** seq of the first and last such line in input order (0 when none). */
  firstSeq: number;
  lastSeq: number;
  /** hash of the last such line: compare it with a copy kept elsewhere, as a cut tail leaves no trace. */
  lastHash: string;
  ok: boolean;
  /** The first break only: what follows it cannot be trusted until it is explained. */
  break?: ChainBreak;
}

export interface VerifyResult {
  ok: boolean;
  files: string[];
  lines: number;
  /** Sorted by emitter id. */
  emitters: EmitterSummary[];
  /** Malformed lines that name no emitter (the first MAX_UNATTRIBUTED). */
  unattributed: ChainBreak[];
  unattributedCount: number;
}

export interface VerifyProgress {
  file: string;
  fileIndex: number;
  files: number;
  lines: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface VerifyOptions {
  /** The input may start mid-chain: an emitter's first event may have any seq and prev_hash. */
  allowPartial?: boolean;
  /** Called before the first line and then every `progressEveryLines` lines. */
  onProgress?: (progress: VerifyProgress) => void;
  progressEveryLines?: number;
}

/** An input path that cannot be verified (missing, unreadable, a directory without *.ndjson files). */
export class AuditInputError extends Error {
  override readonly name = 'AuditInputError';
}

const MAX_UNATTRIBUTED = 100;
// Recent events per emitter, to tell an exact re-delivery from a reused seq; small, as emitters can be many.
const RING = 256;
const HEX64 = /^[0-9a-f]{64}$/;

const where = (file: string, line: number): string => `${basename(file)}:${line}`;
const short = (hash: string): string => (hash === '' ? '""' : `${hash.slice(0, 12)}…`);
const range = (from: number, to: number): string => (from === to ? `seq ${from}` : `seqs ${from}..${to} (${to - from + 1} events)`);

interface Gap {
  from: number;
  to: number;
  atStart: boolean;
  /** The event before the gap. */
  before: { seq: number; file: string; line: number };
  /** The first seq of the gap that turns up later, if any: then it is a reordering. */
  found?: { seq: number; where: string };
}

// Positions are kept as (file, line) and only turned into text for a reason: this runs once per event.
class EmitterState {
  events = 0;
  firstSeq = 0;
  firstFile = '';
  firstLine = 0;
  lastSeq = 0;
  lastHash = '';
  lastFile = '';
  lastLine = 0;
  broken: ChainBreak | undefined;
  gap: Gap | undefined;
  private ringSeq: Float64Array | undefined;
  private readonly ringHash: string[] = [];
  private readonly ringFile: string[] = [];
  private ringLine: Float64Array | undefined;

  constructor(readonly id: string) {}

  remember(seq: number, hash: string, file: string, line: number): void {
    this.ringSeq ??= new Float64Array(RING);
    this.ringLine ??= new Float64Array(RING);
    const i = seq % RING;
    this.ringSeq[i] = seq;
    this.ringHash[i] = hash;
    this.ringFile[i] = file;
    this.ringLine[i] = line;
  }

  recall(seq: number): { hash: string; where: string } | undefined {
    const i = seq % RING;
    if (this.ringSeq?.[i] !== seq) return undefined;
    return { hash: this.ringHash[i] as string, where: where(this.ringFile[i] as string, this.ringLine?.[i] as number) };
  }
}

/** Checks lines one at a time; `verifyAuditFiles` feeds it files, other callers may feed it streams. */
export class ChainVerifier {
  private readonly emitters = new Map<string, EmitterState>();
  private readonly unattributed: ChainBreak[] = [];
  private unattributedCount = 0;
  private lines = 0;

  constructor(private readonly options: { allowPartial?: boolean } = {}) {}

  /** Checks one NDJSON line; returns the break it caused when that is the line's malformed report. */
  line(text: string, file: string, line: number): ChainBreak | undefined {
    this.lines++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return this.malformed(text, file, line, text.trim() === '' ? 'empty line' : `not valid JSON (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return this.malformed(text, file, line, 'not a JSON object');
    const event = value as Record<string, unknown>;
    const { emitter_id: emitterId, seq, prev_hash: prevHash, hash } = event;
    if (typeof emitterId !== 'string' || emitterId === '') return this.malformed(text, file, line, 'missing or empty "emitter_id"');
    const problem =
      typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 ? '"seq" is missing or not a positive integer'
      : typeof prevHash !== 'string' || (prevHash !== '' && !HEX64.test(prevHash)) ? '"prev_hash" is missing or not "" or 64 lower-case hex'
      : typeof hash !== 'string' || !HEX64.test(hash) ? '"hash" is missing or not 64 lower-case hex'
      : undefined;
    if (problem !== undefined) return this.malformed(text, file, line, problem);

    const s = this.state(emitterId);
    const n = seq as number;
    const h = hash as string;
    s.events++;
    if (s.events === 1) {
      s.firstSeq = n;
      s.firstFile = file;
      s.firstLine = line;
    }
    if (s.gap && !s.gap.found && n >= s.gap.from && n <= s.gap.to) s.gap.found = { seq: n, where: where(file, line) };
    if (!s.broken) this.check(s, event, n, prevHash as string, h, file, line);
    s.remember(n, h, file, line);
    s.lastSeq = n;
    s.lastHash = h;
    s.lastFile = file;
    s.lastLine = line;
    return undefined;
  }

  private check(s: EmitterState, event: Record<string, unknown>, seq: number, prevHash: string, hash: string, file: string, line: number): void {
    const at = (kind: BreakKind, reason: string): ChainBreak => ({ kind, emitterId: s.id, seq, file, line, reason });
    const computed = computeEventHash(event);
    if (computed !== hash) {
      s.broken = at('altered', `hash does not match the event's content: it was changed after it was written (stored ${short(hash)}, content hashes to ${short(computed)})`);
      return;
    }
    if (s.events === 1) {
      if (seq === 1 && prevHash !== '') {
        s.broken = at('bad_start', `seq 1 must have an empty prev_hash but has ${short(prevHash)}: the chain was cut and restarted, or this event was forged`);
      } else if (seq !== 1 && !this.options.allowPartial) {
        s.broken = at('bad_start', '');
        s.gap = { from: 1, to: seq - 1, atStart: true, before: { seq: 0, file, line } };
      }
      return;
    }
    const expected = s.lastSeq + 1;
    if (seq === expected) {
      if (prevHash !== s.lastHash) {
        s.broken = at('prev_hash_mismatch', `prev_hash ${short(prevHash)} is not the hash of seq ${s.lastSeq} (${where(s.lastFile, s.lastLine)}, ${short(s.lastHash)}): seq ${s.lastSeq} was altered and re-hashed, or this event was forged`);
      }
    } else if (seq > expected) {
      // Missing or reordered: only the rest of the input can tell, so the reason is written in result().
      s.broken = at('missing', '');
      s.gap = { from: expected, to: seq - 1, atStart: false, before: { seq: s.lastSeq, file: s.lastFile, line: s.lastLine } };
    } else if (seq < s.firstSeq) {
      s.broken = at('reordered', `seq ${seq} comes after seq ${s.firstSeq} (${where(s.firstFile, s.firstLine)}), the first of this emitter in the input: events or files are out of order`);
    } else {
      const earlier = s.recall(seq);
      s.broken = at('duplicate',
        earlier === undefined ? `seq ${seq} appears again after seq ${s.lastSeq}: it was already seen earlier in the input`
        : earlier.hash === hash ? `seq ${seq} appears twice, identical to ${earlier.where}: the event was delivered or copied twice`
        : `seq ${seq} appears twice with different content (first at ${earlier.where}): the seq was reused after a restart, or one of them was forged`);
    }
  }

  private malformed(text: string, file: string, line: number, reason: string): ChainBreak | undefined {
    // A damaged line often still names its emitter (emitter_id comes early): tie the break to that chain.
    const emitterId = emitterNamedIn(text);
    const seqText = /"seq"\s*:\s*(\d{1,15})\b/.exec(text)?.[1];
    const brk: ChainBreak = { kind: 'malformed', emitterId, seq: seqText === undefined ? null : Number(seqText), file, line, reason };
    if (emitterId === '') {
      this.unattributedCount++;
      if (this.unattributed.length >= MAX_UNATTRIBUTED) return undefined;
      this.unattributed.push(brk);
      return brk;
    }
    const s = this.state(emitterId);
    if (s.broken) return undefined;
    s.broken = brk;
    return brk;
  }

  private state(emitterId: string): EmitterState {
    let s = this.emitters.get(emitterId);
    if (s === undefined) {
      s = new EmitterState(emitterId);
      this.emitters.set(emitterId, s);
    }
    return s;
  }

  result(files: string[] = []): VerifyResult {
    const emitters = [...this.emitters.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((s): EmitterSummary => {
      const brk = s.broken && s.gap ? describeGap(s.broken, s.gap) : s.broken;
      const summary: EmitterSummary = { emitterId: s.id, events: s.events, firstSeq: s.firstSeq, lastSeq: s.lastSeq, lastHash: s.lastHash, ok: brk === undefined };
      if (brk) summary.break = brk;
      return summary;
    });
    return {
      ok: this.unattributedCount === 0 && emitters.every((e) => e.ok),
      files,
      lines: this.lines,
      emitters,
      unattributed: [...this.unattributed],
      unattributedCount: this.unattributedCount,
    };
  }
}

/** The emitter_id a damaged line still carries, or ''. */
function emitterNamedIn(text: string): string {
  const literal = /"emitter_id"\s*:\s*("(?:[^"\\]|\\.)*")/.exec(text)?.[1];
  if (literal === undefined) return '';
  try {
    const id: unknown = JSON.parse(literal);
    return typeof id === 'string' ? id : '';
  } catch {
    return '';
  }
}

function describeGap(brk: ChainBreak, gap: Gap): ChainBreak {
  if (gap.found) {
    return { ...brk, kind: 'reordered', reason: `seq ${brk.seq} comes before seq ${gap.found.seq}, which appears later at ${gap.found.where}: events were reordered` };
  }
  const missing = { from: gap.from, to: gap.to };
  if (gap.atStart) {
    return { ...brk, kind: 'bad_start', missing, reason: `the chain starts at seq ${brk.seq}, not 1: ${range(gap.from, gap.to)} never appear (removed, or the input starts mid-chain: then verify with allowPartial, --allow-partial on the command line)` };
  }
  const betweenFiles = gap.before.file !== brk.file && brk.line === 1
    ? `; the gap falls between ${basename(gap.before.file)} and ${basename(brk.file)}, so a file may be missing from the input` : '';
  return { ...brk, kind: 'missing', missing, reason: `${range(gap.from, gap.to)} removed: seq ${brk.seq} follows seq ${gap.before.seq} (${where(gap.before.file, gap.before.line)})${betweenFiles}` };
}

interface Input {
  path: string;
  size: number;
}

async function resolveInputs(paths: string[]): Promise<Input[]> {
  if (paths.length === 0) throw new AuditInputError('no input: name at least one audit file or directory');
  const inputs: Input[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const add = async (path: string): Promise<void> => {
    if (seen.has(resolve(path))) return;
    seen.add(resolve(path));
    try {
      const fh = await open(path, 'r');
      const { size } = await fh.stat();
      await fh.close();
      inputs.push({ path, size });
    } catch (err) {
      problems.push(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  for (const path of paths) {
    try {
      if ((await stat(path)).isDirectory()) {
        // Only the chain files: a directory also holds the shipper's dead-letter file and state.
        const names = (await readdir(path, { withFileTypes: true })).filter((d) => d.isFile() && AUDIT_FILE.test(d.name)).map((d) => d.name).sort();
        if (names.length === 0) problems.push(`${path}: no audit-*.ndjson files in this directory`);
        for (const name of names) await add(join(path, name));
      } else {
        await add(path);
      }
    } catch (err) {
      problems.push(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (problems.length > 0) throw new AuditInputError(problems.join('\n'));
  return inputs;
}

/** The files `verifyAuditFiles` would read, in order: paths as given, a directory as its sorted *.ndjson files. */
export async function resolveAuditInputs(paths: string[]): Promise<string[]> {
  return (await resolveInputs(paths)).map((i) => i.path);
}

/** Verifies every emitter's chain across the files, read in the order given. Throws AuditInputError up front. */
export async function verifyAuditFiles(paths: string[], options: VerifyOptions = {}): Promise<VerifyResult> {
  const inputs = await resolveInputs(paths);
  const verifier = new ChainVerifier({ allowPartial: options.allowPartial ?? false });
  const every = options.progressEveryLines ?? 100_000;
  const bytesTotal = inputs.reduce((sum, i) => sum + i.size, 0);
  let bytesBefore = 0;
  let lines = 0;
  for (const [fileIndex, input] of inputs.entries()) {
    const stream: ReadStream = createReadStream(input.path, { encoding: 'utf8', highWaterMark: 1 << 20 });
    const progress = (): void => options.onProgress?.({ file: input.path, fileIndex, files: inputs.length, lines, bytesDone: bytesBefore + stream.bytesRead, bytesTotal });
    if (fileIndex === 0) progress();
    let lineNo = 0;
    let lastBreak: ChainBreak | undefined;
    for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
      lineNo++;
      lines++;
      lastBreak = verifier.line(text, input.path, lineNo);
      if (lines % every === 0) progress();
    }
    if (lastBreak && lastBreak.line === lineNo && !(await endsWithNewline(input.path))) {
      lastBreak.reason += '; it is the last line and has no newline: a write torn by a crash (the file sink cuts it on restart)';
    }
    bytesBefore += input.size;
  }
  return verifier.result(inputs.map((i) => i.path));
}

async function endsWithNewline(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size === 0) return true;
    const { buffer } = await fh.read(Buffer.alloc(1), 0, 1, size - 1);
    return buffer[0] === 0x0a;
  } finally {
    await fh.close();
  }
}

const count = new Intl.NumberFormat('en-US');

/** One line per emitter, then malformed lines naming no emitter, then a verdict. */
export function formatVerifyResult(result: VerifyResult): string {
  // Base names read best (files are named by emitter and first seq); full paths only when they collide.
  const names = result.files.map((f) => basename(f));
  const fullPaths = new Set(names).size !== names.length;
  const loc = (b: ChainBreak): string => `${fullPaths ? b.file : basename(b.file)}:${b.line}`;
  const out: string[] = [];
  for (const e of result.emitters) {
    if (e.break) {
      const at = e.break.seq === null ? 'a line' : `seq ${e.break.seq}`;
      out.push(`${e.emitterId}: BROKEN at ${at} (${loc(e.break)}): ${e.break.kind} — ${e.break.reason}`);
    } else {
      out.push(`${e.emitterId}: ${count.format(e.events)} event${e.events === 1 ? '' : 's'}, seq ${e.firstSeq}..${e.lastSeq}, chain intact`);
    }
  }
  for (const b of result.unattributed) out.push(`${loc(b)}: malformed — ${b.reason}, and it names no emitter`);
  if (result.unattributedCount > result.unattributed.length) {
    out.push(`… and ${count.format(result.unattributedCount - result.unattributed.length)} more malformed lines naming no emitter`);
  }
  const files = `${count.format(result.files.length)} file${result.files.length === 1 ? '' : 's'}`;
  const broken = result.emitters.filter((e) => !e.ok).length;
  if (result.ok) {
    out.push(result.emitters.length === 0 ? `no audit events in ${files}`
      : `OK: ${result.emitters.length === 1 ? 'the chain holds' : `all ${result.emitters.length} chains hold`} (${count.format(result.lines)} lines in ${files})`);
  } else {
    const parts = [`${broken} of ${result.emitters.length} chain${result.emitters.length === 1 ? '' : 's'} broken`];
    if (result.unattributedCount > 0) parts.push(`${count.format(result.unattributedCount)} malformed line${result.unattributedCount === 1 ? '' : 's'} naming no emitter`);
    out.push(`BROKEN: ${parts.join(', ')} (${count.format(result.lines)} lines in ${files})`);
  }
  return out.join('\n');
}
