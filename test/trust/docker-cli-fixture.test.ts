// Trust data made by the real Docker 20.10 CLI (`docker push` with DOCKER_CONTENT_TRUST=1,
// `docker trust signer add`, `docker trust sign`), saved byte for byte with the time it was made.
// The engine is pure, so it is verified at that reference time; its answers must match
// `docker trust inspect` as recorded on the signing machine.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ExpiredMetadataError } from '../../src/errors.js';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { TrustUpdater } from '../../src/notary/updater.js';
import { NO_PINNING } from '../../src/trust/index.js';
import type { MetadataFetcher } from '../../src/notary/remote.js';
import { rejectsWith } from '../helpers/trust.js';

const DAY = 86_400_000;

function fixture(name: string) {
  const dir = join(import.meta.dirname, '..', 'fixtures', 'trust', name);
  const gun = readFileSync(join(dir, 'GUN'), 'utf8').trim();
  const madeAt = new Date(readFileSync(join(dir, 'made-at'), 'utf8').trim());
  const fetcher: MetadataFetcher = {
    origin: 'fixture',
    async fetch(g, file) {
      if (g !== gun) return undefined;
      const role = file.replace(/\.[0-9a-f]{64}$/, ''); // consistent names map to the saved file
      try {
        return readFileSync(join(dir, `${role}.json`));
      } catch {
        return undefined;
      }
    },
  };
  return { dir, gun, madeAt, fetcher };
}

for (const name of ['127.0.0.1_5000_dct_demo', 'docker.io_library_hubdemo']) {
  t.test(`Docker CLI trust data: ${name}`, async (t) => {
    const f = fixture(name);
    const inspect = JSON.parse(readFileSync(join(f.dir, 'docker-trust-inspect.json'), 'utf8'))[0];
    const u = new TrustUpdater({ fetcher: f.fetcher, store: new MemoryTrustStore(), pinning: NO_PINNING, clock: () => f.madeAt });
    t.equal(inspect.SignedTags.length, 2);
    for (const st of inspect.SignedTags) {
      const r = await u.resolve(f.gun, st.SignedTag);
      t.equal(r.digest, `sha256:${st.Digest}`, `${st.SignedTag} as docker trust inspect shows it`);
      // "Repo Admin" means the targets key; a named signer means targets/releases signed by its key
      t.equal(r.role, st.Signers[0] === 'Repo Admin' ? 'targets' : 'targets/releases');
    }
    const later = new Date(f.madeAt.getTime() + 15 * DAY);
    const expired = new TrustUpdater({ fetcher: f.fetcher, store: new MemoryTrustStore(), pinning: NO_PINNING, clock: () => later });
    await rejectsWith(t, expired.refresh(f.gun), ExpiredMetadataError, 'EXPIRED');
  });
}

t.test('Docker CLI delegation keys are plain ecdsa (not x509), and verify', async (t) => {
  const f = fixture('127.0.0.1_5000_dct_demo');
  const u = new TrustUpdater({ fetcher: f.fetcher, store: new MemoryTrustStore(), pinning: NO_PINNING, clock: () => f.madeAt });
  const { set } = await u.refresh(f.gun);
  const targets = set.targetsFiles.get('targets');
  const types = [...(targets?.data.delegationKeys.values() ?? [])].map((k) => k.keyType);
  t.ok(types.length > 0 && types.every((k) => k === 'ecdsa'), `delegation key types: ${types.join(',')}`);
  t.ok(set.targetsFiles.has('targets/alice'), 'the signer role docker trust signer add made is loaded too');
});
