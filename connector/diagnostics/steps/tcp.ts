// Step 2: open a TCP connection to the resolved addresses, in the resolver's order, as a real call would.
// The first address that accepts wins and its socket is handed to the next steps, so TLS and the probe run
// on the very connection that was measured.
import net from 'node:net';
import { errorCode, errorMessage, fail, hostPort, ok, since, type StepResult } from './step-kit.js';

/** Whose port it is, for the hint at the end of a message. */
export type Peer = 'backend' | 'relay';

export interface TcpOutcome {
  readonly result: StepResult;
  readonly socket?: net.Socket;
  readonly address?: string;
  /** Time to connect to the address that accepted, ms. */
  readonly connectMs: number;
}

/** More addresses than this are not tried: the step's time would grow with each. */
const MAX_ADDRESSES = 4;

const HINTS: Record<Peer, { refused: string; timeout: string; unreachable: string; reset: string }> = {
  backend: {
    refused: 'check the mapping\'s internal port or whether the service runs',
    timeout: 'a firewall between the connector and the backend probably drops the connection attempts, or the host is down',
    unreachable: 'the connector host has no route to the backend',
    reset: 'a firewall or load balancer in front of the backend rejected the connection, or the service crashed',
  },
  relay: {
    refused: 'check relay.address (the relay\'s tunnel port) or whether the relay runs',
    timeout: 'a firewall between this host and the relay probably drops the connection attempts (outbound to the relay\'s tunnel port must be allowed)',
    unreachable: 'this host has no route to the relay (check the default route, a required outbound proxy, or the relay address)',
    reset: 'a firewall or proxy on the way rejected the connection',
  },
};

interface Attempt {
  address: string;
  code: string;
  error: string;
}

export async function tcpStep(addresses: readonly string[], port: number, timeoutMs: number, peer: Peer): Promise<TcpOutcome> {
  const tried: Attempt[] = [];
  for (const address of addresses.slice(0, MAX_ADDRESSES)) {
    const start = performance.now();
    try {
      const socket = await connect(address, port, timeoutMs);
      const connectMs = since(start);
      const detail = { address, port, local: hostPort(socket.localAddress ?? '', socket.localPort ?? 0), failed_addresses: tried };
      const others = tried.length > 0 ? ` (after ${tried.map((t) => `${hostPort(t.address, port)}: ${t.code}`).join(', ')})` : '';
      return { result: ok(`connected to ${hostPort(address, port)} in ${connectMs} ms${others}`, detail), socket, address, connectMs };
    } catch (err) {
      tried.push({ address, code: errorCode(err) || 'ERROR', error: errorMessage(err) });
    }
  }
  const first = tried[0];
  if (!first) return { result: fail('tcp_unreachable', 'no address to connect to'), connectMs: 0 };
  const at = hostPort(first.address, port);
  const also = tried.length > 1 ? ` (also ${tried.slice(1).map((t) => `${hostPort(t.address, port)}: ${t.code}`).join(', ')})` : '';
  const hint = HINTS[peer];
  const detail = { port, attempts: tried };
  switch (first.code) {
    case 'ECONNREFUSED':
      return { result: fail('tcp_refused', `connection refused at ${at} means nothing listens there: ${hint.refused}${also}`, detail), connectMs: 0 };
    case 'ETIMEDOUT':
      return { result: fail('tcp_timeout', `no answer from ${at} within ${timeoutMs} ms: ${hint.timeout}${also}`, detail), connectMs: 0 };
    case 'ECONNRESET':
    case 'EPIPE':
      return { result: fail('tcp_reset', `${at} reset the connection while it was being opened: ${hint.reset}${also}`, detail), connectMs: 0 };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { result: fail('tcp_unreachable', `${at} is unreachable (${first.code}): ${hint.unreachable}${also}`, detail), connectMs: 0 };
    default:
      return { result: fail('tcp_unreachable', `cannot connect to ${at} (${first.code}: ${first.error})${also}`, detail), connectMs: 0 };
  }
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      const err: NodeJS.ErrnoException = new Error(`no connection within ${timeoutMs} ms`);
      err.code = 'ETIMEDOUT';
      reject(err);
    }, timeoutMs);
    timer.unref();
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // An error between two steps (a reset before the TLS step listens) must not crash the process:
      // the next step sees the destroyed socket and says so.
      socket.on('error', () => {});
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', onError);
  });
}
