// The `trust.bundles` directory is a trust anchor: the store refuses a directory others can write,
// never follows a symlink, writes with explicit modes and unpredictable temporary names, never
// leaves its root, and keeps its rollback floors where deleting one file cannot lose them.

import { chmodSync, chownSync, cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { DirectoryTrustStore } from '../../src/cache/directory-store.js';
import { ConfigError, StoreDamagedError, UnsafeStoreError } from '../../src/errors.js';
import { rejectsWith, within } from '../helpers/airgap.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('dirstore');
t.teardown(dir.remove);
let n = 0;
const fresh = (name: string) => join(dir.path, `${name}-${++n}`);
const GUN = 'docker.io/library/app';

/** Every entry under `d` (files, directories, links), relative. */
function entries(d: string): string[] {
  return readdirSync(d, { recursive: true, withFileTypes: true }).map((e) => relative(d, join(e.parentPath, e.name)));
}

async function filled(path = fresh('store')): Promise<DirectoryTrustStore> {
  const store = new DirectoryTrustStore(path);
  await store.putMetadata(GUN, 'root', Buffer.from('root v1'), 1);
  await store.putMetadata(GUN, 'timestamp', Buffer.from('timestamp v3'), 3);
  await store.putMetadata(GUN, 'targets/releases', Buffer.from('releases v2'), 2);
  return store;
}

/** Reads of every role of GUN, and the floors: true when every one of them succeeded. */
async function allReadsSucceed(store: DirectoryTrustStore): Promise<boolean> {
  const reads = [store.getVersions(GUN), ...['root', 'timestamp', 'targets/releases'].map((r) => store.getMetadata(GUN, r))];
  const settled = await Promise.allSettled(reads);
  for (const s of settled) if (s.status === 'rejected' && !(s.reason instanceof ConfigError)) throw s.reason;
  return settled.every((s) => s.status === 'fulfilled');
}

t.test('files and directories get explicit modes (0644/0755), whatever the umask', async (t) => {
  const before = process.umask(0);
  t.teardown(() => void process.umask(before));
  const path = fresh('modes');
  await filled(path);
  for (const e of [path, ...entries(path).map((p) => join(path, p))]) {
    const mode = lstatSync(e).mode & 0o777;
    t.equal(mode & 0o022, 0, `${relative(path, e) || '(root)'} is ${mode.toString(8)}: not group/world-writable`);
  }
});

t.test('a directory others can write is refused, at the root and anywhere under it', async (t) => {
  for (const mode of [0o775, 0o757, 0o777]) {
    const path = fresh('writable');
    await filled(path);
    chmodSync(path, mode);
    t.notOk(await allReadsSucceed(new DirectoryTrustStore(path)), `root ${mode.toString(8)}: reads refused`);
    await rejectsWith(t, new DirectoryTrustStore(path).putMetadata(GUN, 'snapshot', Buffer.from('s'), 1), UnsafeStoreError, 'CONFIG_INVALID', `root ${mode.toString(8)}: writes`);
  }
  const path = fresh('writable-sub');
  await filled(path);
  chmodSync(join(path, 'docker.io'), 0o777);
  t.notOk(await allReadsSucceed(new DirectoryTrustStore(path)), 'a group/world-writable directory inside');
  const file = fresh('writable-file');
  await filled(file);
  for (const e of entries(file)) if (statSync(join(file, e)).isFile()) chmodSync(join(file, e), 0o666);
  t.notOk(await allReadsSucceed(new DirectoryTrustStore(file)), 'world-writable files');
});

t.test('a directory owned by another user (not root) is refused', async (t) => {
  const path = fresh('owner');
  await filled(path);
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) {
    chownSync(path, 65534, 65534); // nobody
    t.notOk(await allReadsSucceed(new DirectoryTrustStore(path)), 'owned by nobody, read by root');
  } else {
    // as a non-root user: a store that runs as someone else must refuse our directory
    t.notOk(await allReadsSucceed(new DirectoryTrustStore(path, { uid: uid + 1 })), 'owned by us, used by another user');
  }
});

