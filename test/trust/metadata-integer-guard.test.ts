// The integer rule of metadata.ts on its own: version, threshold and length must be safe integers
// even in an envelope built in code, which no JSON parser stood in front of (the parser admits safe
// integers only, so these numbers reach the role parsers only this way).

import t, { type Test } from 'tap';
import { DeserializationError } from '../../src/errors.js';
import type { JsonObject } from '../../src/trust/canonical.js';
import { keyIdOf } from '../../src/trust/public-key.js';
import { parseRoot, parseSnapshot, parseTargets, parseTimestamp, type Envelope } from '../../src/trust/metadata.js';
import { throwsWith } from '../helpers/trust.js';

type Doc = Record<string, unknown>;
const EXPIRES = '2030-01-02T03:04:05Z';
const built = (signed: Doc): Envelope => ({ signed: signed as JsonObject, signatures: [], message: Buffer.alloc(0) });
const malformed = (t: Test, fn: () => unknown) => throwsWith(t, fn, DeserializationError, 'METADATA_MALFORMED');

const PUB = Buffer.from('public key');
const ID = keyIdOf('ecdsa', PUB);
const KEYS = { [ID]: { keytype: 'ecdsa', keyval: { private: null, public: PUB.toString('base64') } } };
const SHA256 = Buffer.alloc(32, 7).toString('base64');
const fileMeta = (length: unknown): Doc => ({ length, hashes: { sha256: SHA256 } });

function rootDoc(over: Doc = {}, threshold: unknown = 1): Doc {
  const spec = { keyids: [ID], threshold };
  const roles = { root: spec, targets: spec, snapshot: spec, timestamp: spec };
  return { _type: 'Root', consistent_snapshot: false, expires: EXPIRES, keys: KEYS, roles, version: 1, ...over };
}
const timestampDoc = (over: Doc = {}, length: unknown = 10): Doc => ({ _type: 'Timestamp', expires: EXPIRES, meta: { snapshot: fileMeta(length) }, version: 1, ...over });
const snapshotDoc = (over: Doc = {}, length: unknown = 10): Doc => ({
  _type: 'Snapshot',
  expires: EXPIRES,
  meta: { root: fileMeta(10), targets: fileMeta(length) },
  version: 1,
  ...over,
});
const targetsDoc = (over: Doc = {}): Doc => ({ _type: 'Targets', expires: EXPIRES, targets: {}, version: 1, ...over });

const NOT_SAFE_INTEGERS = [1.5, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, 1e300, Number.POSITIVE_INFINITY, Number.NaN];

t.test('the same documents with safe integers parse: the refusals below are the numbers alone', async (t) => {
  t.equal(parseRoot(built(rootDoc({ version: 7 }))).version, 7);
  t.equal(parseRoot(built(rootDoc({}, 1))).roles.get('targets')?.threshold, 1);
  t.equal(parseTimestamp(built(timestampDoc({ version: Number.MAX_SAFE_INTEGER }))).version, Number.MAX_SAFE_INTEGER);
  t.equal(parseTimestamp(built(timestampDoc({}, 12))).snapshot.length, 12);
  t.equal(parseSnapshot(built(snapshotDoc({}, 13))).meta.get('targets')?.length, 13);
  t.equal(parseTargets(built(targetsDoc({ version: 3 })), 'targets').version, 3);
});

t.test('a version that is a number but not a safe integer is refused in every role', async (t) => {
  for (const version of NOT_SAFE_INTEGERS) {
    malformed(t, () => parseRoot(built(rootDoc({ version }))));
    malformed(t, () => parseTimestamp(built(timestampDoc({ version }))));
    malformed(t, () => parseSnapshot(built(snapshotDoc({ version }))));
    malformed(t, () => parseTargets(built(targetsDoc({ version })), 'targets'));
  }
});

t.test('a threshold or a file length that is not a safe integer is refused', async (t) => {
  for (const n of NOT_SAFE_INTEGERS) {
    malformed(t, () => parseRoot(built(rootDoc({}, n))));
    malformed(t, () => parseTimestamp(built(timestampDoc({}, n))));
    malformed(t, () => parseSnapshot(built(snapshotDoc({}, n))));
  }
});
