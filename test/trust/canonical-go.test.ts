// Canonical JSON byte for byte as notary 0.7 writes it, from the source of the encoder it vendors
// (github.com/docker/go d30aec9, canonical/json/encode.go `encodeState.string`): in canonical mode
// every byte but `\` and `"` is written raw — the loop continues before encoding/json's branches that
// escape control characters, `<`, `>`, `&` and U+2028/U+2029. notary's files are written with
// json.Marshal, whose RawMessage compaction HTML-escapes `signed` (`\u2028`, `\u003c`, …), while
// the signatures cover the raw canonical bytes: a verifier must decode and re-encode to match them.

import { generateKeyPairSync, sign } from 'node:crypto';
import t from 'tap';
import { canonicalBytes, parseJson, parseJsonDocument, type JsonObject } from '../../src/trust/canonical.js';
import { makePublicKey } from '../../src/trust/public-key.js';
import { parseEnvelope } from '../../src/trust/metadata.js';
import { verifyThreshold } from '../../src/trust/signatures.js';

const utf8 = (s: string) => Buffer.from(s, 'utf8');

// [JSON string literal as a decoder reads it, the bytes docker/go's canonical encoder writes]
const goCanonical: [string, Buffer][] = [
  ['"a\\u2028b"', Buffer.concat([utf8('"a'), Buffer.from([0xe2, 0x80, 0xa8]), utf8('b"')])],
  ['"\\u2029"', Buffer.concat([utf8('"'), Buffer.from([0xe2, 0x80, 0xa9]), utf8('"')])],
  ['"\u2028"', Buffer.concat([utf8('"'), Buffer.from([0xe2, 0x80, 0xa8]), utf8('"')])],
  ['"\\u003c\\u0026\\u003e"', utf8('"<&>"')],
  ['"\\n\\r\\t\\u0000"', Buffer.from([0x22, 0x0a, 0x0d, 0x09, 0x00, 0x22])],
  ['"q\\"b\\\\"', utf8('"q\\"b\\\\"')],
  ['"\\/"', utf8('"/"')],
];

t.test('strings are encoded as docker/go canonical mode writes them', async (t) => {
  for (const [literal, bytes] of goCanonical) {
    // a raw U+2028 in an assertion name would break the TAP line it is reported on
    const name = literal.replace(/[\u2028\u2029]/g, (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase()}>`);
    t.same(canonicalBytes(parseJson(utf8(`[${literal}]`))), Buffer.concat([utf8('['), bytes, utf8(']')]), name);
  }
});

t.test('raw U+2028/U+2029 in the source are already canonical; their escapes are not', async (t) => {
  const raw = utf8('{"signed":{"k":"a\u2028b\u2029"}}');
  const doc = parseJsonDocument(raw);
  const signed = (doc.value as JsonObject).signed as JsonObject;
  t.same(doc.canonicalBytesOf(signed), utf8('{"k":"a\u2028b\u2029"}'), 'the source bytes as they are');
  const escaped = parseJsonDocument(utf8('{"signed":{"k":"a\\u2028b\\u2029"}}'));
  t.same(escaped.canonicalBytesOf((escaped.value as JsonObject).signed as JsonObject), utf8('{"k":"a\u2028b\u2029"}'), 're-encoded raw');
});

t.test('a file laid out as notary writes it verifies against the raw canonical bytes it signed', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const key = makePublicKey('ecdsa', publicKey.export({ format: 'der', type: 'spki' }));
  const signedCanonical = '{"_type":"Targets","targets":{"line\u2028sep<&>":{"length":2}},"version":1}';
  const sig = sign('sha256', utf8(signedCanonical), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  // json.Marshal's RawMessage compaction escapes U+2028 and <, &, > in the file
  const signedInFile = signedCanonical.replace('\u2028', '\\u2028').replace('<', '\\u003c').replace('&', '\\u0026').replace('>', '\\u003e');
  const file = `{"signed":${signedInFile},"signatures":[{"keyid":"${key.id}","method":"ecdsa","sig":"${sig.toString('base64')}"}]}`;
  const env = parseEnvelope(utf8(file), 'targets');
  t.same(env.message, utf8(signedCanonical));
  t.same(verifyThreshold(env.message, env.signatures, { name: 'targets', keys: new Map([[key.id, key]]), threshold: 1 }), [key.id]);
});
