// The pure parts of Sigstore verification: repository names and identities, payload claims, key types,
// malformed signature material, and discovery's bounds (a registry simulator that serves whatever the
// test puts in it: more layers than allowed, oversized payloads, blobs that do not hash to their digest).

import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import t from 'tap';
import { ConfigError, SigstoreError } from '../../src/errors.js';
import { LIMITS, SignatureDiscovery, type ArtifactFetcher } from '../../src/sigstore/discovery.js';
import { fromBundle, fromCosignLayer } from '../../src/sigstore/formats.js';
import { parsePublicKey, verifyRaw } from '../../src/sigstore/keys.js';
import { checkClaims, parseInTotoStatement, parseSimpleSigning } from '../../src/sigstore/payload.js';
import { identityMatches, normalizeRepository } from '../../src/sigstore/reference.js';
import { verifyAny } from '../../src/sigstore/verify.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const match = { kind: 'matchRepository' } as const;
const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof SigstoreError || err instanceof ConfigError) return err.code;
    throw err;
  }
};

t.test('repository names normalise as containers/image does', async (t) => {
  t.equal(normalizeRepository('alpine'), 'docker.io/library/alpine');
  t.equal(normalizeRepository('index.docker.io/library/alpine'), 'docker.io/library/alpine');
  t.equal(normalizeRepository('acme/app'), 'docker.io/acme/app');
  t.equal(normalizeRepository('127.0.0.1:5000/acme/app'), '127.0.0.1:5000/acme/app');
  t.equal(normalizeRepository('localhost/app'), 'localhost/app');
  t.equal(normalizeRepository('ghcr.io/Acme/app'), undefined, 'upper case is not a repository');
  t.ok(identityMatches('index.docker.io/library/alpine:3.20', 'docker.io/library/alpine', match));
  t.ok(identityMatches('ghcr.io/acme/app@sha256:' + 'a'.repeat(64), 'ghcr.io/acme/app', match));
  t.notOk(identityMatches('ghcr.io/acme/app-evil:1', 'ghcr.io/acme/app', match));
  t.notOk(identityMatches('ghcr.io/acme/app/sub:1', 'ghcr.io/acme/app', match));
  const remap = { kind: 'remap', prefix: 'ghcr.io/acme', signedPrefix: 'registry.internal/acme' } as const;
  t.ok(identityMatches('registry.internal/acme/app:1', 'ghcr.io/acme/app', remap));
  t.notOk(identityMatches('registry.internal/acme/app:1', 'ghcr.io/acmeco/app', remap), 'the prefix ends at a path boundary');
  t.notOk(identityMatches('ghcr.io/acme/app:1', 'ghcr.io/acme/app', remap), 'remapped: the original name no longer matches');
});

