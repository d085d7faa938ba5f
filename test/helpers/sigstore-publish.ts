// Publishing what a real signer (@sigstore/sign) produced into a real registry, in the two layouts
// clients read: cosign's tag convention (a `.sig` manifest whose layer annotations carry the signature,
// certificate, Rekor entry and RFC 3161 timestamp — cosign v2's layout, built from the signer's own
// output) and a Sigstore bundle attached as an OCI referrer (cosign specs/BUNDLE_SPEC.md), listed in the
// `sha256-<hex>` tag-schema index for registries without the referrers API.

import { bundleToJSON, type Bundle } from '@sigstore/bundle';
import { getManifest, putBlob, putManifest, sigTag } from './sigstore.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const sha256Hex = (d: string) => d.slice('sha256:'.length);

const pem = (der: Uint8Array) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;

/** cosign v2's layer annotations from a message-signature bundle over the simple-signing payload. */
export function cosignAnnotations(b: Bundle, o: { rekor?: boolean; timestamps?: boolean } = {}): Record<string, string> {
  if (b.content.$case !== 'messageSignature') throw new Error('a message-signature bundle is needed');
  const out: Record<string, string> = { 'dev.cosignproject.cosign/signature': Buffer.from(b.content.messageSignature.signature).toString('base64') };
  const vm = b.verificationMaterial.content;
  const cert = vm.$case === 'certificate' ? vm.certificate.rawBytes : vm.$case === 'x509CertificateChain' ? vm.x509CertificateChain.certificates[0]?.rawBytes : undefined;
  if (cert) out['dev.sigstore.cosign/certificate'] = pem(cert);
  const entry = b.verificationMaterial.tlogEntries[0];
  if (entry && o.rekor !== false) {
    out['dev.sigstore.cosign/bundle'] = JSON.stringify({
      SignedEntryTimestamp: Buffer.from(entry.inclusionPromise?.signedEntryTimestamp ?? Buffer.alloc(0)).toString('base64'),
      Payload: {
        body: Buffer.from(entry.canonicalizedBody).toString('base64'),
        integratedTime: Number(entry.integratedTime),
        logIndex: Number(entry.logIndex),
        logID: Buffer.from(entry.logId?.keyId ?? Buffer.alloc(0)).toString('hex'),
      },
    });
  }
  const ts = b.verificationMaterial.timestampVerificationData?.rfc3161Timestamps[0];
  if (ts && o.timestamps !== false) out['dev.sigstore.cosign/rfc3161timestamp'] = JSON.stringify({ SignedRFC3161Timestamp: Buffer.from(ts.signedTimestamp).toString('base64') });
  return out;
}

/** Append one simple-signing layer to `sha256-<hex>.sig` (as each cosign/skopeo signing does). */
export async function publishCosignLayer(registry: string, repo: string, digest: string, payload: Buffer, annotations: Record<string, string>): Promise<void> {
  const existing = await getManifest(registry, repo, sigTag(digest));
  const layers: unknown[] = existing ? (JSON.parse(existing.toString()) as { layers: unknown[] }).layers : [];
  const layerDigest = await putBlob(registry, repo, payload);
  layers.push({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: layerDigest, size: payload.length, annotations });
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = await putBlob(registry, repo, config);
  const manifest = { schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers };
  await putManifest(registry, repo, sigTag(digest), Buffer.from(JSON.stringify(manifest)), OCI_MANIFEST);
}

export interface Subject {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

/** Push `bundle` as a referrer of `subject` and list it in the tag-schema index; returns the referrer's descriptor. */
export async function publishBundle(registry: string, repo: string, subject: Subject, bundle: Bundle | Buffer): Promise<{ digest: string; size: number }> {
  const bytes = Buffer.isBuffer(bundle) ? bundle : Buffer.from(JSON.stringify(bundleToJSON(bundle)));
  const layerDigest = await putBlob(registry, repo, bytes);
  const empty = Buffer.from('{}');
  const emptyDigest = await putBlob(registry, repo, empty);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: emptyDigest, size: 2 },
      layers: [{ mediaType: BUNDLE_TYPE, digest: layerDigest, size: bytes.length }],
      subject,
    }),
  );
  const digest = await putManifest(registry, repo, `sha256:${(await import('node:crypto')).createHash('sha256').update(manifest).digest('hex')}`, manifest, OCI_MANIFEST);
  const tag = `sha256-${sha256Hex(subject.digest)}`;
  const old = await getManifest(registry, repo, tag);
  const manifests: unknown[] = old ? (JSON.parse(old.toString()) as { manifests: unknown[] }).manifests : [];
  manifests.push({ mediaType: OCI_MANIFEST, digest, size: manifest.length, artifactType: BUNDLE_TYPE });
  await putManifest(registry, repo, tag, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests })), OCI_INDEX);
  return { digest, size: manifest.length };
}

/** cosign v3's image signature statement: the manifest digest as the subject, predicate cosign/sign/v1. */
export function signStatement(digest: string, name = ''): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name, digest: { sha256: sha256Hex(digest) } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
}

/** A simple-signing payload as cosign v2 writes it. */
export function simpleSigningPayload(reference: string, digest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': reference }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
      optional: null,
    }),
  );
}
