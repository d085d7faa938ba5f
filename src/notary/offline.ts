// Trust data without a Notary server: fetchers that answer the updater's requests from stored or
// bundled files. The updater verifies everything it gets exactly as it verifies Notary's answers.
//   names: a role ("timestamp"), a consistent name ("snapshot.<sha256hex>") or a root version ("2.root")

import { createHash } from 'node:crypto';
import type { TrustStore } from '../cache/trust-store.js';
import { FileTooLargeError, LengthOrHashMismatchError } from '../errors.js';
import type { MetadataFetcher } from './remote.js';

/** Split a metadata name into the stored role name and the sha256 a consistent name demands. */
export function storedName(name: string): { role: string; sha256?: string } {
  const m = /^(.+)\.([0-9a-f]{64})$/.exec(name);
  return m ? { role: m[1] as string, sha256: m[2] as string } : { role: name };
}

/**
 * Bytes for `name` from `read`, or undefined. A consistent name must match its hash: when the held
 * file does not, it is absent (the Notary API: that version is not here) or, for the updater, a
 * hash mismatch against the signed metadata that named it.
 */
export async function answer(
  read: (role: string) => Promise<Buffer | undefined>,
  name: string,
  maxBytes: number,
  mismatch: 'absent' | 'error' = 'error',
): Promise<Buffer | undefined> {
  const { role, sha256 } = storedName(name);
  const bytes = await read(role);
  if (!bytes) return undefined;
  if (sha256 && createHash('sha256').update(bytes).digest('hex') !== sha256) {
    if (mismatch === 'absent') return undefined;
    throw new LengthOrHashMismatchError(role, `the held ${role} does not hash to the sha256 its signed parent names`);
  }
  if (bytes.length > maxBytes) throw new FileTooLargeError(role, `stored trust data is larger than ${maxBytes} bytes`);
  return bytes;
}

/** For upstreams with `notary: offline`: the configured store is the only source of trust data. */
export class StoreFetcher implements MetadataFetcher {
  readonly origin = 'imported trust data (offline upstream)';
  constructor(private readonly store: TrustStore) {}

  fetch(gun: string, name: string, maxBytes: number): Promise<Buffer | undefined> {
    return answer((role) => this.store.getMetadata(gun, role), name, maxBytes);
  }
}
