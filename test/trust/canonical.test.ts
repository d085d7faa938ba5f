import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DeserializationError } from '../../src/errors.js';
import { canonicalBytes, canonicalString, MAX_DEPTH, parseJson, type JsonValue } from '../../src/trust/canonical.js';

const enc = (s: string) => Buffer.from(s, 'utf8');
const canon = (s: string) => canonicalString(parseJson(enc(s)));

t.test('keys are sorted by their UTF-8 bytes, not UTF-16 code units', async (t) => {
  // UTF-16 puts U+1F600 (surrogates 0xD83D…) before U+FF61; UTF-8 (EF BD A1 < F0 9F 98 80) the reverse
  const doc = '{"\uFF61":1,"\u{1F600}":2,"b":3,"a":4,"é":5}';
  t.equal(canon(doc), '{"a":4,"b":3,"é":5,"\uFF61":1,"\u{1F600}":2}');
});

t.test('strings escape only backslash and quote; control characters and U+2028/U+2029 stay raw', async (t) => {
  const doc = '{"k":"a\\"b\\\\c\\n\\t\\u0001<>&\\u2028\\u2029/"}';
  t.equal(canon(doc), '{"k":"a\\"b\\\\c\n\t\u0001<>&\u2028\u2029/"}');
});

t.test('U+2028 and U+2029 alone stay raw too', async (t) => {
  t.equal(canonicalString(['\u2028', 'x\u2029']), '["\u2028","x\u2029"]');
});

t.test('a lone surrogate escape becomes U+FFFD as Go decodes it', async (t) => {
  t.same(canonicalBytes(parseJson(enc('["\\ud800"]'))), Buffer.from('["\uFFFD"]', 'utf8'));
});

t.test('integers are written plainly, including large safe ones', async (t) => {
  t.equal(canon('[0,-1,1234567,9007199254740991]'), '[0,-1,1234567,9007199254740991]');
});

t.test('whitespace and member order do not change the encoding', async (t) => {
  t.equal(canon(' { "b" : [ 1 , true , null ] ,\n"a":{} } '), '{"a":{},"b":[1,true,null]}');
});

const malformed: [string, string | Buffer][] = [
  ['fraction', '{"version":1.5}'],
  ['integral fraction', '{"version":1.0}'],
  ['exponent', '{"version":1e2}'],
  ['huge integer', '{"length":9007199254740993}'],
  ['negative zero', '[-0]'],
  ['leading zero', '[01]'],
  ['duplicate key', '{"a":1,"a":2}'],
  ['trailing data', '{} {}'],
  ['trailing comma', '[1,]'],
  ['raw control character in a string', '["a\u0001"]'],
  ['invalid escape', '["\\x41"]'],
  ['bad unicode escape', '["\\u12G4"]'],
  ['unterminated string', '["abc'],
  ['empty input', ''],
  ['byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), enc('{}')])],
  ['invalid UTF-8', Buffer.from([0x5b, 0x22, 0xff, 0x22, 0x5d])],
  ['NaN literal', '[NaN]'],
  ['single quotes', "{'a':1}"],
  ['too deep', '['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1)],
];

for (const [name, input] of malformed) {
  t.test(`refuses ${name}`, async (t) => {
    t.throws(() => parseJson(typeof input === 'string' ? enc(input) : input, 'timestamp'), { constructor: DeserializationError, code: 'METADATA_MALFORMED' });
  });
}

t.test('nesting up to the limit is fine', async (t) => {
  const ok = '['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH);
  t.doesNotThrow(() => parseJson(enc(ok)));
});

t.test('"__proto__" is plain data, not a prototype', async (t) => {
  const v = parseJson(enc('{"__proto__":{"polluted":true}}')) as Record<string, JsonValue>;
  t.equal(({} as Record<string, unknown>).polluted, undefined);
  t.ok(Object.hasOwn(v, '__proto__'));
  t.equal(canonicalString(v), '{"__proto__":{"polluted":true}}');
});

t.test('encoding refuses numbers canonical JSON cannot hold', async (t) => {
  t.throws(() => canonicalBytes({ a: 1.5 }), { code: 'METADATA_MALFORMED' });
  t.throws(() => canonicalBytes({ a: Number.NaN }), { code: 'METADATA_MALFORMED' });
});

// notary writes `signed` exactly as it canonically encoded it for signing (the envelope itself is in
// struct order, "signed" before "signatures"): re-encoding the parsed `signed` must give those bytes
t.test('the signed part of real notary metadata re-encodes byte for byte', async (t) => {
  const root = join(import.meta.dirname, '..', 'fixtures', 'trust');
  let files = 0;
  for (const repo of readdirSync(root)) {
    for (const f of ['root.json', 'timestamp.json', 'snapshot.json', 'targets.json', 'targets/releases.json']) {
      const bytes = readFileSync(join(root, repo, f));
      const signed = canonicalBytes((parseJson(bytes) as Record<string, JsonValue>).signed as JsonValue);
      t.same(bytes.subarray(0, 10).toString(), '{"signed":', `${repo}/${f} starts with signed`);
      t.same(bytes.subarray(10, 10 + signed.length), signed, `${repo}/${f}`);
      files++;
    }
  }
  t.ok(files >= 15);
});
