// Which root keys count, as notary trustpinning/certs.go decides it: root keys that are not usable
// certificate bundles are passed over, an invalid certificate among valid ones is skipped (not fatal),
// and a root key is rebuilt from its leaf plus only the intermediates that are themselves valid — so
// a signature names the ID of that rebuilt key (CertsToKeys over validRootIntCerts).

import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { RootRotationError, TrustPinningError, UnsignedMetadataError } from '../../src/errors.js';
import { keyIdOf, parseCertificate, type JsonObject, type TrustPinning } from '../../src/trust/index.js';
import { RepoSimulator, SimKey } from '../helpers/simulator.js';
import { rejectsWith, updaterFor } from '../helpers/trust.js';
import { ecKeyPair, makeCertificate, pem } from '../helpers/x509.js';

const GUN = 'docker.io/library/sim';
const DAY = 86_400_000;
const CODE_SIGNING = ['1.3.6.1.5.5.7.3.3'];

function repo(rootKeys: SimKey[]): RepoSimulator {
  const sim = new RepoSimulator(GUN, rootKeys[0]);
  sim.keys.root = rootKeys;
  sim.publishRoot();
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  return sim;
}

/** List `publicBytes` as one more root key of the next root (it signs nothing). */
function listRootKey(sim: RepoSimulator, keyType: string, publicBytes: Buffer): void {
  const id = keyIdOf(keyType, publicBytes);
  sim.beforeSign.set('root', (s) => {
    const role = (s.roles as JsonObject).root as JsonObject;
    (s.keys as JsonObject)[id] = { keytype: keyType, keyval: { private: null, public: publicBytes.toString('base64') } };
    role.keyids = [...(role.keyids as string[]), id];
  });
}

t.test('a root key that is not a certificate is passed over; the certificate key signs', async (t) => {
  const sim = repo([SimKey.generate('ecdsa-x509', { cn: GUN })]);
  listRootKey(sim, 'ecdsa', ecKeyPair().publicKey.export({ format: 'der', type: 'spki' }));
  sim.publishRoot();
  sim.publish();
  const r = await updaterFor(sim).refresh(GUN);
  t.equal(r.set.root.root.roles.get('root')?.keyIds.length, 2, 'both keys are listed');
  t.same(r.set.root.signers, [(sim.keys.root[0] as SimKey).id]);
});

t.test('a root certificate with a key type notary cannot use (Ed25519) is passed over, also when rotating', async (t) => {
  const ca = ecKeyPair();
  const ed = generateKeyPairSync('ed25519');
  const edCert = makeCertificate({ subjectCN: GUN, publicKey: ed.publicKey, issuerKey: ca.privateKey, issuerCN: 'CA', eku: CODE_SIGNING });
  const sim = repo([SimKey.generate('ecdsa-x509', { cn: GUN })]);
  listRootKey(sim, 'ecdsa-x509', Buffer.from(pem(edCert), 'latin1'));
  sim.publishRoot(); // v2, listing the Ed25519 certificate
  sim.publish();
  const store = new MemoryTrustStore();
  const first = (await updaterFor(sim, { store }).refresh(GUN)).set.root.root;
  t.equal(first.roles.get('root')?.keyIds.length, 2, 'first contact: the Ed25519 certificate is listed');
  sim.publishRoot(); // the trusted root (with its Ed25519 certificate) must sign the next one
  sim.publish();
  t.equal((await updaterFor(sim, { store }).refresh(GUN)).set.root.root.version, first.version + 1, 'rotation');
});

t.test('an expired root certificate beside a valid one is skipped, not fatal', async (t) => {
  const now = Date.now();
  const expired = SimKey.generate('ecdsa-x509', { cn: GUN, notBefore: new Date(now - 20 * DAY), notAfter: new Date(now - DAY) });
  const valid = SimKey.generate('ecdsa-x509', { cn: GUN });
  for (const order of [[expired, valid], [valid, expired]]) {
    const sim = repo(order);
    const r = await updaterFor(sim).refresh(GUN);
    t.same(r.set.root.signers, [valid.id], 'only the valid certificate counts');
  }
});

// ---- intermediates ------------------------------------------------------------------------------

interface Chain {
  key: SimKey;
  caDer: Buffer;
}

/** A root key whose PEM bundle is leaf + intermediate CA, the intermediate issued by a root CA. */
function chainedRootKey(intermediateValidity: { notBefore?: Date; notAfter?: Date } = {}): Chain {
  const ca = ecKeyPair();
  const intermediate = ecKeyPair();
  const leaf = ecKeyPair();
  const caDer = makeCertificate({ subjectCN: 'Root CA', publicKey: ca.publicKey, issuerKey: ca.privateKey, isCA: true });
  const intDer = makeCertificate({ subjectCN: 'Intermediate CA', issuerCN: 'Root CA', publicKey: intermediate.publicKey, issuerKey: ca.privateKey, isCA: true, ...intermediateValidity });
  const leafDer = makeCertificate({ subjectCN: GUN, issuerCN: 'Intermediate CA', publicKey: leaf.publicKey, issuerKey: intermediate.privateKey, eku: CODE_SIGNING });
  const bundle = Buffer.from(pem(leafDer) + pem(intDer), 'latin1');
  return { key: new SimKey('ecdsa-x509', leaf.privateKey as KeyObject, leaf.publicKey as KeyObject, bundle), caDer };
}

const pinCa = (caDer: Buffer): TrustPinning => ({ keys: new Map(), ca: new Map([['docker.io/', [parseCertificate(caDer)]]]), disableTOFU: true });

t.test('a root key with a valid intermediate: the key as listed (leaf + intermediate) signs', async (t) => {
  const { key, caDer } = chainedRootKey();
  const sim = repo([key]);
  t.same((await updaterFor(sim).refresh(GUN)).set.root.signers, [key.id], 'trust on first use');
  t.same((await updaterFor(sim, { pinning: pinCa(caDer) }).refresh(GUN)).set.root.signers, [key.id], 'pinned to the root CA, through the intermediate');
});

t.test('a root key with an expired intermediate: rebuilt without it, a signature naming the listed ID does not count', async (t) => {
  const now = Date.now();
  const { key, caDer } = chainedRootKey({ notBefore: new Date(now - 20 * DAY), notAfter: new Date(now - DAY) });
  const sim = repo([key]);
  const err = await rejectsWith(t, updaterFor(sim).refresh(GUN), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, 'root');
  await rejectsWith(t, updaterFor(sim, { pinning: pinCa(caDer) }).refresh(GUN), TrustPinningError, 'PINNING_FAILED');
});

// ---- a refused rotation says why --------------------------------------------------------------

t.test('a rotation not signed by the trusted keys is refused with the signature failure as its cause', async (t) => {
  const sim = repo([SimKey.generate('ecdsa-x509', { cn: GUN })]);
  const store = new MemoryTrustStore();
  await updaterFor(sim, { store }).refresh(GUN);
  sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: GUN })];
  sim.publishRoot();
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim, { store }).refresh(GUN), RootRotationError, 'ROOT_ROTATION_FAILED');
  t.ok(err.cause instanceof UnsignedMetadataError, 'caused by the threshold failure');
});
