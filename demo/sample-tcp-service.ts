// A line-based TCP service ("QUOTE <symbol>" -> "<symbol> <price>"), standing in for a non-HTTP backend.
import net from 'node:net';

export async function startSampleTcpService(host: string, port: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.setEncoding('utf8');
    socket.write('READY stock-quotes 1.0\n');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        const m = /^QUOTE ([A-Z]{1,8})$/.exec(line);
        if (m) {
          const symbol = m[1] as string;
          let h = 0;
          for (const ch of symbol) h = (h * 31 + ch.charCodeAt(0)) % 100000;
          socket.write(`${symbol} ${(h / 100 + 10).toFixed(2)}\n`);
        } else if (line === 'QUIT') {
          socket.end('BYE\n');
        } else if (line) {
          socket.write('ERR unknown command\n');
        }
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}
