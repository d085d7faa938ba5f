// The repository a signature names, compared with the repository being pulled, as containers/image
// does (docker/reference ParseNormalizedNamed; signature/policy_reference_match.go matchRepository and
// remapIdentity). Pure.

import { SigstoreError } from '../errors.js';

export type SignedIdentity = { readonly kind: 'matchRepository' } | { readonly kind: 'remap'; readonly prefix: string; readonly signedPrefix: string };

const DEFAULT_DOMAIN = 'docker.io';
// docker/reference normalize.go: the legacy Docker Hub name is the same registry
const LEGACY_DOMAINS = new Set(['index.docker.io']);
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** `name` with its registry made explicit (`docker.io/library/x` for `x`); undefined when malformed. */
export function normalizeRepository(name: string): string | undefined {
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    domain = first.toLowerCase();
    path = name.slice(slash + 1);
  } else {
    domain = DEFAULT_DOMAIN;
    path = slash < 0 ? `library/${name}` : name;
  }
  if (LEGACY_DOMAINS.has(domain)) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (path.length === 0 || !path.split('/').every((c) => COMPONENT.test(c))) return undefined;
  return `${domain}/${path}`;
}

/** The repository part of a full reference (`host/repo:tag`, `repo@sha256:…`); undefined when malformed. */
export function repositoryOfReference(ref: string): string | undefined {
  let name = ref;
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > lastSlash) name = name.slice(0, colon);
  return normalizeRepository(name);
}

/** Does the signed `docker-reference` name the repository `pulled` (`<upstream name>/<repository>`)? */
export function identityMatches(signedReference: string, pulled: string, identity: SignedIdentity): boolean {
  const signed = repositoryOfReference(signedReference);
  let expected = normalizeRepository(pulled);
  if (signed === undefined || expected === undefined) return false;
  if (identity.kind === 'remap') {
    // remapIdentity: the pulled name, with `prefix` replaced by `signedPrefix` (at a path boundary)
    const prefix = normalizePrefix(identity.prefix);
    if (expected === prefix || expected.startsWith(`${prefix}/`)) expected = normalizePrefix(identity.signedPrefix) + expected.slice(prefix.length);
  }
  return signed === expected;
}

function normalizePrefix(prefix: string): string {
  const p = prefix.replace(/\/+$/, '');
  const slash = p.indexOf('/');
  const host = slash < 0 ? p : p.slice(0, slash);
  return LEGACY_DOMAINS.has(host) ? DEFAULT_DOMAIN + p.slice(host.length) : p;
}

/** Refuse unless the signed reference names the pulled repository. */
export function checkIdentity(signedReference: string, pulled: string, identity: SignedIdentity): void {
  if (!identityMatches(signedReference, pulled, identity)) {
    throw new SigstoreError('SIGSTORE_REPOSITORY_MISMATCH', `the signature names ${JSON.stringify(signedReference)}, not the repository ${pulled}`);
  }
}
