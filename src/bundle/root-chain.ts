// Every root version 1…N of a repository, each signing the next, ending at the trusted root: what a
// client walking the rotations checks. Export assembles it from Notary, import from the bundle — the
// same rule, written once.

import { RootRotationError } from '../errors.js';
import { verifyRootChain } from '../notary/updater.js';
import { ROOT } from '../trust/index.js';

/**
 * Read root versions 1…`version` with `read` and verify the chain ends at `trusted` (the root the
 * update verified under the pinning). A missing version is a broken chain.
 */
export async function collectRootChain(
  gun: string,
  trusted: Buffer,
  version: number,
  read: (version: number) => Promise<Buffer | undefined>,
  now: Date,
): Promise<Map<number, Buffer>> {
  const roots = new Map<number, Buffer>();
  for (let v = 1; v <= version; v++) {
    const b = await read(v);
    if (!b) throw new RootRotationError(ROOT, `${gun}: root version ${v} is missing (a bundle carries every version, 1…${version})`);
    roots.set(v, b);
  }
  verifyRootChain(gun, roots, trusted, now);
  return roots;
}
