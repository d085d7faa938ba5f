// Which pinning applies to a GUN, and what each accepts (notary trustpinning/trustpin.go): pinned key
// IDs for the exact GUN, else the longest `prefix*` wildcard; else the CAs of the longest GUN prefix;
// else trust on first use, which a disabled TOFU refuses only on the first bootstrap.

import t from 'tap';
import { TrustPinningError } from '../../src/errors.js';
import { parseCertificate, type CertInfo } from '../../src/trust/certs.js';
import { canonicalKeyId } from '../../src/trust/keys.js';
import { pinCheckerFor, type TrustPinning } from '../../src/trust/pinning.js';
import { makePublicKey } from '../../src/trust/public-key.js';
import { SimKey } from '../helpers/simulator.js';
import { throwsWith } from '../helpers/trust.js';
import { ecKeyPair, makeCertificate } from '../helpers/x509.js';

const GUN = 'docker.io/library/sim';
const NOW = new Date();
const YEAR = 365 * 86_400_000;

const rootKey = SimKey.generate('ecdsa-x509', { cn: GUN });
const key = makePublicKey(rootKey.keyType, rootKey.publicBytes);
const otherKey = (() => {
  const k = SimKey.generate('ecdsa-x509', { cn: GUN });
  return makePublicKey(k.keyType, k.publicBytes);
})();
const canonical = canonicalKeyId(key) as string;

function ca(cn: string, notAfter = new Date(NOW.getTime() + YEAR)) {
  const pair = ecKeyPair();
  const notBefore = new Date(notAfter.getTime() - 2 * YEAR);
  const cert = parseCertificate(makeCertificate({ subjectCN: cn, publicKey: pair.publicKey, issuerKey: pair.privateKey, isCA: true, notBefore, notAfter }));
  const leaf = parseCertificate(makeCertificate({ subjectCN: GUN, publicKey: ecKeyPair().publicKey, issuerKey: pair.privateKey, issuerCN: cn }));
  return { cert, leaf };
}
const caA = ca('CA A');
const caB = ca('CA B');
const expiredCa = ca('expired CA', new Date(NOW.getTime() - YEAR));
const selfSigned = (() => {
  const pair = ecKeyPair();
  return parseCertificate(makeCertificate({ subjectCN: GUN, publicKey: pair.publicKey, issuerKey: pair.privateKey }));
})();

const pinning = (keys: [string, string[]][] = [], caEntries: [string, CertInfo[]][] = [], disableTOFU = false): TrustPinning => ({
  keys: new Map(keys),
  ca: new Map(caEntries),
  disableTOFU,
});
const checker = (p: TrustPinning, gun = GUN, firstBootstrap = true) => pinCheckerFor(p, gun, firstBootstrap, NOW);
const acceptsKey = (p: TrustPinning, k = key, gun = GUN) => checker(p, gun).accepts(k, selfSigned, []);

t.test('pinned key IDs: the ID root.json lists or the canonical ID, nothing else', async (t) => {
  t.not(canonical, key.id);
  for (const id of [key.id, canonical]) {
    const c = checker(pinning([[GUN, [id]]]));
    t.equal(c.mode, 'keys');
    t.ok(c.accepts(key, selfSigned, []), id === key.id ? 'listed ID' : 'canonical ID');
    t.notOk(c.accepts(otherKey, selfSigned, []), 'another key');
  }
  t.notOk(acceptsKey(pinning([[GUN, []]])), 'an empty pin accepts nothing');
  t.notOk(acceptsKey(pinning([[GUN, [canonicalKeyId(otherKey) as string, otherKey.id]]])));
});

t.test('the exact GUN before any wildcard; the longest matching wildcard otherwise', async (t) => {
  t.notOk(acceptsKey(pinning([[GUN, [otherKey.id]], ['docker.io/*', [key.id]]])), 'exact wins');
  t.notOk(acceptsKey(pinning([['docker.io/*', [key.id]], [GUN, [otherKey.id]]])), 'exact wins, whatever the order');
  const longer: [string, string[]] = ['docker.io/library/*', [key.id]];
  const shorter: [string, string[]] = ['docker.io/*', [otherKey.id]];
  t.ok(acceptsKey(pinning([longer, shorter])), 'longest wildcard wins');
  t.ok(acceptsKey(pinning([shorter, longer])), 'longest wildcard wins, whatever the order');
  t.ok(acceptsKey(pinning([[`${GUN}*`, [key.id]]])), 'a wildcard covers the GUN it spells');
  t.equal(checker(pinning([['*', [key.id]]])).mode, 'keys', 'a bare * covers every GUN');
});

t.test('pins for other GUNs do not apply', async (t) => {
  const unrelated: [string, string[]][] = [
    [`${GUN}2`, [key.id]],
    ['docker.io/library', [key.id]],
    ['docker.io/other/*', [key.id]],
    ['quay.io/*', [key.id]],
    [`${GUN}2*`, [key.id]],
    ['docker.io/library/', [key.id]],
  ];
  for (const entry of unrelated) t.equal(checker(pinning([entry])).mode, 'tofu', entry[0]);
});

t.test('pinned CAs: the longest GUN prefix, the root certificate issued by one of its CAs', async (t) => {
  const c = checker(pinning([], [['docker.io/', [caA.cert]]]));
  t.equal(c.mode, 'ca');
  t.ok(c.accepts(key, caA.leaf, []), 'issued by the pinned CA');
  t.notOk(c.accepts(key, caB.leaf, []), 'issued by another CA');
  t.notOk(c.accepts(key, selfSigned, []), 'self-signed');
  const longer: [string, CertInfo[]] = ['docker.io/library/', [caB.cert]];
  const shorter: [string, CertInfo[]] = ['docker.io/', [caA.cert]];
  for (const order of [[longer, shorter], [shorter, longer]]) {
    const chosen = checker(pinning([], order));
    t.ok(chosen.accepts(key, caB.leaf, []), 'the longest prefix');
    t.notOk(chosen.accepts(key, caA.leaf, []), 'not the shorter one');
  }
  t.equal(checker(pinning([], [['quay.io/', [caA.cert]]])).mode, 'tofu', 'another prefix');
  t.equal(checker(pinning([[GUN, [key.id]]], [['docker.io/', [caA.cert]]])).mode, 'keys', 'pinned keys before CAs');
});

t.test('expired pinned CAs are ignored; none usable refuses', async (t) => {
  const mixed = checker(pinning([], [['docker.io/', [expiredCa.cert, caA.cert]]]));
  t.equal(mixed.mode, 'ca');
  t.ok(mixed.accepts(key, caA.leaf, []));
  for (const cas of [[expiredCa.cert], []]) {
    throwsWith(t, () => checker(pinning([], [['docker.io/', cas]])), TrustPinningError, 'PINNING_FAILED');
  }
});

t.test('trust on first use: refused when disabled, and only on the first bootstrap', async (t) => {
  throwsWith(t, () => checker(pinning([], [], true), GUN, true), TrustPinningError, 'PINNING_FAILED');
  for (const [disable, first] of [
    [true, false],
    [false, true],
    [false, false],
  ] as const) {
    const c = checker(pinning([], [], disable), GUN, first);
    t.equal(c.mode, 'tofu', `disableTOFU ${disable}, first bootstrap ${first}`);
    t.ok(c.accepts(otherKey, selfSigned, []));
  }
  t.equal(checker(pinning([[GUN, [key.id]]], [], true)).mode, 'keys', 'pins apply with TOFU disabled');
});
