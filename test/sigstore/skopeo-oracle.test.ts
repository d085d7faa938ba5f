// Real signer, real registry, independent verifier: images pushed to docker-registry, signed by Debian
// 13's skopeo in cosign's tag layout (every key type cosign writes), tampered with through the
// registry's own API, then judged by trustgate's Sigstore trust source and by skopeo's
// `sigstoreSigned` policy. Both must reach the same verdict — except tag rollback, which skopeo (like
// cosign) cannot see and trustgate refuses.

import { join } from 'node:path';
import t from 'tap';
import { parseConfig } from '../../src/config/config.js';
import { SigstoreError, TagRollbackError } from '../../src/errors.js';
import { Policy } from '../../src/policy/policy.js';
import type { PullTarget } from '../../src/pull/target.js';
import { RegistryUpstream } from '../../src/registry/upstream.js';
import { SigstoreTrustSource } from '../../src/sigstore/source.js';
import { MemoryTagHistory } from '../../src/sigstore/tag-history.js';
import { buildLayouts, manifestOf, push } from '../helpers/images.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { getBlob, getManifest, makeCosignKey, putBlob, putManifest, signImage, sigTag, skopeoAccepts, type CosignKey, type OraclePolicy } from '../helpers/sigstore.js';

const dir = tempDir('sigstore-skopeo');
t.teardown(dir.remove);

const registry = await startRegistry(dir.path);
t.teardown(registry.stop);
const HOST = registry.url.replace('http://', '');
const layouts = buildLayouts(join(dir.path, 'oci'));
const keys = {
  p256: await makeCosignKey(join(dir.path, 'keys'), 'p256', 'ec-p256'),
  p384: await makeCosignKey(join(dir.path, 'keys'), 'p384', 'ec-p384'),
  ed25519: await makeCosignKey(join(dir.path, 'keys'), 'ed25519', 'ed25519'),
  rsa: await makeCosignKey(join(dir.path, 'keys'), 'rsa', 'rsa-2048'),
  other: await makeCosignKey(join(dir.path, 'keys'), 'other', 'ec-p256'),
};
const skopeoDir = join(dir.path, 'skopeo');

/** trustgate's Sigstore source for repositories of this registry, named by its address (as skopeo signs them). */
async function gate(key: CosignKey, signedIdentity?: unknown) {
  const config = await parseConfig(
    {
      upstreams: [{ name: HOST, registry: registry.url, default: true }],
      policy: [{ match: '*', action: 'verify', trust: 'sigstore', sigstore: { keys: [key.pub], ...(signedIdentity ? { signedIdentity } : {}) } }],
    },
    { env: {}, baseDir: dir.path },
  );
  const upstream = new RegistryUpstream(config.upstreams[0] as (typeof config.upstreams)[0], {});
  t.teardown(() => upstream.close());
  const policy = new Policy(config.policy, true);
  const source = new SigstoreTrustSource({ history: new MemoryTagHistory(), verdictTtlMs: 60_000, manifestMaxBytes: 4 << 20 });
  const target = (repository: string): PullTarget => ({ upstream, repository, gun: `${HOST}/${repository}`, decision: policy.decide(`${HOST}/${repository}`), accept: undefined });
  /** 'accepted' or the refusal's code. */
  const verdict = async (repository: string, tag: string): Promise<string> => {
    try {
      await source.resolveTag(target(repository), tag);
      return 'accepted';
    } catch (err) {
      if (err instanceof SigstoreError || err instanceof TagRollbackError) return err.code;
      throw err;
    }
  };
  return { source, target, verdict };
}

const oracle = (ref: string, p: OraclePolicy) => skopeoAccepts(skopeoDir, HOST, ref, p);

t.test('signed with each key type cosign writes: served, and skopeo agrees', async (t) => {
  for (const [name, key] of Object.entries({ p256: keys.p256, p384: keys.p384, ed25519: keys.ed25519, rsa: keys.rsa })) {
    const repo = `keys/${name}`;
    await push(layouts.single, 'v1', `${HOST}/${repo}:v1`);
    await signImage(skopeoDir, HOST, `${repo}:v1`, key);
    const g = await gate(key);
    const { verdict } = await g.source.resolveTag(g.target(repo), 'v1');
    t.equal(verdict.digest, (await manifestOf(registry.url, repo, 'v1')).digest, `${name}: the tag's digest`);
    t.equal(verdict.system, 'sigstore');
    t.equal(verdict.signedBy, 'sigstore-key');
    t.match(verdict.signers, [/^key:[0-9a-f]{64}$/]);
    t.equal((await oracle(`${repo}:v1`, { keyPath: key.pub })).accepted, true, `${name}: skopeo accepts`);
  }
});

