// `trustgate trust export` / `import` against a simulated Notary served over HTTP: what a bundle holds,
// that an import verifies everything again and writes all or nothing, never rolls back, honours pins,
// and that malformed bundles are refused with a reason (never a crash).

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { openBundle, trustPath } from '../../src/bundle/bundle.js';
import { listTar } from '../../src/bundle/tar.js';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { runExport, runImport } from '../../src/commands/trust.js';
import { StoreFetcher } from '../../src/notary/offline.js';
import { TrustUpdater } from '../../src/notary/updater.js';
import { NO_PINNING } from '../../src/trust/index.js';
import { capture, exportOk, freshPaths, imageRegistry, offlineSite, rotateRoot, simulated as simulatedIn, snapshotDir, type SiteOptions } from '../helpers/airgap.js';
import { tempDir } from '../helpers/process.js';
import { SimKey, sha256Hex } from '../helpers/simulator.js';

const dir = tempDir('trust-bundles');
t.teardown(dir.remove);
const fresh = freshPaths(dir.path);
const offlineConfig = (opts: SiteOptions = {}) => offlineSite(fresh('site'), opts);
const simulated = (gun: string) => simulatedIn(t, gun);
const exported = (url: string, refs: string[], out = fresh('bundle') + '.tar') => exportOk(refs, { out, notary: url });

t.test('export writes every root version and every role, checksummed', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  rotateRoot(sim);
  const c = capture();
  const out = fresh('bundle') + '.tar';
  t.equal(await runExport(['library/app'], { out, notary: url }, c.io), 0, c.text());
  t.match(c.out.join('\n'), /docker\.io\/library\/app: root v2/);
  const names = (await listTar(out)).map((f) => f.name).sort();
  const p = (name: string) => trustPath('docker.io/library/app', name);
  t.same(names, ['bundle.json', p('1.root'), p('2.root'), p('root'), p('snapshot'), p('targets'), p('targets/releases'), p('timestamp')].sort());
  const bundle = await openBundle(out);
  t.same(bundle.index.repositories, [{ gun: 'docker.io/library/app', rootVersion: 2 }]);
  t.same(await bundle.read(p('1.root')), sim.files.get('1.root'), 'the first root, as Notary served it');
  t.same(await bundle.read(p('timestamp')), sim.files.get('timestamp'));

  const asDir = fresh('bundle-dir') + '/';
  t.equal(await runExport(['library/app'], { out: asDir, notary: url }, capture().io), 0);
  t.ok(existsSync(join(asDir, 'bundle.json')), 'a plain directory layout');
  t.same(readFileSync(join(asDir, p('targets/releases'))), sim.files.get('targets/releases'));
});

t.test('export refuses what does not verify, and repositories Notary does not know', async (t) => {
  const { sim, url } = await simulated('docker.io/library/broken');
  sim.signatureHooks.set('targets', () => []);
  sim.publish();
  const c = capture();
  t.equal(await runExport(['library/broken'], { out: fresh('x') + '.tar', notary: url }, c.io), 1);
  t.match(c.err.join('\n'), /export failed: .*SIGNATURE_THRESHOLD/);
  const c2 = capture();
  t.equal(await runExport(['library/nothing'], { out: fresh('x') + '.tar', notary: url }, c2.io), 1);
  t.match(c2.err.join('\n'), /export failed/);
});

t.test('import verifies and loads into trust.bundles; serve resolves from it with no Notary', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  rotateRoot(sim);
  const bundle = await exported(url, ['library/app']);
  const site = offlineConfig();
  const c = capture();
  t.equal(await runImport(bundle, { config: site.path }, c.io), 0, c.text());
  t.match(c.out.join('\n'), /docker\.io\/library\/app: verified \(root v2\)/);
  const store = new DirectoryTrustStore(site.store);
  t.same(Object.fromEntries(await store.getVersions(sim.gun)), {
    '1.root': 1,
    '2.root': 2,
    root: 2,
    timestamp: sim.signed.timestamp.version,
    snapshot: sim.signed.snapshot.version,
    targets: sim.signed.targets.version,
    'targets/releases': sim.delegation('targets/releases').signed.version,
  });
  const updater = new TrustUpdater({ fetcher: new StoreFetcher(store), store, pinning: NO_PINNING });
  const v2 = await updater.resolve(sim.gun, 'v2');
  t.equal(v2.digest, `sha256:${sha256Hex(Buffer.from('manifest v2'))}`);
  t.equal(v2.role, 'targets/releases');
});

