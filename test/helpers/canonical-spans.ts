// Whether canonicalBytesOf hands back a view of the input (the source bytes, no re-encoding) or fresh
// bytes: shared by the canonical-span and JSON-parser span tests.

import type { Test } from 'tap';
import { parseJsonDocument, type JsonObject } from '../../src/trust/canonical.js';

/** Bytes in an ArrayBuffer of their own, so a view of them can be told from a fresh encoding. */
export const own = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));

/** An assertion name that keeps the TAP line intact (a raw U+2028 would end it). */
export const label = (s: string) => JSON.stringify(s).replace(/[^\x20-\x7e]/gu, (c) => `<U+${(c.codePointAt(0) as number).toString(16)}>`);

/** canonicalBytesOf(`signed`) for a document, and whether it is a view of the input. */
export function signedOf(text: string): { bytes: string; view: boolean } {
  const input = own(text);
  const doc = parseJsonDocument(input);
  const out = doc.canonicalBytesOf((doc.value as JsonObject).signed as JsonObject);
  return { bytes: out.toString('utf8'), view: out.buffer === input.buffer };
}

export function isViewOfSource(t: Test, text: string, canonical: string): void {
  t.same(signedOf(text), { bytes: canonical, view: true }, `${label(text)} is used as it is`);
}

export function isReencoded(t: Test, text: string, canonical: string): void {
  t.same(signedOf(text), { bytes: canonical, view: false }, `${label(text)} is re-encoded`);
}
