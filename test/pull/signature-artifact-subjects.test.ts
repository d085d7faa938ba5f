// A referrer fetched by digest names its subject in its own bytes (pull/signature-artifacts.ts): only
// a `subject.digest` that is a sha256 digest string is ever asked about — anything else declares no
// subject, and the referrer is not served, however permissive the servable check.

import t from 'tap';
import { SignatureArtifacts } from '../../src/pull/signature-artifacts.js';
import type { PullTarget } from '../../src/pull/target.js';
import { OCI_MANIFEST } from '../../src/registry/media-types.js';
import { DOCKER_ROLES, NO_PINNING } from '../../src/trust/index.js';
import { FakeRegistry } from '../helpers/fake-registry.js';

const SUBJECT = `sha256:${'5'.repeat(64)}`;
const referrer = (digest: unknown) => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [], subject: { digest } }));

t.test('a subject digest that is not a digest string is never asked about, nor served', async (t) => {
  const registry = new FakeRegistry();
  const upstream = await registry.start(t);
  const target: PullTarget = { upstream, repository: 'library/subjects', gun: 'docker.io/library/subjects', decision: { action: 'verify', roles: DOCKER_ROLES, pinning: NO_PINNING, rule: '*', trust: 'sigstore' }, accept: undefined };
  const asked: unknown[] = [];
  const artifacts = new SignatureArtifacts(1 << 20);
  artifacts.bind(async (_, subject) => {
    asked.push(subject);
    return true; // a servable check that admits whatever it is asked about
  });
  const cases: [string, unknown][] = [
    ['a tag name', 'v1'],
    ['a digest in upper case', SUBJECT.toUpperCase()],
    ['a list holding a digest', [SUBJECT]],
  ];
  for (const [why, subject] of cases) t.equal(await artifacts.byDigest(target, registry.push(referrer(subject), OCI_MANIFEST)), undefined, why);
  t.same(asked, [], 'the servable check was never consulted');
  t.equal((await artifacts.byDigest(target, registry.push(referrer(SUBJECT), OCI_MANIFEST)))?.role, 'signature-artifact', 'a digest string: served (control)');
  t.same(asked, [SUBJECT]);
});
