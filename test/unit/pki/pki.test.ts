import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import {
  createCa,
  initPki,
  issueConnectorCertificate,
  issueConnectorFiles,
  issueRelayCertificate,
  loadCa,
  PkiError,
  x509,
  type IssuedCertificate,
} from '../../../connector/pki/pki.js';
import { pkiCommand } from '../../../cli/commands/pki.js';

interface HandshakeResult {
  /** CN of the client certificate as the server saw it, when the handshake succeeded. */
  peerCn?: string;
  /** Why the server refused the client certificate; recorded only when the server does not reject. */
  authorizationError?: string;
  serverError?: Error;
  clientError?: Error;
}

/** One mTLS handshake over loopback with the relay's settings: client certificates required and checked. */
async function handshake(
  server: { ca: string; cert: string; key: string; rejectUnauthorized?: boolean },
  client: tls.ConnectionOptions,
): Promise<HandshakeResult> {
  const tlsServer = tls.createServer({ rejectUnauthorized: true, ...server, requestCert: true, minVersion: 'TLSv1.2' });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const port = (tlsServer.address() as AddressInfo).port;
  try {
    return await new Promise<HandshakeResult>((resolve) => {
      const result: HandshakeResult = {};
      tlsServer.on('secureConnection', (socket) => {
        if (!socket.authorized) {
          // Node's server drops a refused client without saying why; this is the only place the reason shows.
          result.authorizationError = String(socket.authorizationError);
          socket.destroy();
          return;
        }
        const subject = socket.getPeerCertificate().subject as unknown as Record<string, string> | undefined;
        result.peerCn = subject?.CN;
        socket.end('hello');
      });
      tlsServer.on('tlsClientError', (err) => {
        result.serverError = err;
      });
      const socket = tls.connect({ port, host: '127.0.0.1', ...client });
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
      socket.on('error', (err) => {
        result.clientError = err;
      });
      // Settles once the client side is done, whatever the outcome; 'hello' proves the server accepted us.
      socket.on('close', () => {
        if (data !== 'hello') delete result.peerCn;
        setImmediate(() => resolve(result));
      });
    });
  } finally {
    await new Promise((resolve) => tlsServer.close(resolve));
  }
}

