// The Notary read API of a `trustgate serve` process reads trust data from `trust.bundles` only: a
// GUN whose host is `..` (or any other component outside the registry host grammar) is refused, and
// nothing outside the directory is read, whatever lies there.

import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { freePort, tempDir } from '../helpers/process.js';
import { startProcess } from '../helpers/trustgate.js';

const dir = tempDir('notary-api-paths');
t.teardown(dir.remove);

/** GET a raw request target, exactly as written (fetch would normalise the dot segments away). */
function rawGet(port: number, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: target, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('GUNs with dot components do not leave trust.bundles', async (t) => {
  const bundles = join(dir.path, 'bundles');
  mkdirSync(bundles, { recursive: true, mode: 0o755 });
  const secret = '{"not":"trust data, and not for clients"}';
  for (const where of ['outside/_tuf', 'outside/x/_tuf']) {
    mkdirSync(join(dir.path, where), { recursive: true });
    writeFileSync(join(dir.path, where, 'root.json'), secret);
  }
  const tg = await startProcess(dir.path, {
    upstreams: [{ name: 'docker.io', registry: `http://127.0.0.1:${await freePort()}`, notary: 'offline', default: true }],
    trust: { bundles },
  });
  t.teardown(tg.stop);

  const inside = await rawGet(tg.port, '/v2/docker.io/library/inside/_trust/tuf/root.json');
  t.equal(inside.status, 404, 'a GUN inside the directory is looked up (nothing imported yet)');
  for (const target of ['/v2/../outside/_trust/tuf/root.json', '/v2/./../outside/_trust/tuf/root.json', '/v2/../outside/x/_trust/tuf/root.json', '/v2/docker.io/../../outside/_trust/tuf/root.json']) {
    const r = await rawGet(tg.port, target);
    t.equal(r.status, 400, target);
    t.equal((JSON.parse(r.body) as { errors?: { code: string }[] }).errors?.[0]?.code, 'NAME_INVALID', target);
    t.notMatch(r.body, 'not for clients', 'nothing outside trust.bundles was read');
  }
});
