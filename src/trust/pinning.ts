// Trust pinning for a repository's root keys (notary trustpinning/trustpin.go), extended so a pinned
// key ID may be either the ID root.json lists or the canonical ID `docker trust inspect` shows.
//
// Order, per GUN: pinned key IDs for the exact GUN; else for the longest `prefix*` wildcard; else the
// CA bundle configured for the longest GUN prefix; else trust on first use (unless disabled).

import { CertificateError, TrustPinningError } from '../errors.js';
import { chainsToAnchor, validateCertificate, type CertInfo } from './certs.js';
import { canonicalKeyId } from './keys.js';
import type { PublicKey } from './public-key.js';

export interface TrustPinning {
  /** GUN, or `prefix*`, → pinned root key IDs. */
  readonly keys: ReadonlyMap<string, readonly string[]>;
  /** GUN prefix → CA certificates that must have issued a root certificate. */
  readonly ca: ReadonlyMap<string, readonly CertInfo[]>;
  readonly disableTOFU: boolean;
}

export const NO_PINNING: TrustPinning = { keys: new Map(), ca: new Map(), disableTOFU: false };

export type PinMode = 'keys' | 'ca' | 'tofu';

export interface PinChecker {
  readonly mode: PinMode;
  /** Does the root certificate (as its re-encoded TUF key) satisfy the pinning? */
  accepts(key: PublicKey, leaf: CertInfo, intermediates: readonly CertInfo[]): boolean;
}

/**
 * Build the checker for `gun`. `firstBootstrap` is true when no root for the GUN is trusted yet;
 * only then does a disabled TOFU refuse.
 */
export function pinCheckerFor(pinning: TrustPinning, gun: string, firstBootstrap: boolean, now: Date): PinChecker {
  const ids = pinning.keys.get(gun) ?? longestWildcard(pinning.keys, gun);
  if (ids) {
    const pinned = new Set(ids);
    return {
      mode: 'keys',
      accepts: (key) => pinned.has(key.id) || pinned.has(canonicalKeyId(key) ?? ''),
    };
  }
  const cas = longestPrefix(pinning.ca, gun);
  if (cas) {
    const anchors = cas.filter((c) => {
      try {
        validateCertificate(c, now, true, 'trust pinning');
        return true;
      } catch (err) {
        if (err instanceof CertificateError) return false; // notary ignores unusable pinned CA certificates
        throw err;
      }
    });
    if (anchors.length === 0) throw new TrustPinningError('root', `no usable CA certificate is pinned for ${gun}`);
    return { mode: 'ca', accepts: (_key, leaf, ints) => chainsToAnchor(leaf, ints, anchors, now) };
  }
  if (pinning.disableTOFU && firstBootstrap) {
    throw new TrustPinningError('root', `trust on first use is disabled and nothing is pinned for ${gun}`);
  }
  return { mode: 'tofu', accepts: () => true };
}

function longestWildcard(map: ReadonlyMap<string, readonly string[]>, gun: string): readonly string[] | undefined {
  let best: string | undefined;
  for (const k of map.keys()) {
    if (k.endsWith('*') && gun.startsWith(k.slice(0, -1)) && (best === undefined || k.length > best.length)) best = k;
  }
  return best === undefined ? undefined : map.get(best);
}

function longestPrefix<T>(map: ReadonlyMap<string, T>, gun: string): T | undefined {
  let best: string | undefined;
  for (const k of map.keys()) if (gun.startsWith(k) && (best === undefined || k.length > best.length)) best = k;
  return best === undefined ? undefined : map.get(best);
}
