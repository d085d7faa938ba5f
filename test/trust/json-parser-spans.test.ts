// What the strict JSON parser (src/trust/json-parser.ts) records about a container's source: every
// non-canonical feature inside it counts, however many of each kind come together (two of them never
// cancel out into "canonical"); keys that differ as strings but not as UTF-8 bytes are not in
// canonical order; and spans exist down to `signed` only — empty containers included.

import t, { type Test } from 'tap';
import { parseJsonDocument, type JsonObject, type JsonValue } from '../../src/trust/canonical.js';
import { Parser } from '../../src/trust/json-parser.js';
import { isReencoded as isDocumentReencoded, label, own } from '../helpers/canonical-spans.js';

/** `signed` (the value given) is re-encoded, not handed out as a view of the document's bytes. */
function isReencoded(t: Test, signed: string, canonical: string): void {
  isDocumentReencoded(t, `{"signed":${signed}}`, canonical);
}

t.test('two different non-canonical features in one container never add up to canonical', async (t) => {
  // whitespace with an escape, an escape with keys out of order, keys out of order with whitespace — both ways round
  isReencoded(t, '{"a":"\\n", "b":1}', '{"a":"\n","b":1}');
  isReencoded(t, '{"a":1, "b":"\\n"}', '{"a":1,"b":"\n"}');
  isReencoded(t, '{"b":"\\t","a":1}', '{"a":1,"b":"\t"}');
  isReencoded(t, '{"b":1,"a":"\\/"}', '{"a":"/","b":1}');
  isReencoded(t, '{"b":1, "a":2}', '{"a":2,"b":1}');
  isReencoded(t, '{"b":[ 1],"a":2}', '{"a":2,"b":[1]}');
  isReencoded(t, '[ "\\u0041"]', '["A"]');
  isReencoded(t, '["\\r" ]', '["\r"]');
  isReencoded(t, '[{"b":1,"a":2},\n3]', '[{"a":2,"b":1},3]');
});

t.test('the same feature twice is not canonical either', async (t) => {
  isReencoded(t, '{ "a":1 }', '{"a":1}');
  isReencoded(t, '{"a":"\\n\\t"}', '{"a":"\n\t"}');
  isReencoded(t, '{"c":1,"b":2,"a":3}', '{"a":3,"b":2,"c":1}');
});

t.test('keys that are different strings but the same UTF-8 bytes are not in canonical order', async (t) => {
  // Lone surrogates both encode as U+FFFD, so neither order of them is the canonical one. Decoded
  // bytes never hold raw lone surrogates (they arrive as \u escapes, already non-canonical), so the
  // parser is given the text itself here.
  for (const [a, b] of [
    ['\ud800', '\udc00'],
    ['\udc00', '\ud800'],
    ['\ud800', '\ufffd'],
  ] as const) {
    const parser = new Parser(`{"${a}":1,"${b}":2}`, 'targets');
    const obj = parser.parseDocument() as JsonObject;
    t.same(Object.keys(obj), [a, b], `${label(a)} and ${label(b)} both kept`);
    t.equal(parser.spans.get(obj)?.canonical, false, `${label(a)} before ${label(b)}`);
  }
  const parser = new Parser('{"\ud800":1,"\ud800x":2}', 'targets');
  const obj = parser.parseDocument() as JsonObject;
  t.equal(parser.spans.get(obj)?.canonical, true, 'a lone surrogate before a longer key that starts with it is in order');
});

t.test('empty containers below `signed` get no span, as no other container there does', async (t) => {
  const text = '{"signed":{"e":{},"f":[],"g":[[],{}]},"x":[{}]}';
  const parser = new Parser(text, 'targets');
  const top = parser.parseDocument() as JsonObject;
  const signed = top.signed as JsonObject;
  const below: [string, JsonObject | JsonValue[]][] = [
    ['an empty object in `signed`', signed.e as JsonObject],
    ['an empty array in `signed`', signed.f as JsonValue[]],
    ['an empty array deeper', (signed.g as JsonValue[])[0] as JsonValue[]],
    ['an empty object deeper', (signed.g as JsonValue[])[1] as JsonObject],
    ['an empty object in an envelope member', (top.x as JsonValue[])[0] as JsonObject],
  ];
  for (const [name, container] of below) t.equal(parser.spans.get(container), undefined, name);
  t.same(parser.spans.get(signed), { start: 10, end: 37, canonical: true }, '`signed` itself');
  t.same(parser.spans.get(top.x as JsonValue[]), { start: 42, end: 46, canonical: true }, 'the envelope member itself');

  // and so canonicalBytesOf encodes them afresh instead of handing out a view of the input
  const input = own(text);
  const doc = parseJsonDocument(input);
  const docSigned = (doc.value as JsonObject).signed as JsonObject;
  for (const key of ['e', 'f'] as const) {
    const out = doc.canonicalBytesOf(docSigned[key] as JsonObject | JsonValue[]);
    t.same({ bytes: out.toString('utf8'), view: out.buffer === input.buffer }, { bytes: key === 'e' ? '{}' : '[]', view: false }, `signed.${key}`);
  }
});

t.test('empty containers down to `signed` do get a span', async (t) => {
  for (const [text, start] of [
    ['{}', 0],
    ['[]', 0],
    ['{"signed":{}}', 10],
    ['{"signed":[]}', 10],
    ['[[]]', 1],
    ['[{}]', 1],
  ] as const) {
    const parser = new Parser(text, undefined);
    const value = parser.parseDocument() as JsonObject | JsonValue[];
    const inner = Array.isArray(value) ? (value.length ? value[0] : value) : (value.signed ?? value);
    t.same(parser.spans.get(inner as object), { start, end: start + 2, canonical: true }, text);
  }
  const parser = new Parser('{"signed":{ }}', undefined);
  const top = parser.parseDocument() as JsonObject;
  t.same(parser.spans.get(top.signed as JsonObject), { start: 10, end: 13, canonical: false }, 'an empty object with whitespace inside');
});
