// Length and hashes of a file, checked against what its parent signed (notary data.CheckHashes):
// every supported hash listed must match in full, and at least one supported hash must be listed.
// Each case is checked on the engine's function and through the updater on a simulated repository.

import { createHash } from 'node:crypto';
import t from 'tap';
import { LengthOrHashMismatchError } from '../../src/errors.js';
import { checkFileMeta, type FileMeta, type JsonObject } from '../../src/trust/index.js';
import { RepoSimulator, sha256Hex } from '../helpers/simulator.js';
import { rejectsWith, throwsWith, updaterFor } from '../helpers/trust.js';

const bytes = Buffer.from('{"signed":{"_type":"Snapshot"}}');
const digest = (alg: string, b: Buffer = bytes) => createHash(alg).update(b).digest();

/** `b` with its last byte changed: the same prefix, a different hash. */
function lastByteFlipped(b: Buffer): Buffer {
  const out = Buffer.from(b);
  out[out.length - 1] = (out[out.length - 1] as number) ^ 0x01;
  return out;
}

function meta(hashes: Record<string, Buffer>, length = bytes.length): FileMeta {
  return { length, hashes: new Map(Object.entries(hashes).map(([alg, h]) => [alg, h.toString('base64')])) };
}

t.test('matching sha256 and sha512 are accepted', async (t) => {
  t.doesNotThrow(() => checkFileMeta(bytes, meta({ sha256: digest('sha256'), sha512: digest('sha512') }), 'snapshot'));
  t.doesNotThrow(() => checkFileMeta(bytes, meta({ sha512: digest('sha512') }), 'snapshot'), 'sha512 alone');
});

t.test('a hash that differs only in its last byte is refused', async (t) => {
  throwsWith(t, () => checkFileMeta(bytes, meta({ sha256: lastByteFlipped(digest('sha256')) }), 'snapshot'), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  throwsWith(t, () => checkFileMeta(bytes, meta({ sha512: lastByteFlipped(digest('sha512')) }), 'snapshot'), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
});

t.test('a truncated hash is refused', async (t) => {
  // 15 bytes: its base64 (no padding) and hex are both prefixes of the full hash's
  for (const n of [15, 16, 31]) {
    for (const alg of ['sha256', 'sha512']) {
      throwsWith(t, () => checkFileMeta(bytes, meta({ [alg]: digest(alg).subarray(0, n) }), 'snapshot'), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
    }
  }
});

t.test('every supported hash must match, not just the first', async (t) => {
  const wrong512 = meta({ sha256: digest('sha256'), sha512: lastByteFlipped(digest('sha512')) });
  throwsWith(t, () => checkFileMeta(bytes, wrong512, 'snapshot'), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  const wrong256 = meta({ sha256: lastByteFlipped(digest('sha256')), sha512: digest('sha512') });
  throwsWith(t, () => checkFileMeta(bytes, wrong256, 'snapshot'), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
});

t.test('no supported hash at all is refused', async (t) => {
  for (const [name, hashes] of [
    ['md5 only', { md5: digest('md5') }],
    ['sha384 only', { sha384: digest('sha384') }],
    ['no hashes', {}],
  ] as const) {
    const err = throwsWith(t, () => checkFileMeta(bytes, meta(hashes), 'targets/releases'), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
    t.equal(err.role, 'targets/releases', name);
  }
});

t.test('a length other than the signed one is refused, even with matching hashes', async (t) => {
  throwsWith(t, () => checkFileMeta(bytes, meta({ sha256: digest('sha256') }, bytes.length + 1), 'snapshot'), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
});

// ---- through the updater ------------------------------------------------------------------

function repo(): RepoSimulator {
  const sim = new RepoSimulator();
  sim.addDelegation('targets/releases');
  sim.addTarget('targets/releases', 'v2', 'manifest v2');
  sim.publish();
  return sim;
}

t.test('a timestamp signing a snapshot hash with one byte changed: the snapshot is refused', async (t) => {
  const sim = repo();
  let named = '';
  sim.beforeSign.set('timestamp', (s) => {
    const hashes = ((s.meta as JsonObject).snapshot as JsonObject).hashes as JsonObject;
    const flipped = lastByteFlipped(Buffer.from(hashes.sha256 as string, 'base64'));
    hashes.sha256 = flipped.toString('base64');
    named = `snapshot.${flipped.toString('hex')}`;
  });
  sim.publish();
  sim.overrides.set(named, sim.files.get('snapshot') as Buffer); // served under the name the timestamp signs
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  t.equal(err.role, 'snapshot');
});

t.test('a snapshot signing a correct sha256 but a wrong sha512 for targets: refused', async (t) => {
  const sim = repo();
  sim.beforeSign.set('snapshot', (s) => {
    const hashes = ((s.meta as JsonObject).targets as JsonObject).hashes as JsonObject;
    hashes.sha512 = lastByteFlipped(Buffer.from(hashes.sha512 as string, 'base64')).toString('base64');
  });
  sim.publish();
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
  t.equal(err.role, 'targets');
});

for (const [name, hashes] of [
  ['only md5', (b: Buffer) => ({ md5: createHash('md5').update(b).digest('base64') })],
  ['no hashes', () => ({})],
] as const) {
  t.test(`a snapshot listing ${name} for a delegation: the delegation is refused`, async (t) => {
    const sim = repo();
    sim.beforeSign.set('snapshot', (s) => {
      const entry = (s.meta as JsonObject)['targets/releases'] as JsonObject;
      entry.hashes = hashes(sim.files.get('targets/releases') as Buffer);
    });
    sim.publish();
    t.ok(sim.files.has(`targets/releases.${sha256Hex(sim.files.get('targets/releases') as Buffer)}`), 'the delegation file itself is honest');
    const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), LengthOrHashMismatchError, 'LENGTH_OR_HASH_MISMATCH');
    t.equal(err.role, 'targets/releases');
  });
}

t.test('the honest repository resolves (control)', async (t) => {
  const sim = repo();
  t.equal((await updaterFor(sim).resolve(sim.gun, 'v2')).role, 'targets/releases');
});
