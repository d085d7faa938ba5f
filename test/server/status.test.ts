// The status view: per policy rule, its last decision, counts and the repositories whose trust data
// the process holds — behind client authentication when it is configured.

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { memoryStores } from '../../src/cache/stores.js';
import { parseConfig } from '../../src/config/config.js';
import { buildApp } from '../../src/server/app.js';
import { buildServices } from '../../src/server/services.js';
import type { RuleStatus } from '../../src/server/status.js';
import { run } from '../helpers/process.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { CLI } from '../helpers/trustgate.js';

t.test('/status names each rule with its last decision and the repositories it holds', async (t) => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] }));
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const sim = new RepoSimulator('docker.io/library/app');
  sim.addTarget('targets', 'v1', manifest);
  sim.publish();
  const notaryUrl = await sim.listen();
  t.teardown(() => sim.close());
  const registry = createServer((req, res) => {
    if (req.url === `/v2/library/app/manifests/${digest}`) res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => registry.close(() => r())));
  const registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;
  const token = 'status-token';
  const config = await parseConfig(
    {
      upstreams: [{ name: 'docker.io', registry: registryUrl, notary: notaryUrl, default: true }],
      policy: [
        { match: 'docker.io/library/app', action: 'verify' },
        { match: 'docker.io/library/open*', action: 'allow' },
      ],
      auth: { tokenSha256: [createHash('sha256').update(token).digest('hex')] },
    },
    { env: {}, baseDir: '/' },
  );
  const tg = await buildApp(buildServices(config, { stores: memoryStores() }));
  t.teardown(() => tg.close());
  const auth = { authorization: `Bearer ${token}` };
  t.equal((await tg.app.inject({ url: '/status' })).statusCode, 401, 'it names repositories: authentication required');

  t.equal((await tg.app.inject({ url: '/v2/library/app/manifests/v1', headers: auth })).statusCode, 200);
  t.equal((await tg.app.inject({ url: '/v2/library/app/manifests/nope', headers: auth })).statusCode, 403);
  t.equal((await tg.app.inject({ url: '/v2/library/denied/manifests/v1', headers: auth })).statusCode, 403);

  const r = await tg.app.inject({ url: '/status', headers: auth });
  t.equal(r.statusCode, 200);
  const rules = (r.json() as { rules: RuleStatus[] }).rules;
  t.same(
    rules.map((x) => [x.match, x.action, x.served, x.refused]),
    [
      ['docker.io/library/app', 'verify', 1, 1],
      ['docker.io/library/open*', 'allow', 0, 0],
      ['(no rule matched)', 'deny', 0, 1],
    ],
  );
  const app = rules[0] as RuleStatus;
  t.match(app.last, { repository: 'docker.io/library/app', reference: 'nope', decision: 'refused', reason: 'NOT_SIGNED' });
  t.equal(app.pinning, 'tofu');
  t.equal(app.repositories.length, 1);
  t.match(app.repositories[0], { gun: 'docker.io/library/app', system: 'notary', underGrace: false });
  t.ok((app.repositories[0]?.expiresInSeconds ?? 0) > 86_400, 'with the time its trust data has left');

  // `trustgate status` against the listening server
  await tg.app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => tg.app.close());
  const url = `http://127.0.0.1:${(tg.app.server.address() as AddressInfo).port}`;
  const cli = (env: Record<string, string>) => run(process.execPath, [CLI, 'status', '--url', url], { env: { ...process.env, ...env } });
  const ok = await cli({ TRUSTGATE_STATUS_TOKEN: token });
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^docker\.io\/library\/app {2}verify \(roles targets\/releases, targets; pinning tofu\) {2}served 1, refused 1$/m);
  t.match(ok.stdout, /last: \S+ refused docker\.io\/library\/app:nope \[NOT_SIGNED\]/);
  t.match(ok.stdout, /docker\.io\/library\/app {2}notary trust data until \S+ \(\d+d \d+h left\)/);
  const noCreds = await cli({});
  t.equal(noCreds.code, 2);
  t.match(noCreds.stderr, 'TRUSTGATE_STATUS_TOKEN');
});
