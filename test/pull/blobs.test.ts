// Where a blob's bytes come from (pull/blobs.ts), against an in-process registry: streamed from the
// upstream with the client's range headers, or (redirect mode) the client sent where the upstream
// sends it — only to a location the upstream's redirect policy allows — else to the blob URL itself.

import t, { type Test } from 'tap';
import { Agent } from 'undici';
import { RedirectRefusedError, UnreachableError, UpstreamNotFoundError } from '../../src/errors.js';
import { RedirectPolicy } from '../../src/http/redirects.js';
import { BLOB_REQUEST_HEADERS, BlobService, pickHeaders } from '../../src/pull/blobs.js';
import type { PullTarget } from '../../src/pull/target.js';
import { DOCKER_ROLES, NO_PINNING } from '../../src/trust/index.js';
import { FakeRegistry } from '../helpers/fake-registry.js';
import { rejectsWith } from '../helpers/trust.js';

const REPO = 'library/blobs';
const DIGEST = `sha256:${'b'.repeat(64)}`;
const BLOB = `/v2/${REPO}/blobs/${DIGEST}`;

const CREDENTIALS = { username: 'puller', password: 'secret' };
const BASIC = `Basic ${Buffer.from('puller:secret').toString('base64')}`;

async function world(t: Test, blobs: 'stream' | 'redirect', withCredentials = false) {
  const registry = new FakeRegistry();
  const upstream = await registry.start(t, { blobs, ...(withCredentials ? { credentials: CREDENTIALS } : {}) });
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.close());
  const policy = new RedirectPolicy({ origin: registry.url, allowedHosts: ['cdn.example'] });
  const service = new BlobService(dispatcher, new Map([['docker.io', policy]]));
  const target: PullTarget = {
    upstream,
    repository: REPO,
    gun: `docker.io/${REPO}`,
    decision: { action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '*' },
    accept: undefined,
  };
  return { registry, service, target, url: `${registry.url}${BLOB}` };
}

t.test('stream: the upstream blob URL, the method, and only the client headers a blob request may carry', async (t) => {
  const w = await world(t, 'stream');
  const answer = await w.service.get(w.target, DIGEST, 'GET', { range: 'bytes=0-9', 'if-range': ['"e1"', '"e2"'], cookie: 'secret', 'if-none-match': 7 });
  t.same(answer, { kind: 'stream', url: w.url, method: 'GET', headers: { range: 'bytes=0-9', 'if-range': '"e1"' } });
  const head = await w.service.get(w.target, DIGEST, 'HEAD', {});
  t.same(head, { kind: 'stream', url: w.url, method: 'HEAD', headers: {} });
  t.notOk(head.kind === 'stream' && 'authorization' in head.headers, 'no Authorization for an anonymous upstream');
});

t.test('an upstream that asks for credentials: the streamed request and the redirect HEAD carry them', async (t) => {
  const stream = await world(t, 'stream', true);
  stream.registry.requireAuthorization = BASIC;
  const answer = await stream.service.get(stream.target, DIGEST, 'GET', { range: 'bytes=1-2' });
  t.same(answer, { kind: 'stream', url: stream.url, method: 'GET', headers: { range: 'bytes=1-2', authorization: BASIC } });
  const redirect = await world(t, 'redirect', true);
  redirect.registry.requireAuthorization = BASIC;
  redirect.registry.answer(BLOB, { status: 307, headers: { location: 'https://cdn.example/signed' } });
  t.same(await redirect.service.get(redirect.target, DIGEST, 'GET', {}), { kind: 'redirect', location: 'https://cdn.example/signed', digest: DIGEST });
  t.equal(redirect.registry.methods.at(-1), 'HEAD', 'the upstream asked with HEAD: no body starts flowing');
  t.equal(redirect.registry.headers.at(-1)?.authorization, BASIC);
});

