// The trusted metadata of one repository, grown one verified file at a time (python-tuf
// trusted_metadata_set.py, with notary's rules: notary tuf/builder.go).
//
// Pure: bytes, the reference time and the version floors come in; verified state or a typed error
// comes out. Every update has the same shape:
//   order guard → length/hashes from the parent → signatures by the delegator's keys → structure →
//   version (rollback) → expiry (freeze) → commit.
// A failed update leaves the set unchanged.

import { createHash } from 'node:crypto';
import { BadVersionError, ExpiredMetadataError, LengthOrHashMismatchError } from '../errors.js';
import {
  parseEnvelope,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  ROOT,
  SNAPSHOT,
  TARGETS,
  TIMESTAMP,
  type DelegationSpec,
  type Envelope,
  type FileMeta,
  type Snapshot,
  type Targets,
  type Timestamp,
} from './metadata.js';
import type { TrustPinning } from './pinning.js';
import { trustedRootAnchor, validateRoot, type RootContext, type VerifiedRoot } from './root.js';
import { verifyThreshold, type RoleKeys } from './signatures.js';

export interface Verified<T> {
  readonly bytes: Buffer;
  readonly envelope: Envelope;
  readonly data: T;
  readonly signers: readonly string[];
}

export interface TrustContext {
  readonly gun: string;
  /** The reference time for every expiry decision in this refresh. */
  readonly now: Date;
  readonly pinning: TrustPinning;
  /**
   * Offline grace (ms): how long past their expiry timestamp and snapshot metadata are still
   * accepted. Never applies to root, targets or delegations. 0 (the default): none.
   */
  readonly maxStalenessMs?: number;
}

/** Roles whose expiry an offline grace may extend: the ones only a reachable Notary can refresh. */
export const GRACE_ROLES: readonly string[] = [TIMESTAMP, SNAPSHOT];

/** Misuse of the state machine by the caller: a programming error, not a repository fault. */
class OrderError extends Error {
  constructor(role: string, message: string) {
    super(`${role}: ${message}`);
    this.name = 'OrderError';
  }
}

export class TrustedMetadataSet {
  private rootState: VerifiedRoot;
  private timestampState?: Verified<Timestamp>;
  private snapshotState?: Verified<Snapshot>;
  private readonly targetsState = new Map<string, Verified<Targets>>();

  private constructor(
    private readonly ctx: TrustContext,
    root: VerifiedRoot,
  ) {
    this.rootState = root;
  }

  /**
   * Start from a root. `previouslyTrusted` marks a root this proxy trusted before (from its store): it
   * is re-validated (structure, certificates, pinning, self-signatures) but TOFU-disabled does not
   * refuse it and it may be expired (call `updateRoot` then). A first-seen root must not be expired.
   */
  static fromRoot(bytes: Buffer, ctx: TrustContext, previouslyTrusted: boolean): TrustedMetadataSet {
    const root = validateRoot(bytes, rootContext(ctx), { firstBootstrap: !previouslyTrusted });
    const set = new TrustedMetadataSet(ctx, root);
    if (!previouslyTrusted) set.checkRootExpiry();
    return set;
  }

  /**
   * Start from a root this proxy trusted before that no longer validates (expired certificates, a
   * pin added since): usable only as the anchor of a rotation (`updateRoot`), never for the rest.
   */
  static fromTrustedAnchor(bytes: Buffer, ctx: TrustContext): TrustedMetadataSet {
    return new TrustedMetadataSet(ctx, trustedRootAnchor(bytes, rootContext(ctx)));
  }

  get gun(): string {
    return this.ctx.gun;
  }
  get now(): Date {
    return this.ctx.now;
  }
  get root(): VerifiedRoot {
    return this.rootState;
  }
  get timestamp(): Verified<Timestamp> | undefined {
    return this.timestampState;
  }
  get snapshot(): Verified<Snapshot> | undefined {
    return this.snapshotState;
  }
  /** Verified targets files: `targets` and every delegation loaded so far. */
  get targetsFiles(): ReadonlyMap<string, Verified<Targets>> {
    return this.targetsState;
  }

