// The two signature formats in registries today, turned into one shape the verifier checks:
//   cosign's tag convention: a layer of `sha256-<hex>.sig` = a simple-signing payload, annotated with
//     dev.cosignproject.cosign/signature (base64), optionally dev.sigstore.cosign/certificate (PEM),
//     dev.sigstore.cosign/bundle (a Rekor entry with its signed entry timestamp) and
//     dev.sigstore.cosign/rfc3161timestamp (cosign pkg/oci/static, pkg/cosign/bundle);
//   a Sigstore bundle (application/vnd.dev.sigstore.bundle.v0.3+json, cosign v3): a DSSE envelope around
//     an in-toto Statement, with its certificate or key hint, tlog entries and timestamps.
// Pure: bytes in, a Candidate or SIGSTORE_SIGNATURE_MALFORMED out.

import { createHash } from 'node:crypto';
import { bundleFromJSON, isBundleWithDsseEnvelope, type TransparencyLogEntry } from '@sigstore/bundle';
import { RFC3161Timestamp, X509Certificate } from '@sigstore/core';
import { toSignedEntity, type SignedEntity } from '@sigstore/verify';
import { SigstoreError } from '../errors.js';
import { verifyWithKeyObject } from './keys.js';
import { IN_TOTO_PAYLOAD_TYPE, type PayloadKind } from './payload.js';

export const ANNOTATION_SIGNATURE = 'dev.cosignproject.cosign/signature';
export const ANNOTATION_CERTIFICATE = 'dev.sigstore.cosign/certificate';
export const ANNOTATION_REKOR_BUNDLE = 'dev.sigstore.cosign/bundle';
export const ANNOTATION_RFC3161 = 'dev.sigstore.cosign/rfc3161timestamp';
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const BUNDLE_MEDIA_TYPE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

export type SignatureFormat = 'cosign-tag' | 'bundle';

/** One signature found for a manifest, not yet verified. */
export interface Candidate {
  readonly format: SignatureFormat;
  /** The exact signed bytes (a simple-signing payload, or the DSSE payload). */
  readonly payload: Buffer;
  readonly payloadKind: PayloadKind;
  /** What @sigstore/verify checks: signature content, key or certificate, tlog entries, timestamps. */
  readonly entity: SignedEntity;
  /** Where it was found, for messages (`sha256-….sig` layer 2, a referrer digest). */
  readonly origin: string;
}

