// A strict JSON parser for untrusted trust metadata, recording which containers are already in
// canonical form (canonical.ts then re-uses their source bytes instead of re-encoding them).
//
// Deliberately stricter than encoding/json: it rejects what a notary signer never produces and what
// could make two decoders disagree — fractions and exponents, integers beyond ±(2^53-1) (notary's
// float64 decoding loses them, so their signatures cannot verify there either), duplicate keys,
// raw control characters, and nesting deeper than MAX_DEPTH. Objects have no prototype, so
// attacker-chosen keys such as "__proto__" are plain data.

import { DeserializationError } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export const MAX_DEPTH = 32;

export interface Span {
  readonly start: number;
  readonly end: number;
  readonly canonical: boolean;
}

// in a string, these need the careful path: escapes and (refused) raw control characters
const STRING_SPECIAL = /[\\\x00-\x1f]/;

// Spans are kept only near the top (document → envelope → `signed`): that is all callers ask for,
// and recording every container would cost more than the parse itself.
const SPAN_DEPTH = 2;

export class Parser {
  private pos = 0;
  /** Counts non-canonical features seen so far; a container is canonical if it did not move. */
  private dirty = 0;
  readonly spans = new WeakMap<object, Span>();

  constructor(
    private readonly text: string,
    private readonly role: string | undefined,
  ) {}

  parseDocument(): JsonValue {
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail('unexpected data after the JSON value');
    return value;
  }

  private fail(what: string): never {
    throw new DeserializationError(this.role, `malformed JSON at offset ${this.pos}: ${what}`);
  }

  private skipWhitespace(): void {
    const t = this.text;
    const start = this.pos;
    let p = start;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    if (p !== start) this.dirty++;
    this.pos = p;
  }

  private parseValue(depth: number): JsonValue {
    this.skipWhitespace();
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.parseObject(depth + 1);
      case 0x5b /* [ */:
        return this.parseArray(depth + 1);
      case 0x22 /* " */:
        return this.parseString();
      case 0x74 /* t */:
        return this.parseLiteral('true', true);
      case 0x66 /* f */:
        return this.parseLiteral('false', false);
      case 0x6e /* n */:
        return this.parseLiteral('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseInteger();
        return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  }

  private parseLiteral<T extends boolean | null>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('invalid literal');
    this.pos += word.length;
    return value;
  }

  private parseObject(depth: number): JsonObject {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const start = this.pos;
    const dirtyAtStart = this.dirty;
    this.pos++; // {
    const obj = Object.create(null) as JsonObject;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      if (depth <= SPAN_DEPTH) this.spans.set(obj, { start, end: this.pos, canonical: this.dirty === dirtyAtStart });
      return obj;
    }
    let previous: string | undefined;
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a string key');
      const key = this.parseString();
      // encoding/json keeps the last duplicate; refusing is safer and no notary signer emits them
      if (Object.hasOwn(obj, key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      if (previous !== undefined && compareUtf8(previous, key) >= 0) this.dirty++;
      previous = key;
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a) this.fail("expected ':'");
      this.pos++;
      obj[key] = this.parseValue(depth);
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        if (depth <= SPAN_DEPTH) this.spans.set(obj, { start, end: this.pos, canonical: this.dirty === dirtyAtStart });
        return obj;
      }
      this.fail("expected ',' or '}'");
    }
  }

  private parseArray(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const start = this.pos;
    const dirtyAtStart = this.dirty;
    this.pos++; // [
    const arr: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      if (depth <= SPAN_DEPTH) this.spans.set(arr, { start, end: this.pos, canonical: this.dirty === dirtyAtStart });
      return arr;
    }
    for (;;) {
      arr.push(this.parseValue(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        if (depth <= SPAN_DEPTH) this.spans.set(arr, { start, end: this.pos, canonical: this.dirty === dirtyAtStart });
        return arr;
      }
      this.fail("expected ',' or ']'");
    }
  }

  private parseInteger(): number {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === 0x2d) p++;
    const first = t.charCodeAt(p);
    if (first === 0x30) {
      p++;
    } else if (first >= 0x31 && first <= 0x39) {
      while (p < t.length && t.charCodeAt(p) >= 0x30 && t.charCodeAt(p) <= 0x39) p++;
    } else {
      this.pos = p;
      this.fail('invalid number');
    }
    const next = t.charCodeAt(p);
    if (next === 0x2e || next === 0x65 || next === 0x45) {
      this.pos = start;
      this.fail('non-integer numbers are not allowed in canonical JSON');
    }
    const literal = t.slice(start, p);
    if (literal === '-0') {
      this.pos = start;
      this.fail('negative zero is not canonical');
    }
    const value = Number(literal);
    if (!Number.isSafeInteger(value)) {
      this.pos = start;
      this.fail('integer out of the exactly representable range');
    }
    this.pos = p;
    return value;
  }

  private parseString(): string {
    const t = this.text;
    const from = this.pos + 1; // after the opening quote
    const close = t.indexOf('"', from);
    if (close < 0) {
      this.pos = t.length;
      this.fail('unterminated string');
    }
    const simple = t.slice(from, close);
    if (!STRING_SPECIAL.test(simple)) {
      this.pos = close + 1;
      return simple;
    }
    return this.parseStringSlowly(from);
  }

  private parseStringSlowly(from: number): string {
    const t = this.text;
    let p = from;
    let out = '';
    let chunkStart = p;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        out += t.slice(chunkStart, p);
        this.pos = p + 1;
        return out;
      }
      if (c === 0x5c) {
        out += t.slice(chunkStart, p);
        p = this.parseEscape(p, (s) => (out += s));
        chunkStart = p;
        continue;
      }
      if (Number.isNaN(c)) {
        this.pos = p;
        this.fail('unterminated string');
      }
      if (c < 0x20) {
        this.pos = p;
        this.fail('control character in string');
      }
      p++;
    }
  }

  /** Decode one escape starting at the backslash at `p`; return the position after it. */
  private parseEscape(p: number, emit: (s: string) => void): number {
    const e = this.text.charCodeAt(p + 1);
    // only \" and \\ survive canonical encoding unchanged; \u2028 too is written raw there
    if (e !== 0x22 && e !== 0x5c) this.dirty++;
    switch (e) {
      case 0x22:
        emit('"');
        return p + 2;
      case 0x5c:
        emit('\\');
        return p + 2;
      case 0x2f:
        emit('/');
        return p + 2;
      case 0x62:
        emit('\b');
        return p + 2;
      case 0x66:
        emit('\f');
        return p + 2;
      case 0x6e:
        emit('\n');
        return p + 2;
      case 0x72:
        emit('\r');
        return p + 2;
      case 0x74:
        emit('\t');
        return p + 2;
      case 0x75: {
        const hex = this.text.slice(p + 2, p + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          this.pos = p;
          this.fail('invalid \\u escape');
        }
        // Lone surrogates survive here and are encoded as U+FFFD by the UTF-8 encoder, exactly as
        // encoding/json decodes them (unicode.ReplacementChar).
        emit(String.fromCharCode(parseInt(hex, 16)));
        return p + 6;
      }
      default:
        this.pos = p;
        return this.fail('invalid escape');
    }
  }
}

const SURROGATE_OR_ABOVE = /[\ud800-\uffff]/;

/** Go orders map keys by UTF-8 bytes; UTF-16 order differs only once surrogates are involved. */
export function compareUtf8(a: string, b: string): number {
  if (!SURROGATE_OR_ABOVE.test(a) && !SURROGATE_OR_ABOVE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
