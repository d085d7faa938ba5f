// The trust engine against a real notary-server 0.7, with metadata signed by the real notary CLI:
// for every tag, trustgate's answer must equal what `notary list -r targets/releases,targets` says
// Docker would pull (and nothing for tags only in other delegations).

import { join } from 'node:path';
import t, { type Test } from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { NoTrustDataError, TagNotSignedError } from '../../src/errors.js';
import { NotaryRemote } from '../../src/notary/remote.js';
import { TrustUpdater, type UpdaterEvent } from '../../src/notary/updater.js';
import { DOCKER_ROLES, NO_PINNING } from '../../src/trust/index.js';
import { NotaryCli, startNotaryServer, type NotaryServer } from '../helpers/notary.js';
import { tempDir } from '../helpers/process.js';
import { rejectsWith } from '../helpers/trust.js';

const dir = tempDir('notary-e2e');
t.teardown(dir.remove);

async function server(name: string, trust: 'local' | 'signer'): Promise<{ server: NotaryServer; cli: NotaryCli; remote: NotaryRemote }> {
  const server = await startNotaryServer({ dir: join(dir.path, name), trust });
  t.teardown(server.stop);
  const cli = new NotaryCli(join(dir.path, `${name}-cli`), server);
  const remote = new NotaryRemote(server.url, { ca: server.caPem });
  t.teardown(() => remote.close());
  return { server, cli, remote };
}

/** trustgate must agree with the notary CLI's Docker view on every tag, and refuse the rest. */
async function agreesWithNotary(t: Test, cli: NotaryCli, updater: TrustUpdater, gun: string, extraTags: string[] = []) {
  const listed = await cli.listDockerView(gun);
  t.ok(listed.length > 0, `notary lists targets for ${gun}`);
  for (const tgt of listed) {
    if ((DOCKER_ROLES as readonly string[]).includes(tgt.role)) {
      const r = await updater.resolve(gun, tgt.name);
      t.same({ digest: r.digest, size: r.length, role: r.role }, { digest: tgt.digest, size: tgt.size, role: tgt.role }, `${gun}:${tgt.name}`);
    } else {
      await rejectsWith(t, updater.resolve(gun, tgt.name), TagNotSignedError, 'NOT_SIGNED');
    }
  }
  for (const tag of extraTags) {
    const lookup = await cli.lookup(gun, tag);
    t.not(lookup.code, 0, `notary lookup finds no ${tag}`);
    await rejectsWith(t, updater.resolve(gun, tag), TagNotSignedError, 'NOT_SIGNED');
  }
}

t.test('notary-server with the local trust service (ed25519 server keys)', async (t) => {
  const { cli, remote } = await server('local', 'local');
  const gun = 'docker.io/library/e2e-local';
  await cli.init(gun);
  await cli.addHash(gun, 'v1', 'manifest v1');
  await cli.addDelegation(gun, 'targets/releases');
  await cli.addHash(gun, 'v2', 'manifest v2', 'targets/releases');
  await cli.addHash(gun, 'both', 'both in targets');
  await cli.addHash(gun, 'both', 'both in releases', 'targets/releases');
  await cli.addDelegation(gun, 'targets/alice');
  await cli.addHash(gun, 'alice-only', 'alice', 'targets/alice');

  const store = new MemoryTrustStore();
  const events: UpdaterEvent[] = [];
  const updater = new TrustUpdater({ fetcher: remote, store, pinning: NO_PINNING, onEvent: (e) => events.push(e) });
  await agreesWithNotary(t, cli, updater, gun, ['missing']);

  const { set } = await updater.refresh(gun);
  const keyType = (role: string) => set.root.root.keys.get(set.root.root.roles.get(role)?.keyIds[0] as string)?.keyType;
  t.equal(keyType('timestamp'), 'ed25519', 'server-held timestamp key is ed25519');
  t.equal(keyType('snapshot'), 'ed25519', 'server-held snapshot key is ed25519');
  t.equal(keyType('root'), 'ecdsa-x509');
  t.equal((await updater.resolve(gun, 'both')).role, 'targets/releases', 'releases wins over targets');

  await t.test('trust data not on the server', async (t) => {
    await rejectsWith(t, updater.resolve('docker.io/library/never-signed', 'v1'), NoTrustDataError, 'NO_TRUST_DATA');
  });

  await t.test('targets key rotation and root key rotation are followed from the stored root', async (t) => {
    const before = set.root.root.version;
    await cli.notary('key', 'rotate', gun, 'targets');
    const v3 = await cli.addHash(gun, 'v3', 'manifest v3');
    t.equal((await updater.resolve(gun, 'v3')).digest, v3.digest);
    await cli.notary('key', 'rotate', gun, 'root');
    const v4 = await cli.addHash(gun, 'v4', 'manifest v4', 'targets/releases');
    const r = await updater.resolve(gun, 'v4');
    t.equal(r.digest, v4.digest);
    t.ok(r.refresh.set.root.root.version >= before + 2, `root moved from v${before} to v${r.refresh.set.root.root.version}`);
    t.ok(events.filter((e) => e.type === 'root-rotated').length >= 2, 'both rotations were followed');
    await agreesWithNotary(t, cli, updater, gun);
  });

  await t.test('a removed tag stops resolving', async (t) => {
    await cli.notary('remove', gun, 'v1', '-p');
    await rejectsWith(t, updater.resolve(gun, 'v1'), TagNotSignedError, 'NOT_SIGNED');
  });
});

t.test('notary-server backed by notary-signer (ECDSA server keys, as Docker Hub)', async (t) => {
  const { cli, remote } = await server('signer', 'signer');
  const gun = '127.0.0.1:5000/team/app';
  await cli.init(gun);
  await cli.addHash(gun, '1.0', 'app 1.0');
  await cli.addDelegation(gun, 'targets/releases');
  await cli.addHash(gun, '1.1', 'app 1.1', 'targets/releases');
  const updater = new TrustUpdater({ fetcher: remote, store: new MemoryTrustStore(), pinning: NO_PINNING });
  await agreesWithNotary(t, cli, updater, gun, ['2.0']);
  const { set } = await updater.refresh(gun);
  for (const role of ['timestamp', 'snapshot']) {
    const id = set.root.root.roles.get(role)?.keyIds[0] as string;
    t.equal(set.root.root.keys.get(id)?.keyType, 'ecdsa', `${role} key is ecdsa from notary-signer`);
    t.equal(set.timestamp?.envelope.signatures[0]?.method, 'ecdsa');
  }
});
