// The HTTP surface without upstreams: path parsing, upstream selection, and refusals that never
// reach anything (app.inject).

import t from 'tap';
import { MemoryResultCache } from '../../src/cache/results.js';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { parseConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/server/app.js';
import { buildServices } from '../../src/server/services.js';
import { parsePath } from '../../src/server/routes.js';

async function app() {
  const config = await parseConfig(
    {
      upstreams: [
        { name: 'docker.io', registry: 'http://127.0.0.1:9', notary: 'http://127.0.0.1:9', default: true },
        { name: 'ghcr.io', registry: 'http://127.0.0.1:9', notary: 'http://127.0.0.1:9' },
      ],
      policy: [{ match: 'docker.io/denied/*', action: 'deny' }, { match: '*', action: 'verify' }],
      timeouts: { connect: '200ms' },
    },
    { env: {}, baseDir: '/' },
  );
  const tg = await buildApp(buildServices(config, { stores: { trustStore: new MemoryTrustStore(), results: new MemoryResultCache(), close: async () => {} } }));
  return tg;
}

t.test('path parsing', async (t) => {
  t.same(parsePath('/v2/library/alpine/manifests/3.20'), { repository: 'library/alpine', kind: 'manifests', reference: '3.20' });
  t.same(parsePath('/v2/a/b/c/blobs/sha256:' + 'a'.repeat(64)), { repository: 'a/b/c', kind: 'blobs', reference: 'sha256:' + 'a'.repeat(64) });
  t.same(parsePath('/v2/library/alpine/tags/list'), { repository: 'library/alpine', kind: 'tags', reference: 'list' });
  t.throws(() => parsePath('/v2/library%2Falpine/manifests/x'), { code: 'NAME_INVALID' });
  t.throws(() => parsePath('/v2/_catalog'), { code: 'UNSUPPORTED' });
});

t.test('the API root, and refusals that reach no upstream', async (t) => {
  const tg = await app();
  t.teardown(() => tg.close());
  const root = await tg.app.inject({ method: 'GET', url: '/v2/' });
  t.equal(root.statusCode, 200);
  t.equal(root.headers['docker-distribution-api-version'], 'registry/2.0');

  const cases: [string, string, number, string, string?][] = [
    ['PUT', '/v2/library/a/manifests/v1', 405, 'UNSUPPORTED'],
    ['DELETE', '/v2/library/a/blobs/sha256:' + 'a'.repeat(64), 405, 'UNSUPPORTED'],
    ['GET', '/v2/_catalog', 405, 'UNSUPPORTED'],
    ['GET', '/v2/Library/A/manifests/v1', 400, 'NAME_INVALID'],
    ['GET', '/v2/library/a%2f..%2fb/manifests/v1', 400, 'NAME_INVALID'],
    ['GET', '/v2/library/a/manifests/-bad-tag', 400, 'TAG_INVALID'],
    ['GET', '/v2/library/a/manifests/sha512:' + 'a'.repeat(128), 400, 'DIGEST_INVALID'],
    ['GET', '/v2/library/a/manifests/sha256:' + 'A'.repeat(64), 400, 'DIGEST_INVALID'],
    ['GET', '/v2/library/a/blobs/latest', 400, 'DIGEST_INVALID'],
    ['GET', '/v2/library/a/manifests/v1?ns=evil.example.com', 403, 'DENIED', 'UNKNOWN_UPSTREAM'],
    ['GET', '/v2/library/a/manifests/v1?ns=docker.io&ns=ghcr.io', 400, 'NAME_INVALID'],
    ['GET', '/v2/denied/app/manifests/v1', 403, 'DENIED', 'POLICY_DENIED'],
    ['GET', '/v2/denied/app/blobs/sha256:' + 'a'.repeat(64), 403, 'DENIED', 'POLICY_DENIED'],
    ['GET', '/nope', 404, 'NAME_UNKNOWN'],
  ];
  for (const [method, url, status, code, reason] of cases) {
    const r = await tg.app.inject({ method: method as 'GET', url, payload: method === 'PUT' ? '{}' : undefined });
    t.equal(r.statusCode, status, `${method} ${url}`);
    const body = r.json() as { errors: { code: string; detail: { reason: string } }[] };
    t.equal(body.errors[0]?.code, code, `${method} ${url} code`);
    if (reason) t.equal(body.errors[0]?.detail.reason, reason);
  }
});

t.test('an unreachable Notary is a 503 with the reason, never content', async (t) => {
  const tg = await app();
  t.teardown(() => tg.close());
  const r = await tg.app.inject({ method: 'GET', url: '/v2/library/a/manifests/v1' });
  t.equal(r.statusCode, 503);
  const e = r.json() as { errors: { code: string; detail: { reason: string } }[] };
  t.equal(e.errors[0]?.code, 'UNAVAILABLE');
  t.equal(e.errors[0]?.detail.reason, 'UNREACHABLE');
  const head = await tg.app.inject({ method: 'HEAD', url: '/v2/library/a/manifests/v1' });
  t.equal(head.statusCode, 503);
  t.equal(head.body, '', 'HEAD errors carry no body');
});