const payload = (o: object) => Buffer.from(JSON.stringify(o));
const simple = (digest = DIGEST, ref = 'ghcr.io/acme/app:1', extra: object = {}) =>
  payload({ critical: { identity: { 'docker-reference': ref }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature', ...extra }, optional: { timestamp: 1700000000 } });

t.test('simple-signing payloads: exact fields, the served digest, the pulled repository', async (t) => {
  const claims = parseSimpleSigning(simple());
  t.equal(claims.claimedTime, 1700000000_000);
  t.equal(code(() => checkClaims(claims, DIGEST, 'ghcr.io/acme/app', match)), 'ok');
  t.equal(code(() => checkClaims(claims, `sha256:${'cd'.repeat(32)}`, 'ghcr.io/acme/app', match)), 'SIGSTORE_PAYLOAD_MISMATCH');
  t.equal(code(() => checkClaims(claims, DIGEST, 'ghcr.io/acme/other', match)), 'SIGSTORE_REPOSITORY_MISMATCH');
  t.equal(code(() => parseSimpleSigning(simple(DIGEST, 'x', { extra: 1 }))), 'SIGSTORE_SIGNATURE_MALFORMED', 'an unknown critical field');
  t.equal(code(() => parseSimpleSigning(payload({ critical: { identity: {}, image: {}, type: 'other' } }))), 'SIGSTORE_SIGNATURE_MALFORMED');
  t.equal(code(() => parseSimpleSigning(Buffer.from('not json'))), 'SIGSTORE_SIGNATURE_MALFORMED');
});

t.test('in-toto statements: cosign sign predicate only; an unnamed subject binds the digest only', async (t) => {
  const st = (subject: object[], predicateType = 'https://sigstore.dev/cosign/sign/v1') => payload({ _type: 'https://in-toto.io/Statement/v1', subject, predicateType, predicate: {} });
  const hex = DIGEST.slice(7);
  t.equal(code(() => checkClaims(parseInTotoStatement(st([{ digest: { sha256: hex } }])), DIGEST, 'ghcr.io/acme/app', match)), 'ok');
  t.equal(code(() => checkClaims(parseInTotoStatement(st([{ name: 'ghcr.io/acme/app', digest: { sha256: hex } }])), DIGEST, 'ghcr.io/acme/app', match)), 'ok');
  t.equal(code(() => checkClaims(parseInTotoStatement(st([{ name: 'ghcr.io/other/x', digest: { sha256: hex } }])), DIGEST, 'ghcr.io/acme/app', match)), 'SIGSTORE_REPOSITORY_MISMATCH');
  t.equal(code(() => parseInTotoStatement(st([{ digest: { sha256: hex } }], 'https://slsa.dev/provenance/v1'))), 'SIGSTORE_SIGNATURE_MALFORMED', 'an attestation is not a signature');
  t.equal(code(() => parseInTotoStatement(st([]))), 'SIGSTORE_SIGNATURE_MALFORMED');
});

t.test('keys: four accepted types, each with its one signature check', async (t) => {
  const pem = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ type: 'spki', format: 'pem' }) as string;
  const msg = Buffer.from('payload');
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const ed = generateKeyPairSync('ed25519');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  t.ok(verifyRaw(parsePublicKey(pem(p256.publicKey), 'p256'), msg, sign('sha256', msg, p256.privateKey)));
  t.ok(verifyRaw(parsePublicKey(pem(p384.publicKey), 'p384'), msg, sign('sha384', msg, p384.privateKey)), 'P-384 as cosign signs');
  t.ok(verifyRaw(parsePublicKey(pem(p384.publicKey), 'p384'), msg, sign('sha256', msg, p384.privateKey)), 'P-384 as containers/image signs');
  t.notOk(verifyRaw(parsePublicKey(pem(p256.publicKey), 'p256'), msg, sign('sha512', msg, p256.privateKey)), 'P-256 over SHA-512 is not accepted');
  t.ok(verifyRaw(parsePublicKey(pem(ed.publicKey), 'ed'), msg, sign(null, msg, ed.privateKey)));
  t.ok(verifyRaw(parsePublicKey(pem(rsa.publicKey), 'rsa'), msg, sign('sha256', msg, rsa.privateKey)));
  t.notOk(verifyRaw(parsePublicKey(pem(rsa.publicKey), 'rsa'), msg, Buffer.from('garbage')), 'garbage is not a signature');
  t.equal(code(() => parsePublicKey(pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey), 'weak')), 'CONFIG_INVALID', 'RSA-1024');
  t.equal(code(() => parsePublicKey(pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey), 'k1')), 'CONFIG_INVALID', 'secp256k1');
});

