// Every installed package runs on the oldest Node.js that package.json's `engines` promises: no
// EBADENGINE warning on install. light-my-request (fastify's inject) asks for cookie 2, which says
// Node >= 22; the `overrides` pin gives it cookie 1.1, whose stringifySetCookie it calls the same way.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Fastify from 'fastify';
import t from 'tap';

const ROOT = join(import.meta.dirname, '..', '..');
// semver is installed with fastify; typed here by the one call the test makes
const semver = createRequire(import.meta.url)('semver') as { minVersion(range: string): { version: string } | null; satisfies(v: string, range: string): boolean };

t.test('no locked package needs a newer Node.js than engines.node allows', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  const oldest = semver.minVersion(pkg.engines.node)?.version;
  t.equal(oldest, '20.19.0');
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string } }> };
  const tooNew = Object.entries(lock.packages)
    .filter(([, p]) => p.engines?.node && !semver.satisfies(oldest as string, p.engines.node))
    .map(([name, p]) => `${name} (${p.engines?.node})`);
  t.same(tooNew, [], 'every engines.node range admits the oldest supported Node.js');
});

t.test('inject with cookies works with the pinned cookie package', async (t) => {
  const app = Fastify();
  app.get('/', async (req) => ({ cookie: req.headers.cookie }));
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/', cookies: { a: 'b c', session: 'x' } });
  t.same(res.json(), { cookie: 'a=b%20c; session=x' });
});
