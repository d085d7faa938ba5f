// Which manifest digest a tag is signed to, decided as `docker pull` with content trust decides it
// (docker/cli image/trust.go getTrustedPullTargets over notary client GetTargetByName / WalkTargets):
//
//   1. walk the `targets/releases` subtree (path-restricted, breadth first); the first file that lists
//      the tag decides: accepted only if that file is `targets/releases` itself;
//   2. otherwise walk from `targets`, skipping `targets/releases`; the first hit is accepted only if it
//      is in `targets` itself.
// No other delegation ever signs a tag for Docker. The target must carry a sha256 hash.

import { DeserializationError, TagNotSignedError } from '../errors.js';
import { RELEASES, ROOT, SNAPSHOT, TARGETS, TIMESTAMP, type FileMeta } from './metadata.js';
import type { TrustedMetadataSet } from './trusted-set.js';

export const DOCKER_ROLES = [RELEASES, TARGETS] as const;

export interface RoleExpiry {
  readonly role: string;
  readonly expires: Date;
  readonly version: number;
  /** Until when the file is accepted: its expiry, plus the offline grace for timestamp/snapshot. */
  readonly validUntil: Date;
}

export interface SignedTarget {
  readonly gun: string;
  readonly tag: string;
  /** `sha256:<hex>` of the manifest bytes. */
  readonly digest: string;
  readonly length: number;
  /** `targets/releases` or `targets`. */
  readonly role: string;
  /** Key IDs whose signatures on that role's file verified. */
  readonly signers: readonly string[];
  /** The earliest time any file this answer depends on stops being accepted (grace included). */
  readonly expires: Date;
  /** Served under the offline grace: expired timestamp or snapshot metadata was accepted. */
  readonly stale: boolean;
  /** Every file the answer depends on, with its version and expiry. */
  readonly chain: readonly RoleExpiry[];
}

interface WalkRole {
  readonly name: string;
  readonly paths: readonly string[];
}

interface Hit {
  readonly role: WalkRole;
  readonly meta: FileMeta;
}

/**
 * Resolve `tag` in a set whose timestamp, snapshot, targets and delegations are loaded.
 * `roles` narrows the roles that may sign (policy); it never widens Docker's two.
 */
export function resolveSignedTag(set: TrustedMetadataSet, tag: string, roles: readonly string[] = DOCKER_ROLES): SignedTarget {
  const gun = set.gun;
  for (const walkRoot of DOCKER_ROLES) {
    const hit = walkTargets(set, tag, walkRoot, DOCKER_ROLES.filter((r) => r !== walkRoot));
    if (!hit) continue;
    if (hit.role.name !== walkRoot) {
      throw new TagNotSignedError(gun, tag, `it is signed only by delegation ${hit.role.name}, which Docker does not trust for tags`);
    }
    if (!roles.includes(walkRoot)) {
      throw new TagNotSignedError(gun, tag, `it is signed by ${walkRoot}, which the policy does not accept (accepted: ${roles.join(', ')})`);
    }
    return toSignedTarget(set, tag, walkRoot, hit.meta);
  }
  throw new TagNotSignedError(gun, tag, `no signature for the tag in ${DOCKER_ROLES.join(' or ')}`);
}

/** notary tuf.Repo.WalkTargets, returning the first role (in walk order) whose file lists `target`. */
function walkTargets(set: TrustedMetadataSet, target: string, rolePath: string, skip: readonly string[]): Hit | undefined {
  const queue: WalkRole[] = [{ name: TARGETS, paths: [''] }];
  while (queue.length > 0) {
    const role = queue.shift() as WalkRole;
    const file = set.targetsFiles.get(role.name);
    if (!file) continue; // not loaded (absent from the snapshot, or skipped as expired/unsigned)
    if (rolePath.startsWith(role.name + '/')) {
      queue.push(...childRoles(file.data.delegations, role));
      continue;
    }
    const inSubtree = role.name === rolePath || role.name.startsWith(rolePath + '/');
    if (!inSubtree || skip.includes(role.name) || !role.paths.some((p) => target.startsWith(p))) continue;
    const meta = file.data.targets.get(target);
    if (meta) return { role, meta };
    queue.push(...childRoles(file.data.delegations, role));
  }
  return undefined;
}

/** A child may only use paths under its parent's (notary RestrictDelegationPathPrefixes). */
function childRoles(delegations: readonly { name: string; paths: readonly string[] }[], parent: WalkRole): WalkRole[] {
  return delegations.map((d) => ({
    name: d.name,
    paths: d.paths.filter((p) => parent.paths.some((pp) => p.startsWith(pp))),
  }));
}

