// Root validation and rotation (notary trustpinning/certs.go ValidateRoot).
//
// A root is trusted when:
//   1. (rotation) it is signed by the previous root's certificates at the previous root threshold;
//   2. its own root certificates — CN matching the GUN, in date, not SHA-1, RSA >= 2048 — pass the
//      trust pinning (pinned IDs, pinned CA, or TOFU);
//   3. it is signed by those pinned certificates at its own root threshold.
// Keys are rebuilt from the certificates (leaf + valid intermediates, re-encoded as PEM), so a
// signature must name the ID of that rebuilt key, exactly as notary's CertsToKeys does.

import {
  CertificateError,
  type CertificateFault,
  RootRotationError,
  TrustPinningError,
  UnsignedMetadataError,
} from '../errors.js';
import { bundleToKey, certBundleOf, matchCommonNameToGun, validateCertificate, type CertBundle } from './certs.js';
import type { PublicKey } from './public-key.js';
import { parseEnvelope, parseRoot, ROOT, type Envelope, type Root } from './metadata.js';
import { pinCheckerFor, type PinMode, type TrustPinning } from './pinning.js';
import { verifyThreshold } from './signatures.js';

export interface VerifiedRoot {
  readonly bytes: Buffer;
  readonly envelope: Envelope;
  readonly root: Root;
  /** IDs of the root keys whose signatures verified. */
  readonly signers: readonly string[];
  readonly pinMode: PinMode;
  /** When its root certificates stop carrying it (fewer than its threshold in date). */
  readonly certificatesExpire: Date | undefined;
}

export interface RootContext {
  readonly gun: string;
  readonly now: Date;
  readonly pinning: TrustPinning;
}

/** Certificates of the root role's keys, by listed key ID (notary parseAllCerts). */
function rootBundles(root: Root): Map<string, CertBundle> {
  const out = new Map<string, CertBundle>();
  for (const id of root.roles.get(ROOT)?.keyIds ?? []) {
    const key = root.keys.get(id);
    const bundle = key ? certBundleOf(key.publicBytes) : undefined;
    if (bundle) out.set(id, bundle);
  }
  return out;
}

/** Leaf certificates valid for the GUN (notary validRootLeafCerts); throws if there are none. */
function validLeaves(bundles: Map<string, CertBundle>, ctx: RootContext, checkExpiry: boolean): Map<string, CertBundle> {
  const valid = new Map<string, CertBundle>();
  const reasons: string[] = [];
  let fault: CertificateFault | undefined;
  for (const [id, b] of bundles) {
    if (!matchCommonNameToGun(b.leaf.commonName, ctx.gun)) {
      reasons.push(`certificate CN ${JSON.stringify(b.leaf.commonName)} does not match ${ctx.gun}`);
      fault ??= { name: b.leaf.commonName, keyId: id };
      continue;
    }
    try {
      validateCertificate(b.leaf, ctx.now, checkExpiry);
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err;
      reasons.push(`${err.message.replace(/^root: /, '')} (root key ${id})`);
      // the certificate that expired last is the one the owner must replace
      if (!fault?.expired || (err.certificate?.expired ?? 0) > fault.expired) fault = { ...err.certificate, name: b.leaf.commonName, keyId: id };
      continue;
    }
    valid.set(id, b);
  }
  if (valid.size === 0) {
    const why = reasons.length ? ` (${reasons.join('; ')})` : '';
    throw new CertificateError(ROOT, `no valid root certificate for ${ctx.gun}${why}`, fault ? { certificate: fault } : {});
  }
  return valid;
}

/**
 * When the root's certificates stop carrying it: the moment fewer than `threshold` of the leaves
 * whose keys verified remain in date.
 */
function certificatesExpire(leaves: readonly CertBundle[], threshold: number): Date | undefined {
  const ends = leaves.map((b) => b.leaf.notAfter.getTime()).sort((a, b) => b - a);
  const end = ends[Math.max(0, threshold - 1)];
  return end === undefined ? undefined : new Date(end);
}

/** Intermediates that are themselves in date and not weak (notary validRootIntCerts). */
function validIntermediates(b: CertBundle, now: Date): CertBundle['intermediates'] {
  return b.intermediates.filter((c) => {
    try {
      validateCertificate(c, now, true);
      return true;
    } catch (err) {
      if (err instanceof CertificateError) return false;
      throw err;
    }
  });
}

