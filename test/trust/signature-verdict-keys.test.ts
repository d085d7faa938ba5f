// The remembered verdicts of verifyThreshold: what is remembered (never a list without signatures),
// what the key of a verdict depends on (each field framed by its byte length; the role's keys in
// sorted order, not in the order the metadata lists them), and clearVerdicts. A reused verdict costs
// no verification, so trustgate_signature_verifications shows what was remembered.

import { generateKeyPairSync, sign } from 'node:crypto';
import t from 'tap';
import { UnsignedMetadataError } from '../../src/errors.js';
import { makePublicKey, type PublicKey } from '../../src/trust/public-key.js';
import { clearVerdicts, signatureVerifications, verifyThreshold, type RoleKeys, type Signature } from '../../src/trust/signatures.js';
import { throwsWith } from '../helpers/trust.js';

const msg = Buffer.from('{"_type":"Snapshot","version":3}');

function edSigner() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key = makePublicKey('ed25519', publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  return { key, signOver: (m: Buffer): Signature => ({ keyId: key.id, method: 'eddsa', sig: sign(null, m, privateKey) }) };
}
const A = edSigner();
const B = edSigner();
const roleOf = (entries: [string, PublicKey][], threshold = 1): RoleKeys => ({ name: 'snapshot', keys: new Map(entries), threshold });

/** The signers verifyThreshold returns, and the verifications that cost. */
function costOf(message: Buffer, signatures: Signature[], role: RoleKeys): [string[], number] {
  const before = signatureVerifications();
  const signers = verifyThreshold(message, signatures, role);
  return [signers, signatureVerifications() - before];
}

t.test('clearVerdicts forgets every remembered verdict', async (t) => {
  const role = roleOf([[A.key.id, A.key]]);
  const sigs = [A.signOver(msg)];
  costOf(msg, sigs, role);
  t.strictSame(costOf(msg, sigs, role), [[A.key.id], 0], 'remembered');
  clearVerdicts();
  t.strictSame(costOf(msg, sigs, role), [[A.key.id], 1], 'verified again after clearVerdicts');
});

t.test('the same keys listed in another order reuse the verdict', async (t) => {
  clearVerdicts();
  const sigs = [A.signOver(msg), B.signOver(msg)];
  t.strictSame(costOf(msg, sigs, roleOf([[A.key.id, A.key], [B.key.id, B.key]], 2)), [[A.key.id, B.key.id], 2]);
  t.strictSame(costOf(msg, sigs, roleOf([[B.key.id, B.key], [A.key.id, A.key]], 2)), [[A.key.id, B.key.id], 0]);
});

t.test('a file without signatures is refused before anything is remembered', async (t) => {
  clearVerdicts();
  const role = roleOf([[A.key.id, A.key]]);
  const watched = [A.signOver(msg)];
  t.strictSame(costOf(msg, watched, role), [[A.key.id], 1]);
  // as many refusals as verdicts are remembered: were they remembered, the watched verdict would go
  let refusals = 0;
  for (let i = 0; i < 4096; i++) {
    try {
      verifyThreshold(Buffer.from(`${i}`), [], role);
    } catch (err) {
      if (!(err instanceof UnsignedMetadataError)) throw err;
      refusals++;
    }
  }
  t.equal(refusals, 4096);
  t.strictSame(costOf(msg, watched, role), [[A.key.id], 0], 'still remembered');
});

t.test('fields are framed by their UTF-8 byte length, so no other input shares a verdict', async (t) => {
  clearVerdicts();
  // Framed by UTF-16 length, these two feed the same bytes to the hash: the signed file's extra key
  // entry `z <id>` (66 characters) is the other's message, and 73 two-byte characters of the signed
  // message make the other's signature key ID look 146 long, the byte length of that message.
  const signedMessage = Buffer.from('é'.repeat(73));
  const signed: [Buffer, Signature[], RoleKeys] = [
    signedMessage,
    [A.signOver(signedMessage)],
    roleOf([[A.key.id, A.key], ['z', A.key]]),
  ];
  const unsigned: [Buffer, Signature[], RoleKeys] = [
    Buffer.from(`z ${A.key.id}`),
    [{ keyId: `${'é'.repeat(73)}70:${A.key.id}`, method: 'eddsa', sig: A.signOver(signedMessage).sig }],
    roleOf([[A.key.id, A.key]]),
  ];
  t.same(verifyThreshold(...signed), [A.key.id]);
  throwsWith(t, () => verifyThreshold(...unsigned), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
});