t.test('a damaged bundle is refused whole and nothing is written', async (t) => {
  const { url } = await simulated('docker.io/library/app');
  const bundle = await exported(url, ['library/app']);
  const bytes = readFileSync(bundle);
  const entry = (await listTar(bundle)).find((f) => f.name.endsWith('/targets.json'));
  t.ok(entry);
  const at = (entry?.offset ?? 0) + 20;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  const damaged = fresh('damaged') + '.tar';
  writeFileSync(damaged, bytes);
  const site = offlineConfig();
  const c = capture();
  t.equal(await runImport(damaged, { config: site.path }, c.io), 1);
  t.match(c.err.join('\n'), /targets\.json does not match its checksum/);
  t.same(snapshotDir(site.store).size, 0, 'nothing written');
});

t.test('an altered file with matching checksums fails verification: refused whole, nothing written', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  const good = await simulated('docker.io/library/good');
  const out = fresh('altered') + '/';
  const c0 = capture();
  t.equal(await runExport(['library/good'], { out, notary: good.url }, c0.io), 0, c0.text());
  const other = fresh('altered-src') + '/';
  t.equal(await runExport(['library/app'], { out: other, notary: url }, capture().io), 0);
  // merge app into the good bundle, then swap app's targets for one signed by a stranger
  cpSync(join(other, 'trust/docker.io/library/app'), join(out, 'trust/docker.io/library/app'), { recursive: true });
  const stranger = SimKey.generate('ecdsa');
  sim.signed.targets.targets = { v1: { hashes: { sha256: Buffer.alloc(32, 7).toString('base64') }, length: 10 } };
  const forged = sim.signDocument('targets', sim.signed.targets, [stranger]);
  const p = trustPath(sim.gun, 'targets');
  writeFileSync(join(out, p), forged);
  const index = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8'));
  const otherIndex = JSON.parse(readFileSync(join(other, 'bundle.json'), 'utf8'));
  index.files = { ...index.files, ...otherIndex.files, [p]: { sha256: sha256Hex(forged), size: forged.length } };
  index.repositories = [...index.repositories, ...otherIndex.repositories];
  writeFileSync(join(out, 'bundle.json'), JSON.stringify(index));

  const site = offlineConfig();
  const c = capture();
  t.equal(await runImport(out, { config: site.path }, c.io), 1);
  const text = c.err.join('\n');
  t.match(text, /refused: docker\.io\/library\/app: .*\[LENGTH_OR_HASH_MISMATCH\]/, 'the snapshot names other bytes');
  t.notMatch(text, /library\/good/, 'the good repository verified');
  t.match(text, /nothing was written/);
  t.same(snapshotDir(site.store).size, 0, 'the good repository was not written either: all or nothing');
});

t.test('a re-signed timestamp with matching checksums is refused: not signed by the timestamp key', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  const out = fresh('forged-ts') + '/';
  t.equal(await runExport(['library/app'], { out, notary: url }, capture().io), 0);
  sim.signed.timestamp.version = (sim.signed.timestamp.version as number) + 10;
  const forged = sim.signDocument('timestamp', sim.signed.timestamp, [SimKey.generate('ed25519')]);
  const p = trustPath(sim.gun, 'timestamp');
  writeFileSync(join(out, p), forged);
  const index = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8'));
  index.files[p] = { sha256: sha256Hex(forged), size: forged.length };
  writeFileSync(join(out, 'bundle.json'), JSON.stringify(index));
  const site = offlineConfig();
  const c = capture();
  t.equal(await runImport(out, { config: site.path }, c.io), 1);
  t.match(c.err.join('\n'), /refused: docker\.io\/library\/app: .*\[SIGNATURE_THRESHOLD\]/);
  t.same(snapshotDir(site.store).size, 0);
});

t.test('an import never rolls back: an older bundle after a newer one is refused', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  const older = await exported(url, ['library/app']);
  rotateRoot(sim);
  sim.addTarget('targets', 'v3', 'manifest v3');
  sim.publish();
  const newer = await exported(url, ['library/app']);
  const site = offlineConfig();
  t.equal(await runImport(newer, { config: site.path }, capture().io), 0);
  const before = snapshotDir(site.store);
  const c = capture();
  t.equal(await runImport(older, { config: site.path }, c.io), 1);
  t.match(c.err.join('\n'), /refused: docker\.io\/library\/app: .*\[ROLLBACK\]/);
  t.same(snapshotDir(site.store), before, 'the stored (newer) trust data is untouched');
  const store = new DirectoryTrustStore(site.store);
  t.equal((await store.getVersions(sim.gun)).get('root'), 2, 'the newer root stays');
  t.equal(await runImport(newer, { config: site.path }, capture().io), 0, 're-importing the same bundle is fine');
});

