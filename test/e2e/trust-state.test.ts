// Trust state that cannot be lost, reset or poisoned — through `trustgate serve` processes, a real
// redis-server, a real notary-server signed by the notary CLI, and a man in the middle that serves a
// forged repository (another notary-server: another root, signing another digest for the same GUN)
// or older trust data:
//   - Redis stalled (DEBUG SLEEP) while a fresh replica takes its first request; Redis unreachable
//     when a replica starts: no first contact, the forged root is never trusted;
//   - Redis flushed, and restarted empty, while replicas run: they write back roots and floors, and a
//     new replica refuses an older, still-valid timestamp;
//   - a root certificate that expires between two refreshes (in process, with the clock moved):
//     never a first contact again; the owner's root key rotation is followed;
//   - the timestamp key rotated after a (simulated) compromise: the floor starts over.
// The under-signed delegation (a snapshot-key holder's attack no notary-server publishes) is in
// trust-state-sim.test.ts, through a simulated Notary.

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Redis } from 'ioredis';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, PASSPHRASES, startNotaryServer } from '../helpers/notary.js';
import { stallRedis, startRedis, startRegistry, type Peer } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { settled } from '../helpers/redis-ha.js';
import { startInProcess, startProcess, type RunningTrustgate, type TrustgateSpec } from '../helpers/trustgate.js';
import { makeCertificate, pem } from '../helpers/x509.js';

const dir = tempDir('trust-state');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;
const SHORT = 'library/shortlived';
const ROTATING = 'library/rotating';
const HOUR = 3_600_000;
const accept = { accept: ALL_MANIFEST_TYPES.join(',') };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Pulled {
  status: number;
  digest: string | null;
  reason?: string;
  detail?: Record<string, unknown>;
}

async function pull(tg: RunningTrustgate, repo: string, tag: string): Promise<Pulled> {
  const r = await fetch(`${tg.url}/v2/${repo}/manifests/${tag}`, { headers: accept });
  const digest = r.headers.get('docker-content-digest');
  if (r.ok) return { status: r.status, digest };
  const e = ((await r.json()) as { errors: { detail: Record<string, unknown> & { reason: string } }[] }).errors[0];
  return { status: r.status, digest, ...(e ? { reason: e.detail.reason, detail: e.detail } : {}) };
}

/** A pull from a replica whose store should answer (redis-ha.ts `settled`). */
async function pullSettled(tg: RunningTrustgate, repo: string, tag: string): Promise<Pulled> {
  return settled(() => pull(tg, repo, tag));
}

