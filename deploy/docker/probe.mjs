#!/usr/bin/env node
// Health probe for container health checks, since the slim image has neither curl nor wget:
//   node probe.mjs http://127.0.0.1:4318/readyz     exit 0 on a 2xx answer
//   node probe.mjs tcp://127.0.0.1:8080              exit 0 when a TCP connection opens
//   node probe.mjs dir:/var/lib/tunnelwatch/audit    exit 0 when the folder exists and is writable
// Exit 1 otherwise, within 3 seconds. It reads nothing but the status: no token is needed or sent.
// Never point tcp:// at a relay's tunnel port: it is TLS with client certificates, and every connection
// that closes before a handshake is logged there as a failed connector handshake.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { accessSync, constants, statSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout } from 'node:timers';

const TIMEOUT_MS = 3000;

function done(ok, why) {
  if (!ok) console.error(`probe: ${why}`);
  process.exit(ok ? 0 : 1);
}

const target = process.argv[2];
if (!target) done(false, 'usage: probe.mjs http(s)://host:port/path | tcp://host:port | dir:/path');
const url = new URL(target);
setTimeout(() => done(false, `no answer from ${target} within ${TIMEOUT_MS} ms`), TIMEOUT_MS).unref();

if (url.protocol === 'dir:') {
  try {
    accessSync(url.pathname, constants.W_OK | constants.X_OK);
    done(statSync(url.pathname).isDirectory(), `${url.pathname} is not a folder`);
  } catch (err) {
    done(false, `${url.pathname}: ${err.code ?? err.message}`);
  }
} else if (url.protocol === 'tcp:') {
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.once('connect', () => {
    socket.destroy();
    done(true);
  });
  socket.once('error', (err) => done(false, `${target}: ${err.message}`));
} else if (url.protocol === 'http:' || url.protocol === 'https:') {
  // A health probe of our own process, often over loopback with a private CA: it checks that the
  // service answers, not who it is, so the certificate is not verified here.
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = request(url, { method: 'GET', rejectUnauthorized: false }, (res) => {
    res.resume();
    const status = res.statusCode ?? 0;
    done(status >= 200 && status < 300, `${target} answered ${status}`);
  });
  req.once('error', (err) => done(false, `${target}: ${err.message}`));
  req.end();
} else {
  done(false, `unsupported scheme ${url.protocol}`);
}
