// The root step of the update workflow (notary client.go bootstrapClient + tufclient.go updateRoot):
//
//   stored root     re-validated; it is how trust is pinned, so a stored root is never replaced by a
//                   first contact. One that no longer validates (its certificates expired, a pin added
//                   since does not match it) is only the anchor of a rotation: Notary's root must be
//                   signed by its keys at its threshold and by its own keys at the new threshold —
//                   otherwise the repository is refused (notary fails hard on such a cached root).
//   no stored root  root.json from Notary, under the trust pinning (or TOFU)
//   rotation        the newest root, else every version in between; when the timestamp or snapshot
//                   keys rotated, their rollback floors are dropped with the new root (TUF 5.3.11)

import {
  BadVersionError,
  CertificateError,
  NoTrustDataError,
  RepositoryError,
  RootRotationError,
  TrustPinningError,
} from '../errors.js';
import type { TrustStore } from '../cache/trust-store.js';
import { parseEnvelope, parseRoot, ROOT, rotatedRoles, SNAPSHOT, TIMESTAMP, TrustedMetadataSet, type TrustContext } from '../trust/index.js';
import type { MetadataFetcher } from './remote.js';

export interface RootDeps {
  readonly fetcher: MetadataFetcher;
  readonly store: TrustStore;
  readonly rootMaxBytes: number;
  readonly maxRootRotations: number;
  readonly onEvent?: (e: RootEvent) => void;
}

export type RootEvent =
  | { type: 'stored-root-rejected'; gun: string; cause: RepositoryError }
  | { type: 'root-rotated'; gun: string; from: number; to: number };

/** The repository's trusted root, from the store or (first contact only) from Notary. */
export async function loadTrustedRoot(deps: RootDeps, ctx: TrustContext, floors: Map<string, number>): Promise<TrustedMetadataSet> {
  const stored = await deps.store.getMetadata(ctx.gun, ROOT);
  if (!stored) return firstContact(deps, ctx, floors);
  let set: TrustedMetadataSet;
  try {
    set = TrustedMetadataSet.fromRoot(stored, ctx, true);
  } catch (err) {
    if (!(err instanceof CertificateError || err instanceof TrustPinningError)) throw err;
    return rotateFromStale(deps, ctx, stored, err, floors);
  }
  // the store records that this process trusts it (a no-op where it already does)
  await deps.store.putMetadata(ctx.gun, ROOT, stored, set.root.root.version);
  return set;
}

async function firstContact(deps: RootDeps, ctx: TrustContext, floors: Map<string, number>): Promise<TrustedMetadataSet> {
  const raw = await deps.fetcher.fetch(ctx.gun, ROOT, deps.rootMaxBytes);
  if (raw === undefined) throw new NoTrustDataError(ctx.gun);
  const set = TrustedMetadataSet.fromRoot(raw, ctx, false);
  const floor = floors.get(ROOT) ?? 0;
  if (set.root.root.version < floor) throw new BadVersionError(ROOT, set.root.root.version, floor);
  await deps.store.putMetadata(ctx.gun, ROOT, raw, set.root.root.version);
  return set;
}

/** A stored root that no longer validates: rotate away from it, or refuse. Never a first contact. */
async function rotateFromStale(
  deps: RootDeps,
  ctx: TrustContext,
  stored: Buffer,
  fault: CertificateError | TrustPinningError,
  floors: Map<string, number>,
): Promise<TrustedMetadataSet> {
  deps.onEvent?.({ type: 'stored-root-rejected', gun: ctx.gun, cause: fault });
  let set: TrustedMetadataSet;
  let rotated: boolean;
  try {
    set = TrustedMetadataSet.fromTrustedAnchor(stored, ctx);
    rotated = await rotateRoot(deps, set, floors);
  } catch (err) {
    if (!(err instanceof RepositoryError)) throw err;
    throw refuseStaleRoot(ctx.gun, fault, err);
  }
  if (!rotated) throw refuseStaleRoot(ctx.gun, fault);
  return set;
}