  isRootExpired(): boolean {
    return this.rootState.root.expires < this.ctx.now;
  }

  checkRootExpiry(): void {
    if (this.isRootExpired()) throw new ExpiredMetadataError(ROOT, this.rootState.root.expires);
  }

  /**
   * Rotate to a newer root. `final` is false for the intermediate versions walked to reach the newest
   * (they may have expired since); `exactVersion` pins the version an `N.root.json` must carry.
   */
  updateRoot(bytes: Buffer, opts: { final: boolean; exactVersion?: number }): void {
    if (this.timestampState) throw new OrderError(ROOT, 'cannot update root after timestamp');
    const next = validateRoot(bytes, rootContext(this.ctx), { previous: this.rootState, firstBootstrap: false });
    const current = this.rootState.root.version;
    if (opts.exactVersion !== undefined && next.root.version !== opts.exactVersion) {
      throw new BadVersionError(ROOT, next.root.version, opts.exactVersion);
    }
    if (next.root.version < current) throw new BadVersionError(ROOT, next.root.version, current);
    if (opts.final && next.root.expires < this.ctx.now) throw new ExpiredMetadataError(ROOT, next.root.expires);
    this.rootState = next;
  }

  updateTimestamp(bytes: Buffer, minVersion: number): Verified<Timestamp> {
    if (this.timestampState) throw new OrderError(TIMESTAMP, 'timestamp already loaded');
    this.checkRootExpiry();
    const v = this.verifyRole(bytes, TIMESTAMP, this.baseRole(TIMESTAMP), parseTimestamp);
    this.checkVersionAndExpiry(TIMESTAMP, v.data, minVersion);
    this.timestampState = v;
    return v;
  }

  updateSnapshot(bytes: Buffer, minVersion: number): Verified<Snapshot> {
    if (!this.timestampState) throw new OrderError(SNAPSHOT, 'timestamp must be loaded first');
    if (this.snapshotState) throw new OrderError(SNAPSHOT, 'snapshot already loaded');
    checkFileMeta(bytes, this.timestampState.data.snapshot, SNAPSHOT);
    const v = this.verifyRole(bytes, SNAPSHOT, this.baseRole(SNAPSHOT), parseSnapshot);
    this.checkVersionAndExpiry(SNAPSHOT, v.data, minVersion);
    // notary checks the trusted root against the snapshot's root checksum: a mismatch is how a
    // client learns the root rotated (the updater then fetches the new root and retries)
    checkHashes(this.rootState.bytes, v.data.meta.get(ROOT) as FileMeta, ROOT);
    this.snapshotState = v;
    return v;
  }

  updateTargets(bytes: Buffer, minVersion: number): Verified<Targets> {
    const meta = this.snapshotMetaFor(TARGETS);
    if (this.targetsState.has(TARGETS)) throw new OrderError(TARGETS, 'targets already loaded');
    checkFileMeta(bytes, meta, TARGETS);
    const v = this.verifyRole(bytes, TARGETS, this.baseRole(TARGETS), (env) => parseTargets(env, TARGETS));
    this.checkVersionAndExpiry(TARGETS, v.data, minVersion);
    this.targetsState.set(TARGETS, v);
    return v;
  }

  /**
   * Load the delegation `spec` that the already-trusted targets file `parent` declares. Order as
   * notary loadDelegation: checksum, structure, version, signatures, expiry.
   */
  updateDelegation(parent: string, spec: DelegationSpec, bytes: Buffer, minVersion: number): Verified<Targets> {
    const delegator = this.targetsState.get(parent);
    if (!delegator) throw new OrderError(spec.name, `${parent} must be loaded first`);
    if (this.targetsState.has(spec.name)) throw new OrderError(spec.name, 'delegation already loaded');
    checkFileMeta(bytes, this.snapshotMetaFor(spec.name), spec.name);
    const envelope = parseEnvelope(bytes, spec.name);
    const data = parseTargets(envelope, spec.name);
    if (data.version < minVersion) throw new BadVersionError(spec.name, data.version, minVersion);
    const signers = verifyThreshold(envelope.message, envelope.signatures, {
      name: spec.name,
      keys: pick(delegator.data.delegationKeys, spec.keyIds),
      threshold: spec.threshold,
    });
    if (data.expires < this.ctx.now) throw new ExpiredMetadataError(spec.name, data.expires);
    const v = { bytes, envelope, data, signers };
    this.targetsState.set(spec.name, v);
    return v;
  }

