// Graceful shutdown of a real `trustgate serve` process: SIGTERM lets an in-flight blob finish,
// refuses new connections, closes Redis, and exits 0.

import t from 'tap';
import { startRedis } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { SLOW_BLOB_SIZE, startSlowBlobUpstream } from '../helpers/slow-blobs.js';
import { startProcess } from '../helpers/trustgate.js';

const dir = tempDir('shutdown');
t.teardown(dir.remove);

t.test('SIGTERM: in-flight pulls finish, new ones are refused, the process exits cleanly', async (t) => {
  const upstream = await startSlowBlobUpstream(t);
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);

  const tg = await startProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: upstream, notary: upstream, default: true }], redis: redis.url});
  t.teardown(tg.stop);
  t.equal((await fetch(`${tg.url}/healthz`)).status, 200);
  const exited = new Promise<number | null>((r) => tg.daemon.child.once('exit', (code) => r(code)));

  // in flight for sure: trustgate has answered with the headers, the body streams for about a second
  const response = await fetch(`${tg.url}/v2/library/x/blobs/sha256:${'a'.repeat(64)}`);
  t.equal(response.status, 200);
  let streaming = true;
  const inflight = response.arrayBuffer().then((b) => {
    streaming = false;
    return b.byteLength;
  });
  tg.daemon.child.kill('SIGTERM');
  // answered until the signal is handled; then no new request is served
  let late = 'HTTP 200';
  for (const deadline = Date.now() + 5_000; late === 'HTTP 200' && Date.now() < deadline; ) {
    late = await fetch(`${tg.url}/healthz`).then(
      (r) => `HTTP ${r.status}`,
      () => 'refused',
    );
    if (late === 'HTTP 200') await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(late === 'refused' || late === 'HTTP 503', `a new request during shutdown is not served (${late})`);
  t.ok(streaming, 'refused while the in-flight blob was still streaming');
  t.equal(await inflight, SLOW_BLOB_SIZE, 'the in-flight blob completed');
  const done = Date.now();
  t.equal(await exited, 0, 'exit status 0');
  t.ok(Date.now() - done < 5_000, 'promptly: idle keep-alive connections do not hold the shutdown');
});