t.test('unsigned: SIGSTORE_NO_SIGNATURE; skopeo refuses', async (t) => {
  await push(layouts.single2, 'v2', `${HOST}/plain/unsigned:v1`);
  t.equal(await (await gate(keys.p256)).verdict('plain/unsigned', 'v1'), 'SIGSTORE_NO_SIGNATURE');
  t.equal((await oracle('plain/unsigned:v1', { keyPath: keys.p256.pub })).accepted, false);
});

t.test('signed by another key: SIGSTORE_KEY_MISMATCH; skopeo refuses', async (t) => {
  await push(layouts.single, 'v1', `${HOST}/other/img:v1`);
  await signImage(skopeoDir, HOST, 'other/img:v1', keys.other);
  t.equal(await (await gate(keys.p256)).verdict('other/img', 'v1'), 'SIGSTORE_KEY_MISMATCH');
  t.equal((await oracle('other/img:v1', { keyPath: keys.p256.pub })).accepted, false);
  t.equal(await (await gate(keys.other)).verdict('other/img', 'v1'), 'accepted', 'the right key');
});

t.test('the payload names another repository: refused, unless remapped; skopeo agrees', async (t) => {
  await push(layouts.single, 'v1', `${HOST}/id/img:v1`);
  await signImage(skopeoDir, HOST, 'id/img:v1', keys.p256, { identity: `${HOST}/elsewhere/img:v1` });
  t.equal(await (await gate(keys.p256)).verdict('id/img', 'v1'), 'SIGSTORE_REPOSITORY_MISMATCH');
  t.equal((await oracle('id/img:v1', { keyPath: keys.p256.pub })).accepted, false);
  const remap = { remap: { prefix: `${HOST}/id`, signedPrefix: `${HOST}/elsewhere` } };
  t.equal(await (await gate(keys.p256, remap)).verdict('id/img', 'v1'), 'accepted');
  const oracleRemap = { type: 'remapIdentity' as const, prefix: `${HOST}/id`, signedPrefix: `${HOST}/elsewhere` };
  t.equal((await oracle('id/img:v1', { keyPath: keys.p256.pub, signedIdentity: oracleRemap })).accepted, true);
});

t.test("a signature manifest moved to another digest's tag: SIGSTORE_PAYLOAD_MISMATCH; skopeo refuses", async (t) => {
  await push(layouts.single, 'v1', `${HOST}/swap/img:a`);
  await push(layouts.single2, 'v2', `${HOST}/swap/img:b`);
  await signImage(skopeoDir, HOST, 'swap/img:a', keys.p256);
  const a = await manifestOf(registry.url, 'swap/img', 'a');
  const b = await manifestOf(registry.url, 'swap/img', 'b');
  const sig = (await getManifest(registry.url, 'swap/img', sigTag(a.digest))) as Buffer;
  await putManifest(registry.url, 'swap/img', sigTag(b.digest), sig, 'application/vnd.oci.image.manifest.v1+json');
  const g = await gate(keys.p256);
  t.equal(await g.verdict('swap/img', 'b'), 'SIGSTORE_PAYLOAD_MISMATCH');
  t.equal((await oracle('swap/img:b', { keyPath: keys.p256.pub })).accepted, false);
  t.equal(await g.verdict('swap/img', 'a'), 'accepted');
});

interface SigManifest {
  layers: { digest: string; size: number; annotations: Record<string, string> }[];
}

t.test('a tampered payload or signature: SIGSTORE_KEY_MISMATCH; skopeo refuses', async (t) => {
  for (const what of ['payload', 'signature'] as const) {
    const repo = `tamper/${what}`;
    await push(layouts.single, 'v1', `${HOST}/${repo}:v1`);
    await signImage(skopeoDir, HOST, `${repo}:v1`, keys.p256);
    const { digest } = await manifestOf(registry.url, repo, 'v1');
    const m = JSON.parse(((await getManifest(registry.url, repo, sigTag(digest))) as Buffer).toString()) as SigManifest;
    const layer = m.layers[0] as SigManifest['layers'][0];
    if (what === 'payload') {
      const payload = (await getBlob(registry.url, repo, layer.digest)).toString().replace('containers/image', 'containers/imagf');
      layer.digest = await putBlob(registry.url, repo, Buffer.from(payload));
      layer.size = Buffer.byteLength(payload);
    } else {
      const sig = Buffer.from(layer.annotations['dev.cosignproject.cosign/signature'] as string, 'base64');
      sig.writeUInt8((sig.readUInt8(sig.length - 3) ^ 0x01), sig.length - 3);
      layer.annotations['dev.cosignproject.cosign/signature'] = sig.toString('base64');
    }
    await putManifest(registry.url, repo, sigTag(digest), Buffer.from(JSON.stringify(m)), 'application/vnd.oci.image.manifest.v1+json');
    t.equal(await (await gate(keys.p256)).verdict(repo, 'v1'), 'SIGSTORE_KEY_MISMATCH', what);
    t.equal((await oracle(`${repo}:v1`, { keyPath: keys.p256.pub })).accepted, false, `${what}: skopeo refuses`);
  }
});

