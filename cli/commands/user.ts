// `tunnelwatch user hash-password`: the scrypt hash of a dashboard user's password, for dashboard.users.
// The password comes from a file, from a pipe, or typed at the terminal without echo; it never appears on
// the command line (where ps and shell history would show it).
import { readFile } from 'node:fs/promises';
import { hashPassword } from '../../dashboard/auth/password.js';
import { parseOptions, UsageError, type Command } from '../command.js';

/** A password file or piped input ends with one newline that is not part of the password. */
function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

async function readPipe(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return withoutFinalNewline(Buffer.concat(chunks).toString('utf8'));
}

/** Reads one line from the terminal in raw mode, echoing nothing. */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new UsageError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPassword(passwordFile: string | undefined): Promise<string> {
  if (passwordFile !== undefined) {
    try {
      return withoutFinalNewline(await readFile(passwordFile, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read --password-file ${passwordFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  if (!process.stdin.isTTY) return readPipe();
  const first = await readHidden('Password: ');
  const second = await readHidden('Repeat password: ');
  if (first !== second) throw new UsageError('the two passwords differ; nothing was hashed');
  return first;
}

export const userCommand: Command = {
  name: 'user',
  summary: 'hash a dashboard user\'s password for dashboard.users',
  help: `Usage: tunnelwatch user hash-password [--password-file FILE]

Prints the scrypt hash (scrypt$N$r$p$salt$hash) of a password for the password_hash of a local
dashboard user:

  dashboard:
    users:
      - name: ada
        role: admin            # viewer, analyst or admin
        password_hash: scrypt$32768$8$1$...

The password is read from FILE (one trailing newline dropped), or from stdin: typed without echo and
asked twice at a terminal, or piped (printf '%s' "$PW" | tunnelwatch user hash-password). It is never
taken from the command line. The hash goes to stdout, notes to stderr.`,
  async run(args) {
    const [sub, ...rest] = args;
    if (sub !== 'hash-password') throw new UsageError('expected "hash-password"');
    const { values } = parseOptions(rest, { 'password-file': { type: 'string' } });
    const password = await readPassword(values['password-file']);
    if (password === '') throw new UsageError('the password is empty; an empty password can never sign in');
    if ([...password].length < 12) console.error('tunnelwatch user: note: a password of fewer than 12 characters is easy to guess');
    console.log(await hashPassword(password));
    return 0;
  },
};
