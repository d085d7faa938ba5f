// resolveExplained adds the note on left-out delegations only to "not signed" answers. A tag whose
// entry is malformed (its sha256 not base64) stays METADATA_MALFORMED, whether or not a delegation
// was left out: the trust engine parses target entries on lookup, so resolving can throw it.

import t from 'tap';
import { DeserializationError } from '../../src/errors.js';
import { resolveExplained } from '../../src/notary/updater.js';
import { type JsonObject } from '../../src/trust/index.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { throwsWith, updaterFor } from '../helpers/trust.js';

function malformedTag(withExpiredDelegation: boolean): RepoSimulator {
  const sim = new RepoSimulator();
  if (withExpiredDelegation) {
    sim.addDelegation('targets/alice');
    sim.delegation('targets/alice').signed.expires = sim.expiresIn(-1);
  }
  sim.beforeSign.set('targets', (s) => {
    (s.targets as JsonObject).bad = { hashes: { sha256: 'not base64!' }, length: 3 };
  });
  sim.publish();
  return sim;
}

t.test('nothing left out: the malformed entry is METADATA_MALFORMED', async (t) => {
  const sim = malformedTag(false);
  const refresh = await updaterFor(sim).refresh(sim.gun);
  t.equal(refresh.skipped.size, 0);
  throwsWith(t, () => resolveExplained(refresh, 'bad'), DeserializationError, 'METADATA_MALFORMED');
});

t.test('a delegation left out: still METADATA_MALFORMED, not re-worded as not signed', async (t) => {
  const sim = malformedTag(true);
  const refresh = await updaterFor(sim).refresh(sim.gun);
  t.same([...refresh.skipped.keys()], ['targets/alice']);
  throwsWith(t, () => resolveExplained(refresh, 'bad'), DeserializationError, 'METADATA_MALFORMED');
});