t.test('a signed multi-arch index: the tag is served and its signed children admitted; skopeo agrees', async (t) => {
  await push(layouts.multi, 'multi', `${HOST}/multi/img:m`, { all: true });
  await signImage(skopeoDir, HOST, 'multi/img:m', keys.p256, { all: true });
  const g = await gate(keys.p256);
  const index = await manifestOf(registry.url, 'multi/img', 'm');
  t.equal((await g.source.resolveTag(g.target('multi/img'), 'm')).verdict.digest, index.digest);
  const children = (JSON.parse(index.body.toString()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest);
  for (const child of children) t.equal((await g.source.admitDigest(g.target('multi/img'), child)).signed, true, `child ${child.slice(0, 19)}`);
  t.equal((await g.source.admitDigest(g.target('multi/img'), (await manifestOf(registry.url, 'keys/p256', 'v1')).digest)).signed, false, 'an unsigned digest');
  t.equal((await oracle('multi/img:m', { keyPath: keys.p256.pub })).accepted, true);
});

t.test('a tag rolled back to an older signed digest: TAG_ROLLBACK (skopeo, like cosign, cannot tell)', async (t) => {
  const repo = 'roll/img';
  await push(layouts.single, 'v1', `${HOST}/${repo}:v1`);
  await signImage(skopeoDir, HOST, `${repo}:v1`, keys.p256);
  const older = await manifestOf(registry.url, repo, 'v1');
  const g = await gate(keys.p256);
  t.equal(await g.verdict(repo, 'v1'), 'accepted');
  await push(layouts.single2, 'v2', `${HOST}/${repo}:v1`);
  await signImage(skopeoDir, HOST, `${repo}:v1`, keys.p256);
  t.equal(await g.verdict(repo, 'v1'), 'accepted', 'moved on to a newer signed image');
  await putManifest(registry.url, repo, 'v1', older.body, older.mediaType);
  t.equal(await g.verdict(repo, 'v1'), 'TAG_ROLLBACK');
  t.equal((await oracle(`${repo}:v1`, { keyPath: keys.p256.pub })).accepted, true, 'skopeo verifies the older signature and serves it');
  await g.source.acceptTag(`${HOST}/${repo}`, 'v1', older.digest);
  t.equal(await g.verdict(repo, 'v1'), 'accepted', 'after the operator accepted the re-tag');
});

t.test('trustgate check --key answers as a pull would', async (t) => {
  const { runSigstoreCheck } = await import('../../src/commands/check-sigstore.js');
  const lines: string[] = [];
  const io = { out: (l: string) => void lines.push(l), err: (l: string) => void lines.push(l) };
  t.equal(await runSigstoreCheck(`${HOST}/keys/p256:v1`, { key: [keys.p256.pub], registry: registry.url, json: true }, io), 0, lines.join('\n'));
  t.match(JSON.parse(lines.join('\n')), { signed: true, system: 'sigstore', digest: (await manifestOf(registry.url, 'keys/p256', 'v1')).digest });
  lines.length = 0;
  t.equal(await runSigstoreCheck(`${HOST}/keys/p256:v1`, { key: [keys.other.pub], registry: registry.url, json: true }, io), 1, 'another key: not signed');
  t.match(JSON.parse(lines.join('\n')), { signed: false, error: { code: 'SIGSTORE_KEY_MISMATCH' } });
  t.equal(await runSigstoreCheck(`${HOST}/keys/p256:v1`, { identity: ['no-subject'], registry: registry.url }, io), 2, 'a malformed --identity');
  t.equal(await runSigstoreCheck(`${HOST}/keys/p256:v1`, { key: [keys.p256.pub], registry: 'http://127.0.0.1:1' }, io), 2, 'an unreachable registry');
});
