// The Sigstore trusted root (trusted_root.json: Fulcio CAs, Rekor keys, CT logs, TSAs, each with its
// validity window), as the operator configures it — from the Sigstore TUF repository, or a private
// deployment's. Parsed once at configuration time with @sigstore/protobuf-specs and turned into
// @sigstore/verify's trust material.

import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { ConfigError } from '../errors.js';

const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.trustedroot(\.v0\.\d+)?\+json/;

export function parseTrustedRoot(text: string, source: string): TrustMaterial {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`${source}: not JSON`, { cause });
  }
  const mediaType = (doc as { mediaType?: unknown } | null)?.mediaType;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE.test(mediaType)) throw new ConfigError(`${source}: not a Sigstore trusted root (mediaType ${JSON.stringify(mediaType)})`);
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(doc));
  } catch (cause) {
    // the protobuf decoder and the key/certificate parsers throw plain errors on bad input
    throw new ConfigError(`${source}: the trusted root does not parse: ${(cause as Error).message}`, { cause });
  }
  if (material.certificateAuthorities.length === 0 && material.tlogs.length === 0) throw new ConfigError(`${source}: names no certificate authority and no transparency log`);
  return material;
}
