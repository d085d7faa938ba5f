// Air-gap hardening, through `trust export` / `trust import` as an operator runs them: a root placed
// in the store by hand is not "previously trusted", floors survive a deleted repository directory,
// incomplete bundles are refused, exported images never overwrite each other, a write failure
// during an import leaves the previous state, and concurrent imports are serialized.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import t from 'tap';
import { exportBundle, type ExportReport } from '../../src/bundle/airgap.js';
import { BundleError, openBundle, trustPath } from '../../src/bundle/bundle.js';
import { listTar } from '../../src/bundle/tar.js';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { runExport, runImport } from '../../src/commands/trust.js';
import { loadConfig } from '../../src/config/config.js';
import { capture, exportOk, freshPaths, imageRegistry, offlineSite, rotateRoot, serveRepos, simulated, simulatedRepo, snapshotDir, rejectsWith, within } from '../helpers/airgap.js';
import { tempDir } from '../helpers/process.js';
import { sha256Hex, type SimKey } from '../helpers/simulator.js';

const dir = tempDir('airgap-hardening');
t.teardown(dir.remove);
const fresh = freshPaths(dir.path);

t.test('a root placed in trust.bundles by hand is not previously trusted when tofu is off', async (t) => {
  const { sim, url } = await simulated(t, 'docker.io/library/app');
  const bundle = await exportOk(['library/app'], { out: fresh('bundle') + '/', notary: url });
  const site = offlineSite(fresh('site'), { tofu: false });
  // another repository imported the normal way, so the store is in use
  const other = await simulated(t, 'docker.io/library/other');
  const pinOther = offlineSite(fresh('site'), { store: site.store, policy: [{ match: 'docker.io/library/other', action: 'verify', pin: { keys: [(other.sim.keys.root[0] as SimKey).id] } }] });
  t.equal(await runImport(await exportOk(['library/other'], { out: fresh('other') + '.tar', notary: other.url }), { config: pinOther.path }, capture().io), 0);
  // someone copies app's trust files into the store: as the store once named them, and as it names them now
  const tuf = join(site.store, sim.gun, '_tuf');
  mkdirSync(tuf, { recursive: true });
  for (const role of ['root', 'timestamp', 'snapshot', 'targets']) {
    const b = sim.files.get(role) as Buffer;
    writeFileSync(join(tuf, `${role}.json`), b);
    writeFileSync(join(tuf, `${role}.${sha256Hex(b)}.json`), b);
  }
  const c = capture();
  t.equal(await runImport(bundle, { config: site.path }, c.io), 1, c.text());
  t.match(c.err.join('\n'), /refused: docker\.io\/library\/app: .*\[PINNING_FAILED\]/, 'TOFU is off and nothing is pinned');
});

t.test('floors survive a deleted repository directory: an older bundle stays refused on a pinned site', async (t) => {
  const { sim, url } = await simulated(t, 'docker.io/library/app');
  const older = await exportOk(['library/app'], { out: fresh('older') + '.tar', notary: url });
  delete (sim.signed.targets.targets as Record<string, unknown>).v1; // v1 revoked
  sim.publish();
  const newer = await exportOk(['library/app'], { out: fresh('newer') + '.tar', notary: url });
  const pin = [{ match: 'docker.io/*', action: 'verify', pin: { keys: [(sim.keys.root[0] as SimKey).id] } }];
  const site = offlineSite(fresh('site'), { policy: pin, tofu: false });
  t.equal(await runImport(newer, { config: site.path }, capture().io), 0);
  rmSync(join(site.store, 'docker.io', 'library', 'app'), { recursive: true });
  const c = capture();
  t.not(await runImport(older, { config: site.path }, c.io), 0, 'the older bundle is not accepted');
  t.match(c.err.join('\n'), /\[ROLLBACK\]/);
});

