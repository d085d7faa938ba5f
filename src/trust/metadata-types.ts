// The shapes of the TUF files notary uses, as metadata.ts returns them once parsed and checked.

import type { JsonObject } from './canonical.js';
import type { PublicKey } from './public-key.js';
import type { Signature } from './signatures.js';

export interface Envelope {
  readonly signed: JsonObject;
  readonly signatures: Signature[];
  /** The canonical re-encoding of `signed`: what the signatures cover. */
  readonly message: Buffer;
}

export interface Common {
  readonly type: string;
  readonly version: number;
  readonly expires: Date;
}

export interface RoleSpec {
  readonly keyIds: readonly string[];
  readonly threshold: number;
}

export interface Root extends Common {
  readonly keys: ReadonlyMap<string, PublicKey>;
  readonly roles: ReadonlyMap<string, RoleSpec>;
  readonly consistentSnapshot: boolean;
}

export interface FileMeta {
  readonly length: number;
  /** Algorithm → digest, still base64 as written. */
  readonly hashes: ReadonlyMap<string, string>;
}

export interface Timestamp extends Common {
  readonly snapshot: FileMeta;
}

export interface Snapshot extends Common {
  readonly meta: ReadonlyMap<string, FileMeta>;
}

export interface DelegationSpec extends RoleSpec {
  readonly name: string;
  readonly paths: readonly string[];
}

/** A targets file's `targets`, parsed entry by entry on lookup (a file may list tens of thousands). */
export interface TargetIndex {
  get(name: string): FileMeta | undefined;
  readonly size: number;
  names(): IterableIterator<string>;
}

export interface Targets extends Common {
  readonly targets: TargetIndex;
  readonly delegationKeys: ReadonlyMap<string, PublicKey>;
  readonly delegations: readonly DelegationSpec[];
}