t.test('redirect mode: an upstream gone between requests is unreachable', async (t) => {
  const w = await world(t, 'redirect');
  w.registry.answer(BLOB, { status: 200 });
  t.equal((await w.service.get(w.target, DIGEST, 'GET', {})).kind, 'redirect');
  await w.registry.stop();
  await rejectsWith(t, w.service.get(w.target, DIGEST, 'GET', {}), UnreachableError, 'UNREACHABLE');
});

t.test('redirect mode: a HEAD is streamed as usual', async (t) => {
  const w = await world(t, 'redirect');
  t.same(await w.service.get(w.target, DIGEST, 'HEAD', {}), { kind: 'stream', url: w.url, method: 'HEAD', headers: {} });
});

t.test('redirect mode: the client is sent where the upstream sends it, when the policy allows it', async (t) => {
  const w = await world(t, 'redirect');
  w.registry.answer(BLOB, { status: 307, headers: { location: 'https://cdn.example/blob?sig=1' } });
  t.same(await w.service.get(w.target, DIGEST, 'GET', {}), { kind: 'redirect', location: 'https://cdn.example/blob?sig=1', digest: DIGEST });
  w.registry.answer(BLOB, { status: 302, headers: { location: '/elsewhere/blob' } });
  t.same(await w.service.get(w.target, DIGEST, 'GET', {}), { kind: 'redirect', location: `${w.registry.url}/elsewhere/blob`, digest: DIGEST }, 'relative to the blob URL');
  t.equal(w.registry.headers.at(-1)?.authorization, undefined, 'no credentials asked for an anonymous upstream');
});

t.test('redirect mode: no redirect sends the client to the upstream\'s own blob URL', async (t) => {
  const w = await world(t, 'redirect');
  for (const answer of [{ status: 200 }, { status: 200, headers: { location: 'https://cdn.example/x' } }, { status: 307 }, { status: 300, headers: { location: 'https://cdn.example/x' } }, { status: 400, headers: { location: 'https://cdn.example/x' } }]) {
    w.registry.answer(BLOB, answer);
    const expected = answer.status === 300 ? 'https://cdn.example/x' : w.url;
    t.same(await w.service.get(w.target, DIGEST, 'GET', {}), { kind: 'redirect', location: expected, digest: DIGEST }, JSON.stringify(answer));
  }
  t.ok(w.registry.requests.every((r) => r === BLOB), 'asked with HEAD at the blob URL');
});

t.test('redirect mode: a missing blob, a location the policy refuses, an invalid location', async (t) => {
  const w = await world(t, 'redirect');
  await rejectsWith(t, w.service.get(w.target, DIGEST, 'GET', {}), UpstreamNotFoundError, 'BLOB_UNKNOWN');
  w.registry.answer(BLOB, { status: 307, headers: { location: 'http://10.0.0.1/blob' } });
  await rejectsWith(t, w.service.get(w.target, DIGEST, 'GET', {}), RedirectRefusedError, 'REDIRECT_REFUSED');
  w.registry.answer(BLOB, { status: 307, headers: { location: 'ftp://cdn.example/blob' } });
  await rejectsWith(t, w.service.get(w.target, DIGEST, 'GET', {}), RedirectRefusedError, 'REDIRECT_REFUSED');
  w.registry.answer(BLOB, { status: 307, headers: { location: 'http://[::1' } });
  const err = await rejectsWith(t, w.service.get(w.target, DIGEST, 'GET', {}), RedirectRefusedError, 'REDIRECT_REFUSED');
  t.equal((err as RedirectRefusedError).why, 'invalid');
});

t.test('pickHeaders: the first string value of each named header present', async (t) => {
  t.same(pickHeaders({ range: ['a', 'b'], 'if-range': [1], etag: 'x', 'if-modified-since': 'd' }, BLOB_REQUEST_HEADERS), { range: 'a', 'if-modified-since': 'd' });
  t.same(pickHeaders({}, BLOB_REQUEST_HEADERS), {});
});
