import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { AuthError } from '../../src/errors.js';
import { parseChallenges, realmAllowed, UpstreamAuth } from '../../src/http/auth.js';
import { HttpClient } from '../../src/http/client.js';
import { rejectsWith } from '../helpers/trust.js';

const opts = { maxBytes: 1 << 16, tooLarge: () => new Error('too large') };

async function serve(t: Test, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const s = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, requests };
}

t.test('challenge parsing', async (t) => {
  t.same(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } },
  ]);
  t.same(parseChallenges('Basic realm="Registry Realm"')[0], { scheme: 'basic', params: { realm: 'Registry Realm' } });
  t.same(parseChallenges('Bearer realm="a\\"b", service=svc')[0]?.params, { realm: 'a"b', service: 'svc' });
  t.same(parseChallenges(undefined), []);
});

t.test('realms: same host, same registrable domain; never another IP, port or domain', async (t) => {
  const hub = new URL('https://registry-1.docker.io');
  t.ok(realmAllowed(hub, 'https://auth.docker.io/token'));
  t.ok(realmAllowed(new URL('https://notary.docker.io'), 'https://auth.docker.io/token'));
  t.notOk(realmAllowed(hub, 'https://auth.evil.io/token'));
  t.notOk(realmAllowed(hub, 'https://docker.io.evil.io/token'));
  t.notOk(realmAllowed(new URL('https://a.co.uk'), 'https://b.co.uk/token'), 'a public suffix is not a shared domain');
  t.ok(realmAllowed(new URL('http://127.0.0.1:5000'), 'http://127.0.0.1:5000/token'));
  t.notOk(realmAllowed(new URL('http://127.0.0.1:5000'), 'http://127.0.0.1:5001/token'));
  t.notOk(realmAllowed(hub, 'file:///etc/passwd'));
  t.ok(realmAllowed(new URL('http://127.0.0.1:5000'), 'http://127.0.0.1:5001/token', ['http://127.0.0.1:5001/']), 'explicitly allowed');
});

t.test('bearer flow: token fetched with scope and credentials, cached, sent only to the upstream', async (t) => {
  let tokenCalls = 0;
  const srv = await serve(t, (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/token') {
      tokenCalls++;
      t.equal(u.searchParams.get('scope'), 'repository:docker.io/library/x:pull');
      t.equal(u.searchParams.get('service'), 'notary');
      t.equal(req.headers.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
      res.end(JSON.stringify({ token: 'tok-1', expires_in: 300 }));
      return;
    }
    if (req.headers.authorization !== 'Bearer tok-1') {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="notary"` }).end();
      return;
    }
    res.end('data');
  });
  const http = new HttpClient();
  t.teardown(() => http.close());
  const auth = new UpstreamAuth(new URL(srv.url), http, { credentials: { username: 'alice', password: 's3cret' } });
  const scope = 'repository:docker.io/library/x:pull';
  t.equal((await auth.get(`${srv.url}/v2/a`, scope, opts)).body.toString(), 'data');
  t.equal((await auth.get(`${srv.url}/v2/b`, scope, opts)).body.toString(), 'data');
  t.equal(tokenCalls, 1, 'the token is reused until it expires');
  t.equal(srv.requests.filter((r) => r.url?.startsWith('/v2/')).length, 3, 'one 401, then two authorised requests');
});

t.test('an expired token is renewed', async (t) => {
  let now = 1_000_000;
  let tokenCalls = 0;
  const srv = await serve(t, (req, res) => {
    if (req.url?.startsWith('/token')) {
      tokenCalls++;
      res.end(JSON.stringify({ access_token: `tok-${tokenCalls}`, expires_in: 60 }));
      return;
    }
    if (!req.headers.authorization?.startsWith('Bearer ')) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token"` }).end();
      return;
    }
    res.end('ok');
  });
  const http = new HttpClient();
  t.teardown(() => http.close());
  const auth = new UpstreamAuth(new URL(srv.url), http, {}, () => now);
  await auth.get(`${srv.url}/v2/`, 's', opts);
  now += 61_000;
  await auth.get(`${srv.url}/v2/`, 's', opts);
  t.equal(tokenCalls, 2);
});

t.test('a realm on another host gets no request and no credentials', async (t) => {
  const evil = await serve(t, (_req, res) => res.end(JSON.stringify({ token: 'x' })));
  const srv = await serve(t, (_req, res) => {
    res.writeHead(401, { 'www-authenticate': `Bearer realm="${evil.url}/token",service="s"` }).end();
  });
  const http = new HttpClient();
  t.teardown(() => http.close());
  const auth = new UpstreamAuth(new URL(srv.url), http, { credentials: { username: 'u', password: 'p' } });
  await rejectsWith(t, auth.get(`${srv.url}/v2/`, 'repository:x:pull', opts), AuthError, 'AUTH_FAILED');
  t.equal(evil.requests.length, 0, 'nothing was sent to the foreign realm');
});

t.test('basic challenge: credentials when configured; the 401 stands without them', async (t) => {
  const expected = `Basic ${Buffer.from('u:p').toString('base64')}`;
  const srv = await serve(t, (req, res) => {
    if (req.headers.authorization === expected) res.end('in');
    else res.writeHead(401, { 'www-authenticate': 'Basic realm="r"' }).end();
  });
  const http = new HttpClient();
  t.teardown(() => http.close());
  const withCreds = new UpstreamAuth(new URL(srv.url), http, { credentials: { username: 'u', password: 'p' } });
  t.equal((await withCreds.get(`${srv.url}/v2/`, 's', opts)).status, 200);
  t.equal((await withCreds.get(`${srv.url}/v2/`, 's', opts)).status, 200);
  t.equal(srv.requests.length, 3, 'after the first challenge, basic is sent up front');
  const anonymous = new UpstreamAuth(new URL(srv.url), http, {});
  t.equal((await anonymous.get(`${srv.url}/v2/`, 's', opts)).status, 401);
});

t.test('a token realm that refuses the credentials', async (t) => {
  const srv = await serve(t, (req, res) => {
    if (req.url?.startsWith('/token')) res.writeHead(401).end();
    else res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${req.headers.host}/token"` }).end();
  });
  const http = new HttpClient();
  t.teardown(() => http.close());
  const auth = new UpstreamAuth(new URL(srv.url), http, { credentials: { username: 'u', password: 'wrong' } });
  await rejectsWith(t, auth.get(`${srv.url}/v2/`, 's', opts), AuthError, 'AUTH_FAILED');
});
