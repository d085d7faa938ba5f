import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { loadConfig, parseConfig, parseDuration, parseSize } from '../../src/config/config.js';
import { closest } from '../../src/config/parse.js';
import { ConfigError } from '../../src/errors.js';
import { globToRegExp, Policy } from '../../src/policy/policy.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'config', 'example.yaml');
const ctx = (env: Record<string, string> = {}) => ({ env, baseDir: '/' });

t.test('no file: the embedded defaults', async (t) => {
  const c = await loadConfig(undefined, {});
  t.same(c.listen, { host: '0.0.0.0', port: 5000 });
  t.equal(c.upstreams.length, 1);
  t.same(
    { name: c.upstreams[0]?.name, registry: c.upstreams[0]?.registry, notary: c.upstreams[0]?.notary, default: c.upstreams[0]?.default },
    { name: 'docker.io', registry: 'https://registry-1.docker.io', notary: undefined, default: true },
  );
  t.equal(c.redis, undefined, 'in-process cache');
  t.same(
    c.policy.map((r) => [r.match, r.action]),
    [['*', 'deny']],
    'no Notary at Docker Hub after 2026-12-08 and no key to verify with: everything is refused until configured',
  );
});

t.test('config/example.yaml parses and documents every key the parser reads', async (t) => {
  const c = await loadConfig(EXAMPLE, {});
  t.equal(c.trust.refreshIntervalMs, 10_000);
  t.equal(c.limits.manifestMaxBytes, 4 << 20);
  const text = readFileSync(EXAMPLE, 'utf8');
  const keys = ['listen', 'redis', 'redisPrefix', 'upstreams', 'name', 'registry', 'notary', 'ca', 'default', 'usernameEnv', 'passwordEnv', 'notaryAuth', 'allowedRealms', 'blobs', 'offline', 'maxStaleness', 'policy', 'match', 'action', 'roles', 'pin', 'keys', 'trust', 'refreshInterval', 'tofu', 'rootMaxBytes', 'bundles', 'timeouts', 'connect', 'headers', 'bodyIdle', 'limits', 'manifestMaxBytes', 'memoryCacheMaxBytes', 'log', 'level', 'auth', 'realm', 'htpasswd', 'tokenSha256', 'tls', 'cert', 'key'];
  for (const k of keys) t.match(text, new RegExp(`\\b${k}:`), `example documents ${k}`);
  t.notMatch(text, /password:\s*\S/, 'no password in the example');
  t.ok(parse(text));
});

t.test('environment variables override listen, redis and log level; secrets come only from the environment', async (t) => {
  const c = await parseConfig(
    { upstreams: [{ name: 'r.example.com', registry: 'https://r.example.com', notary: 'https://n.example.com', usernameEnv: 'U', passwordEnv: 'P', default: true }] },
    ctx({ TRUSTGATE_LISTEN: '127.0.0.1:6000', TRUSTGATE_REDIS_URL: 'redis://10.0.0.1:6379/1', TRUSTGATE_LOG_LEVEL: 'debug', U: 'bob', P: 'pw' }),
  );
  t.same(c.listen, { host: '127.0.0.1', port: 6000 });
  t.same(c.redis?.topology, { kind: 'standalone', url: 'redis://10.0.0.1:6379/1' });
  t.equal(c.log.level, 'debug');
  t.same(c.upstreams[0]?.credentials, { username: 'bob', password: 'pw' });
  t.same(c.upstreams[0]?.notaryCredentials, { username: 'bob', password: 'pw' }, 'Notary uses the registry credentials by default');
});

