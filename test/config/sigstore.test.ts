// The Sigstore part of the configuration: `trust` and `sigstore` per rule, `notary` optional per
// upstream, and the configuration errors the contract names.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { parseConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { Policy } from '../../src/policy/policy.js';
import { tempDir } from '../helpers/process.js';
import { makeCosignKey } from '../helpers/sigstore.js';
import { startSigstoreServices } from '../helpers/sigstore-services.js';

const dir = tempDir('config-sigstore');
t.teardown(dir.remove);
const ctx = { env: {}, baseDir: dir.path };
const key = await makeCosignKey(dir.path, 'cosign', 'ec-p256');
const services = await startSigstoreServices(dir.path);
t.teardown(services.close);
const ghcr = { name: 'ghcr.io', registry: 'https://ghcr.io' };
const hub = { name: 'docker.io', registry: 'https://registry-1.docker.io', notary: 'https://notary.example.com', default: true };
const ME = { issuer: 'https://token.actions.githubusercontent.com', subject: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main' };

const rule = (sigstore: unknown, trust = 'sigstore') => ({ match: 'ghcr.io/acme/*', action: 'verify', trust, sigstore });
const parse = (policy: unknown[], upstreams: unknown[] = [ghcr, hub]) => parseConfig({ upstreams, policy }, ctx);

t.test('the contract parses: Sigstore-only, Notary-only and mixed repositories side by side', async (t) => {
  const c = await parse([
    rule({ keys: [key.pub], identities: [ME], trustedRoot: services.trustedRootPath, tlog: 'required', signedIdentity: { remap: { prefix: 'ghcr.io/acme', signedPrefix: 'registry.internal/acme' } } }),
    { match: 'docker.io/library/*', action: 'verify' },
    { match: 'docker.io/acme/*', action: 'verify', trust: 'any', sigstore: { keys: [key.pub] } },
    { match: 'docker.io/both/*', action: 'verify', trust: 'all', sigstore: { keys: [key.pub] } },
  ]);
  t.equal(c.upstreams[0]?.notary, undefined, 'an upstream without notary is Sigstore-only');
  const s = c.policy[0]?.sigstore;
  t.equal(s?.keys[0]?.kind, 'ecdsa-p256');
  t.match(s?.keys[0]?.id, /^[0-9a-f]{64}$/);
  t.same(s?.identities.map((i) => [i.issuer, i.subject]), [[ME.issuer, ME.subject]]);
  t.ok(s?.trust?.certificateAuthorities.length, 'the trusted root was read');
  t.equal(s?.tlog, 'required');
  t.same(s?.signedIdentity, { kind: 'remap', prefix: 'ghcr.io/acme', signedPrefix: 'registry.internal/acme' });
  t.same(c.policy.map((r) => r.trust), ['sigstore', 'notary', 'any', 'all']);
  const p = new Policy(c.policy, true);
  t.equal(p.decide('ghcr.io/acme/app').trust, 'sigstore');
  t.equal(p.decide('ghcr.io/acme/app').sigstore, s, 'the decision carries the sigstore settings');
  t.equal(p.decide('docker.io/library/alpine').trust, 'notary');
});

t.test('subjectRegExp is matched against the whole subject', async (t) => {
  const c = await parse([rule({ identities: [{ issuer: ME.issuer, subjectRegExp: 'https://github\\.com/acme/.*' }], trustedRoot: services.trustedRootPath })]);
  const re = c.policy[0]?.sigstore?.identities[0]?.subjectRegExp;
  t.ok(re?.test(ME.subject));
  t.notOk(re?.test(`evil:${ME.subject}`), 'anchored at the start');
});

const refused = async (t: Test, why: string, policy: unknown[], upstreams?: unknown[]) => {
  await t.rejects(parse(policy, upstreams), ConfigError, why);
};

t.test('configuration errors', async (t) => {
  await refused(t, 'trust: sigstore with neither keys nor identities', [rule({})]);
  await refused(t, 'trust: sigstore without a sigstore section', [{ match: 'ghcr.io/*', action: 'verify', trust: 'sigstore' }]);
  await refused(t, 'a verify rule needing Notary on an upstream without one', [{ match: 'ghcr.io/*', action: 'verify' }]);
  await refused(t, 'trust: all on an upstream without Notary', [{ match: 'ghcr.io/*', action: 'verify', trust: 'all', sigstore: { keys: [key.pub] } }]);
  await refused(t, 'a catch-all Notary rule reaching a Sigstore-only upstream', [{ match: '*', action: 'verify' }]);
  await refused(t, 'identities without a trusted root', [rule({ identities: [ME] })]);
  await refused(t, 'tlog: required without a trusted root', [rule({ keys: [key.pub], tlog: 'required' })]);
  await refused(t, 'an unknown trust mode', [rule({ keys: [key.pub] }, 'cosign')]);
  await refused(t, 'sigstore settings on a notary rule', [{ match: 'docker.io/*', action: 'verify', sigstore: { keys: [key.pub] } }]);
  await refused(t, 'trust on an allow rule', [{ match: 'ghcr.io/*', action: 'allow', trust: 'sigstore' }]);
  await refused(t, 'an unreadable key file', [rule({ keys: [join(dir.path, 'missing.pub')] })]);
  const weak = join(dir.path, 'weak.pub');
  writeFileSync(weak, 'not a key');
  await refused(t, 'a key file that is not a PEM public key', [rule({ keys: [weak] })]);
  await refused(t, 'an identity with both subject and subjectRegExp', [rule({ identities: [{ ...ME, subjectRegExp: '.*' }], trustedRoot: services.trustedRootPath })]);
  await refused(t, 'an identity without an issuer', [rule({ identities: [{ subject: ME.subject }], trustedRoot: services.trustedRootPath })]);
  await refused(t, 'a subjectRegExp that does not compile', [rule({ identities: [{ issuer: ME.issuer, subjectRegExp: '(' }], trustedRoot: services.trustedRootPath })]);
  const notRoot = join(dir.path, 'not-root.json');
  writeFileSync(notRoot, JSON.stringify({ mediaType: 'application/json' }));
  await refused(t, 'a trusted root that is not one', [rule({ identities: [ME], trustedRoot: notRoot })]);
  await refused(t, 'a misspelt sigstore key', [rule({ key: [key.pub] })]);
  await refused(t, 'a malformed remap', [rule({ keys: [key.pub], signedIdentity: { remap: { prefix: 'ghcr.io/acme' } } })]);
});

t.test('an earlier rule covering a Sigstore-only upstream shields it from a later Notary catch-all', async (t) => {
  const c = await parse([{ match: 'ghcr.io/*', action: 'verify', trust: 'sigstore', sigstore: { keys: [key.pub] } }, { match: '*', action: 'verify' }]);
  t.equal(c.policy.length, 2);
  const d = await parse([{ match: 'ghcr.io/*', action: 'deny' }, { match: '*', action: 'verify' }]);
  t.equal(d.policy[0]?.action, 'deny');
});

t.test('a file without upstreams gets Docker Hub without Notary, so a Notary policy is refused with its reason', async (t) => {
  await t.rejects(parseConfig({ policy: [{ match: '*', action: 'verify' }] }, ctx), ConfigError);
  const c = await parseConfig({ policy: [{ match: '*', action: 'verify', trust: 'sigstore', sigstore: { keys: [key.pub] } }] }, ctx);
  t.equal(c.upstreams[0]?.name, 'docker.io');
});
