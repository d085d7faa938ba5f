// Image references and repository names, by the distribution reference grammar
// (distribution/reference: regexp.go, normalize.go).

import { ConfigError, RequestInvalidError } from '../errors.js';

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
export const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;

/** A repository path below a registry: `library/alpine`. */
export const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
export const TAG = /^[\w][\w.-]{0,127}$/;
export const DIGEST = /^sha256:[0-9a-f]{64}$/;
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const MAX_NAME_LENGTH = 255;

export const DOCKER_HUB = 'docker.io';
const LEGACY_HUB = 'index.docker.io';

export interface ImageReference {
  /** Registry host as clients name it (`docker.io`, `registry.example.com:5000`). */
  readonly registry: string;
  /** Path within the registry (`library/alpine`). */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

// A registry host as GUNs and upstream names spell it: lower-case DNS labels joined by single dots,
// an optional :port (the distribution domain grammar, lower-cased). No empty, `.` or `..` component.
const LABEL = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
const REGISTRY_HOST = new RegExp(`^${LABEL}(?:\\.${LABEL})*(?::\\d{1,5})?$`);

export function isValidRegistryHost(host: string): boolean {
  return host.length <= MAX_NAME_LENGTH && REGISTRY_HOST.test(host);
}

/**
 * A GUN is a repository name qualified by its registry host: `<host>/<repository>`. The one check
 * every GUN passes before it becomes part of a URL, a store key or a file path.
 */
export function isValidGun(gun: string): boolean {
  const slash = gun.indexOf('/');
  return gun.length <= MAX_NAME_LENGTH && slash > 0 && isValidRegistryHost(gun.slice(0, slash)) && REPOSITORY.test(gun.slice(slash + 1));
}

export function isValidRepository(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && REPOSITORY.test(name);
}

/** The GUN Notary files trust data under: the fully qualified repository name. */
export function gunOf(ref: Pick<ImageReference, 'registry' | 'repository'>): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * Parse a reference the way `docker pull` normalises it: `alpine` → `docker.io/library/alpine:latest`.
 * The first component is a registry when it has a `.` or `:`, or is `localhost`.
 */
export function parseImageReference(input: string): ImageReference {
  const bad = (why: string) => new ConfigError(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad('digest must be sha256:<64 lower-case hex>');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad('invalid tag');
  }
  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    if (!DOMAIN_RE.test(first)) throw bad('invalid registry host');
    registry = first === LEGACY_HUB ? DOCKER_HUB : first;
    repository = rest.slice(slash + 1);
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (!isValidRepository(repository)) throw bad('invalid repository name');
  if (gunOf({ registry, repository }).length > MAX_NAME_LENGTH) throw bad('name too long');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

const ANY_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A manifest reference must be a tag or a sha256 digest (what Notary signs); a blob's a digest. */
export function checkReference(kind: 'manifests' | 'blobs', ref: string): void {
  if (DIGEST.test(ref)) return;
  if (ANY_DIGEST.test(ref)) throw new RequestInvalidError('DIGEST_INVALID', `${ref}: only sha256 digests in lower-case hex are accepted`);
  if (kind === 'blobs') throw new RequestInvalidError('DIGEST_INVALID', `${ref} is not a digest`);
  if (!TAG.test(ref)) throw new RequestInvalidError('TAG_INVALID', `${JSON.stringify(ref)} is not a valid tag`);
}