describe('pki', () => {
  let ca: IssuedCertificate;
  let relay: IssuedCertificate;
  let connector: IssuedCertificate;
  let otherCa: IssuedCertificate;

  before(async () => {
    ca = await createCa();
    relay = await issueRelayCertificate(ca);
    connector = await issueConnectorCertificate(ca, { name: 'plant-berlin' });
    otherCa = await createCa({ commonName: 'Someone Else CA' });
  });

  it('creates a self-signed CA valid for ten years that may sign only leaf certificates', async () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.ca, true);
    assert.ok(cert.verify(cert.publicKey));
    const years = (Date.parse(cert.validTo) - Date.now()) / (365.25 * 24 * 3600 * 1000);
    assert.ok(years > 9.9 && years < 10.1, `CA valid for ${years} years`);
    const basic = ca.certificate.getExtension(x509.BasicConstraintsExtension);
    assert.equal(basic?.pathLength, 0);
    assert.equal(createPrivateKey(ca.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('issues a relay certificate for localhost and 127.0.0.1 by default, for server authentication', () => {
    const cert = new X509Certificate(relay.certPem);
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
    assert.equal(cert.checkHost('localhost'), 'localhost');
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('puts each given relay host into the subject alternative names as DNS name or IP address', async () => {
    const cert = new X509Certificate((await issueRelayCertificate(ca, { hosts: ['relay.example.com', '10.0.0.7', '::1'] })).certPem);
    assert.equal(cert.subjectAltName, 'DNS:relay.example.com, IP Address:10.0.0.7, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(cert.checkHost('localhost'), undefined);
    await assert.rejects(issueRelayCertificate(ca, { hosts: ['not a host'] }), PkiError);
  });

  it('issues connector certificates for client authentication with the connector name as CN', () => {
    const cert = new X509Certificate(connector.certPem);
    assert.equal(cert.subject, 'CN=plant-berlin');
    assert.equal(cert.issuer, 'CN=Tunnelwatch CA');
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  });

  it('rejects connector names that are unsafe as file names or collide with the CA and relay files', async () => {
    for (const name of ['../evil', 'a b', '', 'ca', 'Relay', '-x']) {
      await assert.rejects(issueConnectorCertificate(ca, { name }), PkiError, name);
    }
  });

  it('completes an mTLS handshake in which the server sees the connector CN', async () => {
    const result = await handshake(
      { ca: ca.certPem, cert: relay.certPem, key: relay.keyPem },
      { ca: ca.certPem, cert: connector.certPem, key: connector.keyPem, servername: 'localhost' },
    );
    assert.equal(result.serverError, undefined);
    assert.equal(result.clientError, undefined);
    assert.equal(result.peerCn, 'plant-berlin');
  });

  it('lets the connector verify the relay by IP address too', async () => {
    const result = await handshake(
      { ca: ca.certPem, cert: relay.certPem, key: relay.keyPem },
      { ca: ca.certPem, cert: connector.certPem, key: connector.keyPem },
    );
    assert.equal(result.peerCn, 'plant-berlin');
  });

  it('refuses a connector certificate signed by another CA', async () => {
    const stranger = await issueConnectorCertificate(otherCa, { name: 'plant-berlin' });
    const server = { ca: ca.certPem, cert: relay.certPem, key: relay.keyPem };
    const client = { ca: ca.certPem, cert: stranger.certPem, key: stranger.keyPem, servername: 'localhost' };
    const result = await handshake(server, client);
    assert.equal(result.peerCn, undefined);
    assert.ok(result.serverError, 'the server reports the refused client');
    const reason = await handshake({ ...server, rejectUnauthorized: false }, client);
    assert.equal(reason.authorizationError, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('refuses the relay certificate presented as a client certificate (no clientAuth usage)', async () => {
    const server = { ca: ca.certPem, cert: relay.certPem, key: relay.keyPem };
    const client = { ca: ca.certPem, cert: relay.certPem, key: relay.keyPem, servername: 'localhost' };
    assert.equal((await handshake(server, client)).peerCn, undefined);
    assert.equal((await handshake({ ...server, rejectUnauthorized: false }, client)).authorizationError, 'INVALID_PURPOSE');
  });

  it('refuses a client without a certificate', async () => {
    const result = await handshake({ ca: ca.certPem, cert: relay.certPem, key: relay.keyPem }, { ca: ca.certPem, servername: 'localhost' });
    assert.equal(result.peerCn, undefined);
    assert.ok(result.serverError);
  });

  it('makes a connector refuse a relay whose certificate another CA signed', async () => {
    const fake = await issueRelayCertificate(otherCa);
    const result = await handshake(
      { ca: ca.certPem, cert: fake.certPem, key: fake.keyPem },
      { ca: ca.certPem, cert: connector.certPem, key: connector.keyPem, servername: 'localhost' },
    );
    assert.equal(result.peerCn, undefined);
    assert.match(String((result.clientError as NodeJS.ErrnoException | undefined)?.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED/);
  });

  it('does not let a connector certificate act as a TLS server', async () => {
    const result = await handshake(
      { ca: ca.certPem, cert: connector.certPem, key: connector.keyPem },
      { ca: ca.certPem, cert: connector.certPem, key: connector.keyPem, servername: 'plant-berlin', checkServerIdentity: () => undefined },
    );
    assert.equal(result.peerCn, undefined);
    assert.ok(result.clientError);
  });

  it('loads a CA from PEM, also with an OpenSSL-style SEC1 key, and refuses a key of another CA', async () => {
    const sec1 = createPrivateKey(ca.keyPem).export({ type: 'sec1', format: 'pem' }) as string;
    const loaded = await loadCa(ca.certPem, sec1);
    const issued = await issueConnectorCertificate(loaded, { name: 'c2' });
    assert.ok(new X509Certificate(issued.certPem).verify(new X509Certificate(ca.certPem).publicKey));
    await assert.rejects(loadCa(ca.certPem, otherCa.keyPem), /does not match/);
    await assert.rejects(loadCa(relay.certPem, relay.keyPem), /not a CA/);
  });
});

describe('pki files and command', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tw-pki-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the CA, relay and default connector files with private keys readable only by the owner', async () => {
    const out = join(dir, 'init');
    const written = await initPki(out);
    assert.deepEqual(written.map((p) => p.slice(out.length + 1)), ['ca.crt', 'ca.key', 'relay.crt', 'relay.key', 'connector-1.crt', 'connector-1.key']);
    for (const path of written) {
      const mode = (await stat(path)).mode & 0o777;
      assert.equal(mode, path.endsWith('.key') ? 0o600 : 0o644, path);
    }
  });

  it('never overwrites existing files without force, and writes nothing at all then', async () => {
    const out = join(dir, 'no-overwrite');
    await initPki(out, { connectors: ['a'] });
    const caBefore = await readFile(join(out, 'ca.crt'), 'utf8');
    await assert.rejects(initPki(out, { connectors: ['a', 'b'] }), /refusing to overwrite .*--force/);
    await assert.rejects(stat(join(out, 'b.crt')), { code: 'ENOENT' });
    assert.equal(await readFile(join(out, 'ca.crt'), 'utf8'), caBefore);
    await initPki(out, { connectors: ['a'], force: true });
    assert.notEqual(await readFile(join(out, 'ca.crt'), 'utf8'), caBefore);
  });

  it('narrows the mode of a key file that existed with a wider one when forced', async () => {
    const out = join(dir, 'force-mode');
    await initPki(out);
    await writeFile(join(out, 'connector-1.key'), 'x', { mode: 0o644 });
    await issueConnectorFiles(out, 'connector-1', { force: true });
    assert.equal((await stat(join(out, 'connector-1.key'))).mode & 0o777, 0o600);
  });

  it('issues another connector from the CA in the directory through `pki init` and `pki issue`', async () => {
    const out = join(dir, 'cli');
    const log = console.log;
    console.log = () => {};
    try {
      assert.equal(await pkiCommand.run(['init', '--out', out, '--relay-host', 'relay.example.com', '--connector', 'plant-a']), 0);
      assert.equal(await pkiCommand.run(['issue', '--out', out, '--connector', 'plant-b']), 0);
    } finally {
      console.log = log;
    }
    const caCert = new X509Certificate(await readFile(join(out, 'ca.crt')));
    const relayCert = new X509Certificate(await readFile(join(out, 'relay.crt')));
    const issued = new X509Certificate(await readFile(join(out, 'plant-b.crt')));
    assert.equal(relayCert.subjectAltName, 'DNS:relay.example.com');
    assert.equal(issued.subject, 'CN=plant-b');
    assert.ok(issued.verify(caCert.publicKey));
  });

  it('answers usage errors and refusals with exit code 2', async () => {
    const err = console.error;
    console.error = () => {};
    try {
      await assert.rejects(pkiCommand.run(['init']), /--out DIR is required/);
      await assert.rejects(pkiCommand.run(['issue', '--out', dir]), /exactly one --connector/);
      await assert.rejects(pkiCommand.run(['rotate']), /unknown subcommand/);
      assert.equal(await pkiCommand.run(['issue', '--out', join(dir, 'missing'), '--connector', 'x']), 2);
    } finally {
      console.error = err;
    }
  });
});
