// A trust-pinning refusal is a failure of root.json: the TrustPinningError carries role `root`
// (RepositoryError.role, the metadata that failed), as the root validation it is part of reports.

import t from 'tap';
import { TrustPinningError } from '../../src/errors.js';
import { parseCertificate } from '../../src/trust/certs.js';
import { pinCheckerFor, type TrustPinning } from '../../src/trust/pinning.js';
import { throwsWith } from '../helpers/trust.js';
import { ecKeyPair, makeCertificate } from '../helpers/x509.js';

const GUN = 'docker.io/library/sim';
const NOW = new Date();
const YEAR = 365 * 86_400_000;

const expiredCa = (() => {
  const pair = ecKeyPair();
  const notAfter = new Date(NOW.getTime() - YEAR);
  const notBefore = new Date(notAfter.getTime() - YEAR);
  return parseCertificate(makeCertificate({ subjectCN: 'expired CA', publicKey: pair.publicKey, issuerKey: pair.privateKey, isCA: true, notBefore, notAfter }));
})();

t.test('no usable pinned CA: refused for the root role', async (t) => {
  const pinning: TrustPinning = { keys: new Map(), ca: new Map([['docker.io/', [expiredCa]]]), disableTOFU: false };
  const err = throwsWith(t, () => pinCheckerFor(pinning, GUN, false, NOW), TrustPinningError, 'PINNING_FAILED');
  t.equal(err.role, 'root');
});

t.test('trust on first use disabled with nothing pinned: refused for the root role', async (t) => {
  const pinning: TrustPinning = { keys: new Map(), ca: new Map(), disableTOFU: true };
  const err = throwsWith(t, () => pinCheckerFor(pinning, GUN, true, NOW), TrustPinningError, 'PINNING_FAILED');
  t.equal(err.role, 'root');
});