const bad: [string, unknown, Record<string, string>?][] = [
  ['an unknown top-level key', { listn: ':5000' }],
  ['a password in the file', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n.a.io', password: 'x' }] }],
  ['an unset credential variable', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n.a.io', usernameEnv: 'NOPE_U', passwordEnv: 'NOPE_P' }] }],
  ['a non-http registry URL', { upstreams: [{ name: 'a.io', registry: 'ftp://a.io', notary: 'https://n.a.io' }] }],
  ['two default upstreams', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n', default: true }, { name: 'b.io', registry: 'https://b.io', notary: 'https://n', default: true }] }],
  ['a duplicate upstream', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n' }, { name: 'a.io', registry: 'https://a.io', notary: 'https://n' }] }],
  ['an upper-case upstream name', { upstreams: [{ name: 'A.io', registry: 'https://a.io', notary: 'https://n' }] }],
  ['a role Docker does not trust', { policy: [{ match: '*', roles: ['targets/alice'] }] }],
  ['a bad action', { policy: [{ match: '*', action: 'maybe' }] }],
  ['a bad pinned key ID', { policy: [{ match: '*', pin: { keys: ['abc'] } }] }],
  ['a bad duration', { trust: { refreshInterval: 'soon' } }],
  ['a bad listen address', { listen: 'localhost' }],
  ['a misspelt notary key', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notray: 'https://n' }] }],
  ['a notaryAuth that is not a mapping', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n', notaryAuth: 'bob' }] }],
  ['a misspelt upstream key', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n', defualt: true }] }],
  ['a misspelt policy key', { policy: [{ match: '*', pinn: { keys: [] } }] }],
  ['a misspelt pin key', { policy: [{ match: '*', pin: { key: ['a'.repeat(64)] } }] }],
  ['a misspelt trust key', { trust: { tofo: false } }],
  ['a misspelt timeout', { timeouts: { conect: '1s' } }],
  ['trust not a mapping', { trust: 'yes' }],
  ['a grace for an upstream with a Notary', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n', offline: { maxStaleness: '30d' } }] }],
  ['an unbounded grace', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'offline', offline: { maxStaleness: '400d' } }], trust: { bundles: '/b' } }],
  ['a misspelt grace key', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'offline', offline: { maxStalness: '30d' } }], trust: { bundles: '/b' } }],
  ['a bundles directory that is not a string', { trust: { bundles: 5 } }],
  ['an offline upstream with nowhere to import trust data', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'offline' }] }],
  ['a bundles directory with redis', { redis: 'redis://127.0.0.1:6379/0', trust: { bundles: '/var/lib/trustgate' } }],
  ['a bad blob mode', { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n', blobs: 'teleport' }] }],
  ['a non-redis URL', { redis: 'http://x' }],
];
for (const [name, doc, env] of bad) {
  t.test(`refused: ${name}`, async (t) => {
    await t.rejects(parseConfig(doc, ctx(env)), ConfigError);
  });
}

t.test('durations and sizes', async (t) => {
  t.equal(parseDuration('10s', 'k'), 10_000);
  t.equal(parseDuration('500ms', 'k'), 500);
  t.equal(parseDuration('2m', 'k'), 120_000);
  t.equal(parseDuration(250, 'k'), 250);
  t.equal(parseSize('4MiB', 'k'), 4 << 20);
  t.equal(parseSize('512KiB', 'k'), 512 << 10);
  t.throws(() => parseSize('4MB', 'k'), ConfigError);
});

t.test('policy: first match wins; no match is denied; pins apply to the matching GUN', async (t) => {
  const id = 'a'.repeat(64);
  const p = new Policy(
    [
      { match: 'docker.io/library/*', action: 'verify', roles: ['targets'], pinKeys: [id], trust: 'notary' },
      { match: 'docker.io/trusted-*', action: 'allow', roles: ['targets/releases', 'targets'], pinKeys: [], trust: 'notary' },
      { match: 'ghcr.io/*', action: 'deny', roles: ['targets'], pinKeys: [], trust: 'notary' },
    ],
    false,
  );
  const lib = p.decide('docker.io/library/alpine');
  t.equal(lib.action, 'verify');
  t.same(lib.roles, ['targets']);
  t.same(lib.pinning.keys.get('docker.io/library/alpine'), [id]);
  t.equal(lib.pinning.disableTOFU, true);
  t.equal(p.decide('docker.io/trusted-team/app').action, 'allow');
  t.equal(p.decide('ghcr.io/org/app').action, 'deny');
  t.equal(p.decide('quay.io/x/y').action, 'deny', 'fail closed');
  t.ok(globToRegExp('docker.io/library/*').test('docker.io/library/a/b'), '* crosses /');
  t.notOk(globToRegExp('docker.io/librar?/x').test('docker.io/library//x'));
  t.notOk(globToRegExp('a.b/*').test('aXb/c'), 'dots are literal');
});

t.test('an offline upstream: no Notary, a bounded grace, imported trust data in a directory', async (t) => {
  const c = await parseConfig(
    {
      upstreams: [{ name: 'registry.internal', registry: 'https://registry.internal', notary: 'offline', offline: { maxStaleness: '30d' }, default: true }],
      trust: { bundles: 'trust-data' },
    },
    { env: {}, baseDir: '/etc/trustgate' },
  );
  t.equal(c.upstreams[0]?.notary, 'offline');
  t.equal(c.upstreams[0]?.maxStalenessMs, 30 * 86_400_000);
  t.equal(c.trust.bundlesDir, '/etc/trustgate/trust-data', 'relative to the configuration file');
  const strict = await parseConfig({ upstreams: [{ name: 'r.internal', registry: 'https://r.internal', notary: 'offline' }], redis: 'redis://127.0.0.1:6379/0' }, ctx());
  t.equal(strict.upstreams[0]?.maxStalenessMs, 0, 'no grace unless configured');
});

t.test('a misspelt key is refused as unknown before a required key is missed, and the closest known key is named', async (t) => {
  const doc = { upstreams: [{ name: 'a.io', registry: 'https://a.io', notray: 'https://n.a.io' }] };
  await t.rejects(parseConfig(doc, ctx()), ConfigError);
  const keys = ['name', 'registry', 'notary', 'offline', 'ca', 'default', 'usernameEnv', 'passwordEnv', 'notaryAuth', 'allowedRealms', 'blobs'];
  t.equal(closest('notray', keys), 'notary', 'an adjacent swap');
  t.equal(closest('defualt', keys), 'default');
  t.equal(closest('Registry', keys), 'registry', 'case ignored');
  t.equal(closest('listn', ['listen', 'limits', 'log']), 'listen');
  t.equal(closest('mirror', keys), undefined, 'nothing close: no guess');
});

t.test('a lone upstream is the default; without any default the configuration says so at start', async (t) => {
  const one = await parseConfig({ upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n.a.io' }] }, ctx());
  t.equal(one.upstreams[0]?.default, true, 'one upstream, no default key: it serves requests that name none');
  t.same(one.notices, []);
  const off = await parseConfig({ upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n.a.io', default: false }] }, ctx());
  t.equal(off.upstreams[0]?.default, false, 'an explicit default: false is kept');
  t.equal(off.notices?.length, 1, 'and reported at start');
  const two = await parseConfig(
    { upstreams: [{ name: 'a.io', registry: 'https://a.io', notary: 'https://n' }, { name: 'b.io', registry: 'https://b.io', notary: 'https://n' }] },
    ctx(),
  );
  t.same(two.upstreams.map((u) => u.default), [false, false], 'two upstreams: no guessing');
  t.equal(two.notices?.length, 1);
});

t.test('an empty file means the embedded defaults, and says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trustgate-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, '# nothing yet\n');
  const c = await loadConfig(empty, {});
  t.equal(c.upstreams[0]?.notary, undefined);
  t.same(c.policy.map((r) => r.action), ['deny']);
  t.equal(c.notices?.length, 1, 'a notice for the empty file');
  t.same((await loadConfig(EXAMPLE, {})).notices, [], 'the example needs no notice');
});
