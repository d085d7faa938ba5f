// The field rules of metadata.ts below the roles: RFC 3339 times as Go reads them, the signed
// envelope, and the names trust files go by. Table-driven: every accepted shape with its exact
// value, every refused one with the error class and code.

import t from 'tap';
import { DeserializationError } from '../../src/errors.js';
import { canonicalBytes } from '../../src/trust/canonical.js';
import { isDelegationName, METADATA_FILE_NAME, parseEnvelope, parseTime, STORED_ROLE_NAME } from '../../src/trust/metadata.js';
import { throwsWith } from '../helpers/trust.js';

const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const HOUR = 3_600_000;
const BASE = Date.UTC(2030, 0, 2, 3, 4, 5);

t.test('RFC 3339 times: fractions truncated to milliseconds, zone offsets applied', async (t) => {
  const accepted: [string, number][] = [
    ['2030-01-02T03:04:05Z', BASE],
    ['2030-01-02T03:04:05.5Z', BASE + 500],
    ['2030-01-02T03:04:05.1239Z', BASE + 123],
    ['2030-01-02T03:04:05.123456789Z', BASE + 123],
    ['2030-01-02T03:04:05+05:30', BASE - 5.5 * HOUR],
    ['2030-01-02T03:04:05-01:15', BASE + 1.25 * HOUR],
    ['2030-01-02T03:04:05+23:59', BASE - 23 * HOUR - 59 * 60_000],
    ['2030-01-02T03:04:05.25-00:30', BASE + 250 + 0.5 * HOUR],
    ['2030-01-02T03:04:05+00:00', BASE],
    ['2030-12-31T23:59:59Z', Date.UTC(2030, 11, 31, 23, 59, 59)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['1999-10-20T11:22:33Z', Date.UTC(1999, 9, 20, 11, 22, 33)],
  ];
  for (const [s, ms] of accepted) t.equal(parseTime(s, 'root', 'expires').getTime(), ms, s);
});

t.test('times RFC 3339 does not allow, or no calendar has, are refused', async (t) => {
  const refused = [
    'x2030-01-02T03:04:05Z',
    '2030-01-02T03:04:05Zx',
    '2030-01-02T03:04:05',
    '2030-01-02 03:04:05Z',
    '2030-01-02t03:04:05Z',
    '2030-01-02T03:04:05z',
    '2030-1-02T03:04:05Z',
    '02030-01-02T03:04:05Z',
    '2030-01-02T03:04:5Z',
    '2030-01-02T03:04Z',
    '2030-01-02T03:04:05.Z',
    '2030-01-02T03:04:05.1234567890Z',
    '2030-01-02T03:04:05,5Z',
    '2030-01-02T03:04:05+0530',
    '2030-01-02T03:04:05+5:30',
    '2030-01-02T03:04:05*05:30',
    '2030-01-02T03:04:05Z+01:00',
    '2030-13-01T00:00:00Z',
    '2030-00-10T00:00:00Z',
    '2030-02-29T00:00:00Z',
    '2030-01-32T00:00:00Z',
    '2030-04-31T00:00:00Z',
    '2030-01-02T24:00:00Z',
    '2030-01-02T10:60:00Z',
    '2030-01-02T10:30:60Z',
    '2030-01-02T03:04:05+24:00',
    '2030-01-02T03:04:05+00:60',
    '2030-01-02T03:04:05-99:00',
    '',
  ];
  for (const s of refused) throwsWith(t, () => parseTime(s, 'root', 'expires'), DeserializationError, 'METADATA_MALFORMED');
});

t.test('the envelope: signatures decoded, methods lower-cased, the message canonical', async (t) => {
  const sigA = Buffer.from('first signature');
  const sigB = Buffer.from([0, 255, 1]);
  const file = enc(
    `{ "signatures" : [ {"keyid":"aa","method":"EcDsA","sig":"${sigA.toString('base64')}"},` +
      ` {"sig":"${sigB.toString('base64')}","keyid":"bb","method":"eddsa"} ],` +
      ` "signed" : { "z": [1, {"b": "x", "a": null}], "a": true } }`,
  );
  const env = parseEnvelope(file, 'targets');
  t.same(env.signed, { a: true, z: [1, { a: null, b: 'x' }] });
  t.same(
    env.signatures.map((s) => [s.keyId, s.method, s.sig.toString('hex')]),
    [
      ['aa', 'ecdsa', sigA.toString('hex')],
      ['bb', 'eddsa', sigB.toString('hex')],
    ],
  );
  t.same(env.message, Buffer.from('{"a":true,"z":[1,{"a":null,"b":"x"}]}'));
  t.same(env.message, canonicalBytes(env.signed));
});

t.test('absent or null signatures are none; an empty signed object is an envelope', async (t) => {
  t.same(parseEnvelope(enc({ signed: { a: 1 } }), 'root').signatures, []);
  t.same(parseEnvelope(enc({ signed: { a: 1 }, signatures: null }), 'root').signatures, []);
  const env = parseEnvelope(enc({ signed: {}, signatures: [] }), 'root');
  t.same(env.signatures, []);
  t.same(env.message, Buffer.from('{}'));
});

t.test('malformed envelopes are refused as malformed metadata', async (t) => {
  const sig = { keyid: 'aa', method: 'ecdsa', sig: 'AAAA' };
  const bad: unknown[] = [
    [],
    'null',
    '"signed"',
    { signatures: [] },
    { signed: null },
    { signed: [] },
    { signed: 'x' },
    { signed: 1 },
    { signed: {}, signatures: {} },
    { signed: {}, signatures: 'x' },
    { signed: {}, signatures: 0 },
    { signed: {}, signatures: [null] },
    { signed: {}, signatures: [[sig]] },
    { signed: {}, signatures: ['x'] },
    { signed: {}, signatures: [{ ...sig, keyid: 1 }] },
    { signed: {}, signatures: [{ method: 'ecdsa', sig: 'AAAA' }] },
    { signed: {}, signatures: [{ ...sig, method: null }] },
    { signed: {}, signatures: [{ keyid: 'aa', method: 'ecdsa' }] },
    { signed: {}, signatures: [{ ...sig, sig: 'A' }] },
    { signed: {}, signatures: [{ ...sig, sig: 'AA-_' }] },
  ];
  for (const doc of bad) throwsWith(t, () => parseEnvelope(enc(doc), 'root'), DeserializationError, 'METADATA_MALFORMED');
});

t.test('stored role names and served file names', async (t) => {
  const hex = 'a1'.repeat(32);
  const stored = ['root', 'timestamp', 'snapshot', 'targets', 'targets/releases', 'targets/a/b-c_9', '1.root', '1234567890.targets'];
  const notStored = [
    '',
    'Root',
    'xroot',
    'rootx',
    'root.',
    '.root',
    'root/x',
    'targets/',
    'targets/A',
    'targets/a.b',
    'targets//a',
    'targetsx',
    '12345678901.root',
    'a.root',
    `snapshot.${hex}`,
    'timestamp\n',
  ];
  for (const n of stored) {
    t.ok(STORED_ROLE_NAME.test(n), `stored: ${n}`);
    t.ok(METADATA_FILE_NAME.test(n), `served: ${n}`);
  }
  for (const n of notStored) t.notOk(STORED_ROLE_NAME.test(n), `not stored: ${JSON.stringify(n)}`);
  const served = [`snapshot.${hex}`, `2.root.${hex}`, `targets/releases.${hex}`, `root.${'0'.repeat(64)}`];
  const notServed = [
    `snapshot.${hex.slice(1)}`,
    `snapshot.${hex}0`,
    `snapshot.${hex.toUpperCase()}`,
    `snapshot.${'g'.repeat(64)}`,
    `snapshot${hex}`,
    `snapshot.${hex}.json`,
    `x.${hex}`,
    `snapshot.${hex}.${hex}`,
  ];
  for (const n of served) t.ok(METADATA_FILE_NAME.test(n), `served: ${n}`);
  for (const n of [...notServed, ...notStored.filter((n) => !n.startsWith('snapshot.'))]) {
    t.notOk(METADATA_FILE_NAME.test(n), `not served: ${JSON.stringify(n)}`);
  }
});

t.test('delegation names: notary data.IsDelegation', async (t) => {
  const valid = ['targets/releases', 'targets/a', 'targets/a-b_c/0', 'targets/a/b/c', `targets/${'x'.repeat(247)}`];
  const invalid = [
    'targets',
    'targets/',
    'targets/a/',
    'targets//a',
    'targets/a//b',
    'xtargets/a',
    'Targets/a',
    'root/a',
    '/targets/a',
    'targets/A',
    'targets/Ab',
    'targets/aB',
    'targets/a b',
    'targets/a.b',
    'targets/./a',
    'targets/a/..',
    'targets/é',
    `targets/${'x'.repeat(248)}`,
  ];
  for (const n of valid) t.ok(isDelegationName(n), n);
  for (const n of invalid) t.notOk(isDelegationName(n), n);
  t.equal(`targets/${'x'.repeat(247)}`.length, 255, 'the longest name allowed');
});
