// verifyRootChain: a trust bundle carries root versions 1…N; each must sign the next, and the chain
// must end at the root the bundle's trust data verified under. A gap, a version out of place, a link
// the previous keys did not sign, or a chain ending elsewhere is refused.

import t from 'tap';
import { BadVersionError, RootRotationError } from '../../src/errors.js';
import { verifyRootChain } from '../../src/notary/updater.js';
import { RepoSimulator, SimKey } from '../helpers/simulator.js';
import { throwsWith } from '../helpers/trust.js';

/** Roots 1…3, each rotating to a new key and signed by the previous key too. */
function rotatedThrice() {
  const sim = new RepoSimulator();
  for (let i = 0; i < 2; i++) {
    sim.rootCosigners = [sim.keys.root[0] as SimKey];
    sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: sim.gun })];
    sim.publishRoot();
  }
  const roots = new Map([1, 2, 3].map((v) => [v, sim.files.get(`${v}.root`) as Buffer]));
  return { sim, roots, newest: roots.get(3) as Buffer };
}

t.test('a complete chain ending at the trusted root is accepted', async (t) => {
  const { sim, roots, newest } = rotatedThrice();
  t.doesNotThrow(() => verifyRootChain(sim.gun, roots, newest, sim.now));
  t.doesNotThrow(() => verifyRootChain(sim.gun, new Map([[1, roots.get(1) as Buffer]]), roots.get(1) as Buffer, sim.now), 'a single version');
});

t.test('version 1 missing', async (t) => {
  const { sim, roots, newest } = rotatedThrice();
  roots.delete(1);
  throwsWith(t, () => verifyRootChain(sim.gun, roots, newest, sim.now), RootRotationError, 'ROOT_ROTATION_FAILED');
});

t.test('a version missing in between', async (t) => {
  const { sim, roots, newest } = rotatedThrice();
  roots.delete(2);
  throwsWith(t, () => verifyRootChain(sim.gun, roots, newest, sim.now), RootRotationError, 'ROOT_ROTATION_FAILED');
});

t.test('a chain that does not end at the trusted root', async (t) => {
  const { sim, roots } = rotatedThrice();
  throwsWith(t, () => verifyRootChain(sim.gun, roots, roots.get(2) as Buffer, sim.now), RootRotationError, 'ROOT_ROTATION_FAILED');
  roots.delete(3);
  throwsWith(t, () => verifyRootChain(sim.gun, roots, sim.files.get('3.root') as Buffer, sim.now), RootRotationError, 'ROOT_ROTATION_FAILED');
});

t.test('a version filed under another number', async (t) => {
  const sim = new RepoSimulator(); // one key throughout: every version is signed by the keys before it
  sim.publishRoot();
  sim.publishRoot();
  const roots = new Map([[1, sim.files.get('1.root') as Buffer], [2, sim.files.get('3.root') as Buffer], [3, sim.files.get('3.root') as Buffer]]);
  throwsWith(t, () => verifyRootChain(sim.gun, roots, roots.get(3) as Buffer, sim.now), BadVersionError, 'ROLLBACK');
});

t.test('a link the previous root keys did not sign', async (t) => {
  const { sim, roots } = rotatedThrice();
  sim.rootCosigners = [];
  sim.keys.root = [SimKey.generate('ecdsa-x509', { cn: sim.gun })];
  roots.set(4, sim.publishRoot()); // signed only by its own new key
  throwsWith(t, () => verifyRootChain(sim.gun, roots, roots.get(4) as Buffer, sim.now), RootRotationError, 'ROOT_ROTATION_FAILED');
});

t.test('an old version whose metadata has expired still links the chain', async (t) => {
  const sim = new RepoSimulator();
  const expires = sim.signed.root.expires as string;
  sim.signed.root.expires = sim.expiresIn(-1);
  sim.publishRoot(); // version 2, expired
  sim.signed.root.expires = expires;
  sim.publishRoot();
  const roots = new Map([1, 2, 3].map((v) => [v, sim.files.get(`${v}.root`) as Buffer]));
  t.doesNotThrow(() => verifyRootChain(sim.gun, roots, roots.get(3) as Buffer, sim.now));
});
