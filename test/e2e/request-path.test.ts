// The request path of a `trustgate serve` process with client authentication, sent raw over a socket:
// absolute-form targets (`GET http://x/v2/ HTTP/1.1`, which the router would route) are refused
// before routing, with or without credentials; every other path needs credentials but /healthz,
// /readyz and (unless metrics.auth) /metrics; a 12 KB target is refused
// for its length; a verified tag list's Link keeps the upstream prefix the client used; repository
// labels on /metrics are bounded and hashed when asked.

import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { startProcess, type TrustgateSpec } from '../helpers/trustgate.js';

const dir = tempDir('request-path');
t.teardown(dir.remove);
const TOKEN = 'request-path-token';
const BEARER = `Bearer ${TOKEN}`;

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request exactly as written, on its own connection. */
function raw(port: number, target: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      const lines = Object.entries({ host: 'trustgate.test', connection: 'close', accept: ALL_MANIFEST_TYPES.join(','), ...headers }).map(([k, v]) => `${k}: ${v}`);
      s.write(`GET ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    });
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString('latin1')));
    s.on('error', reject);
    s.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n', 2);
      const [status = '', ...rest] = head.split('\r\n');
      const hs: Record<string, string> = {};
      for (const l of rest) hs[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      resolve({ status: Number(status.split(' ')[1]), headers: hs, body });
    });
  });
}

t.test('the request path of an authenticating trustgate', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const layouts = buildLayouts(join(dir.path, 'oci'));
  const host = registry.url.replace('http://', '');
  await push(layouts.single, 'v1', `${host}/library/demo:v1`, { format: 'v2s2' });
  await push(layouts.single2, 'v2', `${host}/library/demo:v2`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, 'library/demo', 'v1');
  const v2 = await manifestOf(registry.url, 'library/demo', 'v2');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  for (const gun of ['docker.io/library/demo', 'other.test/library/demo']) {
    await cli.init(gun);
    await cli.sign(gun, 'v1', v1);
    await cli.sign(gun, 'v2', v2);
  }
  const spec = (over: Partial<TrustgateSpec>): TrustgateSpec => ({
    upstreams: [
      { name: 'docker.io', registry: registry.url, notary: notary.url, default: true },
      { name: 'other.test', registry: registry.url, notary: notary.url },
    ],
    auth: { tokenSha256: [createHash('sha256').update(TOKEN).digest('hex')] },
    ...over,
  });
  const tg = await startProcess(dir.path, spec({ metrics: { maxRepositories: 1, repositoryLabel: 'sha256' } }));
  t.teardown(tg.stop);
  const closedMetrics = await startProcess(dir.path, spec({ metrics: { auth: true } }));
  t.teardown(closedMetrics.stop);
  const auth = { authorization: BEARER };

  await t.test('absolute-form targets are refused before routing; origin-form ones need credentials', async (t) => {
    const reason = (r: Raw) => (JSON.parse(r.body || '{}') as { errors?: { detail: { reason: string } }[] }).errors?.[0]?.detail.reason;
    for (const target of ['http://x/v2/', 'http://x/v2/library/demo/manifests/v1', 'https://x:443/v2/library/demo/tags/list', 'http://x/healthz', 'http://x/metrics']) {
      for (const headers of [{}, auth]) {
        const r = await raw(tg.port, target, headers);
        t.equal(r.status, 400, `${target}${headers === auth ? ' with credentials' : ''}`);
        t.equal(reason(r), 'BAD_REQUEST');
      }
    }
    for (const target of ['/v2/', '/v2/library/demo/manifests/v1', '/v2/library/demo/tags/list', '/v2/docker.io/library/demo/_trust/tuf/root.json']) {
      const r = await raw(tg.port, target);
      t.equal(r.status, 401, `${target} without credentials`);
      t.match(r.headers['www-authenticate'] ?? '', /^Basic realm=/);
    }
    const pulled = await raw(tg.port, '/v2/library/demo/manifests/v1', auth);
    t.equal(pulled.status, 200);
    t.equal(pulled.headers['docker-content-digest'], v1.digest);
  });

  await t.test('only liveness, readiness and metrics are open', async (t) => {
    for (const target of ['/healthz', '/metrics', '/metrics?x=1']) t.equal((await raw(tg.port, target)).status, 200, target);
    t.not((await raw(tg.port, '/readyz')).status, 401);
    for (const target of ['/v2/../healthz', '//healthz', '/nothing', '/healthz/']) t.equal((await raw(tg.port, target)).status, 401, target);
    t.equal((await raw(closedMetrics.port, '/metrics')).status, 401, 'metrics.auth');
    t.equal((await raw(closedMetrics.port, '/metrics', auth)).status, 200);
    t.equal((await raw(closedMetrics.port, '/healthz')).status, 200);
  });

  await t.test('a 12 KB request target is refused for its length', async (t) => {
    for (const target of ['/v2/' + 'a/manifests/'.repeat(1000) + 'b/c', '/v2/' + 'a/_trust/tuf/'.repeat(1000) + 'x.jso']) {
      const r = await raw(tg.port, target, auth);
      t.equal(r.status, 400);
      t.equal((JSON.parse(r.body || '{}') as { errors?: { code: string }[] }).errors?.[0]?.code, 'NAME_INVALID');
    }
  });

  await t.test("a verified tag list's next page stays on the upstream the client named", async (t) => {
    const first = await raw(tg.port, '/v2/other.test/library/demo/tags/list?n=1', auth);
    t.equal(first.status, 200);
    t.same(JSON.parse(first.body), { name: 'library/demo', tags: ['v1'] });
    const link = /^<([^>]+)>; rel="next"$/.exec(first.headers.link ?? '')?.[1] ?? '';
    t.equal(link, '/v2/other.test/library/demo/tags/list?n=1&last=v1');
    const second = await raw(tg.port, link, auth);
    t.same(JSON.parse(second.body || '{}'), { name: 'library/demo', tags: ['v2'] });
  });

  await t.test('repository labels on /metrics are bounded and hashed', async (t) => {
    t.equal((await raw(tg.port, '/v2/library/demo/manifests/v2', auth)).status, 200);
    const body = (await raw(tg.port, '/metrics')).body;
    const gunSeries = body.split('\n').filter((l) => l.startsWith('trustgate_trust_expiry_seconds{'));
    t.equal(gunSeries.length, 1, 'two repositories verified, one series');
    t.match(gunSeries[0], /^trustgate_trust_expiry_seconds\{gun="[0-9a-f]{16}"\} \d+$/);
    t.notMatch(body, 'library/demo', 'no repository name on /metrics');
    t.match(body, /^trustgate_trust_repositories 2$/m);
  });
});
