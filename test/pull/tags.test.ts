// tags/list (pull/tags.ts) against an in-process registry: under `verify` only signed tags, sorted and
// paged as the distribution spec pages (`n`, `last`), the next page named by a query; under `allow`
// the upstream's list and its next page, with the client's `ns` kept.

import t, { type Test } from 'tap';
import { UpstreamNotFoundError } from '../../src/errors.js';
import type { Decision } from '../../src/policy/policy.js';
import type { PullTarget } from '../../src/pull/target.js';
import { TagService } from '../../src/pull/tags.js';
import type { TrustSource } from '../../src/pull/trust-source.js';
import { DOCKER_ROLES, NO_PINNING } from '../../src/trust/index.js';
import { FakeRegistry } from '../helpers/fake-registry.js';
import { rejectsWith } from '../helpers/trust.js';

const REPO = 'library/tags';
const LIST = `/v2/${REPO}/tags/list`;
const verify: Decision = { action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '*' };
const allow: Decision = { ...verify, action: 'allow' };

/** Signs `signed`; records the candidates it was asked about. */
function signing(signed: string[]) {
  const asked: (readonly string[])[] = [];
  const source = {
    signedTags: async (_: PullTarget, candidates: readonly string[]) => {
      asked.push(candidates);
      return new Set(signed);
    },
  } as unknown as TrustSource;
  return { source, asked };
}

async function world(t: Test, tags: unknown, decision = verify, signed: string[] = []) {
  const registry = new FakeRegistry();
  const upstream = await registry.start(t);
  registry.answer(LIST, { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(tags) });
  const { source, asked } = signing(signed);
  const target: PullTarget = { upstream, repository: REPO, gun: `docker.io/${REPO}`, decision, accept: undefined };
  return { registry, target, asked, tags: new TagService(() => source) };
}

t.test('verify: only the signed tags the upstream lists, sorted, under the repository name', async (t) => {
  const w = await world(t, { name: REPO, tags: ['v2', 'unsigned', 'v1', 7, 'v10'] }, verify, ['v1', 'v2', 'v10', 'gone']);
  const list = await w.tags.list(w.target, '');
  t.same(list.body, { name: REPO, tags: ['v1', 'v10', 'v2'] });
  t.equal(list.next, undefined);
  t.same(w.asked, [['v2', 'unsigned', 'v1', 'v10']], 'the trust source is asked about the string tags only');
  t.same(w.registry.requests, [LIST], 'the whole list is read, without the client\'s query');
});

t.test('verify: a list without tags is empty; an unreadable list is an unknown name', async (t) => {
  const w = await world(t, { name: REPO }, verify, ['v1']);
  t.same((await w.tags.list(w.target, '')).body, { name: REPO, tags: [] });
  w.registry.answer(LIST, { status: 200, body: '{"tags": [' });
  await rejectsWith(t, w.tags.list(w.target, ''), UpstreamNotFoundError, 'NAME_UNKNOWN');
  w.registry.answer(LIST, { status: 200, body: '{"tags": "v1"}' });
  t.same((await w.tags.list(w.target, '')).body, { name: REPO, tags: [] });
  t.same(w.asked.at(-1), [], 'no candidates at all');
});

t.test('verify: paged by n and last, the next page named with the last tag served', async (t) => {
  const w = await world(t, { tags: ['a', 'b', 'c', 'd'] }, verify, ['a', 'b', 'c', 'd']);
  const first = await w.tags.list(w.target, 'n=2');
  t.same(first.body, { name: REPO, tags: ['a', 'b'] });
  t.equal(first.next, 'n=2&last=b');
  const second = await w.tags.list(w.target, 'n=2&last=b');
  t.same(second.body, { name: REPO, tags: ['c', 'd'] });
  t.equal(second.next, undefined, 'exactly n left: no further page');
  t.same((await w.tags.list(w.target, 'last=c')).body, { name: REPO, tags: ['d'] });
  const zero = await w.tags.list(w.target, 'n=0&ns=docker.io');
  t.same(zero.body, { name: REPO, tags: [] });
  t.equal(zero.next, 'n=0&ns=docker.io&last=', 'n=0 pages with an empty last');
  for (const bad of ['n=-1', 'n=1.5', 'n=x']) t.same((await w.tags.list(w.target, bad)).body, { name: REPO, tags: ['a', 'b', 'c', 'd'] }, bad);
});

t.test('allow: the upstream\'s bytes and query, and its next page with the client\'s ns', async (t) => {
  const w = await world(t, {}, allow);
  const body = '{"name":"library/tags","tags":["z","a"]}';
  w.registry.answer(`${LIST}?n=2&ns=docker.io`, {
    status: 200,
    headers: { link: `</v2/${REPO}/tags/list?n=2&last=a&ns=elsewhere>; rel="next"` },
    body,
  });
  const list = await w.tags.list(w.target, 'n=2&ns=docker.io');
  t.same(list.body, Buffer.from(body));
  t.equal(list.next, 'n=2&last=a&ns=docker.io');
  t.same(w.asked, [], 'no trust source asked');
  w.registry.answer(LIST, { status: 200, body, headers: { link: `</v2/${REPO}/tags/list?last=a>; rel=next` } });
  t.equal((await w.tags.list(w.target, '')).next, 'last=a', 'no query: none sent, the link taken as it is');
});

t.test('allow: links that name no next page', async (t) => {
  const w = await world(t, {}, allow);
  for (const link of [undefined, '</v2/x?last=a>; rel="prev"', 'no brackets; rel="next"', '</v2/x?last=a; rel="next"', '<http://[::1>; rel="next"']) {
    w.registry.answer(LIST, { status: 200, body: '{}', headers: link === undefined ? {} : { link } });
    t.equal((await w.tags.list(w.target, '')).next, undefined, String(link));
  }
  w.registry.answer(LIST, { status: 200, body: '{}', headers: { link: 'x?n=9 <http://other.example/v2/x?last=b>; rel="next"' } });
  t.equal((await w.tags.list(w.target, '')).next, 'last=b', 'a link with text before its bracket');
  w.registry.answer(LIST, { status: 200, body: '{}', headers: { link: 'x?last=c> rel="next"' } });
  t.equal((await w.tags.list(w.target, '')).next, undefined, 'a closing bracket without an opening one');
  w.registry.answer(LIST, { status: 200, body: '{}', headers: { link: '</v2/x?last=d&rel="next">; rel="prev"' } });
  t.equal((await w.tags.list(w.target, '')).next, undefined, 'rel is read after the bracket, not inside the URL');
});
