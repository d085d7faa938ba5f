// When canonicalBytesOf hands back the source bytes themselves (a view of the input, no re-encoding)
// and when it re-encodes: exactly when a container's source is already canonical, for the document,
// the envelope's members and `signed` (json-parser.ts records spans to that depth) — plus the
// canonical encoder itself against a reference written here.

import t from 'tap';
import { DeserializationError } from '../../src/errors.js';
import { canonicalBytes, canonicalString, parseJsonDocument, type JsonObject, type JsonValue } from '../../src/trust/canonical.js';
import { isReencoded, isViewOfSource, label, own } from '../helpers/canonical-spans.js';

const enc = (s: string) => Buffer.from(s, 'utf8');

t.test('canonical source bytes come back as a view of the input, at the right offsets', async (t) => {
  isViewOfSource(t, '{"signed":{"a":1}}', '{"a":1}');
  isViewOfSource(t, '{"signatures":[{"k":1}],"signed":{"a":"x","b":[1,{"c":null}],"d":{},"e":[]}}', '{"a":"x","b":[1,{"c":null}],"d":{},"e":[]}');
  isViewOfSource(t, '{"signed":{}}', '{}');
  isViewOfSource(t, '{"signed":[]}', '[]');
  isViewOfSource(t, '{"signed":[1,"a",true]}', '[1,"a",true]');
  isViewOfSource(t, '{"signed":{"q":"a\\"b\\\\c"}}', '{"q":"a\\"b\\\\c"}');
  isViewOfSource(t, '{"signed":{"a":1,"ab":2,"b":3}}', '{"a":1,"ab":2,"b":3}');
  isViewOfSource(t, '{"signed":{"\uff61":1,"\u{1F600}":2}}', '{"\uff61":1,"\u{1F600}":2}');
  isViewOfSource(t, '{"signed":{"k":"\u2028\u{1F600}"}}', '{"k":"\u2028\u{1F600}"}');
});

t.test('byte offsets are right when multi-byte characters come before the span', async (t) => {
  isViewOfSource(t, '{"a":"é\u{1F600}ü","signed":{"k":"ü"}}', '{"k":"ü"}');
  isViewOfSource(t, '{"\u{1F600}":[],"signed":{"é":"\u2028"}}', '{"é":"\u2028"}');
  isReencoded(t, '{"a":"é\u{1F600}","signed":{"k" :"ü"}}', '{"k":"ü"}');
});

t.test('every non-canonical feature inside `signed` makes it re-encoded', async (t) => {
  const whitespace = ['{ "a":1}', '{"a" :1}', '{"a": 1}', '{"a":1 }', '{"a":1 ,"b":2}', '{"a":1, "b":2}', '{"a":[ 1]}', '{"a":[1 ]}', '{"a":[1 ,2]}', '{"a":[1, 2]}'];
  for (const s of whitespace) isReencoded(t, `{"signed":${s}}`, JSON.stringify(JSON.parse(s)));
  for (const ws of [' ', '\t', '\n', '\r']) {
    isReencoded(t, `{"signed":{${ws}}}`, '{}');
    isReencoded(t, `{"signed":[${ws}]}`, '[]');
    isReencoded(t, `{"signed":{"a":{${ws}}}}`, '{"a":{}}');
  }
  isReencoded(t, '{"signed":{"b":1,"a":2}}', '{"a":2,"b":1}');
  isReencoded(t, '{"signed":{"ab":1,"a":2}}', '{"a":2,"ab":1}');
  isReencoded(t, '{"signed":{"\u{1F600}":1,"\uff61":2}}', '{"\uff61":2,"\u{1F600}":1}');
  isReencoded(t, '{"signed":{"a":{"c":1,"b":2}}}', '{"a":{"b":2,"c":1}}');
  isReencoded(t, '{"signed":[{"c":1,"b":2}]}', '[{"b":2,"c":1}]');
  for (const [esc, raw] of [['\\/', '/'], ['\\b', '\b'], ['\\f', '\f'], ['\\n', '\n'], ['\\r', '\r'], ['\\t', '\t'], ['\\u0041', 'A'], ['\\u0022', '\\"'], ['\\u005c', '\\\\'], ['\\u2028', '\u2028']]) {
    isReencoded(t, `{"signed":{"k":"${esc}"}}`, `{"k":"${raw}"}`);
    isReencoded(t, `{"signed":{"${esc}":0}}`, `{"${raw}":0}`);
  }
});

