// A small business-like HTTP API (orders, customers, invoices, an admin area) used as a demo backend.
import http from 'node:http';

const ORDERS = Array.from({ length: 25 }, (_, i) => ({
  id: 4500000 + i,
  customer: `C${1000 + (i % 7)}`,
  amount: Math.round((100 + i * 37.5) * 100) / 100,
  currency: 'EUR',
  status: i % 5 === 0 ? 'open' : 'shipped',
}));

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startSampleHttpApi(host: string, port: number, name = 'erp'): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    const path = url.pathname;
    if (path === '/health') return json(res, 200, { status: 'up', backend: name });
    if (path === '/api/orders' && req.method === 'GET') return json(res, 200, { orders: ORDERS.slice(0, 10), backend: name });
    if (path === '/api/orders' && req.method === 'POST') {
      let size = 0;
      req.on('data', (c: Buffer) => (size += c.length));
      req.on('end', () => json(res, 201, { created: 4500100, bytes: size }));
      return;
    }
    const order = /^\/api\/orders\/(\d+)$/.exec(path);
    if (order) {
      const found = ORDERS.find((o) => o.id === Number(order[1]));
      return found ? json(res, 200, found) : json(res, 404, { error: 'no such order' });
    }
    if (path.startsWith('/api/customers')) return json(res, 200, { customers: ['C1000', 'C1001', 'C1002'], backend: name });
    if (path.startsWith('/api/invoices')) return json(res, 200, { invoices: [{ id: 'INV-1', amount: 1200 }], backend: name });
    if (path.startsWith('/sap/opu/odata/')) return json(res, 200, { d: { results: ORDERS.slice(0, 3) } });
    if (path.startsWith('/admin')) return json(res, 200, { users: ['root'], note: 'should never be reachable from the cloud' });
    json(res, 404, { error: 'not found', path });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return server;
}
