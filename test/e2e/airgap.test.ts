// Air gap, end to end: `trustgate trust export --images` from a real notary-server (root rotated, a
// delegation) and registry, the notary-server stopped, the images copied from the bundle into another
// registry with skopeo, `trustgate trust import` into a fresh site with no Notary (`notary: offline`,
// `trust.bundles`, no Redis), a real `trustgate serve` and a real dockerd pulling through it as its
// mirror. Tampered bundles are refused whole; a stale bundle is refused without an
// offline grace and accepted, logged and counted within one; the notary CLI verifies against
// trustgate's Notary read API.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { exportBundle } from '../../src/bundle/airgap.js';
import { listTar, readTarFile } from '../../src/bundle/tar.js';
import { loadConfig } from '../../src/config/config.js';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { startDockerd } from '../helpers/dockerd.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer, type NotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { freePort, run, runOk, tempDir, waitFor } from '../helpers/process.js';
import { RepoSimulator, sha256Hex } from '../helpers/simulator.js';
import { CLI, configDoc, startInProcess, startWithConfig } from '../helpers/trustgate.js';

const dir = tempDir('airgap');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;
const STALE = 'library/stale';
const accept = { accept: ALL_MANIFEST_TYPES.join(',') };

const trustgate = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeoutMs: 60_000 });

/** Every file under the store directory with its hash: to show a refused import wrote nothing. */
function storeState(d: string): string {
  if (!existsSync(d)) return '';
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => `${join(e.parentPath, e.name)} ${sha256Hex(readFileSync(join(e.parentPath, e.name)))}`)
    .sort()
    .join('\n');
}

