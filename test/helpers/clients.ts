// Real container clients pulling through trustgate: containerd 1.6 (its own daemon: root, state and
// socket in a temp dir; `ctr image pull --hosts-dir`) and podman 4.3 (`--root/--runroot/--tmpdir`,
// `CONTAINERS_REGISTRIES_CONF`, vfs), each with a private state that leaves nothing behind. And the
// site they pull from: a registry and a notary-server with signed, unsigned and soon-revoked tags,
// with trustgate over TLS in front — the client recipes shipped in deploy/clients/, filled in.

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { Agent, request } from 'undici';
import { buildLayouts, manifestOf, push } from './images.js';
import { NotaryCli, startNotaryServer } from './notary.js';
import { startRegistry } from './peers.js';
import { freePort, run, startDaemon, waitFor, type RunResult } from './process.js';
import { startProcess } from './trustgate.js';
import { makeTlsPki } from './x509.js';

export const CLIENT_RECIPES = join(import.meta.dirname, '..', '..', 'deploy', 'clients');
export const GUN = 'docker.io/library/demo';

export interface SignedSite {
  /** trustgate's address as clients name it (`127.0.0.1:<port>`), over TLS. */
  readonly trustgate: string;
  /** The CA of trustgate's certificate (PEM file). */
  readonly caPath: string;
  /** The digest every signed tag points at. */
  readonly digest: string;
  /** A loopback address where nothing listens: the upstream a mirror recipe falls back to. */
  readonly unreachable: string;
  /** Remove a tag's signature and publish (`notary remove … -p`). */
  revoke(tag: string): Promise<void>;
  /** trustgate's /metrics. */
  metrics(): Promise<string>;
}

/**
 * A registry holding `library/demo` under `unsigned` and each of `signedTags`, a notary-server
 * signing the signed ones, and trustgate (TLS, refreshing trust data every second) in front. With
 * `defaultUpstream: false`, trustgate serves only requests that name the upstream (`?ns=docker.io`).
 */
export async function startSignedSite(dir: string, signedTags: readonly string[], stops: (() => Promise<void>)[], o: { defaultUpstream: boolean }): Promise<SignedSite> {
  mkdirSync(dir, { recursive: true });
  const registry = await startRegistry(dir);
  stops.push(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir, 'oci'));
  for (const tag of ['unsigned', ...signedTags]) await push(layouts.single, 'v1', `${host}/library/demo:${tag}`, { format: 'v2s2' });
  const image = await manifestOf(registry.url, 'library/demo', 'unsigned');
  const notary = await startNotaryServer({ dir: join(dir, 'notary') });
  stops.push(notary.stop);
  const cli = new NotaryCli(join(dir, 'notary-cli'), notary);
  await cli.init(GUN);
  for (const tag of signedTags) await cli.sign(GUN, tag, image);
  const pki = makeTlsPki();
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text, { mode: 0o600 });
    return join(dir, name);
  };
  const tls = { cert: file('trustgate.crt', pki.certPem), key: file('trustgate.key', pki.keyPem) };
  const tg = await startProcess(dir, {
    upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: o.defaultUpstream }],
    trust: { refreshInterval: '1s' },
    tls,
  });
  stops.push(tg.stop);
  const caPath = file('trustgate-ca.crt', pki.caPem);
  return {
    trustgate: `127.0.0.1:${tg.port}`,
    caPath,
    digest: image.digest,
    unreachable: `127.0.0.1:${await freePort()}`,
    revoke: async (tag) => void (await cli.notary('remove', GUN, tag, '-p')),
    metrics: async () => {
      const res = await request(`${tg.url}/metrics`, { dispatcher: new Agent({ connect: { ca: pki.caPem } }) });
      return res.body.text();
    },
  };
}

/** `trustgate_manifest_decisions_total` for one decision and reason (0 when absent). */
export function decisions(metrics: string, decision: string, reason = ''): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`trustgate_manifest_decisions_total{decision="${decision}",reason="${reason}",`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** A shipped client recipe with trustgate's (and the upstream's) address filled in. */
/**
 * What a client pulling through trustgate must be refused, asserted on its own pulls: the unsigned tag,
 * and `revokedTag` once its signature is removed — each refused by trustgate as not signed.
 */
