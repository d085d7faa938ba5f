// A bundle published by the Sigstore projects themselves (sigstore-conformance test data, see
// test/fixtures/sigstore/*/SOURCE.md): a key-signed DSSE bundle with a Rekor intoto entry, an inclusion
// proof and a checkpoint, and the trusted root that names its log. trustgate's verifier accepts its
// signature and its log entry and then refuses it for what it is — an attestation, not an image
// signature; every tampering is caught at the step it breaks.

import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { SigstoreError } from '../../src/errors.js';
import { fromBundle } from '../../src/sigstore/formats.js';
import { parsePublicKey } from '../../src/sigstore/keys.js';
import { parseTrustedRoot } from '../../src/sigstore/trusted-root.js';
import { verifyCandidate, type Authorities } from '../../src/sigstore/verify.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'sigstore', 'conformance-intoto-canonical-log-entry');
const bundleText = readFileSync(join(DIR, 'bundle.sigstore.json'), 'utf8');
const key = parsePublicKey(readFileSync(join(DIR, 'key.pub'), 'utf8'), 'key.pub');
const trust = parseTrustedRoot(readFileSync(join(DIR, 'trusted_root.json'), 'utf8'), 'trusted_root.json');
const expected = { digest: `sha256:${'a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf'}`, pulled: 'example.com/a', signedIdentity: { kind: 'matchRepository' } as const };

function code(doc: unknown, auth: Authorities): string {
  try {
    verifyCandidate(fromBundle(Buffer.from(JSON.stringify(doc)), 'fixture'), auth, expected);
    return 'accepted';
  } catch (err) {
    if (err instanceof SigstoreError) return err.code;
    throw err;
  }
}

const original = () => JSON.parse(bundleText) as { dsseEnvelope: { signatures: { sig: string }[] }; verificationMaterial: { tlogEntries: { inclusionProof: { checkpoint: { envelope: string } } }[] } };
const required: Authorities = { keys: [key], identities: [], trust, tlog: 'required' };

t.test('its signature and log entry verify; it is refused as an attestation', async (t) => {
  t.equal(code(original(), required), 'SIGSTORE_SIGNATURE_MALFORMED', 'predicate https://example.com/test is not cosign sign');
});

t.test('another key: SIGSTORE_KEY_MISMATCH', async (t) => {
  const other = parsePublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string, 'other');
  t.equal(code(original(), { ...required, keys: [other] }), 'SIGSTORE_KEY_MISMATCH');
});

t.test('a flipped signature byte: SIGSTORE_KEY_MISMATCH', async (t) => {
  const doc = original();
  const sig = Buffer.from(doc.dsseEnvelope.signatures[0]?.sig ?? '', 'base64');
  sig.writeUInt8(sig.readUInt8(sig.length - 2) ^ 1, sig.length - 2);
  (doc.dsseEnvelope.signatures[0] as { sig: string }).sig = sig.toString('base64');
  t.equal(code(doc, required), 'SIGSTORE_KEY_MISMATCH');
});

t.test('a tampered checkpoint (the signed tree head the inclusion proof ends in): SIGSTORE_TLOG_INVALID', async (t) => {
  const doc = original();
  const proof = doc.verificationMaterial.tlogEntries[0]?.inclusionProof as { checkpoint: { envelope: string } };
  const fake = Buffer.alloc(32, 7).toString('base64');
  proof.checkpoint.envelope = proof.checkpoint.envelope.replace(/^(.*\n.*\n)[^\n]+/, `$1${fake}`);
  t.equal(code(doc, required), 'SIGSTORE_TLOG_INVALID');
});

t.test('a tampered log entry body: SIGSTORE_TLOG_INVALID', async (t) => {
  const doc = original() as unknown as { verificationMaterial: { tlogEntries: { canonicalizedBody: string }[] } };
  const entry = doc.verificationMaterial.tlogEntries[0] as { canonicalizedBody: string };
  const body = JSON.parse(Buffer.from(entry.canonicalizedBody, 'base64').toString()) as { spec: { content: { payloadHash: { value: string } } } };
  body.spec.content.payloadHash.value = '0'.repeat(64);
  entry.canonicalizedBody = Buffer.from(JSON.stringify(body)).toString('base64');
  t.equal(code(doc, required), 'SIGSTORE_TLOG_INVALID');
});

t.test('a trusted root without its log: SIGSTORE_TLOG_INVALID', async (t) => {
  t.equal(code(original(), { ...required, trust: { ...trust, tlogs: [] } }), 'SIGSTORE_TLOG_INVALID');
});