t.test('signed pulls enforced across an air gap', async (t) => {
  // ---- the connected side: a registry, a notary-server, signed with the notary CLI ----------------
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  const other = buildLayouts(join(dir.path, 'oci2'), ' unsigned');
  await push(layouts.single, 'v1', `${host}/${REPO}:v1`, { format: 'v2s2' });
  await push(layouts.multi, 'multi', `${host}/${REPO}:multi`, { all: true, format: 'v2s2' });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const multi = await manifestOf(registry.url, REPO, 'multi');

  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  let notaryStopped = false;
  t.teardown(() => (notaryStopped ? undefined : notary.stop()));
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  await cli.addDelegation(GUN, 'targets/releases');
  await cli.sign(GUN, 'v1', v1, 'targets/releases');
  await cli.sign(GUN, 'multi', multi, 'targets/releases');
  await cli.notary('key', 'rotate', GUN, 'root'); // root v3 (init made v2): the bundle carries every version

  const online = join(dir.path, 'online.yaml');
  writeFileSync(online, stringify({ upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true }] }));
  const bundle = join(dir.path, 'carry', 'demo-trust.tar');
  const exp = await trustgate('trust', 'export', `${REPO}:v1`, `${REPO}:multi`, '--images', '--out', bundle, '--config', online);
  t.equal(exp.code, 0, exp.stderr);
  t.match(exp.stdout, /docker\.io\/library\/demo: root v3, 2 targets file\(s\)/);
  t.match(exp.stdout, new RegExp(`docker\\.io/library/demo:v1: image ${v1.digest} \\(signed in targets/releases\\): 1 manifest\\(s\\), 2 blob\\(s\\)`));
  t.match(exp.stdout, new RegExp(`docker\\.io/library/demo:multi: image ${multi.digest} \\(signed in targets/releases\\): 3 manifest\\(s\\), 4 blob\\(s\\)`));
  const names = (await listTar(bundle)).map((f) => f.name);
  for (const f of ['1.root', '2.root', '3.root', 'root', 'timestamp', 'snapshot', 'targets', 'targets/releases']) {
    t.ok(names.includes(`trust/${GUN}/_tuf/${f}.json`), `the bundle holds ${f}`);
  }
  t.ok(names.includes(`images/${GUN}/_tags/v1/manifest.json`) && names.includes(`images/${GUN}/_tags/multi/manifest.json`), 'and the images');

  await notary.stop(); // nothing on the far side can reach a Notary, or the connected registry
  notaryStopped = true;
  await registry.stop();

  // ---- the air-gapped side: its own registry, no Notary, no Redis, trust data in a directory ------
  const far = await startRegistry(dir.path);
  t.teardown(far.stop);
  const farHost = far.url.replace('http://', '');
  const unpacked = join(dir.path, 'unpacked');
  mkdirSync(unpacked);
  await runOk('tar', ['-xf', bundle, '--no-same-owner', '--no-same-permissions', '-C', unpacked, 'images']); // as the README says
  for (const tag of ['v1', 'multi']) {
    await runOk('skopeo', ['copy', '-q', '--all', '--preserve-digests', '--dest-tls-verify=false', `dir:${join(unpacked, 'images', GUN, '_tags', tag)}`, `docker://${farHost}/${REPO}:${tag}`], { timeoutMs: 120_000 });
  }
  t.equal((await manifestOf(far.url, REPO, 'multi')).digest, multi.digest, 'the far registry holds the signed bytes');
  await push(other.single, 'v1', `${farHost}/${REPO}:unsigned`, { format: 'v2s2' }); // someone pushes an unsigned image there
  await push(layouts.single2, 'v2', `${farHost}/${STALE}:v1`, { format: 'v2s2' });
  const staleManifest = await manifestOf(far.url, STALE, 'v1');

  const store = join(dir.path, 'site', 'trust');
  const port = await freePort();
  const site = (maxStaleness?: string) => {
    const doc = configDoc(
      {
        upstreams: [{ name: 'docker.io', registry: far.url, notary: 'offline', default: true, ...(maxStaleness ? { offline: { maxStaleness } } : {}) }],
        trust: { bundles: store },
      },
      port,
    );
    const path = join(dir.path, `site-${maxStaleness ?? 'strict'}.yaml`);
    writeFileSync(path, stringify(doc));
    return path;
  };
  const strict = site();
  const lenient = site('30d');

  await t.test('a damaged bundle is refused whole: nothing is written', async (t) => {
    const bytes = readFileSync(bundle);
    const entry = (await listTar(bundle)).find((f) => f.name === `trust/${GUN}/_tuf/targets/releases.json`);
    const at = (entry?.offset ?? 0) + 40;
    bytes[at] = (bytes[at] as number) ^ 0x20;
    const damaged = join(dir.path, 'damaged.tar');
    writeFileSync(damaged, bytes);
    const r = await trustgate('trust', 'import', damaged, '--config', strict);
    t.equal(r.code, 1);
    t.match(r.stderr, /releases\.json does not match its checksum/);
    t.equal(storeState(store), '', 'the store is untouched');
  });

  await t.test('an altered bundle with re-computed checksums fails verification: nothing is written', async (t) => {
    const altered = join(dir.path, 'altered') + '/';
    // the same bundle as a directory, with the releases file changed and its checksum fixed up
    for (const f of await listTar(bundle)) {
      const b = await readTarFile(bundle, f);
      mkdirSync(join(altered, f.name, '..'), { recursive: true });
      writeFileSync(join(altered, f.name), b);
    }
    const p = `trust/${GUN}/_tuf/targets/releases.json`;
    const doc = JSON.parse(readFileSync(join(altered, p), 'utf8'));
    doc.signed.targets.v1.hashes.sha256 = Buffer.from(sha256Hex(Buffer.from('other')), 'hex').toString('base64');
    const forged = Buffer.from(JSON.stringify(doc));
    writeFileSync(join(altered, p), forged);
    const index = JSON.parse(readFileSync(join(altered, 'bundle.json'), 'utf8'));
    index.files[p] = { sha256: sha256Hex(forged), size: forged.length };
    writeFileSync(join(altered, 'bundle.json'), JSON.stringify(index));
    const r = await trustgate('trust', 'import', altered, '--config', strict);
    t.equal(r.code, 1);
    t.match(r.stderr, /refused: docker\.io\/library\/demo: .*\[LENGTH_OR_HASH_MISMATCH\]/, 'the signed snapshot names other bytes');
    t.equal(storeState(store), '', 'the store is untouched');
  });

  await t.test('the honest bundle imports into trust.bundles', async (t) => {
    const r = await trustgate('trust', 'import', bundle, '--config', lenient);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /docker\.io\/library\/demo: verified \(root v3\)/);
    t.ok(await new DirectoryTrustStore(store).getMetadata(GUN, 'targets/releases'), 'the delegation is in the store');
  });
  const tg = await startWithConfig(dir.path, lenient, port);
  t.teardown(() => tg.stop());

  const dockerd = await startDockerd(join(dir.path, 'd'), `http://127.0.0.1:${port}`);
  t.teardown(dockerd.stop);

  await t.test('a real dockerd pulls the signed images through trustgate and is refused the unsigned one', async (t) => {
    const r = await dockerd.docker('pull', `${REPO}:v1`);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, v1.digest);
    const m = await dockerd.docker('pull', `${REPO}:multi`);
    t.equal(m.code, 0, m.stderr);
    t.match(m.stdout, multi.digest);
    const refused = await dockerd.docker('pull', `${REPO}:unsigned`);
    t.not(refused.code, 0);
    const direct = await fetch(`${tg.url}/v2/${REPO}/manifests/unsigned`, { headers: accept });
    t.equal(direct.status, 403);
    t.match(await direct.json(), { errors: [{ code: 'DENIED', detail: { reason: 'NOT_SIGNED' } }] });
  });

  await t.test("the notary CLI verifies against trustgate's Notary read API", async (t) => {
    const offlineCli = new NotaryCli(join(dir.path, 'cli-offline'), { url: tg.url } as NotaryServer);
    const listed = await offlineCli.listDockerView(GUN);
    t.same(
      listed.map((l) => [l.name, l.digest, l.role]),
      [
        ['multi', multi.digest, 'targets/releases'],
        ['v1', v1.digest, 'targets/releases'],
      ],
    );
  });

  await t.test('a stale bundle: refused without a grace, accepted within one', async (t) => {
    // exported while it was valid — the export's clock ten minutes back — from a Notary whose
    // timestamp expired five minutes ago (Notary's own last 14 days)
    const sim = new RepoSimulator(`docker.io/${STALE}`);
    sim.addTarget('targets', 'v1', staleManifest.body);
    const now = Date.now();
    sim.signed.timestamp.expires = new Date(now - 5 * 60_000).toISOString();
    sim.publish();
    const simUrl = await sim.listen();
    t.teardown(() => sim.close());
    const staleBundle = join(dir.path, 'carry', 'stale') + '/';
    const config = await loadConfig(undefined);
    const exp = await exportBundle([STALE], { out: staleBundle, config, notary: simUrl }, { clock: () => now - 10 * 60_000 });
    t.equal(exp.repositories, 1);

    const before = storeState(store);
    const refused = await trustgate('trust', 'import', staleBundle, '--config', strict);
    t.equal(refused.code, 1);
    t.match(refused.stderr, /refused: docker\.io\/library\/stale: .*timestamp.*\[EXPIRED\]/);
    t.equal(storeState(store), before, 'nothing written');

    const before404 = await fetch(`${tg.url}/v2/${STALE}/manifests/v1`, { headers: accept });
    t.equal(before404.status, 403, 'not imported yet: no trust data');

    const accepted = await trustgate('trust', 'import', staleBundle, '--config', lenient);
    t.equal(accepted.code, 0, accepted.stderr);
    t.match(accepted.stdout, /UNDER OFFLINE GRACE/);

    tg.daemon.child.kill('SIGHUP'); // imported data takes effect at once (else at the next refresh)
    await waitFor('the import to take effect', async () => (await fetch(`${tg.url}/v2/${STALE}/manifests/v1`, { method: 'HEAD', headers: accept })).status === 200, 15_000);
    const pulled = await dockerd.docker('pull', `${STALE}:v1`);
    t.equal(pulled.code, 0, pulled.stderr);
    t.match(pulled.stdout, staleManifest.digest);

    const metrics = await (await fetch(`${tg.url}/metrics`)).text();
    const served = Number(/trustgate_manifest_decisions_total\{decision="served-under-grace",reason="",upstream="docker.io",system="notary"\} (\d+)/.exec(metrics)?.[1]);
    t.ok(served >= 2, `pulls under grace are counted (${served})`);
    const remaining = Number(/trustgate_offline_grace_remaining_seconds\{gun="docker\.io\/library\/stale"\} (\d+)/.exec(metrics)?.[1]);
    t.ok(remaining > 29 * 86400 && remaining <= 30 * 86400, `grace remaining: ${remaining}s`);
    // logs are buffered (flushed every second)
    const logged = () => readFileSync(tg.daemon.logPath, 'utf8').split('\n').filter((l) => l.includes('"decision":"served-under-grace"'));
    await waitFor('the audit lines', async () => logged().length >= 2, 5_000).catch(() => undefined);
    t.ok(logged().length >= 2, 'every pull under grace is logged, even at log level warn');
    t.match(logged()[0], /"level":40.*"repository":"library\/stale"/);

    // the same store, served without a grace: the stale repository is refused, the fresh one served
    const noGrace = await startInProcess(dir.path, {
      upstreams: [{ name: 'docker.io', registry: far.url, notary: 'offline', default: true }],
      trust: { bundles: store },
    });
    t.teardown(noGrace.stop);
    const r = await fetch(`${noGrace.url}/v2/${STALE}/manifests/v1`, { headers: accept });
    t.equal(r.status, 403);
    t.match(await r.json(), { errors: [{ detail: { reason: 'EXPIRED', role: 'timestamp' } }] });
    t.equal((await fetch(`${noGrace.url}/v2/${REPO}/manifests/v1`, { headers: accept })).status, 200);
  });
});
