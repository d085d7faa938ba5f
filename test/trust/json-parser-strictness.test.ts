// The strict JSON parser (src/trust/json-parser.ts) against JSON.parse: the same answer on everything
// both accept, a DeserializationError (METADATA_MALFORMED) on everything JSON.parse refuses, and the
// documented strictness differences on the rest — table cases for every branch, and a seeded corpus
// of generated documents with random single-character damage.

import t, { type Test } from 'tap';
import { DeserializationError } from '../../src/errors.js';
import { canonicalBytes, MAX_DEPTH, parseJson, type JsonValue } from '../../src/trust/canonical.js';
import { compareUtf8 } from '../../src/trust/json-parser.js';
import { seeded } from '../helpers/seeded.js';

const enc = (s: string) => Buffer.from(s, 'utf8');
const parse = (s: string) => parseJson(enc(s), 'targets');

/** The canonical form the tests expect, written independently of src/: keys by UTF-8 bytes, escape only `\` and `"`. */
function referenceCanonical(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return '"' + v.replace(/[\\"]/g, (c) => '\\' + c) + '"';
  if (Array.isArray(v)) return '[' + v.map(referenceCanonical).join(',') + ']';
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort((a, b) => Buffer.compare(enc(a), enc(b)));
  return '{' + keys.map((k) => referenceCanonical(k) + ':' + referenceCanonical(obj[k])).join(',') + '}';
}

/** An assertion name that keeps the TAP line intact (a raw U+2028 would end it). */
function label(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/gu, (c) => `<U+${(c.codePointAt(0) as number).toString(16)}>`);
}

function refused(t: Test, text: string, name: string): void {
  t.throws(() => parse(text), { constructor: DeserializationError, code: 'METADATA_MALFORMED', role: 'targets' }, name);
}

function sameAsJsonParse(t: Test, text: string, name: string): void {
  const ours = parse(text);
  t.same(canonicalBytes(ours), enc(referenceCanonical(JSON.parse(text))), name);
}

t.test('compareUtf8 orders by UTF-8 bytes, which differs from UTF-16 only for surrogates against U+E000..U+FFFF', async (t) => {
  const cases: [string, string, number][] = [
    ['a', 'b', -1],
    ['b', 'a', 1],
    ['a', 'a', 0],
    ['ab', 'a', 1],
    ['\uff61', '\u{1F600}', -1],
    ['\u{1F600}', '\uff61', 1],
    ['\ue000', '\u{10000}', -1],
    ['\u{10000}', '\ue000', 1],
    ['\uffff', '\ud800\udc00', -1],
    ['\u{1F600}', '\u{1F600}', 0],
    ['é', '\u{1F600}', -1],
    ['z', '\uff61', -1],
  ];
  for (const [a, b, sign] of cases) t.equal(Math.sign(compareUtf8(a, b)), sign, `${label(a)} vs ${label(b)}`);
});

t.test('every escape decodes as JSON.parse decodes it', async (t) => {
  for (const esc of ['\\"', '\\\\', '\\/', '\\b', '\\f', '\\n', '\\r', '\\t', '\\u0041', '\\u00e9', '\\u00E9', '\\uAbCd', '\\u09af', '\\ud83d\\ude00']) {
    sameAsJsonParse(t, `["${esc}"]`, `${esc} alone`);
    sameAsJsonParse(t, `["x${esc}y${esc}"]`, `${esc} between characters`);
    sameAsJsonParse(t, `{"${esc}":0}`, `${esc} in a key`);
  }
  t.same(parse('["\\"","\\\\","\\\\\\\\"]'), ['"', '\\', '\\\\'], 'strings made only of escapes');
});

t.test('invalid escapes are refused', async (t) => {
  for (const bad of ['\\x41', '\\a', '\\U0041', '\\u12G4', '\\u12g4', '\\u12:4', '\\u12/4', '\\u12@4', '\\u12`4', '\\u12', '\\u', '\\']) {
    refused(t, `["${bad}"]`, bad);
  }
  refused(t, '["\\u12', 'a \\u escape cut off by the end of input');
  refused(t, '["\\', 'a backslash at the end of input');
});

t.test('raw control characters are refused in strings, on both the fast and the escaping path', async (t) => {
  for (const code of [0x00, 0x01, 0x09, 0x0a, 0x1f]) {
    const c = String.fromCharCode(code);
    refused(t, `["${c}"]`, `U+${code.toString(16)} alone`);
    refused(t, `["a${c}b"]`, `U+${code.toString(16)} inside`);
    refused(t, `["\\n${c}"]`, `U+${code.toString(16)} after an escape`);
  }
  for (const c of [' ', '\x7f', '\u2028', 'é']) {
    sameAsJsonParse(t, `["${c}"]`, `${label(c)} alone`);
    sameAsJsonParse(t, `["\\n${c}\\t"]`, `${label(c)} between escapes`);
  }
});

t.test('unterminated strings are refused', async (t) => {
  for (const text of ['"', '"abc', '["abc', '["a\\"', '{"a', '{"a":"b', '["\\n', '"\\n']) refused(t, text, text);
});

t.test('the four JSON whitespace characters are skipped, and only they', async (t) => {
  for (const ws of [' ', '\t', '\n', '\r']) {
    sameAsJsonParse(t, `${ws}{${ws}"a"${ws}:${ws}[${ws}1${ws},${ws}{${ws}}${ws},${ws}[${ws}]${ws}]${ws}}${ws}`, `${label(ws)} everywhere`);
  }
  for (const ws of ['\v', '\f', '\u00a0', '\u2028', '\ufeff']) refused(t, `[${ws}1]`, label(ws));
});

t.test('integers: every digit, sign and the exactly representable bounds', async (t) => {
  for (const n of ['0', '1', '9', '10', '19', '90', '123456789', '-1', '-9', '-10', '-190', '9007199254740991', '-9007199254740991']) {
    t.same(parse(`[${n}]`), [Number(n)], n);
    t.same(parse(n), Number(n), `${n} as the whole document`);
  }
  const bad = ['-0', '-00', '00', '01', '-01', '+1', '-', '-a', '--1', '1.0', '1.', '1e2', '1E2', '0e0', '0.5', '-0.5', '.5'];
  for (const n of [...bad, '9007199254740992', '-9007199254740992', '12345678901234567890']) {
    refused(t, `[${n}]`, n);
    refused(t, n, `${n} as the whole document`);
  }
});

t.test('literals must be spelled out', async (t) => {
  t.same(parse('[true,false,null]'), [true, false, null]);
  for (const bad of ['tru', 'trux', 'tx', 'fals', 'falsy', 'fx', 'nul', 'nil', 'nx', 'True', 'NULL']) refused(t, `[${bad}]`, bad);
});

t.test('structure errors in objects and arrays are refused', async (t) => {
  const bad = [
    '{xa":1}',
    '{a:1}',
    '{1:1}',
    '{"a" 1}',
    '{"a":1 "b":2}',
    '{"a":1,}',
    '{"a":1;"b":2}',
    '{"a":1]',
    '{,"a":1}',
    '{"a":}',
    '{"a"',
    '{',
    '[1 2]',
    '[1;2]',
    '[1}',
    '[,1]',
    '[',
    '[1',
    ']',
    '}',
    ',',
    ':',
    '{} x',
    '[]]',
    '"a" "b"',
  ];
  for (const text of bad) refused(t, text, text);
  t.same(parse('{}'), {});
  t.same(parse('[]'), []);
  t.same(parse('{"b":{},"a":[[],{}]}'), { a: [[], {}], b: {} });
});

t.test('duplicate keys are refused wherever they are', async (t) => {
  for (const text of ['{"a":1,"a":1}', '{"a":1,"b":2,"a":3}', '{"x":{"b":1,"b":1}}', '{"\\u0061":1,"a":2}']) refused(t, text, text);
});

t.test('nesting is limited to MAX_DEPTH for objects, arrays and their mix', async (t) => {
  const objects = (n: number) => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);
  const mixed = (n: number) => '[{"a":'.repeat(n / 2 - 1) + '[{}]' + '}]'.repeat(n / 2 - 1);
  t.doesNotThrow(() => parse(objects(MAX_DEPTH)));
  t.doesNotThrow(() => parse(mixed(MAX_DEPTH)));
  refused(t, objects(MAX_DEPTH + 1), 'objects one level too deep');
  refused(t, '[' + objects(MAX_DEPTH) + ']', 'objects inside one array, one level too deep');
  refused(t, mixed(MAX_DEPTH + 2), 'mixed, too deep');
});

