// podman 4.3 pulling through trustgate with the shipped registries.conf recipes
// (deploy/clients/podman/): docker.io's location replaced by trustgate, and trustgate as a
// [[registry.mirror]] (the location it falls back to is a loopback port where nothing listens, as
// egress control leaves it). Signed tags are pulled, unsigned ones refused, and a tag whose
// signature is removed is refused after trustgate's next refresh.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { decisions, refusesUnsignedAndRevoked, podman, recipe, startSignedSite, type SignedSite } from '../helpers/clients.js';
import { tempDir, waitFor } from '../helpers/process.js';

const dir = tempDir('podman');
const stops: (() => Promise<void>)[] = [];
t.teardown(async () => {
  for (const stop of stops.reverse()) await stop();
  dir.remove();
});

let site: SignedSite;
let certDir: string;

t.before(async () => {
  // podman names no upstream in its requests: trustgate's docker.io is the default upstream
  site = await startSignedSite(join(dir.path, 'site'), ['signed', 'revoked-location', 'revoked-mirror'], stops, { defaultUpstream: true });
  certDir = join(dir.path, 'certs');
  mkdirSync(certDir);
  copyFileSync(site.caPath, join(certDir, 'ca.crt'));
});

async function pullsThroughTrustgate(t: Test, name: string, file: string, revokedTag: string): Promise<void> {
  const conf = join(dir.path, `${name}.conf`);
  writeFileSync(conf, recipe(file, { 'registry-1.docker.io': site.unreachable, 'trustgate.example.com': site.trustgate }));
  const client = podman(join(dir.path, name), conf);
  const pull = (tag: string) => client.pull(`docker.io/library/demo:${tag}`, certDir);

  const served = decisions(await site.metrics(), 'served');
  const signed = await pull('signed');
  t.equal(signed.code, 0, `the signed tag is pulled: ${signed.stderr}`);
  t.equal(await client.digestOf('docker.io/library/demo:signed'), site.digest, 'with the signed digest');
  t.ok(decisions(await site.metrics(), 'served') > served, 'served by trustgate');

  await refusesUnsignedAndRevoked(t, site, pull, revokedTag);
}

t.test('registries.conf with docker.io located at trustgate: no fall-back', async (t) => {
  await pullsThroughTrustgate(t, 'location', 'podman/registries.conf', 'revoked-location');
});

t.test('registries.conf with trustgate as a mirror, the location out of reach', async (t) => {
  await pullsThroughTrustgate(t, 'mirror', 'podman/registries-mirror.conf', 'revoked-mirror');
});