function keysOf(entries: Iterable<[CertBundle, CertBundle['intermediates']]>): Map<string, PublicKey> {
  const keys = new Map<string, PublicKey>();
  for (const [b, ints] of entries) {
    const key = bundleToKey(b.leaf, ints);
    if (key) keys.set(key.id, key);
  }
  return keys;
}

/**
 * Validate `bytes` as the root of `ctx.gun`. With `previous`, this is a rotation: the new root must
 * also satisfy the previous root's keys and threshold. `firstBootstrap` is true when no root of the
 * GUN was trusted before (only then does a disabled TOFU refuse). Version and expiry are the caller's.
 */
export function validateRoot(
  bytes: Buffer,
  ctx: RootContext,
  opts: { previous?: VerifiedRoot; firstBootstrap: boolean },
): VerifiedRoot {
  const previous = opts.previous;
  const envelope = parseEnvelope(bytes, ROOT);
  const root = parseRoot(envelope);
  const leaves = validLeaves(rootBundles(root), ctx, true);

  if (previous) {
    // expiry is not checked on the previously trusted certificates: they may have expired since
    const trusted = validLeaves(rootBundles(previous.root), ctx, false);
    const prevThreshold = previous.root.roles.get(ROOT)?.threshold ?? 1;
    try {
      verifyThreshold(envelope.message, envelope.signatures, {
        name: ROOT,
        keys: keysOf([...trusted.values()].map((b) => [b, b.intermediates])),
        threshold: prevThreshold,
      });
    } catch (err) {
      if (!(err instanceof UnsignedMetadataError)) throw err;
      throw new RootRotationError(ROOT, `new root version ${root.version} is not signed by the trusted root's keys (${err.message})`, {
        cause: err,
      });
    }
  }

  const checker = pinCheckerFor(ctx.pinning, ctx.gun, opts.firstBootstrap, ctx.now);
  const pinned: [CertBundle, CertBundle['intermediates']][] = [];
  for (const b of leaves.values()) {
    const ints = validIntermediates(b, ctx.now);
    const key = bundleToKey(b.leaf, ints);
    if (key && checker.accepts(key, b.leaf, ints)) pinned.push([b, ints]);
  }
  if (pinned.length === 0) {
    throw new TrustPinningError(ROOT, `no root certificate of ${ctx.gun} matches the trust pinning (${checker.mode})`);
  }

  const threshold = root.roles.get(ROOT)?.threshold ?? 1;
  const signers = verifyThreshold(envelope.message, envelope.signatures, { name: ROOT, keys: keysOf(pinned), threshold });
  const expire = certificatesExpire(
    pinned.map(([b]) => b),
    threshold,
  );
  return { bytes, envelope, root, signers, pinMode: checker.mode, certificatesExpire: expire };
}

/**
 * A root this proxy trusted before, as the anchor of a rotation once it no longer validates (its
 * certificates expired, or a pin added since does not match it). As notary ValidateRoot treats a
 * previous root: its certificates are used without expiry checks and without the trust pinning. The
 * stored bytes are untrusted, so its own signatures must still verify.
 */
export function trustedRootAnchor(bytes: Buffer, ctx: RootContext): VerifiedRoot {
  const envelope = parseEnvelope(bytes, ROOT);
  const root = parseRoot(envelope);
  const leaves = [...validLeaves(rootBundles(root), ctx, false).values()];
  const threshold = root.roles.get(ROOT)?.threshold ?? 1;
  const signers = verifyThreshold(envelope.message, envelope.signatures, {
    name: ROOT,
    keys: keysOf(leaves.map((b) => [b, b.intermediates])),
    threshold,
  });
  return { bytes, envelope, root, signers, pinMode: 'tofu', certificatesExpire: certificatesExpire(leaves, threshold) };
}

/**
 * Which of `roles` have other keys or another threshold in `next` than in `previous` (a rotation:
 * TUF 5.3.11 drops the timestamp and snapshot rollback floors when their keys rotated).
 */
export function rotatedRoles(previous: Root, next: Root, roles: readonly string[]): string[] {
  const sig = (r: Root, role: string) => {
    const spec = r.roles.get(role);
    return spec ? `${spec.threshold}:${[...spec.keyIds].sort().join(',')}` : '';
  };
  return roles.filter((role) => sig(previous, role) !== sig(next, role));
}