t.test('pins in the configuration apply to imports', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  const bundle = await exported(url, ['library/app']);
  const wrong = offlineConfig({ policy: [{ match: 'docker.io/*', action: 'verify', pin: { keys: ['a'.repeat(64)] } }] });
  const c = capture();
  t.equal(await runImport(bundle, { config: wrong.path }, c.io), 1);
  t.match(c.err.join('\n'), /\[PINNING_FAILED\]/);
  t.same(snapshotDir(wrong.store).size, 0);
  const right = offlineConfig({ policy: [{ match: 'docker.io/*', action: 'verify', pin: { keys: [(sim.keys.root[0] as SimKey).id] } }] });
  const c2 = capture();
  t.equal(await runImport(bundle, { config: right.path }, c2.io), 0, c2.text());
});

t.test('a repository no configured upstream serves is refused', async (t) => {
  const { url } = await simulated('docker.io/library/app');
  const bundle = await exported(url, ['library/app']);
  const site = offlineConfig({ upstream: 'registry.example.com' });
  const c = capture();
  t.equal(await runImport(bundle, { config: site.path }, c.io), 1);
  t.match(c.err.join('\n'), /no configured upstream serves docker\.io\/library\/app/);
});

t.test('an import needs a store', async (t) => {
  const base = fresh('nostore');
  mkdirSync(base);
  writeFileSync(join(base, 'c.yaml'), stringify({ upstreams: [{ name: 'docker.io', registry: 'http://127.0.0.1:9', notary: 'http://127.0.0.1:9', default: true }] }));
  const { url } = await simulated('docker.io/library/app');
  const c = capture();
  t.equal(await runImport(await exported(url, ['library/app']), { config: join(base, 'c.yaml') }, c.io), 1);
  t.match(c.err.join('\n'), /configure redis,? or trust\.bundles/);
});

