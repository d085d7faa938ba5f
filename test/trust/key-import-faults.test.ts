// verifyingKeyOf (keys.ts) turns unusable key material into "a key that verifies nothing", and only
// that: a fault that is not a key-parsing failure (a programming error, a system error code, a thrown
// non-Error) must reach the caller instead of silently making a trusted key useless.
// The fault is injected where an Ed25519 key's bytes are read for import (toString('base64url')).

import { randomBytes } from 'node:crypto';
import t from 'tap';
import { verifyingKeyOf } from '../../src/trust/keys.js';
import { PemError } from '../../src/trust/pem.js';
import { makePublicKey } from '../../src/trust/public-key.js';

function keyFailingOnImport(fault: unknown) {
  const bytes = randomBytes(32); // fresh bytes: never a key-cache hit
  const toString = bytes.toString.bind(bytes);
  Object.defineProperty(bytes, 'toString', {
    value: (encoding?: BufferEncoding, start?: number, end?: number) => {
      if (encoding === 'base64url') throw fault;
      return toString(encoding, start, end);
    },
  });
  return makePublicKey('ed25519', bytes);
}

t.test('a fault without a node:crypto code is not mistaken for bad key bytes', async (t) => {
  const fault = new TypeError('a programming error');
  t.throws(() => verifyingKeyOf(keyFailingOnImport(fault)), fault);
});

t.test('an Error whose code is not an ERR_ code propagates', async (t) => {
  const fault = Object.assign(new Error('a system fault'), { code: 'EIO' });
  t.throws(() => verifyingKeyOf(keyFailingOnImport(fault)), { code: 'EIO' });
});

t.test('a thrown non-Error propagates even when it carries an ERR_ code', async (t) => {
  const fault = { code: 'ERR_NOT_AN_ERROR' };
  t.throws(() => verifyingKeyOf(keyFailingOnImport(fault)), { code: 'ERR_NOT_AN_ERROR' });
});

t.test('key-parsing failures still make the key verify nothing', async (t) => {
  t.equal(verifyingKeyOf(keyFailingOnImport(Object.assign(new Error('openssl'), { code: 'ERR_OSSL_DECODE' }))), null);
  t.equal(verifyingKeyOf(keyFailingOnImport(new PemError('bad pem'))), null);
  t.ok(verifyingKeyOf(makePublicKey('ed25519', randomBytes(32))), 'the unfaulted path imports the key');
});
