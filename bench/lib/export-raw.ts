// The baselines of `npm run bench:export`: what the wire and the receiver take when the sender does
// nothing but send, measured in the same run against the same receiver.
// - syslog: pre-formatted octet-counted frames (the exporter's own bytes) written over one TCP connection
//   as fast as the socket takes them, no confirmation wait; done when rsyslog has written them all out.
// - elasticsearch: pre-serialised _bulk bodies (the exporter's own documents, as UTF-8 bytes) POSTed with `concurrency`
//   requests in flight on keep-alive connections; done when every answer is in (each checked for
//   "errors":false) and _count says the stand-in holds them all.
import http from 'node:http';
import net from 'node:net';

export async function rawSyslogWrites(port: number, frames: readonly Buffer[]): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.setNoDelay(true);
  let failure: Error | undefined;
  socket.on('error', (err) => (failure = err));
  try {
    for (const f of frames) {
      if (failure) throw failure;
      if (!socket.write(f)) await new Promise((r) => socket.once('drain', r));
    }
    await new Promise<void>((resolve, reject) => socket.write(Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  } finally {
    // The caller waits for rsyslog to have written everything; end() lets the last bytes go first.
    socket.end();
  }
}

function post(agent: http.Agent, url: URL, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`_bulk: HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
        resolve(text);
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function rawBulkPosts(baseUrl: string, bodies: readonly Buffer[], concurrency: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL('/_bulk?require_data_stream=true', baseUrl);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++] as Buffer;
      const answer = await post(agent, url, body);
      // The stand-in writes "errors" first; a real client must look at it too.
      if (!answer.startsWith('{"errors":false')) throw new Error(`_bulk answered errors: ${answer.slice(0, 300)}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
}