function refuseStaleRoot(gun: string, fault: CertificateError | TrustPinningError, cause?: RepositoryError): RepositoryError {
  const why = fault.message.replace(/^root: /, '');
  const rotation = cause
    ? `Notary serves no root signed by its keys (${cause.message.replace(/^root: /, '')})`
    : 'Notary serves no newer root';
  if (fault instanceof TrustPinningError) {
    return new TrustPinningError(
      ROOT,
      `the root trusted for ${gun} does not satisfy the trust pinning: ${why}; ${rotation}. Trust is not started over: fix the pin, or the repository owner rotates to the pinned root key (notary key rotate ${gun} root --key …)`,
      { cause: cause ?? fault },
    );
  }
  return new CertificateError(
    ROOT,
    `the root certificate trusted for ${gun} is no longer valid: ${why}; ${rotation}. Trust is not started over: the repository owner must rotate the root key (notary key rotate ${gun} root), which publishes a new root signed by the old key and the new one`,
    { cause: cause ?? fault, ...(fault.certificate ? { certificate: fault.certificate } : {}) },
  );
}

/**
 * Move `set` to the newest root Notary serves. True if the root changed. As notary updateRoot: try
 * the newest directly; if the trusted keys did not sign it, walk every version in between.
 */
export async function rotateRoot(deps: RootDeps, set: TrustedMetadataSet, floors: Map<string, number>): Promise<boolean> {
  const gun = set.gun;
  const raw = await deps.fetcher.fetch(gun, ROOT, deps.rootMaxBytes);
  if (raw === undefined) throw new NoTrustDataError(gun);
  const before = set.root;
  if (raw.equals(before.bytes)) {
    set.checkRootExpiry();
    return false;
  }
  try {
    set.updateRoot(raw, { final: true });
  } catch (err) {
    if (!(err instanceof RootRotationError)) throw err;
    await walkRoots(deps, set, raw, err);
  }
  const version = set.root.root.version;
  const floor = floors.get(ROOT) ?? 0;
  if (version < floor) throw new BadVersionError(ROOT, version, floor);
  // TUF 5.3.11: new timestamp or snapshot keys make the old floors meaningless (a compromised key
  // may have pushed them to any height); they go with the old root, in the same store write
  const resets = rotatedRoles(before.root, set.root.root, [TIMESTAMP, SNAPSHOT]).length > 0 ? [TIMESTAMP, SNAPSHOT] : [];
  await deps.store.putMetadata(gun, ROOT, raw, version, resets);
  const fresh = await deps.store.getVersions(gun);
  floors.clear();
  for (const [role, v] of fresh) floors.set(role, v);
  deps.onEvent?.({ type: 'root-rotated', gun, from: before.root.version, to: version });
  return true;
}

/** Rotate through N.root.json for every version between the trusted one and the newest. */
async function walkRoots(deps: RootDeps, set: TrustedMetadataSet, newest: Buffer, cause: RootRotationError): Promise<void> {
  const from = set.root.root.version;
  // untrusted peek at the claimed version, only to know how far to walk
  const to = parseRoot(parseEnvelope(newest, ROOT)).version;
  if (to < from) throw new BadVersionError(ROOT, to, from); // an older root: a rollback
  if (to - from > deps.maxRootRotations) {
    throw new RootRotationError(ROOT, `root jumps from version ${from} to ${to}: too many rotations`);
  }
  for (let v = from + 1; v < to; v++) {
    const mid = await deps.fetcher.fetch(set.gun, `${v}.${ROOT}`, deps.rootMaxBytes);
    if (mid === undefined) throw new RootRotationError(ROOT, `intermediate root version ${v} is missing`, { cause });
    set.updateRoot(mid, { final: false, exactVersion: v });
  }
  set.updateRoot(newest, { final: true });
}

/**
 * Check that root versions 1…N each sign the next (the rotations a client walks), and that the chain
 * ends at `trusted` (already verified under the pinning). Pinning is not applied to the older roots:
 * pins name today's keys, and a client that trusts version N never needs the older ones.
 */
export function verifyRootChain(gun: string, roots: ReadonlyMap<number, Buffer>, trusted: Buffer, now: Date): void {
  const first = roots.get(1);
  if (!first) throw new RootRotationError(ROOT, `${gun}: root version 1 is missing`);
  const set = TrustedMetadataSet.fromRoot(first, { gun, now, pinning: { keys: new Map(), ca: new Map(), disableTOFU: false } }, true);
  const last = Math.max(...roots.keys());
  for (let v = 2; v <= last; v++) {
    const bytes = roots.get(v);
    if (!bytes) throw new RootRotationError(ROOT, `${gun}: root version ${v} is missing`);
    set.updateRoot(bytes, { final: false, exactVersion: v });
  }
  if (!set.root.bytes.equals(trusted)) throw new RootRotationError(ROOT, `${gun}: the root versions do not end at the trusted root`);
}
