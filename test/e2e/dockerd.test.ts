// A real dockerd 20.10 with `registry-mirrors` pointing at trustgate: the signed tag pulls with the
// signed digest, an unsigned tag does not pull, a multi-arch signed image pulls, and a re-pull
// (decided by the HEAD alone) still goes through verification.

import { join } from 'node:path';
import t from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { startDockerd } from '../helpers/dockerd.js';
import { startInProcess } from '../helpers/trustgate.js';

const dir = tempDir('dockerd-e2e');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;

t.test('dockerd pulls through trustgate as its registry mirror', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  const other = buildLayouts(join(dir.path, 'oci2'), ' unsigned');
  await push(layouts.single, 'v1', `${host}/${REPO}:v1`, { format: 'v2s2' });
  await push(layouts.multi, 'multi', `${host}/${REPO}:multi`, { all: true, format: 'v2s2' });
  await push(other.single, 'v1', `${host}/${REPO}:unsigned`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const multi = await manifestOf(registry.url, REPO, 'multi');

  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  await cli.sign(GUN, 'v1', v1);
  await cli.addDelegation(GUN, 'targets/releases');
  await cli.sign(GUN, 'multi', multi, 'targets/releases');

  const proxy = new FaultProxy(registry.url);
  await proxy.start();
  t.teardown(() => proxy.stop());
  const tg = await startInProcess(dir.path, {
    upstreams: [{ name: 'docker.io', registry: proxy.url, notary: notary.url, ca: notary.caPath, default: true }],
    trust: { refreshInterval: '500ms' },
  });
  t.teardown(tg.stop);

  const dockerd = await startDockerd(join(dir.path, 'd'), tg.url);
  t.teardown(dockerd.stop);

  await t.test('a signed tag pulls, with the signed digest', async (t) => {
    const r = await dockerd.docker('pull', `${REPO}:v1`);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, v1.digest);
    const digests = await dockerd.docker('image', 'inspect', '--format', '{{json .RepoDigests}}', `${REPO}:v1`);
    t.match(digests.stdout, v1.digest);
  });

  await t.test('an unsigned tag does not pull', async (t) => {
    const r = await dockerd.docker('pull', `${REPO}:unsigned`);
    t.not(r.code, 0, 'refused by the mirror; the fall-back to Docker Hub fails on loopback');
    const images = await dockerd.docker('images', '--format', '{{.Repository}}:{{.Tag}}');
    t.notMatch(images.stdout, 'demo:unsigned');
  });

  await t.test('a signed multi-arch image pulls (its amd64 child)', async (t) => {
    const r = await dockerd.docker('pull', `${REPO}:multi`);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, multi.digest);
  });

  await t.test('a re-pull is decided by a verified HEAD: a revoked tag stops pulling', async (t) => {
    const r = await dockerd.docker('pull', `${REPO}:v1`);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /up to date/i, 'the daemon had the manifest: only the HEAD was asked');
    await cli.notary('remove', GUN, 'v1', '-p');
    await new Promise((res) => setTimeout(res, 600)); // past the refresh interval
    await fetch(`${tg.url}/v2/${REPO}/manifests/v1`, { method: 'HEAD' }); // served from cache, revalidates behind
    await new Promise((res) => setTimeout(res, 500));
    const again = await dockerd.docker('pull', `${REPO}:v1`);
    t.not(again.code, 0, 'the revocation took effect within the refresh interval');
  });
});
