// Signatures pass through for clients that verify themselves (`cosign verify`, skopeo's and podman's
// `sigstoreSigned` policy): the artifacts that hang off a manifest — cosign's `sha256-<hex>.sig` (and
// .att, .sbom) tags, the referrers tag-schema index `sha256-<hex>`, the OCI referrers API answer, and
// referrer manifests fetched by digest (their own `subject` names what they sign) — are served only
// when that subject digest is itself servable here (signed, or a child of a signed index), and only for
// repositories whose policy involves Sigstore. Their blobs stream like any other.

import { createHash } from 'node:crypto';
import { PolicyDeniedError } from '../errors.js';
import { declaredMediaType, MANIFEST_TYPES } from '../registry/media-types.js';
import { DIGEST } from '../registry/reference.js';
import type { ServedManifest } from './manifests.js';
import type { PullTarget } from './target.js';

const ARTIFACT_TAG = /^sha256-([0-9a-f]{64})(\.sig|\.att|\.sbom)?$/;

function involvesSigstore(p: PullTarget): boolean {
  return p.decision.action === 'verify' && (p.decision.trust ?? 'notary') !== 'notary';
}

export function isSignatureArtifactTag(p: PullTarget, tag: string): boolean {
  return involvesSigstore(p) && ARTIFACT_TAG.test(tag);
}

/** Whether a digest may be served for a target (ManifestService.servable). */
export type Servable = (p: PullTarget, digest: string) => Promise<boolean>;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class SignatureArtifacts {
  private servable: Servable | undefined;

  constructor(private readonly maxBytes: number) {}

  /** Bound once the manifest service exists (it decides what is servable). */
  bind(servable: Servable): void {
    this.servable = servable;
  }

  /** The artifact manifest under `tag` (`sha256-<hex>.sig`, `sha256-<hex>`), for a servable subject. */
  async byTag(p: PullTarget, tag: string): Promise<ServedManifest> {
    const subject = `sha256:${(ARTIFACT_TAG.exec(tag) as RegExpExecArray)[1] as string}`;
    await this.requireServable(p, subject);
    const fetched = await p.upstream.fetchManifest(p.repository, tag, [...MANIFEST_TYPES], this.maxBytes);
    return this.served(fetched.body, fetched.mediaType);
  }

  /** A referrer manifest by digest whose `subject` is servable; undefined when it is not one. */
  async byDigest(p: PullTarget, digest: string): Promise<ServedManifest | undefined> {
    if (!involvesSigstore(p)) return undefined;
    const fetched = await p.upstream.fetchManifest(p.repository, digest, [...MANIFEST_TYPES], this.maxBytes);
    if (sha256(fetched.body) !== digest) return undefined; // not the bytes asked for: nothing is served
    const subject = subjectOf(fetched.body);
    if (subject === undefined || subject === digest || !(await this.servable?.(p, subject))) return undefined;
    return this.served(fetched.body, fetched.mediaType);
  }

  /** The OCI referrers answer for `subject`; undefined when not offered (no Sigstore policy, or no API upstream). */
  async referrers(p: PullTarget, subject: string, artifactType: string | undefined): Promise<Buffer | undefined> {
    if (!involvesSigstore(p)) return undefined;
    await this.requireServable(p, subject);
    const tooLarge = () => new PolicyDeniedError('DIGEST_NOT_SIGNED', `the referrers of ${p.gun}@${subject} exceed ${this.maxBytes} bytes`);
    return p.upstream.fetchReferrers(p.repository, subject, artifactType, this.maxBytes, tooLarge);
  }

  private async requireServable(p: PullTarget, subject: string): Promise<void> {
    if (await this.servable?.(p, subject)) return;
    throw new PolicyDeniedError('DIGEST_NOT_SIGNED', `signature artifacts of ${p.gun}@${subject} are served only for a verified subject`);
  }

  private served(body: Buffer, contentType: string | undefined): ServedManifest {
    const mediaType = declaredMediaType(body) ?? contentType ?? 'application/vnd.oci.image.manifest.v1+json';
    return { digest: sha256(body), mediaType, body, role: 'signature-artifact', cache: 'miss' };
  }
}

/** The `subject` digest an OCI artifact manifest declares. */
function subjectOf(body: Buffer): string | undefined {
  try {
    const d = (JSON.parse(body.toString('utf8')) as { subject?: { digest?: unknown } }).subject?.digest;
    return typeof d === 'string' && DIGEST.test(d) ? d : undefined;
  } catch {
    return undefined; // verified bytes that are not JSON declare no subject
  }
}
