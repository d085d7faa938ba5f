// The Notary read API over trustgate's store: `/v2/<GUN>/_trust/tuf/<name>.json`, so notary and docker
// trust clients can verify against trustgate where no Notary is reachable. The files are served as
// stored (verified when stored; clients verify them again).

import type { TrustStore } from '../cache/trust-store.js';
import { RequestInvalidError } from '../errors.js';
import { answer } from './offline.js';
import type { Policy } from '../policy/policy.js';
import { isValidGun } from '../registry/reference.js';
import { METADATA_FILE_NAME } from '../trust/metadata.js';
import { admit } from '../pull/targets.js';

const MAX_TRUST_FILE = 64 << 20;

export class TrustFileService {
  constructor(
    private readonly store: TrustStore,
    private readonly policy: Policy,
  ) {}

  /** The stored bytes of trust file `name` of `gun`, or undefined when there are none. */
  async read(gun: string, name: string): Promise<Buffer | undefined> {
    if (gun.includes('%') || name.includes('%') || !isValidGun(gun) || !METADATA_FILE_NAME.test(name)) {
      throw new RequestInvalidError('NAME_INVALID', 'not a trust metadata path');
    }
    admit({ gun, decision: this.policy.decide(gun) });
    return answer((role) => this.store.getMetadata(gun, role), name, MAX_TRUST_FILE, 'absent');
  }
}
