// Graceful shutdown of a real `trustgate serve` process: SIGTERM lets an in-flight blob finish,
// refuses new connections, closes Redis, and exits 0.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { startRedis } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { startProcess } from '../helpers/trustgate.js';

const dir = tempDir('shutdown');
t.teardown(dir.remove);
const SIZE = 1 << 20;

t.test('SIGTERM: in-flight pulls finish, new ones are refused, the process exits cleanly', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const slow = createServer((req, res) => {
    if (!req.url?.includes('/blobs/')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(SIZE), 'content-type': 'application/octet-stream' });
    let sent = 0;
    const timer = setInterval(() => {
      res.write(chunk);
      sent += chunk.length;
      if (sent >= SIZE) {
        clearInterval(timer);
        res.end();
      }
    }, 60); // ~1 s for the whole blob
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => slow.close(() => r())));
  const upstream = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);

  const tg = await startProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: upstream, notary: upstream, default: true }], redis: redis.url});
  t.teardown(tg.stop);
  t.equal((await fetch(`${tg.url}/healthz`)).status, 200);
  const exited = new Promise<number | null>((r) => tg.daemon.child.once('exit', (code) => r(code)));

  const inflight = fetch(`${tg.url}/v2/library/x/blobs/sha256:${'a'.repeat(64)}`).then(async (r) => Buffer.from(await r.arrayBuffer()).length);
  await new Promise((r) => setTimeout(r, 250));
  tg.daemon.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 150));
  const late = await fetch(`${tg.url}/healthz`).then(
    (r) => `HTTP ${r.status}`,
    () => 'refused',
  );
  t.ok(late === 'refused' || late === 'HTTP 503', `a new request during shutdown is not served (${late})`);
  t.equal(await inflight, SIZE, 'the in-flight blob completed');
  const done = Date.now();
  t.equal(await exited, 0, 'exit status 0');
  t.ok(Date.now() - done < 5_000, 'promptly: idle keep-alive connections do not hold the shutdown');
});
