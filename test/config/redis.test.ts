// The `redis` key: a URL, or a mapping for standalone, Sentinel and Cluster, with credentials from the
// environment and a CA file for TLS.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('redis-config');
t.teardown(dir.remove);
writeFileSync(join(dir.path, 'ca.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
const UPSTREAMS = [{ name: 'docker.io', registry: 'https://registry.example', notary: 'https://notary.example' }];
const parse = (redis: unknown, env: Record<string, string> = {}) => parseConfig({ upstreams: UPSTREAMS, redis }, { env, baseDir: dir.path });

t.test('a URL string, or TRUSTGATE_REDIS_URL with TRUSTGATE_REDIS_PASSWORD', async (t) => {
  const c = await parse('rediss://10.0.0.1:6380/2');
  t.same(c.redis?.topology, { kind: 'standalone', url: 'rediss://10.0.0.1:6380/2' });
  t.equal(c.redis?.tls, true, 'rediss:// is TLS');
  t.equal(c.redis?.waitReplicas, 0);
  const e = await parseConfig({ upstreams: UPSTREAMS }, { env: { TRUSTGATE_REDIS_URL: 'redis://r:6379/0', TRUSTGATE_REDIS_PASSWORD: 's3cret' }, baseDir: dir.path });
  t.equal(e.redis?.password, 's3cret');
  t.notMatch(e.redis?.describe ?? '', /s3cret/);
  const inUrl = await parse('redis://:pw@10.0.0.1:6379/0');
  t.notMatch(inUrl.redis?.describe ?? '', /pw/, 'credentials never appear in the description');
});

t.test('sentinels with a master name, credentials from the environment, a CA file', async (t) => {
  const c = await parse(
    { sentinels: ['10.0.0.1:26379', '[::1]:26380'], name: 'trust', usernameEnv: 'RU', passwordEnv: 'RP', sentinelPasswordEnv: 'SP', tls: { ca: 'ca.pem' } },
    { RU: 'tg', RP: 'pw', SP: 'spw' },
  );
  t.same(c.redis?.topology, { kind: 'sentinel', sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '::1', port: 26380 }], name: 'trust' });
  t.same([c.redis?.username, c.redis?.password, c.redis?.sentinelPassword], ['tg', 'pw', 'spw']);
  t.equal(c.redis?.tls, true);
  t.match(c.redis?.caPem ?? '', /BEGIN CERTIFICATE/);
  t.equal(c.redis?.waitReplicas, 1, 'a Sentinel deployment waits for one replica by default');
});

t.test('cluster seed nodes; url in a mapping', async (t) => {
  const c = await parse({ cluster: ['10.0.0.1:7000', '10.0.0.2:7000'], waitReplicas: 0 });
  t.same(c.redis?.topology, { kind: 'cluster', nodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }] });
  const u = await parse({ url: 'redis://h:6379/0', passwordEnv: 'RP' }, { RP: 'x' });
  t.same([u.redis?.topology.kind, u.redis?.password], ['standalone', 'x']);
});

const bad: [string, unknown, Record<string, string>?][] = [
  ['no form', { name: 'x' }],
  ['two forms', { url: 'redis://h:1/0', cluster: ['h:1'] }],
  ['sentinels without a name', { sentinels: ['h:26379'] }],
  ['a name without sentinels', { cluster: ['h:1'], name: 'm' }],
  ['a bad host:port', { cluster: ['h'] }],
  ['an empty list', { sentinels: [], name: 'm' }],
  ['an unknown key', { url: 'redis://h:1/0', pasword: 'x' }],
  ['an unset variable', { url: 'redis://h:1/0', passwordEnv: 'NOPE' }],
  ['credentials twice', { url: 'redis://:a@h:1/0', passwordEnv: 'RP' }, { RP: 'b' }],
  ['a non-redis URL', 'http://h:1'],
  ['an unreadable CA', { url: 'rediss://h:1/0', tls: { ca: 'missing.pem' } }],
  ['a negative waitReplicas', { url: 'redis://h:1/0', waitReplicas: -1 }],
];
for (const [why, redis, env] of bad) {
  t.test(`refused: ${why}`, async (t) => {
    await t.rejects(parse(redis, env), ConfigError);
  });
}
