import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { FileTooLargeError, TimeoutError, UnreachableError } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { freePort } from '../helpers/process.js';
import { rejectsWith } from '../helpers/trust.js';

async function serve(t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    s.closeAllConnections();
    return new Promise<void>((r) => s.close(() => r()));
  });
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const tooLarge = (limit: number) => new FileTooLargeError('test', `over ${limit}`);

t.test('bodies within the limit are read whole', async (t) => {
  const url = await serve(t, (_req, res) => res.end('hello'));
  const c = new HttpClient();
  t.teardown(() => c.close());
  const r = await c.getBuffered(url, { maxBytes: 5, tooLarge });
  t.equal(r.status, 200);
  t.equal(r.body.toString(), 'hello');
});

t.test('a declared Content-Length over the limit is refused before reading', async (t) => {
  let wrote = 0;
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': String(10 << 20) });
    res.write(Buffer.alloc(1024));
    wrote++;
  });
  const c = new HttpClient();
  t.teardown(() => c.close());
  await rejectsWith(t, c.getBuffered(url, { maxBytes: 1024, tooLarge }), FileTooLargeError, 'TOO_LARGE');
  t.equal(wrote, 1);
});

t.test('an endless chunked body is cut off at the limit', async (t) => {
  let sent = 0;
  const url = await serve(t, (_req, res) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (res.write(chunk)) {
        sent += chunk.length;
        if (sent > 64 << 20) return res.end();
      }
      res.once('drain', pump);
    };
    pump();
  });
  const c = new HttpClient();
  t.teardown(() => c.close());
  await rejectsWith(t, c.getBuffered(url, { maxBytes: 256 * 1024, tooLarge }), FileTooLargeError, 'TOO_LARGE');
  t.ok(sent < 16 << 20, `stopped reading early (${sent} bytes sent)`);
});

t.test('a server that never answers times out', async (t) => {
  const url = await serve(t, () => {
    /* never respond */
  });
  const c = new HttpClient({ headersTimeoutMs: 200, totalTimeoutMs: 5_000 });
  t.teardown(() => c.close());
  await rejectsWith(t, c.getBuffered(url, { maxBytes: 10, tooLarge }), TimeoutError, 'TIMEOUT');
});

t.test('a body that stalls times out', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
  });
  const c = new HttpClient({ bodyIdleTimeoutMs: 200, totalTimeoutMs: 5_000 });
  t.teardown(() => c.close());
  await rejectsWith(t, c.getBuffered(url, { maxBytes: 1000, tooLarge }), TimeoutError, 'TIMEOUT');
});

t.test('a slow trickle is bounded by the total deadline', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200);
    const timer = setInterval(() => res.write('.'), 50);
    res.on('close', () => clearInterval(timer));
  });
  const c = new HttpClient({ bodyIdleTimeoutMs: 1_000, totalTimeoutMs: 400 });
  t.teardown(() => c.close());
  await rejectsWith(t, c.getBuffered(url, { maxBytes: 1 << 20, tooLarge }), TimeoutError, 'TIMEOUT');
});

t.test('a refused connection is unreachable', async (t) => {
  const port = await freePort();
  const c = new HttpClient();
  t.teardown(() => c.close());
  await rejectsWith(t, c.getBuffered(`http://127.0.0.1:${port}/`, { maxBytes: 10, tooLarge }), UnreachableError, 'UNREACHABLE');
});
