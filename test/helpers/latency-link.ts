// A TCP forwarder on 127.0.0.1 that delays each direction by a fixed time: a slow WAN link between the
// connector and the relay, in one process, without tc/netem. Byte order is kept (same delay, FIFO timers).
import net, { type AddressInfo } from 'node:net';

export interface LatencyLink {
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

export async function startLatencyLink(target: { host?: string; port: number }, delays: { upstreamMs: number; downstreamMs: number }): Promise<LatencyLink> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const relay = (from: net.Socket, to: net.Socket, delayMs: number): void => {
    from.on('data', (chunk: Buffer) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, delayMs);
    });
    from.on('end', () => setTimeout(() => to.end(), delayMs));
  };
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect({ host: target.host ?? '127.0.0.1', port: target.port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.setNoDelay(true);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    // upstream: from the dialling side (client) to the target.
    relay(client, upstream, delays.upstreamMs);
    relay(upstream, client, delays.downstreamMs);
    client.on('close', () => setTimeout(() => upstream.destroy(), delays.upstreamMs));
    upstream.on('close', () => setTimeout(() => client.destroy(), delays.downstreamMs));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => accepted,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