t.test('writes never follow a symlinked repository directory out of the store', async (t) => {
  const path = fresh('symlinked');
  const outside = fresh('outside');
  mkdirSync(outside);
  await new DirectoryTrustStore(path).putMetadata('docker.io/library/other', 'root', Buffer.from('r'), 1);
  symlinkSync(outside, join(path, 'docker.io', 'evil'));
  symlinkSync(outside, join(path, 'docker.io', 'library', 'app'));
  const store = new DirectoryTrustStore(path);
  await rejectsWith(t, store.putMetadata('docker.io/evil/app', 'root', Buffer.from('r'), 1), UnsafeStoreError, 'CONFIG_INVALID', 'a symlinked namespace');
  await rejectsWith(t, store.putMetadata(GUN, 'root', Buffer.from('r'), 1), UnsafeStoreError, 'CONFIG_INVALID', 'a symlinked repository');
  t.same(entries(outside), [], 'nothing was written outside the store');
});

t.test('no predictable temporary name: a planted symlink never redirects a write', async (t) => {
  const path = fresh('tmpnames');
  const store = await filled(path);
  const victim = fresh('victim');
  writeFileSync(victim, 'precious');
  // the names a `<file>.<pid>.<ms>.tmp` scheme would use: the clock is held still so the attacker's
  // guess of the millisecond is right, as it is often enough when guessing for real
  const ms = Date.now();
  const tuf = join(path, GUN, '_tuf');
  for (const base of ['timestamp.json', 'versions.json']) symlinkSync(victim, join(tuf, `${base}.${process.pid}.${ms}.tmp`));
  const realNow = Date.now;
  Date.now = () => ms;
  try {
    await store.putMetadata(GUN, 'timestamp', Buffer.from('timestamp v4'), 4);
  } finally {
    Date.now = realNow;
  }
  t.equal(readFileSync(victim, 'utf8'), 'precious');
  t.same(await store.getMetadata(GUN, 'timestamp'), Buffer.from('timestamp v4'));
});

t.test('reads never follow a symlink: any one file replaced by a link is refused', async (t) => {
  const path = fresh('readlinks');
  await filled(path);
  const files = entries(path).filter((e) => lstatSync(join(path, e)).isFile());
  t.ok(files.length >= 3);
  for (const f of files) {
    const copy = fresh('linked-copy');
    cpSync(join(path, f), copy);
    renameSync(join(path, f), `${copy}.orig`);
    symlinkSync(copy, join(path, f));
    t.notOk(await allReadsSucceed(new DirectoryTrustStore(path)), `${f} as a symlink`);
    rmSync(join(path, f));
    renameSync(`${copy}.orig`, join(path, f));
  }
  t.ok(await allReadsSucceed(new DirectoryTrustStore(path)), 'restored, it reads again');
});

t.test('every path stays inside the store, whatever the repository name', async (t) => {
  const base = fresh('inside');
  const path = join(base, 'store');
  mkdirSync(path, { recursive: true });
  const store = new DirectoryTrustStore(path);
  for (const gun of ['../outside/app', './library/app', 'docker.io/../../outside', 'docker.io/./app']) {
    await rejectsWith(t, store.putMetadata(gun, 'root', Buffer.from('r'), 1), ConfigError, 'CONFIG_INVALID', gun);
    t.equal(await store.getMetadata(gun, 'root').catch((e: unknown) => (e instanceof ConfigError ? undefined : Promise.reject(e))), undefined, gun);
  }
  t.same(entries(base), ['store'], 'nothing written beside the store');
});

