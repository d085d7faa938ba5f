// What src/trust/root.ts records about a root and how it refuses one, pinned on its functions: until
// when the certificates carry a root (its threshold-th latest leaf expiry), which certificate a refusal
// names (the one that expired last), the stored anchor of a rotation (certificates used without expiry,
// as notary ValidateRoot treats a previous root), and which roles a rotation re-keyed (rotatedRoles).

import t from 'tap';
import { CertificateError, DeserializationError, RootRotationError } from '../../src/errors.js';
import { MAX_SIGNATURES } from '../../src/trust/signatures.js';
import { trustedRootAnchor } from '../../src/trust/root.js';
import { NO_PINNING, rotatedRoles, validateRoot, type Root, type RoleSpec } from '../../src/trust/index.js';
import { RepoSimulator, SimKey, type SigJson } from '../helpers/simulator.js';
import { throwsWith } from '../helpers/trust.js';

const GUN = 'docker.io/library/sim';
const DAY = 86_400_000;
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (days: number) => new Date(NOW.getTime() + days * DAY);
const ctx = { gun: GUN, now: NOW, pinning: NO_PINNING };

const key = (notAfter: Date, cn = GUN) => SimKey.generate('ecdsa-x509', { cn, notBefore: at(-30), notAfter });

/** Root v2 of a repository whose root keys are `keys` at `threshold` (v1 was the simulator's own). */
function rootWith(keys: SimKey[], threshold = 1): { sim: RepoSimulator; bytes: Buffer } {
  const sim = new RepoSimulator(GUN, keys[0]);
  sim.keys.root = keys;
  sim.thresholds.root = threshold;
  return { sim, bytes: sim.publishRoot() };
}

t.test('certificatesExpire: when fewer than the threshold of its certificates remain in date', async (t) => {
  const [early, late, latest] = [key(at(10)), key(at(20)), key(at(30))];
  t.equal(validateRoot(rootWith([early, late, latest], 1).bytes, ctx, { firstBootstrap: true }).certificatesExpire?.getTime(), at(30).getTime(), 'threshold 1: the last');
  t.equal(validateRoot(rootWith([latest, early, late], 2).bytes, ctx, { firstBootstrap: true }).certificatesExpire?.getTime(), at(20).getTime(), 'threshold 2: the second last');
  t.equal(validateRoot(rootWith([late, latest, early], 3).bytes, ctx, { firstBootstrap: true }).certificatesExpire?.getTime(), at(10).getTime(), 'threshold 3: the first');
});

t.test('no valid root certificate: the refusal names the certificate that expired last', async (t) => {
  const [old, recent] = [key(at(-10)), key(at(-2))];
  for (const order of [[old, recent], [recent, old]]) {
    const err = throwsWith(t, () => validateRoot(rootWith(order).bytes, ctx, { firstBootstrap: true }), CertificateError, 'CERTIFICATE_INVALID') as CertificateError;
    t.same(err.certificate, { name: GUN, keyId: recent.id, expired: at(-2) });
  }
  const wrongName = key(at(30), 'docker.io/library/other');
  const cn = throwsWith(t, () => validateRoot(rootWith([wrongName]).bytes, ctx, { firstBootstrap: true }), CertificateError, 'CERTIFICATE_INVALID') as CertificateError;
  t.same(cn.certificate, { name: 'docker.io/library/other', keyId: wrongName.id }, 'a CN mismatch names the certificate, with no expiry');
  const both = throwsWith(t, () => validateRoot(rootWith([wrongName, old]).bytes, ctx, { firstBootstrap: true }), CertificateError, 'CERTIFICATE_INVALID') as CertificateError;
  t.same(both.certificate, { name: GUN, keyId: old.id, expired: at(-10) }, 'an expired certificate is named over a CN mismatch');
  const first = throwsWith(t, () => validateRoot(rootWith([wrongName, key(at(30), 'docker.io/x')]).bytes, ctx, { firstBootstrap: true }), CertificateError, 'CERTIFICATE_INVALID') as CertificateError;
  t.equal((first.certificate as { keyId?: string }).keyId, wrongName.id, 'of two mismatches, the first');
});

t.test('the named certificate: the first of two that expired at the same time; a weak one never', async (t) => {
  const [a, b] = [key(at(-3)), key(at(-3))];
  const tie = throwsWith(t, () => validateRoot(rootWith([a, b]).bytes, ctx, { firstBootstrap: true }), CertificateError, 'CERTIFICATE_INVALID') as CertificateError;
  t.equal((tie.certificate as { keyId?: string }).keyId, a.id);
  const weak = SimKey.generate('ecdsa-x509', { cn: GUN, notBefore: at(-30), notAfter: at(30), hash: 'sha1' });
  const expired = key(at(-3));
  const err = throwsWith(t, () => validateRoot(rootWith([expired, weak]).bytes, ctx, { firstBootstrap: true }), CertificateError, 'CERTIFICATE_INVALID') as CertificateError;
  t.same(err.certificate, { name: GUN, keyId: expired.id, expired: at(-3) });
});

