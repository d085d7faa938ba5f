// The registry reads signature discovery needs, answered by an upstream registry client: manifests by
// tag or digest (every manifest type accepted, bounded), blobs (bounded, redirects followed), and the
// OCI referrers API. A signature artifact that is missing is no signature; one that is too large is a
// malformed signature, never a refusal of the image for another reason.

import { ManifestMismatchError, SigstoreError, UpstreamNotFoundError } from '../errors.js';
import { MANIFEST_TYPES } from '../registry/media-types.js';
import type { RegistryUpstream } from '../registry/upstream.js';
import type { ArtifactFetcher } from './discovery.js';

const tooLarge = (what: string) => (limit: number) => new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `${what} is larger than ${limit} bytes`);

export function upstreamFetcher(upstream: RegistryUpstream): ArtifactFetcher {
  return {
    async manifest(repository, reference, maxBytes) {
      try {
        return (await upstream.fetchManifest(repository, reference, [...MANIFEST_TYPES], maxBytes)).body;
      } catch (err) {
        if (err instanceof UpstreamNotFoundError) return undefined;
        if (err instanceof ManifestMismatchError) throw new SigstoreError('SIGSTORE_SIGNATURE_MALFORMED', `signature manifest ${repository}:${reference}: ${err.message}`, { cause: err });
        throw err;
      }
    },
    blob: (repository, digest, maxBytes) => upstream.fetchBlob(repository, digest, maxBytes, tooLarge(`signature blob ${repository}@${digest}`)),
    referrers: (repository, digest, artifactType, maxBytes) => upstream.fetchReferrers(repository, digest, artifactType, maxBytes, tooLarge(`the referrers of ${repository}@${digest}`)),
  };
}