t.test('malformed signature material is SIGSTORE_SIGNATURE_MALFORMED, never a crash', async (t) => {
  const p = simple();
  t.equal(code(() => fromCosignLayer({}, p, 'l')), 'SIGSTORE_SIGNATURE_MALFORMED', 'no signature annotation');
  t.equal(code(() => fromCosignLayer({ 'dev.cosignproject.cosign/signature': 'not base64!' }, p, 'l')), 'SIGSTORE_SIGNATURE_MALFORMED');
  t.equal(code(() => fromCosignLayer({ 'dev.cosignproject.cosign/signature': 'AAAA', 'dev.sigstore.cosign/certificate': 'junk' }, p, 'l')), 'SIGSTORE_SIGNATURE_MALFORMED');
  t.equal(code(() => fromCosignLayer({ 'dev.cosignproject.cosign/signature': 'AAAA', 'dev.sigstore.cosign/bundle': '{"Payload":{}}' }, p, 'l')), 'SIGSTORE_SIGNATURE_MALFORMED');
  t.equal(code(() => fromCosignLayer({ 'dev.cosignproject.cosign/signature': 'AAAA', 'dev.sigstore.cosign/rfc3161timestamp': '{"SignedRFC3161Timestamp":"AAAA"}' }, p, 'l')), 'SIGSTORE_SIGNATURE_MALFORMED');
  t.equal(code(() => fromBundle(Buffer.from('{'), 'b')), 'SIGSTORE_SIGNATURE_MALFORMED');
  t.equal(code(() => fromBundle(payload({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' }), 'b')), 'SIGSTORE_SIGNATURE_MALFORMED');
});

t.test('no candidates at all: SIGSTORE_NO_SIGNATURE; the farthest-reaching failure is reported', async (t) => {
  const expected = { digest: DIGEST, pulled: 'ghcr.io/acme/app', signedIdentity: match };
  const auth = { keys: [], identities: [] };
  t.equal(code(() => verifyAny([], [], auth, expected)), 'SIGSTORE_NO_SIGNATURE');
  const malformed = new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', 'x');
  t.equal(code(() => verifyAny([], [malformed], auth, expected)), 'SIGSTORE_SIGNATURE_MALFORMED');
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = parsePublicKey(k.publicKey.export({ type: 'spki', format: 'pem' }) as string, 'k');
  const other = simple(`sha256:${'cd'.repeat(32)}`);
  const signed = fromCosignLayer({ 'dev.cosignproject.cosign/signature': sign('sha256', other, k.privateKey).toString('base64') }, other, 'l1');
  const forged = fromCosignLayer({ 'dev.cosignproject.cosign/signature': 'AAAA' }, simple(), 'l2');
  let err: unknown;
  try {
    verifyAny([forged, signed], [malformed], { keys: [key], identities: [] }, expected);
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof SigstoreError);
  t.equal((err as SigstoreError).code, 'SIGSTORE_PAYLOAD_MISMATCH', 'a valid signature for another digest says more than a forged one');
  t.same((err as SigstoreError).failures.map((f) => f.code).sort(), ['SIGSTORE_KEY_MISMATCH', 'SIGSTORE_PAYLOAD_MISMATCH', 'SIGSTORE_SIGNATURE_MALFORMED']);
});

/** A registry holding exactly what the test puts in it. */
function simulator() {
  const manifests = new Map<string, Buffer>();
  const blobs = new Map<string, Buffer>();
  const reads: string[] = [];
  const fetcher: ArtifactFetcher = {
    async manifest(_repo, ref, max) {
      reads.push(`manifest ${ref}`);
      const m = manifests.get(ref);
      if (m && m.length > max) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', 'too large');
      return m;
    },
    async blob(_repo, digest, max) {
      reads.push(`blob ${digest}`);
      const b = blobs.get(digest) ?? Buffer.alloc(0);
      if (b.length > max) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', 'too large');
      return b;
    },
    async referrers() {
      return undefined;
    },
  };
  const blob = (b: Buffer) => {
    blobs.set(sha(b), b);
    return { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha(b), size: b.length, annotations: { 'dev.cosignproject.cosign/signature': 'AAAA' } };
  };
  return { manifests, blobs, reads, fetcher, blob };
}

t.test('discovery is bounded: layers, payload sizes, and blobs that do not hash to their digest', async (t) => {
  const s = simulator();
  const layers = Array.from({ length: LIMITS.signatureLayers + 10 }, (_, i) => s.blob(simple(DIGEST, `ghcr.io/acme/app:${i}`)));
  s.manifests.set(`${DIGEST.replace(':', '-')}.sig`, payload({ schemaVersion: 2, layers }));
  const d = new SignatureDiscovery(s.fetcher);
  const found = await d.cosignTag('acme/app', DIGEST);
  t.equal(found.candidates.length, LIMITS.signatureLayers, 'only the first layers are read');
  t.equal(s.reads.filter((r) => r.startsWith('blob')).length, LIMITS.signatureLayers);

  const big = simulator();
  const huge = Buffer.alloc(LIMITS.payloadBytes + 1, 0x20);
  const lying = big.blob(simple());
  big.blobs.set(lying.digest, Buffer.from('other bytes'));
  big.manifests.set(`${DIGEST.replace(':', '-')}.sig`, payload({ layers: [big.blob(huge), lying] }));
  const r = await new SignatureDiscovery(big.fetcher).cosignTag('acme/app', DIGEST);
  t.equal(r.candidates.length, 0);
  t.same(r.malformed.map((e) => e.code), ['SIGSTORE_SIGNATURE_MALFORMED', 'SIGSTORE_SIGNATURE_MALFORMED']);
  t.notOk(big.reads.includes(`blob ${sha(huge)}`), 'an oversized payload is not even fetched');

  const none = simulator();
  t.same(await new SignatureDiscovery(none.fetcher).cosignTag('acme/app', DIGEST), { candidates: [], malformed: [] }, 'no .sig tag: no signature');
  none.manifests.set(`${DIGEST.replace(':', '-')}.sig`, Buffer.from('garbage'));
  t.same((await new SignatureDiscovery(none.fetcher).cosignTag('acme/app', DIGEST)).malformed.map((e) => e.code), ['SIGSTORE_SIGNATURE_MALFORMED']);
});

t.test('bundle referrers are bounded in number', async (t) => {
  const s = simulator();
  const manifests = Array.from({ length: LIMITS.referrers + 5 }, (_, i) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${i.toString(16).padStart(64, '0')}`,
    size: 10,
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  }));
  s.manifests.set(DIGEST.replace(':', '-'), payload({ schemaVersion: 2, manifests }));
  const found = await new SignatureDiscovery(s.fetcher).bundles('acme/app', DIGEST);
  t.equal(found.malformed.length, LIMITS.referrers, 'listed but absent: each reported, only the first ones read');
});