const KEYS = ['gh', 'hg', 'ij', 'jé', 'éj', '\uff61k', '\u{1F600}', 'kk', 'l\\"', 'm\\u00e9'];
const STRINGS = ['', 'x', 'a b', 'é', '\u2028', '\u{1F600}', '\\n', '\\"q', '\\\\', '\\u0041', '\\/', 'tab\\t'];
const WS = ['', '', ' ', '\n', '\t', '\r\n'];

function generate(next: () => number, depth: number, compact: boolean): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)] as T;
  const ws = () => (compact ? '' : pick(WS));
  const kind = depth >= 4 ? Math.floor(next() * 4) : Math.floor(next() * 6);
  if (kind === 0) return String(Math.floor(next() * 2000000) - 1000000);
  if (kind === 1) return pick(['true', 'false', 'null']);
  if (kind <= 3) return `"${pick(STRINGS)}"`;
  if (kind === 4) {
    const items = Array.from({ length: Math.floor(next() * 4) }, () => ws() + generate(next, depth + 1, compact) + ws());
    return `[${items.join(',') || ws()}]`;
  }
  const keys = KEYS.filter(() => next() < 0.3);
  if (!compact && next() < 0.5) keys.reverse();
  const members = keys.map((k) => `${ws()}"${k}"${ws()}:${ws()}${generate(next, depth + 1, compact)}${ws()}`);
  return `{${members.join(',') || ws()}}`;
}