t.test('what lies outside a container does not make it re-encoded', async (t) => {
  isViewOfSource(t, '{"signatures": [ 1 ] ,"signed":{"a":1}}', '{"a":1}');
  isViewOfSource(t, '{ "signed" : {"a":1} , "z" : "\\n" }', '{"a":1}');
  isViewOfSource(t, '{"z":{"b":1,"a":2},"signed":[1]}', '[1]');
  const input = own(' \n{"a":[1,2]}\t');
  const doc = parseJsonDocument(input);
  const out = doc.canonicalBytesOf(doc.value as JsonObject);
  t.equal(out.toString('utf8'), '{"a":[1,2]}');
  t.ok(out.buffer === input.buffer && out.byteOffset === 2, 'the document itself, whitespace around it left out');
});

t.test('the envelope members are recorded too, containers below `signed` are not', async (t) => {
  const input = own('{"signatures":[{"keyid":"k"}],"signed":{"x":{"a":1},"y":[2]}}');
  const doc = parseJsonDocument(input);
  const top = doc.value as JsonObject;
  const signed = top.signed as JsonObject;
  const view = (c: JsonObject | JsonValue[]) => doc.canonicalBytesOf(c).buffer === input.buffer;
  t.ok(view(top), 'the document');
  t.ok(view(top.signatures as JsonValue[]), 'an envelope member');
  t.ok(view(signed), '`signed`');
  t.same([view(signed.x as JsonObject), view(signed.y as JsonValue[]), view((top.signatures as JsonObject[])[0] as JsonObject)], [false, false, false]);
  t.equal(doc.canonicalBytesOf(signed.x as JsonObject).toString(), '{"a":1}');
  t.equal(doc.canonicalBytesOf(signed.y as JsonValue[]).toString(), '[2]');
});

t.test('a container that is not from the document is encoded', async (t) => {
  const doc = parseJsonDocument(own('{"a":1}'));
  t.equal(doc.canonicalBytesOf({ b: 1, a: [true] }).toString(), '{"a":[true],"b":1}');
});

t.test('a document given as a view into a larger buffer', async (t) => {
  const big = own('xxxxx{"signed":{"é":1}}yyyy');
  const input = big.subarray(5, big.length - 4);
  const doc = parseJsonDocument(input);
  t.equal(doc.canonicalBytesOf((doc.value as JsonObject).signed as JsonObject).toString(), '{"é":1}');
  t.equal(doc.canonicalBytesOf(doc.value as JsonObject).byteOffset, 5);
});

t.test('undecodable bytes are refused with the role', async (t) => {
  t.throws(() => parseJsonDocument(Buffer.from([0x22, 0xc3, 0x22]), 'snapshot'), { constructor: DeserializationError, code: 'METADATA_MALFORMED', role: 'snapshot' });
  t.throws(() => parseJsonDocument(enc('{"a":01}'), 'root'), { constructor: DeserializationError, code: 'METADATA_MALFORMED', role: 'root' });
});

function reference(v: JsonValue): string {
  if (typeof v === 'string') return '"' + v.replace(/[\\"]/g, (c) => '\\' + c) + '"';
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return '[' + v.map(reference).join(',') + ']';
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(enc(a), enc(b)));
  return '{' + keys.map((k) => reference(k) + ':' + reference(v[k] as JsonValue)).join(',') + '}';
}

t.test('canonicalString of values built in code matches the reference encoder', async (t) => {
  const values: JsonValue[] = [
    null,
    true,
    false,
    0,
    -1,
    42,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    '',
    '"',
    '\\',
    '"\\"',
    'a"b\\c',
    '\n\u0000\u2028<&>/',
    [],
    [1],
    [1, 2, 3],
    [null, [true, false], {}],
    {},
    { a: 1 },
    { b: 1, a: 2, ab: 3, '"': 4, '\\': 5, é: 6, '\uff61': 7, '\u{1F600}': 8 },
    { z: { y: [{ x: null, w: 'v' }] }, '': '' },
  ];
  for (const v of values) {
    t.equal(canonicalString(v), reference(v), label(JSON.stringify(v) ?? ''));
    t.same(canonicalBytes(v), enc(reference(v)));
  }
});

t.test('numbers canonical JSON cannot hold are refused when encoding', async (t) => {
  for (const n of [1.5, -0.5, Number.NaN, Infinity, -Infinity, -0, 2 ** 53, -(2 ** 53), 1e300]) {
    t.throws(() => canonicalString([n]), { constructor: DeserializationError, code: 'METADATA_MALFORMED' }, String(n));
  }
});