t.test('malformed bundles are refused with a reason', async (t) => {
  const { url } = await simulated('docker.io/library/app');
  const good = await exported(url, ['library/app']);
  const goodBytes = readFileSync(good);
  const cases: [string, (p: string) => void, RegExp][] = [
    ['not a tar', (p) => writeFileSync(p, Buffer.from('hello, this is not a tar archive'.repeat(40))), /no bundle\.json|not a readable bundle/],
    ['truncated', (p) => writeFileSync(p, goodBytes.subarray(0, 1500)), /truncated or malformed|not a readable bundle/],
    ['empty', (p) => writeFileSync(p, Buffer.alloc(0)), /no bundle\.json/],
    ['missing path', () => {}, /cannot read bundle/],
  ];
  const dirCases: [string, (index: Record<string, unknown>) => void, RegExp][] = [
    ['wrong format', (i) => void (i.format = 'something/v9'), /not a trustgate-trust-bundle\/v1 bundle/],
    ['an index that is null', (i) => void Object.keys(i).forEach((k) => delete i[k]), /not a trustgate-trust-bundle\/v1 bundle/],
    ['traversal in a repository name', (i) => void (i.repositories = [{ gun: 'docker.io/../../etc', rootVersion: 1 }]), /invalid repository/],
    ['bad root version', (i) => void (i.repositories = [{ gun: 'docker.io/library/app', rootVersion: -1 }]), /invalid repository/],
    ['files not a mapping', (i) => void (i.files = null), /not a trustgate-trust-bundle/],
    ['a listed file missing', (i) => void (i.files = {}), /\[/],
  ];
  const site = offlineConfig();
  for (const [name, make, expect] of cases) {
    const p = fresh('malformed') + '.tar';
    make(p);
    const c = capture();
    t.equal(await runImport(p, { config: site.path }, c.io), 1, name);
    t.match(c.err.join('\n'), expect, name);
  }
  for (const [name, edit, expect] of dirCases) {
    const d = fresh('malformed-dir') + '/';
    t.equal(await runExport(['library/app'], { out: d, notary: url }, capture().io), 0);
    const index = JSON.parse(readFileSync(join(d, 'bundle.json'), 'utf8'));
    edit(index);
    writeFileSync(join(d, 'bundle.json'), JSON.stringify(index));
    const c = capture();
    t.equal(await runImport(d, { config: site.path }, c.io), 1, name);
    t.match(c.err.join('\n'), expect, name);
  }
  t.same(snapshotDir(site.store).size, 0, 'nothing was ever written');
});

t.test('with Redis configured, an import goes to Redis (shared by every replica)', async (t) => {
  const { startRedis } = await import('../helpers/peers.js');
  const { openRedis, RedisTrustStore } = await import('../../src/cache/redis.js');
  const redis = await startRedis(dir.path);
  t.teardown(redis.stop);
  const { sim, url } = await simulated('docker.io/library/app');
  const bundle = await exported(url, ['library/app']);
  const base = fresh('redis-site');
  mkdirSync(base);
  const cfg = join(base, 'c.yaml');
  writeFileSync(cfg, stringify({ redis: redis.url, redisPrefix: 'imp:', upstreams: [{ name: 'docker.io', registry: 'http://127.0.0.1:9', notary: 'offline', default: true }] }));
  const c = capture();
  t.equal(await runImport(bundle, { config: cfg }, c.io), 0, c.text());
  t.match(c.out.join('\n'), /into Redis/);
  const client = await openRedis(redis.url);
  t.teardown(() => client.quit());
  const store = new RedisTrustStore(client, 'imp:');
  t.same(await store.getMetadata(sim.gun, 'timestamp'), sim.files.get('timestamp'));
  t.equal((await store.getVersions(sim.gun)).get('targets'), sim.signed.targets.version);
});

/** A directory bundle of `library/app` to edit: its path and an edit helper that keeps checksums. */
async function editable(url: string) {
  const out = fresh('edit') + '/';
  t.equal(await runExport(['library/app'], { out, notary: url }, capture().io), 0);
  const index = () => JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8'));
  const save = (i: unknown) => writeFileSync(join(out, 'bundle.json'), JSON.stringify(i));
  return { out, index, save };
}

t.test('a delegation left out as Notary clients do travels in the bundle and is left out again', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  sim.addDelegation('targets/old');
  sim.addTarget('targets/old', 'legacy', 'manifest legacy');
  sim.publish();
  sim.delegation('targets/old').signed.expires = sim.expiresIn(-1);
  sim.publish();
  const c = capture();
  const out = fresh('skipped') + '.tar';
  t.equal(await runExport(['library/app'], { out, notary: url }, c.io), 0, c.text());
  t.match(c.out.join('\n'), /left out as Notary clients do: targets\/old/);
  t.ok((await listTar(out)).some((f) => f.name.endsWith('/_tuf/targets/old.json')), 'the skipped file is in the bundle');
  const site = offlineConfig();
  const ci = capture();
  t.equal(await runImport(out, { config: site.path }, ci.io), 0, ci.text());
  const store = new DirectoryTrustStore(site.store);
  const r = await new TrustUpdater({ fetcher: new StoreFetcher(store), store, pinning: NO_PINNING }).refresh(sim.gun);
  t.same([...r.skipped.keys()], ['targets/old'], 'offline, the expired delegation is left out again');
  t.ok(r.set.targetsFiles.has('targets/releases'));
});

t.test('a bundle missing a root version is refused: the rotation chain must be complete', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  rotateRoot(sim);
  const b = await editable(url);
  const i = b.index();
  delete i.files[trustPath(sim.gun, '1.root')];
  b.save(i);
  const site = offlineConfig();
  const c = capture();
  t.equal(await runImport(b.out, { config: site.path }, c.io), 1);
  t.match(c.err.join('\n'), /root version 1 is missing .*\[ROOT_ROTATION_FAILED\]/);
  t.same(snapshotDir(site.store).size, 0);
});

t.test('bundle.json must name the verified root version', async (t) => {
  const { url } = await simulated('docker.io/library/app');
  const b = await editable(url);
  const i = b.index();
  i.repositories[0].rootVersion = 5;
  b.save(i);
  const c = capture();
  t.equal(await runImport(b.out, { config: offlineConfig().path }, c.io), 1);
  t.match(c.err.join('\n'), /names root version 5, the verified root is version 1/);
});