const DAMAGE = ['{', '}', '[', ']', '"', ':', ',', '\\', ' ', 'u', 'n', 't', '0', '1', '-', 'x', '\x01'];

function damage(text: string, next: () => number): string {
  const at = Math.floor(next() * (text.length + 1));
  const c = DAMAGE[Math.floor(next() * DAMAGE.length)] as string;
  const how = Math.floor(next() * 3);
  if (how === 0) return text.slice(0, at) + c + text.slice(at);
  if (how === 1) return text.slice(0, at) + text.slice(at + 1);
  return text.slice(0, at) + c + text.slice(at + 1);
}

/** A value JSON.parse accepted that the strict parser must refuse anyway: negative zero. */
function hasNegativeZero(v: unknown): boolean {
  if (Object.is(v, -0)) return true;
  return typeof v === 'object' && v !== null && Object.values(v).some(hasNegativeZero);
}

/** What the strict parser answers: the canonical bytes of its value, or the code of its error. */
function strictAnswer(text: string): string {
  try {
    return canonicalBytes(parse(text)).toString('hex');
  } catch (err) {
    if (!(err instanceof DeserializationError)) throw err;
    return `${err.code} ${err.role}`;
  }
}

function expectedAnswer(text: string): string {
  let expected: unknown;
  try {
    expected = JSON.parse(enc(text).toString('utf8'));
  } catch {
    return 'METADATA_MALFORMED targets';
  }
  if (hasNegativeZero(expected)) return 'METADATA_MALFORMED targets';
  return enc(referenceCanonical(expected)).toString('hex');
}

t.test('a seeded corpus, intact and damaged: the same answers as JSON.parse', async (t) => {
  const next = seeded(16);
  const wrong: string[] = [];
  let accepted = 0;
  const total = 2500;
  for (let i = 0; i < total; i++) {
    let text = '{"signed":' + generate(next, 1, next() < 0.5) + '}';
    for (let d = Math.floor(next() * 3); d > 0; d--) text = damage(text, next);
    const expected = expectedAnswer(text);
    if (strictAnswer(text) !== expected) wrong.push(label(text));
    if (!expected.startsWith('METADATA_MALFORMED')) accepted++;
  }
  t.same(wrong, [], 'documents answered differently');
  t.ok(accepted > total / 3 && accepted < (total * 2) / 3, `a balanced corpus: ${accepted} of ${total} accepted`);
});
