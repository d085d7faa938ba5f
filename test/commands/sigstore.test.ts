// `trustgate sigstore accept-tag`: an operator's deliberate re-tag reaches the shared rollback memory
// every replica reads (a real redis-server), and the command refuses what it cannot do.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openRedis } from '../../src/cache/redis.js';
import { runAcceptTag } from '../../src/commands/sigstore.js';
import { RedisTagHistory } from '../../src/sigstore/tag-history-redis.js';
import { startRedis } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('cmd-sigstore');
t.teardown(dir.remove);
const D = (c: string) => `sha256:${c.repeat(64)}`;

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) } };
}

t.test('accept-tag writes the shared rollback memory', async (t) => {
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const cfg = join(dir.path, 'trustgate.yaml');
  writeFileSync(
    cfg,
    `redis: ${redis.url}\nupstreams:\n  - {name: docker.io, registry: "http://127.0.0.1:1", default: true}\n  - {name: ghcr.io, registry: "http://127.0.0.1:1"}\npolicy:\n  - {match: "*", action: deny}\n`,
  );
  const client = await openRedis(redis.url);
  t.teardown(() => client.quit());
  const history = new RedisTagHistory(client, 'trustgate:');
  await history.advance('ghcr.io/acme/app', '1.0', { digest: D('a'), order: 1 });
  await history.advance('ghcr.io/acme/app', '1.0', { digest: D('b'), order: 2 });
  t.equal((await history.advance('ghcr.io/acme/app', '1.0', { digest: D('a'), order: 1 })).accepted, false, 'a rollback before');

  const r = io();
  t.equal(await runAcceptTag('ghcr.io/acme/app:1.0', { config: cfg, digest: D('a') }, r.io), 0, r.err.join('\n'));
  t.equal((await history.advance('ghcr.io/acme/app', '1.0', { digest: D('a'), order: 1 })).accepted, true, 'accepted after');

  await history.advance('docker.io/library/alpine', '3.20', { digest: D('c') });
  t.equal(await runAcceptTag('alpine:3.20', { config: cfg }, io().io), 0, 'the default upstream, library/ for Docker Hub');
  t.equal(await history.get('docker.io/library/alpine', '3.20'), undefined, 'forgotten');

  const bad = io();
  t.equal(await runAcceptTag('ghcr.io/acme/app:1.0', { config: cfg, digest: 'sha256:nope' }, bad.io), 2);
  t.match(bad.err.join(''), /CONFIG_INVALID/);
  t.equal(await runAcceptTag('ghcr.io/acme/app', { config: cfg }, io().io), 2, 'no tag');
});

t.test('without redis there is no shared memory to change', async (t) => {
  const cfg = join(dir.path, 'no-redis.yaml');
  writeFileSync(cfg, `upstreams:\n  - {name: docker.io, registry: "http://127.0.0.1:1", default: true}\npolicy:\n  - {match: "*", action: deny}\n`);
  const r = io();
  t.equal(await runAcceptTag('alpine:3.20', { config: cfg, digest: D('a') }, r.io), 2);
  t.match(r.err.join(''), /CONFIG_INVALID/);
});
