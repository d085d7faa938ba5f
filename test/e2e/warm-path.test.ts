// The warm path (src/server/warm-path.ts): warm manifest pulls answered before fastify must be the
// answers fastify gives — status, headers, body, audit line, metrics, /status — and every request
// the full path would refuse must still be refused on a repository whose answer is warm, sent raw
// over a socket to trustgate on a real registry and notary-server.

import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { startInProcess, type TrustgateSpec } from '../helpers/trustgate.js';

const dir = tempDir('warm-path');
t.teardown(dir.remove);
const TOKEN = 'warm-path-token';
const PATH = '/v2/library/demo/manifests/v1';

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request exactly as written (`head` holds the request line and headers), on its own connection. */
function raw(port: number, head: string, body = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(`${head}\r\n\r\n${body}`));
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString('latin1')));
    s.on('error', reject);
    s.on('end', () => {
      const at = data.indexOf('\r\n\r\n');
      const [status = '', ...rest] = data.slice(0, at).split('\r\n');
      const hs: Record<string, string> = {};
      for (const l of rest) hs[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      resolve({ status: Number(status.split(' ')[1]), headers: hs, body: data.slice(at + 4) });
    });
  });
}

const request = (method: string, target: string, headers: Record<string, string> = {}) =>
  [`${method} ${target} HTTP/1.1`, ...Object.entries({ host: 'trustgate.test', connection: 'close', accept: ALL_MANIFEST_TYPES.join(','), ...headers }).map(([k, v]) => `${k}: ${v}`)].join('\r\n');

const withoutDate = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== 'date'));
const reason = (r: Raw) => (JSON.parse(r.body || '{}') as { errors?: { detail: { reason?: string } }[] }).errors?.[0]?.detail.reason;

t.test('warm pulls answered before fastify', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  await push(buildLayouts(join(dir.path, 'oci')).single, 'v1', `${registry.url.replace('http://', '')}/library/demo:v1`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, 'library/demo', 'v1');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init('docker.io/library/demo');
  await cli.sign('docker.io/library/demo', 'v1', v1);
  const spec = (over: Partial<TrustgateSpec> = {}): TrustgateSpec => ({
    upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, default: true }],
    policy: [{ match: 'docker.io/library/denied', action: 'deny' }, { match: '*', action: 'verify' }],
    trust: { refreshInterval: '1h' },
    ...over,
  });

  await t.test('the same status, headers, body and audit line as the full path; counted alike', async (t) => {
    const lines: string[] = [];
    const tg = await startInProcess(dir.path, spec(), { logLines: lines });
    t.teardown(tg.stop);
    const cold = await raw(tg.port, request('GET', PATH)); // verified through fastify
    const warm = await raw(tg.port, request('GET', PATH)); // the warm path
    const head = await raw(tg.port, request('HEAD', PATH));
    t.equal(cold.status, 200);
    t.equal(warm.status, 200);
    t.equal(warm.body, v1.body.toString('latin1'));
    t.same(withoutDate(warm.headers), withoutDate(cold.headers), 'every header but Date');
    t.equal(warm.headers['docker-content-digest'], v1.digest);
    t.equal(warm.headers['x-content-type-options'], 'nosniff');
    t.equal(head.status, 200);
    t.equal(head.body, '');
    t.same(withoutDate(head.headers), withoutDate(cold.headers), 'HEAD: every header but Date');

    const audit = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.audit === 'manifest');
    t.same(
      audit.map((l) => [l.cache, l.method, l.msg]),
      [['miss', 'GET', 'manifest served'], ['hot', 'GET', 'manifest served'], ['hot', 'HEAD', 'manifest served']],
    );
    const stable = ({ time: _t, cache: _c, method: _m, ...rest }: Record<string, unknown>) => rest;
    t.same(stable(audit[1] as Record<string, unknown>), stable(audit[0] as Record<string, unknown>), 'the same decision fields');
    t.equal(audit[1]?.client, '127.0.0.1');

    const metrics = await (await fetch(`${tg.url}/metrics`)).text();
    t.match(metrics, /trustgate_manifest_decisions_total\{decision="served",reason="",upstream="docker.io",system="notary"\} 3/);
    t.match(metrics, /trustgate_cache_lookups_total\{cache="manifest",result="hot"\} 2/);
    t.match(metrics, /trustgate_cache_lookups_total\{cache="manifest",result="miss"\} 1/);
    const status = (await (await fetch(`${tg.url}/status`)).json()) as { rules: { match: string; served: number; last?: { at: string; decision: string; digest: string } }[] };
    const rule = status.rules.find((r) => r.match === '*');
    t.equal(rule?.served, 3);
    t.equal(rule?.last?.digest, v1.digest);
    t.ok(!Number.isNaN(Date.parse(rule?.last?.at ?? '')) && rule?.last?.at.endsWith('Z'), 'last decision time, ISO 8601');
  });

  await t.test('what the full path refuses is refused on a warm repository', async (t) => {
    const tg = await startInProcess(dir.path, spec());
    t.teardown(tg.stop);
    t.equal((await raw(tg.port, request('GET', PATH))).status, 200);
    const cases: [string, string, number, string][] = [
      [request('POST', PATH, { 'content-length': '0' }), '', 405, 'UNSUPPORTED'],
      [request('GET', PATH, { 'content-length': '3' }), 'abc', 400, 'BAD_REQUEST'],
      [request('GET', PATH, { 'transfer-encoding': 'chunked' }), '0\r\n\r\n', 400, 'BAD_REQUEST'],
      [request('GET', `${PATH}?ns=evil.example.com`), '', 403, 'UNKNOWN_UPSTREAM'],
      [request('GET', `${PATH}?ns=docker.io&ns=docker.io`), '', 400, 'NAME_INVALID'],
      [request('GET', `http://trustgate.test${PATH}`), '', 400, 'BAD_REQUEST'],
      [request('GET', PATH.replace('demo', 'de%6do')), '', 400, 'NAME_INVALID'],
      [request('GET', '/v2/library/denied/manifests/v1'), '', 403, 'POLICY_DENIED'],
    ];
    for (const [head, body, status, why] of cases) {
      const r = await raw(tg.port, head, body);
      const what = head.slice(0, head.indexOf('\r\n'));
      t.equal(r.status, status, what);
      t.equal(reason(r) ?? (JSON.parse(r.body) as { errors: { code: string }[] }).errors[0]?.code, why, what);
    }
    // HTTP/1.1 without a Host header
    const noHost = await raw(tg.port, `GET ${PATH} HTTP/1.1\r\nconnection: close\r\naccept: ${ALL_MANIFEST_TYPES.join(',')}`);
    t.equal(noHost.status, 400);
    t.equal(reason(noHost), 'BAD_REQUEST');
  });

  await t.test('under client authentication, a warm pull still needs credentials', async (t) => {
    const tg = await startInProcess(dir.path, spec({ auth: { tokenSha256: [createHash('sha256').update(TOKEN).digest('hex')] } }));
    t.teardown(tg.stop);
    const auth = { authorization: `Bearer ${TOKEN}` };
    t.equal((await raw(tg.port, request('GET', PATH, auth))).status, 200);
    t.equal((await raw(tg.port, request('GET', PATH, auth))).status, 200, 'warm, with credentials');
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const r = await raw(tg.port, request('GET', PATH, headers));
      t.equal(r.status, 401, 'warm, without valid credentials');
      t.equal((JSON.parse(r.body) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
    }
  });
});
