// The signature work a `trustgate serve` process does, counted on its /metrics (never timed): a
// timestamp stuffed with copies of a failing signature costs one verification, one with more
// signatures than a file may carry costs none, and a refresh of unchanged trust data (the stored
// root included) costs none — in front of a real notary-server, through a man in the middle.

import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir, waitFor } from '../helpers/process.js';
import { startProcess } from '../helpers/trustgate.js';
import { MAX_SIGNATURES } from '../../src/trust/signatures.js';

const dir = tempDir('trust-work');
t.teardown(dir.remove);
const accept = { accept: ALL_MANIFEST_TYPES.join(',') };

t.test('signature work per trust file and per refresh', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const layouts = buildLayouts(join(dir.path, 'oci'));
  const host = registry.url.replace('http://', '');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  for (const repo of ['demo', 'stuffed', 'overfull']) {
    await push(layouts.single, 'v1', `${host}/library/${repo}:v1`, { format: 'v2s2' });
    await cli.init(`docker.io/library/${repo}`);
    await cli.sign(`docker.io/library/${repo}`, 'v1', await manifestOf(registry.url, `library/${repo}`, 'v1'));
  }
  const mitm = new FaultProxy(notary.url);
  await mitm.start();
  t.teardown(() => mitm.stop());
  const tg = await startProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: registry.url, notary: mitm.url, default: true }] });
  t.teardown(tg.stop);
  const verifications = async () => Number(/^trustgate_signature_verifications (\d+)$/m.exec(await (await fetch(`${tg.url}/metrics`)).text())?.[1]);
  const pull = (repo: string, tag = 'v1') => fetch(`${tg.url}/v2/library/${repo}/manifests/${tag}`, { headers: accept });
  const reason = async (r: Response) => ((await r.json()) as { errors: { detail: { reason: string } }[] }).errors[0]?.detail.reason;

  /** The repository's real timestamp with its signatures replaced by `n` bogus ones under the real key ID. */
  const stuffedTimestamp = async (repo: string, n: number) => {
    const real = (await (await fetch(`${notary.url}/v2/docker.io/library/${repo}/_trust/tuf/timestamp.json`)).json()) as {
      signed: unknown;
      signatures: { keyid: string; method: string }[];
    };
    const sig = real.signatures[0] as { keyid: string; method: string };
    const signatures = Array.from({ length: n }, () => ({ keyid: sig.keyid, method: sig.method, sig: randomBytes(64).toString('base64') }));
    return Buffer.from(JSON.stringify({ signed: real.signed, signatures }));
  };

  await t.test('a refresh of unchanged trust data verifies nothing again', async (t) => {
    t.equal((await pull('demo')).status, 200);
    const before = await verifications();
    t.ok(before >= 4, `the first pull verified root, timestamp, snapshot and targets (${before})`);
    const timestampFetches = () => mitm.requests.filter((r) => r.path.includes('library/demo/_trust/tuf/timestamp')).length;
    const fetched = timestampFetches();
    tg.daemon.child.kill('SIGHUP'); // forget verified answers: the next resolution refreshes from the store and Notary
    await waitFor('a refresh after SIGHUP', async () => (await pull('demo', 'never-signed')).status === 403 && timestampFetches() > fetched);
    t.equal(await verifications(), before, 'the stored root, timestamp, snapshot and targets were not verified again');
  });

  await t.test(`${MAX_SIGNATURES} copies of a failing timestamp signature cost one verification`, async (t) => {
    mitm.mode = { kind: 'replay', path: /library\/stuffed\/_trust\/tuf\/timestamp/, body: await stuffedTimestamp('stuffed', MAX_SIGNATURES) };
    t.teardown(() => (mitm.mode = { kind: 'pass' }));
    const before = await verifications();
    const r = await pull('stuffed');
    t.equal(r.status, 403);
    t.equal(await reason(r), 'SIGNATURE_THRESHOLD');
    t.equal((await verifications()) - before, 2, 'the root once (first use) and the timestamp key once');
  });

  await t.test('a timestamp with more signatures than a file may carry is refused unverified', async (t) => {
    mitm.mode = { kind: 'replay', path: /library\/overfull\/_trust\/tuf\/timestamp/, body: await stuffedTimestamp('overfull', MAX_SIGNATURES + 1) };
    t.teardown(() => (mitm.mode = { kind: 'pass' }));
    const before = await verifications();
    const r = await pull('overfull');
    t.equal(r.status, 403);
    t.equal(await reason(r), 'METADATA_MALFORMED');
    t.equal((await verifications()) - before, 1, 'the root only');
  });
});