export async function refusesUnsignedAndRevoked(t: Test, site: SignedSite, pull: (tag: string) => Promise<RunResult>, revokedTag: string): Promise<void> {
  const refusedBefore = decisions(await site.metrics(), 'refused', 'NOT_SIGNED');
  const unsigned = await pull('unsigned');
  t.not(unsigned.code, 0, 'the unsigned tag is refused');
  t.ok(decisions(await site.metrics(), 'refused', 'NOT_SIGNED') > refusedBefore, 'by trustgate, as not signed');

  t.equal((await pull(revokedTag)).code, 0, 'a tag is pulled while signed');
  await site.revoke(revokedTag);
  // bounded wait, no timing asserted: refused once trustgate refreshes (trust.refreshInterval 1s)
  await waitFor('the revoked tag to be refused', async () => (await pull(revokedTag)).code !== 0, 60_000);
  const refusedRevoked = decisions(await site.metrics(), 'refused', 'NOT_SIGNED');
  t.not((await pull(revokedTag)).code, 0, 'and refused once its signature is removed');
  t.ok(decisions(await site.metrics(), 'refused', 'NOT_SIGNED') > refusedRevoked, 'by trustgate, as not signed');
}

export function recipe(name: string, substitutions: Record<string, string>): string {
  let text = readFileSync(join(CLIENT_RECIPES, name), 'utf8');
  for (const [from, to] of Object.entries(substitutions)) text = text.split(from).join(to);
  return text;
}

export interface Containerd {
  ctr(args: string[]): Promise<RunResult>;
  stop(): Promise<void>;
}

/** A containerd of its own (no CRI, no /opt plugin): root, state and socket under `dir`. */
export async function startContainerd(dir: string): Promise<Containerd> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'containerd.toml');
  writeFileSync(
    config,
    `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${socket}"
`,
  );
  const daemon = startDaemon('containerd', 'containerd', ['-c', config], join(dir, 'containerd.log'));
  const ctr = (args: string[]) => run('ctr', ['--address', socket, '--namespace', 'trustgate-test', ...args], { timeoutMs: 120_000 });
  await waitFor('containerd', async () => (await ctr(['version'])).code === 0, 30_000, daemon);
  return { ctr, stop: () => daemon.stop() };
}

export interface Podman {
  /** `podman pull REF`, trusting the CA certificates in `certDir` (as /etc/containers/certs.d/<host>/). */
  pull(ref: string, certDir: string): Promise<RunResult>;
  /** The digest of a pulled image, as podman recorded it. */
  digestOf(ref: string): Promise<string>;
}

/** podman with private storage (vfs), runtime and temp dirs under `dir`, reading `registriesConf`. */
export function podman(dir: string, registriesConf: string): Podman {
  const policy = join(dir, 'policy.json');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  // signatures are trustgate's business here: podman's own policy accepts what trustgate serves
  writeFileSync(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const global = [
    ['--root', join(dir, 'root')],
    ['--runroot', join(dir, 'runroot')],
    ['--tmpdir', join(dir, 'libpod')],
    ['--storage-driver', 'vfs'],
    ['--events-backend', 'none'],
    // netavark keeps a run directory in /run/containers; a pull needs no network set up at all
    ['--network-backend', 'cni'],
    ['--network-config-dir', join(dir, 'networks')],
  ].flat();
  const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: registriesConf, TMPDIR: join(dir, 'tmp') };
  const podmanRun = (args: string[]) => run('podman', [...global, ...args], { env, timeoutMs: 120_000 });
  return {
    pull: (ref, certDir) => podmanRun(['pull', '-q', '--signature-policy', policy, '--cert-dir', certDir, ref]),
    digestOf: async (ref) => (await podmanRun(['image', 'inspect', '--format', '{{.Digest}}', ref])).stdout.trim(),
  };
}
