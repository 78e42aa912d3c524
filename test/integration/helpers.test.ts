// Proves the system-test helpers themselves: real nginx and slapd start, serve, log and stop.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startNginx, ORDERS, type Nginx } from '../helpers/nginx.js';
import { startSlapd, type Slapd } from '../helpers/slapd.js';
import { freePort, isPortOpen } from '../helpers/ports.js';
import { run, startProcess, waitFor } from '../helpers/processes.js';

describe('nginx helper', () => {
  let nginx: Nginx;
  before(async () => {
    nginx = await startNginx({ bigFileMb: 200 });
  });
  after(async () => {
    await nginx?.stop();
  });

  it('serves the orders JSON at /api/orders and /api/orders/1', async () => {
    const list = await run('curl', ['-sS', '-f', `${nginx.url}/api/orders`]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), { orders: ORDERS });
    const one = await run('curl', ['-sS', '-f', '-w', '%{content_type}', `${nginx.url}/api/orders/1`]);
    // The body ends with a newline, so curl's -w output lands on a line of its own.
    const [body, contentType] = one.stdout.split('\n');
    assert.deepEqual(JSON.parse(body ?? ''), ORDERS[0]);
    assert.equal(contentType, 'application/json');
  });

  it('serves the index page and the big file with its full length', async () => {
    const index = await fetch(`${nginx.url}/`);
    assert.match(await index.text(), /backend ok/);
    const big = await fetch(`${nginx.url}/big.bin`, { method: 'HEAD' });
    assert.equal(big.status, 200);
    assert.equal(big.headers.get('content-length'), String(200 * 1024 * 1024));
  });

  it('logs the exact request line the backend received', async () => {
    const before = (await nginx.accessLog()).length;
    const r = await run('curl', ['-sS', '--path-as-is', `${nginx.url}/api/orders/../orders/1?q=a%20b`]);
    assert.equal(r.code, 0, r.stderr);
    const lines = await nginx.accessLog({ atLeast: before + 1 });
    assert.equal(lines.at(-1), 'GET /api/orders/../orders/1?q=a%20b HTTP/1.1');
    const entries = await nginx.accessEntries({ atLeast: before + 1 });
    assert.equal(entries.at(-1)?.status, 200);
    assert.equal(entries.at(-1)?.host, `127.0.0.1:${nginx.port}`);
  });

  it('stops and frees its port', async () => {
    const other = await startNginx({ extraConfig: 'location = /teapot { return 418; }' });
    assert.equal((await fetch(`${other.url}/teapot`)).status, 418);
    await other.stop();
    assert.equal(await isPortOpen(other.port), false);
  });
});

describe('slapd helper', () => {
  let slapd: Slapd;
  before(async () => {
    slapd = await startSlapd({ port: await freePort() });
  });
  after(async () => {
    await slapd?.stop();
  });

  it('finds alice and her group with an anonymous search', async () => {
    const r = await run('ldapsearch', ['-x', '-LLL', '-H', slapd.url, '-b', slapd.baseDn, '(uid=alice)', 'dn', 'mail']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^dn: ${slapd.users.alice.dn}$`, 'm'));
    assert.match(r.stdout, /^mail: alice@example\.com$/m);
    const groups = await run('ldapsearch', ['-x', '-LLL', '-H', slapd.url, '-b', slapd.groupsDn, `(member=${slapd.users.alice.dn})`, 'cn']);
    assert.match(groups.stdout, /^cn: soc-analysts$/m);
    assert.doesNotMatch(groups.stdout, /^cn: admins$/m);
  });

  it('accepts a bind as alice with her password and refuses a wrong one', async () => {
    const { dn, password } = slapd.users.alice;
    const ok = await run('ldapwhoami', ['-x', '-H', slapd.url, '-D', dn, '-w', password]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), `dn:${dn}`);
    const wrong = await run('ldapwhoami', ['-x', '-H', slapd.url, '-D', dn, '-w', 'not-her-password']);
    assert.equal(wrong.code, 49, 'LDAP result 49: invalid credentials');
  });

  it('hides password hashes from anonymous readers', async () => {
    const r = await run('ldapsearch', ['-x', '-LLL', '-H', slapd.url, '-b', slapd.peopleDn, '(uid=bob)', 'userPassword']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /userPassword/);
  });
});

describe('process helpers', () => {
  it('rejects with the captured output when a process exits before it is ready', async () => {
    await assert.rejects(
      startProcess('sh', ['-c', 'echo booting; echo broken config >&2; exit 3'], { readyWhen: /listening/, timeoutMs: 5000 }),
      /exited \(code 3.*booting.*broken config/s,
    );
  });

  it('waits for a line on stdout and stops the whole process group', async () => {
    const proc = await startProcess('sh', ['-c', 'sleep 30 & echo $! > /dev/stderr; echo ready; wait'], { readyWhen: /^ready$/m });
    const grandchild = Number(await waitFor(() => proc.stderr().trim()));
    await proc.stop();
    // Gone, or a zombie: where PID 1 does not reap orphans (some containers) they stay zombies.
    const gone = async () => {
      const stat = await readFile(`/proc/${grandchild}/stat`, 'utf8').catch(() => '');
      return stat === '' || / Z /.test(stat);
    };
    await waitFor(gone, { timeoutMs: 2000, message: 'the background sleep to be gone' });
  });
});
