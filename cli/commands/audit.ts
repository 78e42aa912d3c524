// `tunnelwatch audit verify FILE|DIR...`: checks the per-emitter hash chains of audit event files.
import { basename } from 'node:path';
import { parseOptions, UsageError, type Command } from '../command.js';
import { AuditInputError, formatVerifyResult, verifyAuditFiles, type VerifyProgress } from '../../common/audit/verify.js';

const HELP = `Usage: tunnelwatch audit verify [--json] [--allow-partial] FILE|DIR...

Checks the hash chains of audit event files (NDJSON, one audit-event-v1 object a line). For every
emitter_id found, whatever the file: seq starts at 1 with prev_hash "" and rises by exactly 1, each
prev_hash equals the hash of the emitter's previous event, and each hash is the SHA-256 of the event's
RFC 8785 canonical JSON without "hash" (unknown fields included). Files are read in the order given, line
by line, so multi-GB files are fine; a directory stands for its audit-*.ndjson files sorted by name (the file
sink names them audit-<emitter_id>-<first seq>.ndjson, so that is chain order). A path named twice is
read once. Events of several emitters may be interleaved in one file.

Options:
  --json            print the result as JSON on stdout instead of one line per emitter
  --allow-partial   the input may start mid-chain (older files archived or deleted on purpose): an
                    emitter's first event may have any seq and prev_hash
  -h, --help        show this text

Output, one line per emitter, then a verdict:
  relay-1: 1,204 events, seq 1..1204, chain intact
  connector-1: BROKEN at seq 57 (audit-connector-1-000000000001.ndjson:57): altered — hash does not ...
Only the first break of each emitter is reported: what follows it cannot be trusted until it is
explained. Its seq, file and line are those of the line where the chain first fails.

Kinds of break:
  altered             the hash does not match the event's content: it was edited after it was written
  prev_hash_mismatch  prev_hash is not the previous event's hash: that event was altered and re-hashed,
                      or this one was forged
  missing             a gap in seq that never fills: events were removed (it says which seqs)
  reordered           a seq comes before a lower one that turns up later in the input
  duplicate           a seq appears again: identical (delivered twice), or different (seq reused or forged)
  malformed           a line that is not JSON or lacks emitter_id, seq, prev_hash or hash; a line that
                      names no emitter is listed on its own and also fails the run
  bad_start           the chain does not start at seq 1 with prev_hash "" (see --allow-partial)
A chain cut at its end leaves no trace in the files themselves: compare the last seq and hash (in --json)
with a copy kept elsewhere, e.g. the collector's store.

--json prints { ok, files, lines, emitters, unattributed, unattributedCount }; each emitter is
{ emitterId, events, firstSeq, lastSeq, lastHash, ok, break? } and each break (also the entries of
unattributed) is { kind, emitterId, seq, file, line, reason, missing?: { from, to } }.

Progress goes to stderr on long runs: a status line refreshed every second on a terminal, otherwise a
line every million lines.

Exit status: 0 every chain holds, 1 a break or a malformed line was found, 2 usage error (no input,
a file or directory that cannot be read, unknown option or subcommand).`;

const MiB = 1024 * 1024;
const count = new Intl.NumberFormat('en-US');

function describe(p: VerifyProgress): string {
  if (p.lines === 0) return `audit verify: reading ${p.files} file${p.files === 1 ? '' : 's'}, ${count.format(Math.round(p.bytesTotal / MiB))} MiB`;
  const pct = p.bytesTotal === 0 ? 100 : Math.floor((100 * p.bytesDone) / p.bytesTotal);
  return `audit verify: ${count.format(p.lines)} lines, ${count.format(Math.round(p.bytesDone / MiB))} of ${count.format(Math.round(p.bytesTotal / MiB))} MiB (${pct}%), file ${p.fileIndex + 1}/${p.files} ${basename(p.file)}`;
}

/** On a terminal, one line rewritten at most every second; otherwise plain lines, only for big inputs. */
function progressReporter(stream: NodeJS.WriteStream) {
  const tty = stream.isTTY === true;
  let lastShown = Date.now();
  let showing = false;
  return {
    everyLines: tty ? 20_000 : 1_000_000,
    update(p: VerifyProgress): void {
      if (tty) {
        const now = Date.now();
        if (now - lastShown < 1000) return;
        lastShown = now;
        stream.write(`\r\x1b[K${describe(p)}`);
        showing = true;
      } else if (p.lines > 0 || p.bytesTotal >= 256 * MiB) {
        stream.write(`${describe(p)}\n`);
      }
    },
    done(): void {
      if (showing) stream.write('\r\x1b[K');
    },
  };
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'verify the hash chains of audit event files (audit verify FILE|DIR...)',
  help: HELP,
  async run(args) {
    const { values, positionals } = parseOptions(args, {
      json: { type: 'boolean', default: false },
      'allow-partial': { type: 'boolean', default: false },
    }, true);
    const [subcommand, ...paths] = positionals;
    if (subcommand === undefined) throw new UsageError('missing subcommand: tunnelwatch audit verify FILE|DIR...');
    if (subcommand !== 'verify') throw new UsageError(`unknown subcommand "${subcommand}" (the only one is verify)`);
    if (paths.length === 0) throw new UsageError('name at least one audit file or directory to verify');

    const progress = progressReporter(process.stderr);
    let result;
    try {
      result = await verifyAuditFiles(paths, { allowPartial: values['allow-partial'], onProgress: progress.update, progressEveryLines: progress.everyLines });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!(err instanceof AuditInputError) && typeof code !== 'string') throw err;
      // An input problem (or a read failing half-way): not a verdict on the chains.
      console.error(`tunnelwatch audit verify: ${(err as Error).message}`);
      return 2;
    } finally {
      progress.done();
    }
    console.log(values.json ? JSON.stringify(result, null, 2) : formatVerifyResult(result));
    return result.ok ? 0 : 1;
  },
};