t.test('an incomplete bundle is refused even after a complete one was imported', async (t) => {
  const { sim, url } = await simulated(t, 'docker.io/library/app');
  const site = offlineSite(fresh('site'));
  t.equal(await runImport(await exportOk(['library/app'], { out: fresh('full') + '.tar', notary: url }), { config: site.path }, capture().io), 0);
  const before = snapshotDir(site.store);
  // only bundle.json, the roots and timestamp.json: snapshot, targets and the delegation left out
  const out = await exportOk(['library/app'], { out: fresh('partial') + '/', notary: url });
  const index = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8'));
  for (const role of ['snapshot', 'targets', 'targets/releases']) {
    delete index.files[trustPath(sim.gun, role)];
    rmSync(join(out, trustPath(sim.gun, role)));
  }
  writeFileSync(join(out, 'bundle.json'), JSON.stringify(index));
  const c = capture();
  t.equal(await runImport(out, { config: site.path }, c.io), 1, c.text());
  t.match(c.err.join('\n'), /incomplete/);
  t.same(snapshotDir(site.store), before, 'nothing written');
});

t.test("a bundle whose root.json is not its newest root version is refused, even where the site holds that root", async (t) => {
  const { sim, url } = await simulated(t, 'docker.io/library/app');
  rotateRoot(sim);
  const site = offlineSite(fresh('site'));
  t.equal(await runImport(await exportOk(['library/app'], { out: fresh('full') + '.tar', notary: url }), { config: site.path }, capture().io), 0);
  const out = await exportOk(['library/app'], { out: fresh('oldroot') + '/', notary: url });
  const first = readFileSync(join(out, trustPath(sim.gun, '1.root')));
  writeFileSync(join(out, trustPath(sim.gun, 'root')), first);
  const index = JSON.parse(readFileSync(join(out, 'bundle.json'), 'utf8'));
  index.files[trustPath(sim.gun, 'root')] = { sha256: sha256Hex(first), size: first.length };
  writeFileSync(join(out, 'bundle.json'), JSON.stringify(index));
  const c = capture();
  t.equal(await runImport(out, { config: site.path }, c.io), 1, c.text());
  t.match(c.err.join('\n'), /root\.json is not its root version 2/);
});

t.test('export from a registry the configuration does not name, and through an offline upstream', async (t) => {
  const other = simulatedRepo('registry.example.com/team/app');
  const hub = simulatedRepo('docker.io/library/app');
  const notary = await serveRepos(t, [other, hub]);
  const base = fresh('connected');
  const site = offlineSite(base); // docker.io is `notary: offline` here: --notary is where it is fetched
  const config = await loadConfig(site.path);
  const out = fresh('two') + '/';
  const r = await exportBundle(['registry.example.com/team/app', 'library/app'], { out, config, notary });
  t.same(r, { kind: 'dir', repositories: 2, trustFiles: 12, images: 0 }); // 1.root, root, timestamp, snapshot, targets, targets/releases each
  t.same((await openBundle(out)).index.repositories.map((x) => x.gun), ['registry.example.com/team/app', 'docker.io/library/app']);
});

t.test('--images: a repository named like another one plus a tag never overwrites its image', async (t) => {
  const reg = await imageRegistry(t);
  const app = simulatedRepo('docker.io/library/app');
  const nested = simulatedRepo('docker.io/library/app/v1');
  for (const sim of [app, nested]) {
    sim.addTarget('targets', sim === app ? 'v1' : 'latest', reg.manifest);
    sim.publish();
  }
  const notary = await serveRepos(t, [app, nested]);
  for (const out of [fresh('collide') + '/', fresh('collide') + '.tar']) {
    const c = capture();
    t.equal(await runExport(['library/app/v1:latest', 'library/app:v1'], { out, notary, images: true, registry: reg.url }, c.io), 0, c.text());
    const bundle = await openBundle(out);
    const paths = (bundle.index.images ?? []).map((i) => i.path);
    t.equal(new Set(paths).size, 2, `${out}: two images at two paths`);
    const names = out.endsWith('/') ? listDir(out) : (await listTar(out)).map((e) => e.name);
    for (const p of paths) t.ok(names.includes(`${p}/manifest.json`) && names.includes(`${p}/${reg.layer.digest.slice(7)}`), `${out}: ${p} is complete`);
  }
});