t.test('an incomplete bundle is refused, even where the site already holds that repository', async (t) => {
  const { sim, url } = await simulated('docker.io/library/app');
  const full = await exported(url, ['library/app']);
  const site = offlineConfig();
  t.equal(await runImport(full, { config: site.path }, capture().io), 0);
  const before = snapshotDir(site.store);
  const b = await editable(url);
  const i = b.index();
  delete i.files[trustPath(sim.gun, 'timestamp')];
  b.save(i);
  const c = capture();
  t.equal(await runImport(b.out, { config: site.path }, c.io), 1, 'not "verified" on the strength of what the site already holds');
  t.match(c.err.join('\n'), /the bundle has no timestamp for docker\.io\/library\/app: it is incomplete \[CONFIG_INVALID\]/);
  t.same(snapshotDir(site.store), before);
});

t.test('--images: each signed tag as a dir: layout, every byte checked against the trust data', async (t) => {
  const reg = await imageRegistry(t);
  const { sim, url } = await simulated('docker.io/library/app');
  sim.addTarget('targets', 'img', reg.manifest);
  sim.publish();
  const out = fresh('images') + '/';
  const c = capture();
  t.equal(await runExport(['library/app:img'], { out, notary: url, images: true, registry: reg.url }, c.io), 0, c.text());
  t.match(c.out.join('\n'), /docker\.io\/library\/app:img: image sha256:[0-9a-f]{64} \(signed in targets\): 1 manifest\(s\), 2 blob\(s\)/);
  const dirOf = join(out, 'images', sim.gun, '_tags', 'img');
  t.equal(readFileSync(join(dirOf, 'version'), 'utf8'), 'Directory Transport Version: 1.1\n');
  t.same(readFileSync(join(dirOf, 'manifest.json')), reg.manifest);
  t.same(readFileSync(join(dirOf, reg.layer.digest.slice(7))), reg.layer.bytes);
  t.same(readFileSync(join(dirOf, reg.config.digest.slice(7))), reg.config.bytes);
  const index = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8'));
  t.same(index.images, [{ gun: sim.gun, tag: 'img', digest: reg.manifestDigest, path: `images/${sim.gun}/_tags/img` }]);

  const tar = fresh('images') + '.tar';
  t.equal(await runExport(['library/app:img'], { out: tar, notary: url, images: true, registry: reg.url }, capture().io), 0);
  const entries = await listTar(tar);
  t.ok(entries.some((e) => e.name === `images/${sim.gun}/_tags/img/${reg.layer.digest.slice(7)}` && e.size === reg.layer.bytes.length), 'streamed into the tar');
  t.same(readdirSync(dirname(tar)).filter((f) => f.startsWith(`${basename(tar)}.images`)), [], 'the staging directory is gone');
  t.equal(await runImport(tar, { config: offlineConfig().path }, capture().io), 0, 'and the bundle imports');
});

t.test('--images refuses what does not match the signed digest, and unsigned tags', async (t) => {
  const reg = await imageRegistry(t);
  const { sim, url } = await simulated('docker.io/library/app');
  sim.addTarget('targets', 'img', reg.manifest);
  sim.publish();
  for (const [what, digest] of [['manifest', reg.manifestDigest], ['layer blob', reg.layer.digest]] as const) {
    reg.corrupt.clear();
    reg.corrupt.add(digest);
    const out = fresh('bad-images') + '.tar';
    const c = capture();
    t.equal(await runExport(['library/app:img'], { out, notary: url, images: true, registry: reg.url }, c.io), 1, what);
    t.match(c.err.join('\n'), /with other bytes .*\[DIGEST_MISMATCH\]/, what);
    t.notOk(existsSync(out), `${what}: no bundle written`);
    t.same(readdirSync(dirname(out)).filter((f) => f.startsWith(`${basename(out)}.images`)), [], `${what}: nothing left behind`);
  }
  reg.corrupt.clear();
  const c = capture();
  t.equal(await runExport(['library/app:nope'], { out: fresh('x') + '.tar', notary: url, images: true, registry: reg.url }, c.io), 1);
  t.match(c.err.join('\n'), /\[NOT_SIGNED\]/);
  const d = capture();
  t.equal(await runExport([`library/app@${reg.manifestDigest}`], { out: fresh('x') + '.tar', notary: url, images: true, registry: reg.url }, d.io), 1);
  t.match(d.err.join('\n'), /name a tag/);
});