async function metric(tg: RunningTrustgate, name: string): Promise<number> {
  const text = await (await fetch(`${tg.url}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (-?[0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Poll until `probe` holds, at most `ms`; false if it never did (the caller asserts). */
async function eventually(probe: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return true;
    await sleep(100);
  }
  return false;
}

t.test('trust state through store faults and certificate expiry', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  for (const repo of [REPO, SHORT, ROTATING]) {
    await push(layouts.single, 'v1', `${host}/${repo}:v1`, { format: 'v2s2' });
    await push(layouts.single2, 'v2', `${host}/${repo}:evil`, { format: 'v2s2' }); // the attacker's image
  }
  const honestImage = await manifestOf(registry.url, REPO, 'v1');
  const evilImage = await manifestOf(registry.url, REPO, 'evil');

  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  await cli.sign(GUN, 'v1', honestImage);
  const oldTimestamp = Buffer.from(await (await fetch(`${notary.url}/v2/${GUN}/_trust/tuf/timestamp.json`)).arrayBuffer());
  await cli.sign(GUN, 'latest', honestImage); // newer timestamp, snapshot and targets

  // the attacker's repository: another root for the same GUNs, signing the attacker's image
  const attackerNotary = await startNotaryServer({ dir: join(dir.path, 'attacker-notary'), tls: false });
  t.teardown(attackerNotary.stop);
  const attacker = new NotaryCli(join(dir.path, 'attacker-cli'), attackerNotary);
  for (const gun of [GUN, `docker.io/${SHORT}`]) {
    await attacker.init(gun);
    for (const tag of ['v1', 'latest']) await attacker.sign(gun, tag, evilImage);
  }

  const mitm = new FaultProxy(notary.url);
  await mitm.start();
  t.teardown(() => mitm.stop());
  const forge = () => (mitm.mode = { kind: 'forward', to: attackerNotary.url });
  const honest = () => (mitm.mode = { kind: 'pass' });
  const spec = (redis: Peer): TrustgateSpec => ({
    upstreams: [{ name: 'docker.io', registry: registry.url, notary: mitm.url, default: true }],
    redis: redis.url,
    trust: { refreshInterval: '1s' },
  });
  t.afterEach(() => void honest());

  await t.test('Redis stalled by DEBUG SLEEP while a fresh replica takes its first request: the forged root is not trusted', async (t) => {
    const redis = await startRedis(dir.path, { args: ['--enable-debug-command', 'local'] });
    t.teardown(redis.stop);
    const a = await startProcess(dir.path, spec(redis), 'stall:');
    t.teardown(a.stop);
    t.same((await pullSettled(a, REPO, 'v1')).digest, honestImage.digest, 'replica A trusts the honest root (into Redis)');
    const b = await startProcess(dir.path, spec(redis), 'stall:');
    t.teardown(b.stop);

    forge();
    const stalled = await stallRedis(redis.url, 4);
    const during = await pull(b, REPO, 'v1');
    t.not(during.digest, evilImage.digest, 'never the attacker’s image');
    t.same({ status: during.status, reason: during.reason, store: typeof during.detail?.store }, { status: 503, reason: 'STORE_UNAVAILABLE', store: 'string' }, 'refused: the store cannot answer, and the detail names it');
    await stalled.over;

    t.ok(await eventually(async () => (await pull(b, REPO, 'v1')).reason !== 'STORE_UNAVAILABLE'), 'the store answers again');
    // `latest`: a tag no replica has verified yet, so B verifies the forged data now
    const after = await pull(b, REPO, 'latest');
    t.same({ status: after.status, reason: after.reason }, { status: 403, reason: 'ROOT_ROTATION_FAILED' }, 'the stored honest root refuses the forged one');
    honest();
    t.same((await pullSettled(b, REPO, 'latest')).digest, honestImage.digest, 'served again from the honest Notary');
  });

  await t.test('a replica that starts while Redis is unreachable bootstraps nothing; Redis back empty: the running replica writes back', async (t) => {
    let redis = await startRedis(dir.path);
    t.teardown(() => redis.stop());
    const a = await startProcess(dir.path, spec(redis), 'down:');
    t.teardown(a.stop);
    t.same((await pullSettled(a, REPO, 'v1')).digest, honestImage.digest);
    await redis.stop();
    await sleep(1_100); // past the refresh interval: A verifies again, from its own memory
    t.same((await pull(a, REPO, 'latest')).digest, honestImage.digest, 'the replica that remembers the repository still serves it');

    const c = await startProcess(dir.path, spec(redis), 'down:');
    t.teardown(c.stop);
    forge();
    const first = await pull(c, REPO, 'v1');
    t.not(first.digest, evilImage.digest, 'never the attacker’s image');
    t.same({ status: first.status, reason: first.reason }, { status: 503, reason: 'STORE_UNAVAILABLE' });

    redis = await startRedis(dir.path, { port: redis.port }); // back, and empty
    t.ok(await eventually(async () => (await metric(a, 'trustgate_store_data_loss_total')) >= 1), 'replica A saw the loss and wrote back');
    // C reconnects on its own schedule: until then it keeps refusing (STORE_UNAVAILABLE)
    const second = await pullSettled(c, REPO, 'latest');
    t.same({ status: second.status, reason: second.reason }, { status: 403, reason: 'ROOT_ROTATION_FAILED' }, 'the written-back root refuses the forged one');
    honest();
    t.same((await pullSettled(c, REPO, 'latest')).digest, honestImage.digest);
  });

  await t.test('FLUSHALL and a restart without persistence while replicas run: roots and floors written back, an older still-valid timestamp refused', async (t) => {
    let redis = await startRedis(dir.path);
    t.teardown(() => redis.stop());
    const a = await startProcess(dir.path, spec(redis), 'flush:');
    t.teardown(a.stop);
    const b = await startProcess(dir.path, spec(redis), 'flush:');
    t.teardown(b.stop);
    for (const r of [a, b]) t.same((await pullSettled(r, REPO, 'latest')).digest, honestImage.digest);

    const losses: [string, () => Promise<void>][] = [
      ['FLUSHALL', async () => {
        const admin = new Redis(redis.url);
        await admin.flushall().finally(() => admin.disconnect());
      }],
      ['a restart without persistence', async () => {
        await redis.stop();
        redis = await startRedis(dir.path, { port: redis.port });
      }],
    ];
    let n = 0;
    for (const [what, lose] of losses) {
      n++;
      await lose();
      for (const r of [a, b]) t.ok(await eventually(async () => (await metric(r, 'trustgate_store_data_loss_total')) >= n), `${what}: detected and written back`);
      const fresh = await startProcess(dir.path, spec(redis), 'flush:');
      mitm.mode = { kind: 'replay', path: /\/timestamp\.json$/, body: oldTimestamp };
      const replayed = await pullSettled(fresh, REPO, 'v1');
      t.same({ status: replayed.status, reason: replayed.reason, role: replayed.detail?.role }, { status: 403, reason: 'ROLLBACK', role: 'timestamp' }, `${what}: a new replica refuses the older timestamp`);
      forge();
      t.not((await pull(fresh, REPO, 'v1')).digest, evilImage.digest, `${what}: and the forged root`);
      honest();
      t.same((await pullSettled(fresh, REPO, 'v1')).digest, honestImage.digest);
      await fresh.stop();
    }
  });

  await t.test('a root certificate that expires between two refreshes never restarts trust; the root key rotation is followed', async (t) => {
    const gun = `docker.io/${SHORT}`;
    const now = Date.now();
    // a root key made by the notary CLI, and a certificate for it that lives two hours
    const generated = await cli.notary('key', 'generate', 'ecdsa', '--role', 'root');
    const keyId = /keyID: ([0-9a-f]{64})/.exec(generated)?.[1] as string;
    const stored = readFileSync(join(cli.dir, 'trust', 'private', `${keyId}.key`), 'utf8').replace(/^(role|gun): .*\n/gm, '');
    const rootKey = createPrivateKey({ key: stored, format: 'pem', passphrase: PASSPHRASES.NOTARY_ROOT_PASSPHRASE });
    const certPath = join(dir.path, 'short-root.crt');
    writeFileSync(certPath, pem(makeCertificate({ subjectCN: gun, publicKey: createPublicKey(rootKey), issuerKey: rootKey, notBefore: new Date(now - HOUR), notAfter: new Date(now + HOUR) })));
    await cli.notary('init', gun, '--rootcert', certPath, '-p');
    await cli.notary('key', 'rotate', gun, 'snapshot', '-r');
    for (const tag of ['v1', 'latest']) await cli.sign(gun, tag, honestImage);

    const redis = await startRedis(dir.path);
    t.teardown(redis.stop);
    let offset = 0;
    // in process: the reference clock is moved past the certificate's expiry (a serve process has no
    // clock to move, by design); stores, services and routes are exactly serve's
    const tg = await startInProcess(dir.path, spec(redis), { redisPrefix: 'cert:', clock: () => Date.now() + offset });
    t.teardown(tg.stop);
    t.same((await pullSettled(tg, SHORT, 'v1')).digest, honestImage.digest);

    offset = 2 * HOUR; // the root certificate expired; the timestamp (14 days) has not
    forge();
    const forged = await pull(tg, SHORT, 'latest');
    t.not(forged.digest, evilImage.digest, 'never the attacker’s image');
    t.same({ status: forged.status, reason: forged.reason }, { status: 403, reason: 'CERTIFICATE_INVALID' });
    const cert = forged.detail?.certificate as { name?: string; expired?: string } | undefined;
    t.equal(cert?.name, gun, 'the detail names the certificate');
    t.ok(cert?.expired && Date.parse(cert.expired) <= now + HOUR, 'and since when');
    t.ok((await metric(tg, 'trustgate_root_certificate_expiry_seconds')) < 0, 'the metric says it expired');
    honest();
    t.equal((await pull(tg, SHORT, 'latest')).reason, 'CERTIFICATE_INVALID', 'the honest Notary serving the same root: still refused, not started over');

    await cli.notary('key', 'rotate', gun, 'root'); // the owner's way out: a new root signed by the old key and the new one
    t.same((await pullSettled(tg, SHORT, 'latest')).digest, honestImage.digest, 'the rotation is followed');
    t.ok((await metric(tg, 'trustgate_root_certificate_expiry_seconds')) > 300 * 86_400, 'the new certificate has years left');
  });

  await t.test('the timestamp key rotated after a compromise: the rollback floor starts over under the new key', async (t) => {
    const gun = `docker.io/${ROTATING}`;
    await cli.init(gun);
    for (const tag of ['v1', 'latest']) await cli.sign(gun, tag, honestImage);
    const redis = await startRedis(dir.path);
    t.teardown(redis.stop);
    const a = await startProcess(dir.path, spec(redis), 'rot:');
    t.teardown(a.stop);
    t.same((await pullSettled(a, ROTATING, 'v1')).digest, honestImage.digest);
    // the compromise, simulated: a notary-server's timestamp key cannot be taken, so the store gets
    // what trustgate would have recorded after verifying the holder's timestamp at a huge version
    const admin = new Redis(redis.url);
    t.teardown(() => admin.disconnect());
    await admin.hset(`rot:{${gun}}:versions`, 'timestamp', String(Number.MAX_SAFE_INTEGER));
    const b = await startProcess(dir.path, spec(redis), 'rot:');
    t.teardown(b.stop);
    const blocked = await pullSettled(b, ROTATING, 'latest'); // a tag no replica has verified yet
    t.same({ reason: blocked.reason, role: blocked.detail?.role }, { reason: 'ROLLBACK', role: 'timestamp' }, 'every honest timestamp is now below the floor');

    await cli.notary('key', 'rotate', gun, 'timestamp', '-r');
    await sleep(1_100); // past the refresh interval
    t.same((await pullSettled(b, ROTATING, 'latest')).digest, honestImage.digest, 'served again once the timestamp key rotated');
    const floor = Number(await admin.hget(`rot:{${gun}}:versions`, 'timestamp'));
    t.ok(floor < 1000, `the shared floor started over (${floor})`);
  });
});