function toSignedTarget(set: TrustedMetadataSet, tag: string, role: string, meta: FileMeta): SignedTarget {
  const b64 = meta.hashes.get('sha256');
  const hash = b64 === undefined ? undefined : Buffer.from(b64, 'base64');
  if (!hash || hash.length !== 32) {
    throw new TagNotSignedError(set.gun, tag, `the signed target in ${role} has no valid sha256 hash`);
  }
  const chain = chainOf(set, role);
  const expires = new Date(Math.min(...chain.map((c) => c.validUntil.getTime())));
  return {
    stale: set.stale,
    gun: set.gun,
    tag,
    digest: `sha256:${hash.toString('hex')}`,
    length: meta.length,
    role,
    signers: set.targetsFiles.get(role)?.signers ?? [],
    expires,
    chain,
  };
}

/**
 * Until when the answers of the roles Docker reads are accepted (offline grace included): the
 * earliest limit over the chains of `targets` and, when loaded, `targets/releases`.
 */
export function acceptedUntil(set: TrustedMetadataSet, roles: readonly string[] = DOCKER_ROLES): Date {
  let until = Infinity;
  for (const role of roles) {
    if (!set.targetsFiles.has(role)) continue;
    for (const c of chainOf(set, role)) until = Math.min(until, c.validUntil.getTime());
  }
  if (until === Infinity) for (const c of chainOf(set, TARGETS)) until = Math.min(until, c.validUntil.getTime());
  return new Date(until);
}

/** The files an answer signed by `role` depends on: root, timestamp, snapshot, targets, delegation. */
export function chainOf(set: TrustedMetadataSet, role: string): RoleExpiry[] {
  const entry = (name: string, expires: Date, version: number): RoleExpiry => ({
    role: name,
    expires,
    version,
    validUntil: new Date(expires.getTime() + set.graceMs(name)),
  });
  const out: RoleExpiry[] = [entry(ROOT, set.root.root.expires, set.root.root.version)];
  const ts = set.timestamp;
  const sn = set.snapshot;
  if (ts) out.push(entry(TIMESTAMP, ts.data.expires, ts.data.version));
  if (sn) out.push(entry(SNAPSHOT, sn.data.expires, sn.data.version));
  for (const name of role === TARGETS ? [TARGETS] : [TARGETS, role]) {
    const f = set.targetsFiles.get(name);
    if (f) out.push(entry(name, f.data.expires, f.data.version));
  }
  return out;
}

/**
 * The digests each accepted role signs for digest pulls, under the same rules as tags: only the roles
 * the policy accepts (a subset of Docker's two), and only names inside the role's delegated `paths`
 * (notary RestrictDelegationPathPrefixes) — a delegation listing a digest under a name it may not sign
 * signs nothing. Entries without a valid sha256 sign nothing. Result: digest → the first role signing it.
 */
export function signedDigests(set: TrustedMetadataSet, roles: readonly string[] = DOCKER_ROLES): Map<string, string> {
  const out = new Map<string, string>();
  for (const role of roles) {
    const file = set.targetsFiles.get(role);
    const paths = effectivePaths(set, role);
    if (!file || paths.length === 0) continue;
    for (const name of file.data.targets.names()) {
      if (!paths.some((p) => name.startsWith(p))) continue;
      const digest = sha256DigestOf(file.data.targets, name);
      if (digest && !out.has(digest)) out.set(digest, role);
    }
  }
  return out;
}

/** The path prefixes `role` may sign under, narrowed at every delegation from `targets` down. */
function effectivePaths(set: TrustedMetadataSet, role: string): readonly string[] {
  let current: WalkRole = { name: TARGETS, paths: [''] };
  if (role === TARGETS) return current.paths;
  const parts = role.split('/');
  for (let i = 2; i <= parts.length; i++) {
    const name = parts.slice(0, i).join('/');
    const parent = set.targetsFiles.get(current.name);
    const child = parent ? childRoles(parent.data.delegations, current).find((d) => d.name === name) : undefined;
    if (!child) return [];
    current = child;
  }
  return current.paths;
}

/** `sha256:<hex>` of a target entry, or undefined when it has none (or a malformed one). */
function sha256DigestOf(targets: { get(name: string): FileMeta | undefined }, name: string): string | undefined {
  let b64: string | undefined;
  try {
    b64 = targets.get(name)?.hashes.get('sha256');
  } catch (err) {
    if (err instanceof DeserializationError) return undefined; // a malformed entry signs nothing
    throw err;
  }
  const hash = b64 === undefined ? undefined : Buffer.from(b64, 'base64');
  return hash?.length === 32 ? `sha256:${hash.toString('hex')}` : undefined;
}
