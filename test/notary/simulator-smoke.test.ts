import t from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { TrustUpdater } from '../../src/notary/updater.js';
import { NO_PINNING } from '../../src/trust/index.js';
import { RepoSimulator } from '../helpers/simulator.js';

t.test('simulated repository resolves a signed tag', async (t) => {
  const sim = new RepoSimulator();
  const digest = sim.addTarget('targets', 'v1', 'manifest-1');
  sim.publish();
  const u = new TrustUpdater({ fetcher: sim, store: new MemoryTrustStore(), pinning: NO_PINNING });
  const r = await u.resolve(sim.gun, 'v1');
  t.equal(r.digest, digest);
  t.equal(r.role, 'targets');
});