t.test("a rotation must meet the trusted root's threshold, not just its own", async (t) => {
  const [k1, k2] = [key(at(40)), key(at(40))];
  const { sim, bytes } = rootWith([k1, k2], 2);
  const previous = validateRoot(bytes, ctx, { firstBootstrap: true });
  sim.keys.root = [k1];
  sim.thresholds.root = 1;
  throwsWith(t, () => validateRoot(sim.publishRoot(), ctx, { previous, firstBootstrap: false }), RootRotationError, 'ROOT_ROTATION_FAILED');
  sim.rootCosigners = [k2];
  t.equal(validateRoot(sim.publishRoot(), ctx, { previous, firstBootstrap: false }).root.version, 4, 'both old keys sign: accepted');
});

t.test('trustedRootAnchor: expired certificates still anchor a rotation, under no pinning', async (t) => {
  const [expired, valid] = [key(at(-5)), key(at(40))];
  const { bytes } = rootWith([expired, valid], 2);
  const anchor = trustedRootAnchor(bytes, ctx);
  t.equal(anchor.pinMode, 'tofu');
  t.same([...anchor.signers].sort(), [expired.id, valid.id].sort());
  t.equal(anchor.certificatesExpire?.getTime(), at(-5).getTime(), 'threshold 2: carried until the first expiry');
  t.equal(anchor.root.version, 2);
  t.ok(anchor.bytes.equals(bytes));
});

t.test("a rotation from a root whose certificate has expired since: the old key's signature still counts", async (t) => {
  const old = key(at(-1));
  const { sim, bytes: v2 } = rootWith([old]);
  const anchor = trustedRootAnchor(v2, ctx);
  const next = key(at(40));
  sim.keys.root = [next];
  sim.rootCosigners = [old];
  const v3 = validateRoot(sim.publishRoot(), ctx, { previous: anchor, firstBootstrap: false });
  t.equal(v3.root.version, 3);
  t.same(v3.signers, [next.id]);
});

t.test('a rotation with more signatures than a file may carry is malformed, not a failed rotation', async (t) => {
  const k1 = key(at(40));
  const { sim, bytes } = rootWith([k1]);
  const previous = validateRoot(bytes, ctx, { firstBootstrap: true });
  sim.signatureHooks.set('root', (sigs: SigJson[]) => Array.from({ length: MAX_SIGNATURES + 1 }, () => sigs[0] as SigJson));
  throwsWith(t, () => validateRoot(sim.publishRoot(), ctx, { previous, firstBootstrap: false }), DeserializationError, 'METADATA_MALFORMED');
  sim.signatureHooks.delete('root');
  sim.keys.root = [key(at(40))];
  throwsWith(t, () => validateRoot(sim.publishRoot(), ctx, { previous, firstBootstrap: false }), RootRotationError, 'ROOT_ROTATION_FAILED');
});

// ---- rotatedRoles -----------------------------------------------------------------------------

function root(roles: Record<string, RoleSpec>): Root {
  return { roles: new Map(Object.entries(roles)) } as unknown as Root;
}

t.test('rotatedRoles: roles whose key set or threshold changed; key order does not matter', async (t) => {
  const prev = root({ timestamp: { keyIds: ['a', 'b'], threshold: 1 }, snapshot: { keyIds: ['s'], threshold: 1 }, targets: { keyIds: ['ab', 'c'], threshold: 1 } });
  const same = root({ timestamp: { keyIds: ['b', 'a'], threshold: 1 }, snapshot: { keyIds: ['s'], threshold: 1 }, targets: { keyIds: ['ab', 'c'], threshold: 1 } });
  t.same(rotatedRoles(prev, same, ['timestamp', 'snapshot', 'targets']), [], 'the same keys in another order');
  const next = root({ timestamp: { keyIds: ['a', 'b'], threshold: 2 }, snapshot: { keyIds: ['t'], threshold: 1 }, targets: { keyIds: ['a', 'bc'], threshold: 1 } });
  t.same(rotatedRoles(prev, next, ['timestamp', 'snapshot', 'targets']), ['timestamp', 'snapshot', 'targets']);
  t.same(rotatedRoles(prev, next, ['snapshot']), ['snapshot'], 'only the roles asked about');
  const without = root({ snapshot: { keyIds: ['s'], threshold: 1 } });
  t.same(rotatedRoles(prev, without, ['timestamp', 'snapshot']), ['timestamp'], 'a role no longer specified');
  t.same(rotatedRoles(without, without, ['timestamp']), [], 'a role specified in neither');
});