  /** The snapshot's entry for a role (undefined if it lists none: notary then skips the role). */
  snapshotMeta(role: string): FileMeta | undefined {
    return this.snapshotState?.data.meta.get(role);
  }

  private snapshotMetaFor(role: string): FileMeta {
    if (!this.snapshotState) throw new OrderError(role, 'snapshot must be loaded first');
    const meta = this.snapshotState.data.meta.get(role);
    if (!meta) throw new LengthOrHashMismatchError(role, 'the snapshot lists no checksum for this role');
    return meta;
  }

  private baseRole(name: string): RoleKeys {
    const root = this.rootState.root;
    const spec = root.roles.get(name);
    return { name, keys: pick(root.keys, spec?.keyIds ?? []), threshold: spec?.threshold ?? 1 };
  }

  private verifyRole<T>(bytes: Buffer, role: string, keys: RoleKeys, parse: (env: Envelope) => T): Verified<T> {
    const envelope = parseEnvelope(bytes, role);
    const signers = verifyThreshold(envelope.message, envelope.signatures, keys);
    return { bytes, envelope, data: parse(envelope), signers };
  }

  private checkVersionAndExpiry(role: string, data: { version: number; expires: Date }, minVersion: number): void {
    if (data.version < minVersion) throw new BadVersionError(role, data.version, minVersion);
    if (data.expires < this.ctx.now && !this.withinGrace(role, data.expires)) throw new ExpiredMetadataError(role, data.expires);
  }

  /** Grace in force for `role`: the configured staleness for timestamp and snapshot, else none. */
  graceMs(role: string): number {
    return GRACE_ROLES.includes(role) ? Math.max(0, this.ctx.maxStalenessMs ?? 0) : 0;
  }

  private withinGrace(role: string, expires: Date): boolean {
    const grace = this.graceMs(role);
    return grace > 0 && this.ctx.now.getTime() <= expires.getTime() + grace;
  }

  /** True when expired timestamp or snapshot metadata is accepted under the offline grace. */
  get stale(): boolean {
    const now = this.ctx.now;
    return (this.timestampState?.data.expires ?? now) < now || (this.snapshotState?.data.expires ?? now) < now;
  }
}

function rootContext(ctx: TrustContext): RootContext {
  return { gun: ctx.gun, now: ctx.now, pinning: ctx.pinning };
}

function pick<K, V>(map: ReadonlyMap<K, V>, ids: readonly K[]): Map<K, V> {
  const out = new Map<K, V>();
  for (const id of ids) {
    const v = map.get(id);
    if (v !== undefined) out.set(id, v);
  }
  return out;
}

const SUPPORTED_HASHES = ['sha256', 'sha512'] as const;

/** Bytes must have exactly the signed length and match every supported hash (at least one). */
export function checkFileMeta(bytes: Buffer, meta: FileMeta, role: string): void {
  if (bytes.length !== meta.length) {
    throw new LengthOrHashMismatchError(role, `length ${bytes.length} does not match the signed length ${meta.length}`);
  }
  checkHashes(bytes, meta, role);
}

/** notary data.CheckHashes: every supported hash present must match, and at least one must be present. */
export function checkHashes(bytes: Buffer, meta: FileMeta, role: string): void {
  let checked = 0;
  for (const alg of SUPPORTED_HASHES) {
    const expected = meta.hashes.get(alg);
    if (expected === undefined) continue;
    if (!createHash(alg).update(bytes).digest().equals(Buffer.from(expected, 'base64'))) {
      throw new LengthOrHashMismatchError(role, `${alg} checksum does not match the signed checksum`);
    }
    checked++;
  }
  if (checked === 0) throw new LengthOrHashMismatchError(role, 'no supported checksum to verify against');
}
