// The canonical fast path: when `signed` already is canonical, its bytes are the signed message as
// they are. Compact JSON whose keys are out of order is not canonical, however tight: re-encoding it
// must sort the keys (notary re-encodes `signed` canonically before verifying, tuf/signed/verify.go).
// Compact inputs on purpose — whitespace alone would force the slow path and hide a broken check.

import t from 'tap';
import { UnsignedMetadataError } from '../../src/errors.js';
import { canonicalBytes, parseJsonDocument, type JsonObject } from '../../src/trust/canonical.js';
import { RepoSimulator, type SimKey } from '../helpers/simulator.js';
import { rejectsWith, updaterFor } from '../helpers/trust.js';

const enc = (s: string) => Buffer.from(s, 'utf8');

function canonicalOf(text: string): string {
  const doc = parseJsonDocument(enc(text));
  return doc.canonicalBytesOf(doc.value as JsonObject).toString('utf8');
}

t.test('compact JSON with keys out of order is re-encoded sorted', async (t) => {
  t.equal(canonicalOf('{"b":1,"a":2}'), '{"a":2,"b":1}');
  t.equal(canonicalOf('{"a":{"d":1,"c":2},"b":[{"f":0,"e":0}]}'), '{"a":{"c":2,"d":1},"b":[{"e":0,"f":0}]}', 'nested, below the recorded spans');
});

t.test('compact, sorted JSON comes back byte for byte', async (t) => {
  const text = '{"a":{"c":2,"d":1},"b":[1,"x"]}';
  t.equal(canonicalOf(text), text);
});

t.test('other non-canonical compact forms are re-encoded too', async (t) => {
  t.equal(canonicalOf('{"a":"\\u0041"}'), '{"a":"A"}', 'an escape the canonical form does not use');
  t.equal(canonicalOf('{"a":"\\/"}'), '{"a":"/"}');
});

/** A timestamp whose `signed` is compact with its top-level keys reversed, signed over `message`. */
function reorderedTimestamp(sim: RepoSimulator, sign: (raw: Buffer, canonical: Buffer) => Buffer): Buffer {
  const doc = JSON.parse((sim.files.get('timestamp') as Buffer).toString('utf8')) as { signed: JsonObject };
  const reversed = Object.fromEntries(Object.entries(doc.signed).reverse()) as JsonObject;
  const raw = enc(JSON.stringify(reversed));
  const key = sim.keys.timestamp[0] as SimKey;
  const sig = key.sign(sign(raw, canonicalBytes(doc.signed)));
  return enc(`{"signed":${raw.toString('utf8')},"signatures":[{"keyid":"${key.id}","method":"${key.method}","sig":"${sig.toString('base64')}"}]}`);
}

t.test('a signature over unsorted compact bytes is refused, as notary refuses it', async (t) => {
  const sim = new RepoSimulator();
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  sim.overrides.set('timestamp', reorderedTimestamp(sim, (raw) => raw));
  const err = await rejectsWith(t, updaterFor(sim).refresh(sim.gun), UnsignedMetadataError, 'SIGNATURE_THRESHOLD');
  t.equal(err.role, 'timestamp');
});

t.test('the same unsorted document signed over its canonical form verifies', async (t) => {
  const sim = new RepoSimulator();
  sim.addTarget('targets', 'v1', 'manifest v1');
  sim.publish();
  sim.overrides.set('timestamp', reorderedTimestamp(sim, (_raw, canonical) => canonical));
  t.equal((await updaterFor(sim).resolve(sim.gun, 'v1')).role, 'targets');
});
