// Canonical JSON as notary (docker/go canonical/json) produces and verifies it.
//
// Notary signs `MarshalCanonical(signed)` and verifies by decoding `signed` into generic values and
// re-encoding it canonically (notary tuf/signed/verify.go). The encoding: object keys sorted by their
// UTF-8 bytes, no whitespace, numbers integers only, and strings that escape only `\` and `"` —
// every other character is written raw, control characters and U+2028/U+2029 included: in
// canonical mode docker/go's `encodeState.string` continues past every other byte before the
// HTML-safe and U+2028/U+2029 branches of encoding/json (docker/go d30aec9, the version notary
// 0.7 vendors).
//
// Parsing is json-parser.ts; it rejects what a notary signer never produces (see there).

import { DeserializationError } from '../errors.js';
import { compareUtf8, Parser, type JsonObject, type JsonValue } from './json-parser.js';

export { MAX_DEPTH, type JsonObject, type JsonValue } from './json-parser.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parse untrusted JSON bytes. Throws DeserializationError (with `role` for context) on anything odd. */
export function parseJson(bytes: Uint8Array, role?: string): JsonValue {
  return parseJsonDocument(bytes, role).value;
}

export interface JsonDocument {
  readonly value: JsonValue;
  /**
   * The canonical encoding of an object or array parsed from this document. When its source bytes
   * already are canonical (as notary writes `signed`), they are returned as they are — no re-encoding.
   */
  canonicalBytesOf(container: JsonObject | JsonValue[]): Buffer;
}

export function parseJsonDocument(bytes: Uint8Array, role?: string): JsonDocument {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (cause) {
    throw new DeserializationError(role, 'metadata is not valid UTF-8', { cause });
  }
  const parser = new Parser(text, role);
  const value = parser.parseDocument();
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ascii = text.length === buf.length;
  const byteOffset = (charOffset: number) => (ascii ? charOffset : Buffer.byteLength(text.slice(0, charOffset), 'utf8'));
  return {
    value,
    canonicalBytesOf(container) {
      const span = parser.spans.get(container);
      if (span?.canonical) return buf.subarray(byteOffset(span.start), byteOffset(span.end));
      return canonicalBytes(container);
    },
  };
}

/** Canonical encoding of a parsed value, as bytes (what notary signatures cover). */
export function canonicalBytes(value: JsonValue): Buffer {
  return Buffer.from(canonicalString(value), 'utf8');
}

export function canonicalString(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    // the parser admits safe integers only; values built in code must respect the same rule
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
      throw new DeserializationError(undefined, `cannot encode non-integer number ${value}`);
    }
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalString(value[i] as JsonValue);
    }
    return out + ']';
  }
  let out = '{';
  const keys = Object.keys(value).sort(compareUtf8);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) out += ',';
    out += quote(k) + ':' + canonicalString(value[k] as JsonValue);
  }
  return out + '}';
}

// docker/go canonical/json encodeState.string in canonical mode: only `\` and `"` are escaped
const NEEDS_ESCAPE = /["\\]/;
const ESCAPES = /["\\]/g;

function quote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  return '"' + s.replace(ESCAPES, (c) => '\\' + c) + '"';
}