t.test('--images fails loudly when a file of an exported image is missing', async (t) => {
  const reg = await imageRegistry(t);
  const { sim, url } = await simulated(t, 'docker.io/library/app');
  sim.addTarget('targets', 'img', reg.manifest);
  sim.publish();
  for (const out of [fresh('missing') + '/', fresh('missing') + '.tar']) {
    // something removes a blob after it was written (a full disk cleaner, a second export…)
    const report = (r: ExportReport) => {
      if (r.kind !== 'image') return;
      const staged = out.endsWith('/') ? out : join(dir.path, readdirSync(dir.path).find((f) => f.startsWith(`${basename(out)}.images-`)) as string);
      rmSync(join(staged, 'images', sim.gun, '_tags', 'img', reg.layer.digest.slice(7)));
    };
    const config = await loadConfig(undefined);
    await rejectsWith(t, exportBundle(['library/app:img'], { out, config, notary: url, images: true, registry: reg.url }, { report }), BundleError, 'CONFIG_INVALID', out);
    t.notOk(existsSync(join(out, 'bundle.json')) || (!out.endsWith('/') && existsSync(out)), `${out}: no bundle lists the image`);
  }
});

function listDir(d: string): string[] {
  return readdirSync(d, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(d.length));
}

t.test('a write failure during an import leaves the previous state of every repository', async (t) => {
  const a = simulatedRepo('docker.io/library/a');
  const b = simulatedRepo('docker.io/library/b');
  const notary = await serveRepos(t, [a, b]);
  const site = offlineSite(fresh('site'));
  t.equal(await runImport(await exportOk(['library/a'], { out: fresh('first') + '.tar', notary }), { config: site.path }, capture().io), 0);
  a.addTarget('targets', 'v9', 'manifest v9');
  a.publish();
  const both = await exportOk(['library/a', 'library/b'], { out: fresh('both') + '.tar', notary });
  // b's directory cannot be created: a file stands where it goes
  writeFileSync(join(site.store, 'docker.io', 'library', 'b'), '');
  const before = snapshotDir(site.store);
  const c = capture();
  t.not(await runImport(both, { config: site.path }, c.io), 0, c.text());
  t.same(snapshotDir(site.store), before, 'a is as it was: nothing of the import was written');
  rmSync(join(site.store, 'docker.io', 'library', 'b'));
  const again = capture();
  t.equal(await runImport(both, { config: site.path }, again.io), 0, again.text());
});

t.test('concurrent imports into one directory run one after the other', async (t) => {
  const sims = ['a', 'b', 'c'].map((n) => simulatedRepo(`docker.io/library/${n}`));
  const notary = await serveRepos(t, sims);
  const bundles: string[] = [];
  for (const sim of sims) bundles.push(await exportOk([sim.gun.replace('docker.io/', '')], { out: fresh('one') + '.tar', notary }));
  const site = offlineSite(fresh('site'));
  // a lock held by this (live) process: every import waits, and says so
  mkdirSync(site.store, { recursive: true });
  writeFileSync(join(site.store, '_lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: 'test' }));
  t.teardown(() => rmSync(join(site.store, '_lock'), { force: true })); // never leave the imports waiting
  const waiting: Promise<void>[] = [];
  const imports = bundles.map((b) => {
    let saidSo!: () => void;
    waiting.push(new Promise<void>((r) => (saidSo = r)));
    const c = capture((line) => /waiting for another import/.test(line) && saidSo());
    return runImport(b, { config: site.path }, c.io);
  });
  await within(Promise.all(waiting), 60_000, 'every import saying it waits');
  t.same(snapshotDir(site.store).size, 1, 'nothing written while the lock is held (only the lock itself)');
  rmSync(join(site.store, '_lock'));
  t.same(await Promise.all(imports), [0, 0, 0]);
  const store = new DirectoryTrustStore(site.store);
  for (const sim of sims) t.equal((await store.getVersions(sim.gun)).get('timestamp'), sim.signed.timestamp.version, `${sim.gun} imported`);
  t.notOk(existsSync(join(site.store, '_lock')), 'the lock is released');
});

t.test('bundle.json listing an image without a valid name, tag or digest is refused when opened', async (t) => {
  const dir = tempDir('bundle-images');
  t.teardown(dir.remove);
  const digest = `sha256:${'a'.repeat(64)}`;
  const entries = [{ tag: 'v1', digest }, { gun: 'docker.io/x', tag: 'bad tag', digest }, { gun: 'docker.io/x', tag: 'v1', digest: 'sha256:short' }];
  for (const [i, image] of entries.entries()) {
    const bundle = join(dir.path, `b${i}`);
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'bundle.json'), JSON.stringify({ format: 'trustgate-trust-bundle/v2', created: '', repositories: [], images: [image], files: {} }));
    await rejectsWith(t, openBundle(bundle), BundleError, 'CONFIG_INVALID', JSON.stringify(image));
  }
});
