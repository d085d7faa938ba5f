// parseRoute cuts a registry path at its last two slashes instead of splitting it. Over a generated
// corpus of paths (seeded), it must route exactly as the split-based reading of the same grammar
// does: same route, or same error class and code.

import t from 'tap';
import { RequestInvalidError, UnsupportedError, UpstreamNotFoundError } from '../../src/errors.js';
import { parseRoute, type RegistryRoute } from '../../src/server/request-target.js';
import { seeded } from '../helpers/seeded.js';

const SHA256 = `sha256:${'0f'.repeat(32)}`;

/** The grammar read by splitting the whole path on `/` (the reference the fast reading must equal). */
function splitReading(path: string): RegistryRoute {
  if (path.includes('%') || path.includes('\\')) throw new RequestInvalidError('NAME_INVALID', 'encoded');
  if (path === '/v2/_catalog') throw new UnsupportedError('catalog');
  const segments = path.split('/');
  const n = segments.length;
  if (segments[0] !== '' || segments[1] !== 'v2' || n < 5) throw new UpstreamNotFoundError('NAME_UNKNOWN', 'not a registry path');
  const trust = segments.indexOf('_trust', 2);
  if (trust > 2 && segments[trust + 1] === 'tuf' && trust + 2 < n) {
    const file = segments.slice(trust + 2).join('/');
    if (file.endsWith('.json')) return { kind: 'trust-file', gun: segments.slice(2, trust).join('/'), name: file.slice(0, -'.json'.length) };
  }
  const repository = segments.slice(2, n - 2).join('/');
  const kind = segments[n - 2] as string;
  const reference = segments[n - 1] as string;
  if (kind === 'tags' && reference === 'list') return { kind: 'tags', repository, reference };
  if (kind === 'referrers' && /^sha256:[0-9a-f]{64}$/.test(reference)) return { kind: 'referrers', repository, reference };
  if ((kind === 'manifests' || kind === 'blobs') && reference !== '') return { kind, repository, reference };
  throw new UpstreamNotFoundError('NAME_UNKNOWN', 'not a registry path');
}

function outcome(f: () => RegistryRoute): unknown {
  try {
    return { route: f() };
  } catch (err) {
    return { error: (err as Error).constructor.name, code: (err as { code?: string }).code };
  }
}

const SEGMENTS = ['', 'v2', 'v3', 'a', 'b.c', '_trust', 'tuf', 'manifests', 'blobs', 'tags', 'list', 'referrers', SHA256, 'sha256:0F', 'v1', 'root.json', 'x.json', '.json', '_catalog', 'a%2Fb', 'a\\b'];

t.test('the fast reading routes every generated path as the split-based reading does', async (t) => {
  const random = seeded(0x7257);
  const pick = () => SEGMENTS[Math.floor(random() * SEGMENTS.length)] as string;
  const corpus = new Set<string>(['/v2/_catalog', '/v2/', '/v2', '/', '', 'v2/a/manifests/x', '/v2/a/_trust/tuf/root.json', '/v2/_trust/x/_trust/tuf/root.json']);
  const segments = (max: number) => Array.from({ length: Math.floor(random() * (max + 1)) }, pick);
  while (corpus.size < 10_000) {
    // registry-shaped paths (name, kind, reference), trust-file-shaped ones, and any sequence at all
    const shape = random();
    const parts =
      shape < 0.4
        ? [...segments(3), random() < 0.5 ? 'manifests' : pick(), random() < 0.5 ? 'v1' : pick()]
        : shape < 0.7
          ? [...segments(3), '_trust', random() < 0.7 ? 'tuf' : pick(), ...segments(2), random() < 0.6 ? 'root.json' : pick()]
          : segments(8);
    // most paths start as clients write them; some do not
    const prefix = random() < 0.85 ? '/v2/' : random() < 0.5 ? '/' : '';
    corpus.add(prefix + parts.join('/'));
  }
  let routed = 0;
  let trustFiles = 0;
  let mismatches = 0;
  for (const path of corpus) {
    const expected = outcome(() => splitReading(path));
    const actual = outcome(() => parseRoute(path));
    if ((expected as { route?: RegistryRoute }).route) routed++;
    if ((expected as { route?: RegistryRoute }).route?.kind === 'trust-file') trustFiles++;
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      mismatches++;
      if (mismatches <= 5) t.same(actual, expected, path);
    }
  }
  t.equal(mismatches, 0, `${corpus.size} paths, every one routed alike`);
  // the corpus reaches every kind of answer, so the comparison means something
  t.ok(routed > 1000, `${routed} routed`);
  t.ok(trustFiles > 50, `${trustFiles} trust files`);
});
