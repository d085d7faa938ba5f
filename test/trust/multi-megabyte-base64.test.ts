// Base64 fields of several megabytes (a target's hash, a signature) are judged like short ones: a
// valid one decodes, an invalid one is METADATA_MALFORMED. A pattern that backtracks once per
// four characters overflowed V8's regexp stack near 4.5 million characters and threw a RangeError,
// which no caller maps to a registry error; a delegation holder could publish such a file.

import t from 'tap';
import { DeserializationError, TagNotSignedError } from '../../src/errors.js';
import { resolveSignedTag, signedDigests, type JsonObject } from '../../src/trust/index.js';
import { RepoSimulator } from '../helpers/simulator.js';
import { setThroughTargets, throwsWith } from '../helpers/trust.js';

const HUGE = 6_000_000; // characters, a multiple of 4: well past where the backtracking pattern overflowed

function withTargetHash(sha256: string) {
  const sim = new RepoSimulator();
  const ok = sim.addTarget('targets', 'ok', 'manifest');
  sim.beforeSign.set('targets', (s) => {
    (s.targets as JsonObject).huge = { hashes: { sha256 }, length: 3 };
  });
  sim.publish();
  return { set: setThroughTargets(sim), ok };
}

t.test('a valid multi-megabyte sha256 decodes to the wrong size: the tag is not signed', async (t) => {
  const { set, ok } = withTargetHash('A'.repeat(HUGE));
  throwsWith(t, () => resolveSignedTag(set, 'huge'), TagNotSignedError, 'NOT_SIGNED');
  t.same([...signedDigests(set)], [[ok, 'targets']], 'and it signs no digest');
});

t.test('an invalid multi-megabyte sha256 is malformed metadata, and signs no digest', async (t) => {
  const { set, ok } = withTargetHash(`${'A'.repeat(HUGE - 4)}AAA!`);
  throwsWith(t, () => resolveSignedTag(set, 'huge'), DeserializationError, 'METADATA_MALFORMED');
  t.same([...signedDigests(set)], [[ok, 'targets']]);
});

t.test('an envelope with a multi-megabyte invalid signature value is malformed metadata', async (t) => {
  const sim = new RepoSimulator();
  sim.signatureHooks.set('targets', (sigs) => [...sigs, { keyid: 'f'.repeat(64), method: 'ecdsa', sig: `${'A'.repeat(HUGE - 4)}AAA!` }]);
  sim.publish();
  throwsWith(t, () => setThroughTargets(sim), DeserializationError, 'METADATA_MALFORMED');
});