t.test('floors cannot be lost by deleting any one file or directory', async (t) => {
  const path = fresh('floors');
  await filled(path);
  for (const e of entries(path)) {
    const copy = fresh('floors-copy');
    cpSync(path, copy, { recursive: true });
    rmSync(join(copy, e), { recursive: true, force: true });
    const store = new DirectoryTrustStore(copy);
    // an older timestamp must not be accepted as if nothing had been stored
    const floor = await store.getVersions(GUN).then(
      (v) => v.get('timestamp'),
      (err: unknown) => {
        if (!(err instanceof ConfigError)) throw err;
        return 'refused';
      },
    );
    t.ok(floor === 3 || floor === 'refused', `without ${e}: the timestamp floor is ${floor}`);
  }
});

t.test('trust data without an index is refused, never read as "nothing stored"', async (t) => {
  const path = fresh('noindex');
  await filled(path);
  rmSync(join(path, '_index.json'));
  const store = new DirectoryTrustStore(path);
  await rejectsWith(t, store.getVersions(GUN), StoreDamagedError, 'CONFIG_INVALID', 'floors');
  await rejectsWith(t, store.putMetadata(GUN, 'timestamp', Buffer.from('old'), 1), StoreDamagedError, 'CONFIG_INVALID', 'writes');
  for (const damaged of ['{"format":"trustgate-trust-store/v1"', 'null', '[1,2]', '{"format":"other"}', '{"format":"trustgate-trust-store/v1","repositories":{"../x/y":{}}}']) {
    writeFileSync(join(path, '_index.json'), damaged);
    await rejectsWith(t, store.getVersions(GUN), StoreDamagedError, 'CONFIG_INVALID', damaged);
  }
  const empty = fresh('empty');
  mkdirSync(empty);
  t.same(await new DirectoryTrustStore(empty).getVersions(GUN), new Map(), 'an empty directory is an empty store');
  t.same(await new DirectoryTrustStore(fresh('absent')).getVersions(GUN), new Map(), 'so is a missing one');
});

t.test('a file the store did not write is never returned', async (t) => {
  const path = fresh('foreign');
  const store = await filled(path);
  const tuf = join(path, GUN, '_tuf');
  const [rootFile] = readdirSync(tuf).filter((f) => f.startsWith('root.'));
  writeFileSync(join(tuf, rootFile as string), 'a root someone else wrote');
  writeFileSync(join(tuf, 'snapshot.json'), 'snapshot by hand');
  t.equal(await store.getMetadata(GUN, 'root'), undefined, 'altered bytes are absent');
  t.equal(await store.getMetadata(GUN, 'snapshot'), undefined, 'an unrecorded file is absent');
  t.equal((await store.getVersions(GUN)).get('root'), 1, 'the floor stays');
  await store.putMetadata(GUN, 'root', Buffer.from('root v1'), 1);
  t.same(await store.getMetadata(GUN, 'root'), Buffer.from('root v1'), 'written again, it reads again');
});

t.test('a crash before the index was renamed leaves the previous state; the next write sweeps up', async (t) => {
  const path = fresh('crash');
  const store = await filled(path);
  const before = await store.getMetadata(GUN, 'timestamp');
  // what an interrupted write leaves: a half-written temporary file and new data the index never named
  writeFileSync(join(path, '_tmp-0123456789abcdef'), 'half');
  writeFileSync(join(path, GUN, '_tuf', `timestamp.${'e'.repeat(64)}.json`), 'timestamp v9');
  t.same(await store.getMetadata(GUN, 'timestamp'), before);
  t.equal((await store.getVersions(GUN)).get('timestamp'), 3);
  await store.putMetadata(GUN, 'timestamp', Buffer.from('timestamp v4'), 4);
  const left = entries(path).filter((e) => e.includes('_tmp-') || e.includes('eeeeeeee'));
  t.same(left, [], 'leftovers removed');
  t.same(entries(join(path, GUN, '_tuf')).filter((e) => e.startsWith('timestamp.')).length, 1, 'one timestamp file: the superseded one is gone');
});