function malformed(origin: string, what: string, cause?: unknown): never {
  throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${origin}: ${what}`, { cause });
}

/** A raw signature over the payload bytes (the tag convention's signature content). */
class PayloadSignature {
  constructor(
    readonly signature: Buffer,
    private readonly payload: Buffer,
  ) {}
  compareSignature(signature: Buffer): boolean {
    return this.signature.equals(signature);
  }
  compareDigest(digest: Buffer): boolean {
    return createHash('sha256').update(this.payload).digest().equals(digest);
  }
  verifySignature(key: Parameters<typeof verifyWithKeyObject>[0]): boolean {
    return verifyWithKeyObject(key, this.payload, this.signature);
  }
}

/** A simple-signing layer of a cosign `.sig` manifest, with the payload blob it points to. */
export function fromCosignLayer(annotations: Readonly<Record<string, string>>, payload: Buffer, origin: string): Candidate {
  const sig = annotations[ANNOTATION_SIGNATURE];
  if (sig === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(sig)) malformed(origin, `no base64 ${ANNOTATION_SIGNATURE} annotation`);
  const signature = Buffer.from(sig, 'base64');
  const tlogEntries = annotations[ANNOTATION_REKOR_BUNDLE] !== undefined ? [rekorBundleEntry(annotations[ANNOTATION_REKOR_BUNDLE], origin)] : [];
  const certPem = annotations[ANNOTATION_CERTIFICATE];
  let key: SignedEntity['key'] = { $case: 'public-key', hint: '' };
  if (certPem !== undefined && certPem !== '') {
    try {
      key = { $case: 'certificate', certificate: X509Certificate.parse(certPem) };
    } catch (cause) {
      malformed(origin, 'the certificate annotation is not a PEM certificate', cause);
    }
  }
  const timestamps: SignedEntity['timestamps'] = tlogEntries
    .filter((e) => e.inclusionPromise !== undefined && e.integratedTime !== '0')
    .map((tlogEntry) => ({ $case: 'transparency-log' as const, tlogEntry }));
  const rfc3161 = annotations[ANNOTATION_RFC3161];
  if (rfc3161 !== undefined) timestamps.push({ $case: 'timestamp-authority', timestamp: rfc3161Timestamp(rfc3161, origin) });
  const entity: SignedEntity = { signature: new PayloadSignature(signature, payload), key, tlogEntries, timestamps };
  return { format: 'cosign-tag', payload, payloadKind: 'simple-signing', entity, origin };
}

/** cosign's Rekor bundle annotation: {SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}. */
function rekorBundleEntry(json: string, origin: string): TransparencyLogEntry {
  let doc: { SignedEntryTimestamp?: unknown; Payload?: { body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown } };
  try {
    doc = JSON.parse(json) as typeof doc;
  } catch (cause) {
    return malformed(origin, `${ANNOTATION_REKOR_BUNDLE} is not JSON`, cause);
  }
  const p = doc.Payload;
  const ok =
    typeof doc.SignedEntryTimestamp === 'string' &&
    typeof p === 'object' && p !== null &&
    typeof p.body === 'string' &&
    Number.isSafeInteger(p.integratedTime) &&
    Number.isSafeInteger(p.logIndex) &&
    typeof p.logID === 'string' && /^[0-9a-f]{64}$/.test(p.logID);
  if (!ok) malformed(origin, `${ANNOTATION_REKOR_BUNDLE} lacks its entry fields`);
  const body = Buffer.from(p.body as string, 'base64');
  let kind: { kind?: unknown; apiVersion?: unknown };
  try {
    kind = JSON.parse(body.toString('utf8')) as typeof kind;
  } catch (cause) {
    return malformed(origin, 'the Rekor entry body is not JSON', cause);
  }
  if (typeof kind.kind !== 'string' || typeof kind.apiVersion !== 'string') malformed(origin, 'the Rekor entry body has no kind');
  return {
    logIndex: String(p.logIndex),
    logId: { keyId: Buffer.from(p.logID as string, 'hex') },
    kindVersion: { kind: kind.kind, version: kind.apiVersion },
    integratedTime: String(p.integratedTime),
    inclusionPromise: { signedEntryTimestamp: Buffer.from(doc.SignedEntryTimestamp as string, 'base64') },
    inclusionProof: undefined,
    canonicalizedBody: body,
  };
}

function rfc3161Timestamp(json: string, origin: string): RFC3161Timestamp {
  try {
    const doc = JSON.parse(json) as { SignedRFC3161Timestamp?: unknown };
    if (typeof doc.SignedRFC3161Timestamp !== 'string') throw new TypeError('no SignedRFC3161Timestamp');
    return RFC3161Timestamp.parse(Buffer.from(doc.SignedRFC3161Timestamp, 'base64'));
  } catch (cause) {
    // the ASN.1 parser throws assorted errors on attacker-controlled bytes: all mean "malformed"
    return malformed(origin, `${ANNOTATION_RFC3161} is not an RFC 3161 timestamp`, cause);
  }
}

/** A Sigstore bundle blob: only DSSE envelopes around in-toto statements sign an image (cosign v3). */
export function fromBundle(bytes: Buffer, origin: string): Candidate {
  let bundle;
  try {
    bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')));
  } catch (cause) {
    // bundleFromJSON validates with its own error types and TypeErrors on attacker-controlled JSON
    return malformed(origin, 'not a valid Sigstore bundle', cause);
  }
  if (!isBundleWithDsseEnvelope(bundle)) return malformed(origin, 'a message-signature bundle does not say which image it signs');
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) malformed(origin, `DSSE payload type ${envelope.payloadType} is not an in-toto statement`);
  let entity: SignedEntity;
  try {
    entity = toSignedEntity(bundle);
  } catch (cause) {
    // certificate / timestamp parsing of attacker-controlled bytes
    return malformed(origin, 'the bundle verification material does not parse', cause);
  }
  return { format: 'bundle', payload: Buffer.from(envelope.payload), payloadKind: 'in-toto', entity, origin };
}
