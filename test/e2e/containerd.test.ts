// containerd 1.6 pulling through trustgate with the shipped hosts.toml recipes
// (deploy/clients/containerd/): trustgate as the `server`, and as a mirror `[host]` (requests carry
// ?ns=docker.io; the fall-back server is a loopback port where nothing listens, as egress control
// leaves it). Signed tags are pulled, unsigned ones refused, and a tag whose signature is removed
// is refused after trustgate's next refresh.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { decisions, refusesUnsignedAndRevoked, recipe, startContainerd, startSignedSite, type Containerd, type SignedSite } from '../helpers/clients.js';
import { tempDir, waitFor } from '../helpers/process.js';

const dir = tempDir('containerd');
const stops: (() => Promise<void>)[] = [];
t.teardown(async () => {
  for (const stop of stops.reverse()) await stop();
  dir.remove();
});

let site: SignedSite;
let containerd: Containerd;

t.before(async () => {
  // no default upstream: trustgate serves only requests that say which registry they are for, so
  // every pull served proves containerd sent ?ns=docker.io (it does, as server and as mirror)
  site = await startSignedSite(join(dir.path, 'site'), ['signed', 'revoked-server', 'revoked-mirror'], stops, { defaultUpstream: false });
  containerd = await startContainerd(join(dir.path, 'containerd'));
  stops.push(containerd.stop);
});

/** A hosts directory (certs.d layout) with the recipe for docker.io. */
function hostsDir(name: string, file: string): string {
  const hosts = join(dir.path, name);
  mkdirSync(join(hosts, 'docker.io'), { recursive: true });
  const text = recipe(file, { 'https://trustgate.example.com': `https://${site.trustgate}`, 'https://registry-1.docker.io': `https://${site.unreachable}` });
  writeFileSync(join(hosts, 'docker.io', 'hosts.toml'), text);
  return hosts;
}

async function pullsThroughTrustgate(t: Test, hosts: string, revokedTag: string): Promise<void> {
  const pull = (tag: string) =>
    containerd.ctr(['image', 'pull', '--hosts-dir', hosts, '--tlscacert', site.caPath, '--snapshotter', 'native', `docker.io/library/demo:${tag}`]);

  const served = decisions(await site.metrics(), 'served');
  const signed = await pull('signed');
  t.equal(signed.code, 0, `the signed tag is pulled: ${signed.stderr}`);
  const listed = await containerd.ctr(['image', 'ls']);
  t.match(listed.stdout, new RegExp(`docker.io/library/demo:signed\\s+\\S+\\s+${site.digest}`), 'with the signed digest');
  t.ok(decisions(await site.metrics(), 'served') > served, 'served by trustgate');

  await refusesUnsignedAndRevoked(t, site, pull, revokedTag);
}

t.test('hosts.toml with trustgate as the server: no fall-back', async (t) => {
  await pullsThroughTrustgate(t, hostsDir('hosts-server', 'containerd/hosts.toml'), 'revoked-server');
});

t.test('hosts.toml with trustgate as a mirror host (?ns=docker.io), the upstream out of reach', async (t) => {
  await pullsThroughTrustgate(t, hostsDir('hosts-mirror', 'containerd/hosts-mirror.toml'), 'revoked-mirror');
});
