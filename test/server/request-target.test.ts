// The request target is parsed once, in linear time, before routing and client authentication:
// origin-form only (absolute-form is refused), and no regular expression ever runs over a whole path.

import t from 'tap';
import { RequestInvalidError, UnsupportedError, UpstreamNotFoundError } from '../../src/errors.js';
import { isOpenPath, MAX_TARGET_LENGTH, parseRequestTarget, parseRoute } from '../../src/server/request-target.js';
import { parsePath } from '../../src/server/routes.js';

t.test('origin-form targets give the path the router routes; absolute-form ones are refused', async (t) => {
  t.same(parseRequestTarget('/v2/library/demo/manifests/v1?ns=docker.io'), { path: '/v2/library/demo/manifests/v1', query: 'ns=docker.io' });
  t.same(parseRequestTarget('/metrics?x=1'), { path: '/metrics', query: 'x=1' });
  for (const bad of ['http://x/v2/', 'HTTPS://x:443/healthz', 'http://x', '*', 'trustgate.example:443', 'v2/']) {
    const err = t.throws(() => parseRequestTarget(bad), RequestInvalidError, bad) as unknown as RequestInvalidError;
    t.equal(err.code, 'BAD_REQUEST');
  }
  const long = t.throws(() => parseRequestTarget('/v2/' + 'a/'.repeat(MAX_TARGET_LENGTH))) as unknown as RequestInvalidError;
  t.equal(long.code, 'NAME_INVALID');
});

t.test('only liveness, readiness and (unless asked) metrics are open', async (t) => {
  t.ok(isOpenPath('/healthz', false));
  t.ok(isOpenPath('/readyz', true));
  t.ok(isOpenPath('/metrics', false));
  t.notOk(isOpenPath('/metrics', true));
  for (const p of ['/v2/', '/v2', '/', '/healthz/', '//healthz', '/v2/../healthz', '/metrics/x', '/nothing']) t.notOk(isOpenPath(p, false), p);
});

t.test('routes', async (t) => {
  t.same(parseRoute('/v2/docker.io/library/demo/_trust/tuf/targets/releases.json'), { kind: 'trust-file', gun: 'docker.io/library/demo', name: 'targets/releases' });
  t.same(parseRoute('/v2/a/b/manifests/v1'), { kind: 'manifests', repository: 'a/b', reference: 'v1' });
  t.same(parseRoute('/v2/a/_trust/manifests/v1'), { kind: 'manifests', repository: 'a/_trust', reference: 'v1' });
  t.same(parseRoute('/v2/a/tags/list'), { kind: 'tags', repository: 'a', reference: 'list' });
  for (const p of ['/v2/', '/v2/manifests/x', '/v2/a/manifests/', '/v3/a/manifests/x', '/v2/a/b', '/v2/a/_trust/tuf/root']) t.throws(() => parseRoute(p), UpstreamNotFoundError, p);
  t.throws(() => parseRoute('/v2/_catalog'), UnsupportedError);
  t.throws(() => parseRoute('/v2/a%2Fb/manifests/x'), RequestInvalidError);
});

/** The longest input any regular expression was run on while `fn` ran. */
function longestRegexInput(fn: () => unknown): number {
  const exec = RegExp.prototype.exec;
  let longest = 0;
  RegExp.prototype.exec = function (this: RegExp, s: string) {
    longest = Math.max(longest, String(s).length);
    return exec.call(this, s);
  };
  try {
    fn();
  } catch {
    // the shape is refused: what counts is the work done before
  } finally {
    RegExp.prototype.exec = exec;
  }
  return longest;
}

t.test('no regular expression runs over a whole attacker-sized path', async (t) => {
  const shapes = {
    manifests: '/v2/' + 'a/manifests/'.repeat(1300) + 'b/c',
    trust: '/v2/' + 'a/_trust/tuf/'.repeat(1300) + 'x.jso',
    tags: '/v2/' + 'a/tags/list/'.repeat(1300) + 'x',
  };
  for (const [name, path] of Object.entries(shapes)) {
    t.ok(path.length >= 15_000, `${name}: ${path.length} characters`);
    t.equal(longestRegexInput(() => parsePath(path)), 0, `${name}: the route is found without a regular expression`);
    t.equal(longestRegexInput(() => parseRoute(path)), 0);
    t.equal(longestRegexInput(() => parseRequestTarget(path)), 0, 'refused for its length before anything else');
  }
});
