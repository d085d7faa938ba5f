// Which upstream, repository, GUN and decision a request is for (pull/targets.ts): `?ns=`, a path
// prefix naming a non-default upstream, else the default upstream; Docker Hub's library/ prefix; and
// the one place a denial stops a request. Nothing here connects anywhere.

import t from 'tap';
import type { PolicyRule, UpstreamConfig } from '../../src/config/config.js';
import { PolicyDeniedError, RequestInvalidError } from '../../src/errors.js';
import { Policy } from '../../src/policy/policy.js';
import { admit, Targets } from '../../src/pull/targets.js';
import { RegistryUpstream } from '../../src/registry/upstream.js';
import { DOCKER_ROLES } from '../../src/trust/index.js';
import { throwsWith } from '../helpers/trust.js';

function upstream(name: string, isDefault = false): RegistryUpstream {
  const config: UpstreamConfig = { name, registry: 'http://127.0.0.1:9', notary: 'offline', maxStalenessMs: 0, default: isDefault, allowedRealms: [], blobs: 'stream' };
  return new RegistryUpstream(config, {});
}
const rule = (match: string, action: PolicyRule['action']): PolicyRule => ({ match, action, roles: DOCKER_ROLES, pinKeys: [], trust: 'notary' });
const policy = new Policy([rule('docker.io/denied/*', 'deny'), rule('ghcr.io/open/*', 'allow'), rule('*', 'verify')], true);

const hub = upstream('docker.io', true);
const ghcr = upstream('ghcr.io');
const q = (s = '') => new URLSearchParams(s);

t.teardown(async () => {
  await hub.close();
  await ghcr.close();
});

t.test('the default upstream, with Docker Hub\'s library/ for one-component names', async (t) => {
  const targets = new Targets(new Map([['docker.io', hub], ['ghcr.io', ghcr]]), hub, policy);
  const alpine = targets.select('alpine', q(), 'application/json');
  t.equal(alpine.upstream, hub);
  t.equal(alpine.repository, 'library/alpine');
  t.equal(alpine.gun, 'docker.io/library/alpine');
  t.equal(alpine.decision.action, 'verify');
  t.equal(alpine.accept, 'application/json');
  t.equal(targets.select('team/app', q(), undefined).repository, 'team/app');
  t.equal(targets.select('docker.io/app', q(), undefined).repository, 'docker.io/app', 'the default upstream\'s own name is a path like any other');
  const near = targets.select('ghcr.iox', q(), undefined);
  t.same([near.upstream, near.repository], [hub, 'library/ghcr.iox'], 'a one-component name is never an upstream prefix');
});

t.test('a path prefix naming a non-default upstream', async (t) => {
  const targets = new Targets(new Map([['docker.io', hub], ['ghcr.io', ghcr]]), hub, policy);
  const p = targets.select('ghcr.io/open/tool', q(), undefined);
  t.equal(p.upstream, ghcr);
  t.equal(p.repository, 'open/tool');
  t.equal(p.gun, 'ghcr.io/open/tool');
  t.equal(p.decision.action, 'allow');
  t.equal(targets.select('ghcr.io', q(), undefined).repository, 'library/ghcr.io', 'a single component is a repository of the default');
});

t.test('?ns= names the upstream, once', async (t) => {
  const targets = new Targets(new Map([['docker.io', hub], ['ghcr.io', ghcr]]), hub, policy);
  const p = targets.select('alpine', q('ns=ghcr.io'), undefined);
  t.equal(p.upstream, ghcr);
  t.equal(p.repository, 'alpine', 'library/ only on Docker Hub');
  t.equal(targets.select('ghcr.io/x', q('ns=docker.io'), undefined).repository, 'ghcr.io/x', 'with ns the path is the repository');
  t.equal(targets.select('alpine', q('ns=docker.io'), undefined).repository, 'library/alpine');
  throwsWith(t, () => targets.select('alpine', q('ns=quay.io'), undefined), PolicyDeniedError, 'UNKNOWN_UPSTREAM');
  throwsWith(t, () => targets.select('alpine', q('ns=ghcr.io&ns=ghcr.io'), undefined), RequestInvalidError, 'NAME_INVALID');
});

t.test('no default upstream: only named upstreams are reachable', async (t) => {
  const targets = new Targets(new Map([['ghcr.io', ghcr]]), undefined, policy);
  t.equal(targets.select('ghcr.io/a/b', q(), undefined).upstream, ghcr);
  throwsWith(t, () => targets.select('alpine', q(), undefined), PolicyDeniedError, 'UNKNOWN_UPSTREAM');
  throwsWith(t, () => targets.select('quay.io/a', q(), undefined), PolicyDeniedError, 'UNKNOWN_UPSTREAM');
});

t.test('invalid repository names are refused before any policy decision', async (t) => {
  const targets = new Targets(new Map([['docker.io', hub], ['ghcr.io', ghcr]]), hub, policy);
  for (const name of ['Upper/case', 'a//b', 'ghcr.io/', '../x']) throwsWith(t, () => targets.select(name, q(), undefined), RequestInvalidError, 'NAME_INVALID');
});

t.test('admit: a deny decision stops the request; allow and verify pass', async (t) => {
  const targets = new Targets(new Map([['docker.io', hub]]), hub, policy);
  throwsWith(t, () => admit(targets.select('denied/x', q(), undefined)), PolicyDeniedError, 'POLICY_DENIED');
  t.doesNotThrow(() => admit(targets.select('ok/x', q(), undefined)));
  t.doesNotThrow(() => admit({ gun: 'ghcr.io/open/x', decision: policy.decide('ghcr.io/open/x') }));
});
