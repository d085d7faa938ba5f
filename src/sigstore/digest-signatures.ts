// A digest's Sigstore signatures, found and verified as a pull verifies them (cosign pkg/cosign/verify.go
// VerifyImageSignatures: fetch → verify → check the payload): the tag convention first (one fetch in the
// common case), bundles only when it does not verify. Whoever answers the registry reads decides where
// the signatures come from — the upstream on the pull path and in `trust export`, a trust bundle in
// `trust import` — so every one of them is judged by the same code.

import type { SigstorePolicy } from '../config/sigstore.js';
import { SigstoreError } from '../errors.js';
import { SignatureDiscovery, type ArtifactFetcher } from './discovery.js';
import { verifyAny, type VerifiedSignature } from './verify.js';

export interface SignedDigest {
  /** The repository within the registry the fetcher reads. */
  readonly repository: string;
  /** `<upstream name>/<repository>`: the name a signature must name. */
  readonly gun: string;
  readonly digest: string;
}

export async function verifyDigestSignatures(fetcher: ArtifactFetcher, subject: SignedDigest, policy: SigstorePolicy): Promise<VerifiedSignature[]> {
  const discovery = new SignatureDiscovery(fetcher);
  const expected = { digest: subject.digest, pulled: subject.gun, signedIdentity: policy.signedIdentity };
  const auth = { keys: policy.keys, identities: policy.identities, trust: policy.trust, tlog: policy.tlog };
  const tagged = await discovery.cosignTag(subject.repository, subject.digest);
  try {
    return verifyAny(tagged.candidates, tagged.malformed, auth, expected);
  } catch (err) {
    if (!(err instanceof SigstoreError)) throw err;
  }
  const bundles = await discovery.bundles(subject.repository, subject.digest);
  return verifyAny([...tagged.candidates, ...bundles.candidates], [...tagged.malformed, ...bundles.malformed], auth, expected);
}
