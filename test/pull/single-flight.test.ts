// 1,000 concurrent pulls of one cold tag cause one Notary fetch sequence and one manifest fetch.
// Notary is the simulator served over HTTP; the registry a minimal server with one manifest (the
// real registry path is covered by test/e2e).

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { MemoryResultCache } from '../../src/cache/results.js';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { parseConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/server/app.js';
import { buildServices } from '../../src/server/services.js';
import { RepoSimulator } from '../helpers/simulator.js';

t.test('one refresh and one manifest fetch for 1,000 concurrent cold pulls of two tags', async (t) => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] }));
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const sim = new RepoSimulator('docker.io/library/hot');
  sim.addTarget('targets', 'v1', manifest);
  sim.addTarget('targets', 'v1-alias', manifest); // another tag of the same repository, same bytes
  sim.publish();
  const notaryUrl = await sim.listen();
  t.teardown(() => sim.close());

  let manifestFetches = 0;
  const registry = createServer((req, res) => {
    if (req.url === `/v2/library/hot/manifests/${digest}`) {
      manifestFetches++;
      // answer slowly, so every request arrives while the first is still in flight
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digest }).end(manifest), 50);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => registry.close(() => r())));
  const registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;

  const config = await parseConfig({ upstreams: [{ name: 'docker.io', registry: registryUrl, notary: notaryUrl, default: true }] }, { env: {}, baseDir: '/' });
  const tg = await buildApp(buildServices(config, { stores: { trustStore: new MemoryTrustStore(), results: new MemoryResultCache(), close: async () => {} } }));
  t.teardown(() => tg.close());

  sim.requests.length = 0;
  const responses = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => tg.app.inject({ method: 'GET', url: `/v2/library/hot/manifests/${i % 2 ? 'v1' : 'v1-alias'}` })),
  );
  t.ok(responses.every((r) => r.statusCode === 200 && r.headers['docker-content-digest'] === digest), 'all 1,000 served the signed manifest');
  t.same(
    sim.requests.filter((n) => !n.startsWith('/')),
    ['root', 'timestamp', `snapshot.${createHash('sha256').update(sim.files.get('snapshot') as Buffer).digest('hex')}`, `targets.${createHash('sha256').update(sim.files.get('targets') as Buffer).digest('hex')}`],
    'one Notary fetch sequence',
  );
  t.equal(manifestFetches, 1, 'one manifest fetch');
  t.ok(tg.services.notarySource.refreshes.joined >= 1, 'the two tags joined one refresh of the repository');
});
