// Canonical JSON as notary (docker/go canonical/json) produces and verifies it.
//
// Notary signs `MarshalCanonical(signed)` and verifies by decoding `signed` into generic values and
// re-encoding it canonically (notary tuf/signed/verify.go). The encoding: object keys sorted by their
// UTF-8 bytes, no whitespace, strings escape only `\` and `"` (plus U+2028/U+2029 as \u2028/\u2029),
// every other character written raw; numbers must be integers.
//
// The parser is deliberately stricter than encoding/json: it rejects what a notary signer never
// produces and what could make two decoders disagree — fractions and exponents, integers beyond
// ±(2^53-1) (notary's float64 decoding loses them, so their signatures cannot verify there either),
// duplicate keys, invalid UTF-8, and nesting deeper than MAX_DEPTH. Objects have no prototype, so
// attacker-chosen keys such as "__proto__" are plain data.

import { DeserializationError } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export const MAX_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parse untrusted JSON bytes. Throws DeserializationError (with `role` for context) on anything odd. */
export function parseJson(bytes: Uint8Array, role?: string): JsonValue {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new DeserializationError(role, 'metadata is not valid UTF-8', { cause });
  }
  return new Parser(text, role).parseDocument();
}

class Parser {
  private pos = 0;
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
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
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
    this.pos++; // {
    const obj = Object.create(null) as JsonObject;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return obj;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('expected a string key');
      const key = this.parseString();
      // encoding/json keeps the last duplicate; refusing is safer and no notary signer emits them
      if (Object.hasOwn(obj, key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
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
        return obj;
      }
      this.fail("expected ',' or '}'");
    }
  }

  private parseArray(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    this.pos++; // [
    const arr: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
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
    let p = this.pos + 1; // after the opening quote
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

// ---- encoding ----------------------------------------------------------------------------

/** Canonical encoding of a parsed value, as bytes (what notary signatures cover). */
export function canonicalBytes(value: JsonValue): Buffer {
  return Buffer.from(canonicalString(value), 'utf8');
}

export function canonicalString(value: JsonValue): string {
  const parts: string[] = [];
  encode(value, parts);
  return parts.join('');
}

function encode(value: JsonValue, out: string[]): void {
  if (value === null) {
    out.push('null');
  } else if (typeof value === 'string') {
    out.push(quote(value));
  } else if (typeof value === 'number') {
    // the parser admits safe integers only; values built in code must respect the same rule
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
      throw new DeserializationError(undefined, `cannot encode non-integer number ${value}`);
    }
    out.push(String(value));
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      encode(value[i] as JsonValue, out);
    }
    out.push(']');
  } else {
    out.push('{');
    const keys = sortedKeys(value);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      if (i > 0) out.push(',');
      out.push(quote(k), ':');
      encode(value[k] as JsonValue, out);
    }
    out.push('}');
  }
}

// Only `\`, `"`, U+2028 and U+2029 are escaped (docker/go canonical/json encodeState.string).
const NEEDS_ESCAPE = /["\\\u2028\u2029]/;
const ESCAPES = /["\\\u2028\u2029]/g;

function quote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  return (
    '"' +
    s.replace(ESCAPES, (c) => (c === '\u2028' ? '\\u2028' : c === '\u2029' ? '\\u2029' : '\\' + c)) +
    '"'
  );
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Keys in the order Go sorts map keys: by UTF-8 bytes (not by UTF-16 code units). */
function sortedKeys(obj: JsonObject): string[] {
  const keys = Object.keys(obj);
  if (keys.length < 2) return keys;
  if (!keys.some((k) => NON_ASCII.test(k))) return keys.sort();
  return keys.sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}
