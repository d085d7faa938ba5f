// A `prefix*` key pin (notary trustpinning/trustpin.go wildcardMatch) is a pin, not trust on first
// use: the GUN must start with the prefix (not merely end with it), and the star must close the entry.
// Each case pins a key other than the root's, so a wildcard taken for TOFU would accept the root.

import t from 'tap';
import { parseCertificate } from '../../src/trust/certs.js';
import { pinCheckerFor, type TrustPinning } from '../../src/trust/pinning.js';
import { makePublicKey } from '../../src/trust/public-key.js';
import { SimKey } from '../helpers/simulator.js';
import { ecKeyPair, makeCertificate } from '../helpers/x509.js';

const GUN = 'docker.io/library/sim';
const NOW = new Date();

const publicKeyOf = (k: SimKey) => makePublicKey(k.keyType, k.publicBytes);
const rootKey = publicKeyOf(SimKey.generate('ecdsa-x509', { cn: GUN }));
const pinnedKey = publicKeyOf(SimKey.generate('ecdsa-x509', { cn: GUN }));
const leaf = (() => {
  const pair = ecKeyPair();
  return parseCertificate(makeCertificate({ subjectCN: GUN, publicKey: pair.publicKey, issuerKey: pair.privateKey }));
})();

const keysPinning = (entry: string): TrustPinning => ({ keys: new Map([[entry, [pinnedKey.id]]]), ca: new Map(), disableTOFU: false });
const checkerFor = (entry: string) => pinCheckerFor(keysPinning(entry), GUN, true, NOW);

t.test('a wildcard whose prefix starts the GUN pins its keys and refuses others', async (t) => {
  for (const entry of ['docker.io/*', 'docker.io/library/*', 'docker.io/library/s*', '*']) {
    const c = checkerFor(entry);
    t.equal(c.mode, 'keys', entry);
    t.ok(c.accepts(pinnedKey, leaf, []), `${entry}: the pinned key`);
    t.notOk(c.accepts(rootKey, leaf, []), `${entry}: another key`);
  }
});

t.test('an entry that only ends the GUN, or has its star first, is no wildcard for it', async (t) => {
  for (const entry of ['library/sim*', 'sim*', '*docker.io/library/sim', '*sim']) {
    const c = checkerFor(entry);
    t.equal(c.mode, 'tofu', entry);
    t.ok(c.accepts(rootKey, leaf, []), `${entry}: trust on first use`);
  }
});