t.test('a batch is written whole or not at all', async (t) => {
  const path = fresh('batch');
  const store = await filled(path);
  const index = readFileSync(join(path, '_index.json'));
  writeFileSync(join(path, 'docker.io', 'library', 'b'), ''); // b's directory cannot be made
  await rejectsWith(
    t,
    store.putAll([
      { gun: GUN, role: 'timestamp', bytes: Buffer.from('timestamp v5'), version: 5 },
      { gun: 'docker.io/library/b', role: 'root', bytes: Buffer.from('b root'), version: 1 },
    ]),
    UnsafeStoreError,
    'CONFIG_INVALID',
  );
  t.same(readFileSync(join(path, '_index.json')), index, 'the index is as it was');
  t.same(await store.getMetadata(GUN, 'timestamp'), Buffer.from('timestamp v3'));
  t.same(entries(join(path, GUN, '_tuf')).filter((e) => e.startsWith('timestamp.')).length, 1, 'the new file was removed again');
});

t.test('writers are serialized by a lock file; a stale lock is taken over', async (t) => {
  const path = fresh('lock');
  await filled(path);
  // held by a live process (this one): a writer waits, and writes once it is released
  writeFileSync(join(path, '_lock'), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), since: 'now' }));
  t.teardown(() => rmSync(join(path, '_lock'), { force: true })); // never leave the writer waiting
  let waiting!: () => void;
  const waited = new Promise<void>((r) => (waiting = r));
  const store = new DirectoryTrustStore(path, { onWait: () => waiting() });
  const write = store.putMetadata(GUN, 'timestamp', Buffer.from('timestamp v6'), 6);
  await within(waited, 60_000, 'the writer saying it waits');
  t.equal((await store.getVersions(GUN)).get('timestamp'), 3, 'not written while the lock is held');
  rmSync(join(path, '_lock'));
  await write;
  t.equal((await store.getVersions(GUN)).get('timestamp'), 6, 'written once released');
  t.notOk(entries(path).includes('_lock'), 'and released again');

  const { spawnSync } = await import('node:child_process');
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  writeFileSync(join(path, '_lock'), JSON.stringify({ pid: Number(gone), host: (await import('node:os')).hostname(), since: 'then' }));
  await new DirectoryTrustStore(path).putMetadata(GUN, 'timestamp', Buffer.from('timestamp v7'), 7);
  t.equal((await store.getVersions(GUN)).get('timestamp'), 7, 'a lock whose process is gone is taken over');
});

t.test('concurrent writers in one process: every write lands, floors only go up', async (t) => {
  const path = fresh('concurrent');
  const a = new DirectoryTrustStore(path);
  const b = new DirectoryTrustStore(path);
  await Promise.all(
    Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).putMetadata(`docker.io/library/r${i % 4}`, 'timestamp', Buffer.from(`ts ${i}`), i)),
  );
  for (let r = 0; r < 4; r++) t.equal((await a.getVersions(`docker.io/library/r${r}`)).get('timestamp'), 8 + r, `r${r}`);
});

t.test('a store that only reads needs no write access (offline-only serve)', async (t) => {
  const path = fresh('readonly');
  const store = await filled(path);
  const bytes = (await store.getMetadata(GUN, 'timestamp')) as Buffer;
  chmodSync(path, 0o555);
  t.teardown(() => chmodSync(path, 0o755));
  await store.putMetadata(GUN, 'timestamp', bytes, 3); // a refresh re-storing what it read
  t.notOk(entries(path).includes('_lock'), 'no lock taken, nothing written');
});

t.test('serve (and warm) refuse to start on a directory others could write', async (t) => {
  const { openStores } = await import('../../src/cache/stores.js');
  const { parseConfig } = await import('../../src/config/config.js');
  const path = fresh('serve');
  await filled(path);
  const config = await parseConfig(
    { upstreams: [{ name: 'docker.io', registry: 'http://127.0.0.1:9', notary: 'offline', default: true }], trust: { bundles: path } },
    { env: {}, baseDir: dir.path },
  );
  const stores = await openStores(config);
  await stores.close();
  chmodSync(path, 0o777);
  await rejectsWith(t, openStores(config), UnsafeStoreError, 'CONFIG_INVALID');
});
