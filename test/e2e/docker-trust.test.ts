// Trust data made live by the Docker 20.10 CLI — `docker push` with DOCKER_CONTENT_TRUST=1,
// `docker trust signer add`, `docker trust sign` — against a real notary-server and registry; the
// engine's answers must equal what `docker trust inspect` reports.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { MemoryTrustStore } from '../../src/cache/trust-store.js';
import { NotaryRemote } from '../../src/notary/remote.js';
import { TrustUpdater } from '../../src/notary/updater.js';
import { NO_PINNING, canonicalKeyId } from '../../src/trust/index.js';
import { DOCKER_CLI, startDockerd } from '../helpers/dockerd.js';
import { buildLayouts, push } from '../helpers/images.js';
import { startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { run, tempDir } from '../helpers/process.js';

const dir = tempDir('docker-trust');
t.teardown(dir.remove);

t.test('trust data signed by the Docker CLI', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const host = registry.url.replace('http://', '');
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${host}/seed/demo:v1`, { format: 'v2s2' });
  await push(layouts.single2, 'v2', `${host}/seed/demo:v2`, { format: 'v2s2' });
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  t.teardown(notary.stop);
  // the daemon pulls the seed images from the registry; it needs no mirror here
  const dockerd = await startDockerd(join(dir.path, 'd'), registry.url);
  t.teardown(dockerd.stop);

  const config = join(dir.path, 'docker-config');
  const notaryHost = notary.url.replace('https://', '');
  mkdirSync(join(config, 'tls', notaryHost), { recursive: true });
  writeFileSync(join(config, 'tls', notaryHost, 'ca.crt'), notary.caPem);
  const env = {
    ...process.env,
    DOCKER_CONFIG: config,
    DOCKER_HOST: `unix://${dockerd.socket}`,
    DOCKER_CONTENT_TRUST_SERVER: notary.url,
    DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'test-root-pass',
    DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'test-repo-pass',
  };
  const docker = async (args: string[], opts: { trust?: boolean; cwd?: string } = {}) => {
    const r = await run(DOCKER_CLI, args, { env: { ...env, ...(opts.trust ? { DOCKER_CONTENT_TRUST: '1' } : {}) }, cwd: opts.cwd, timeoutMs: 180_000 });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };

  const repo = `${host}/dct/demo`;
  // the registry has no auth; a login only records the user name `docker trust sign` asks for
  await run(DOCKER_CLI, ['login', host, '-u', 'bob', '--password-stdin'], { env, input: 'pw\n' });
  for (const tag of ['v1', 'v2']) {
    await docker(['pull', `${host}/seed/demo:${tag}`]);
    await docker(['tag', `${host}/seed/demo:${tag}`, `${repo}:${tag}`]);
  }
  await docker(['push', `${repo}:v2`], { trust: true }); // signs v2 into targets ("Repo Admin")
  const keys = join(dir.path, 'keys');
  mkdirSync(keys, { recursive: true });
  await docker(['trust', 'key', 'generate', 'alice'], { cwd: keys });
  await docker(['trust', 'signer', 'add', '--key', join(keys, 'alice.pub'), 'alice', repo], { trust: true });
  await docker(['trust', 'sign', `${repo}:v1`], { trust: true }); // signs v1 into targets/releases (alice)
  const inspect = JSON.parse(await docker(['trust', 'inspect', repo]))[0] as {
    SignedTags: { SignedTag: string; Digest: string; Signers: string[] }[];
    AdministrativeKeys: { Name: string; Keys: { ID: string }[] }[];
  };
  t.equal(inspect.SignedTags.length, 2);

  const remote = new NotaryRemote(notary.url, { ca: notary.caPem });
  t.teardown(() => remote.close());
  const updater = new TrustUpdater({ fetcher: remote, store: new MemoryTrustStore(), pinning: NO_PINNING });
  for (const st of inspect.SignedTags) {
    const r = await updater.resolve(repo, st.SignedTag);
    t.equal(r.digest, `sha256:${st.Digest}`, `${st.SignedTag} as docker trust inspect reports it`);
    t.equal(r.role, st.Signers.includes('Repo Admin') ? 'targets' : 'targets/releases');
  }
  const { set } = await updater.refresh(repo);
  const rootId = set.root.root.roles.get('root')?.keyIds[0] as string;
  const shown = inspect.AdministrativeKeys.find((k) => k.Name === 'Root')?.Keys[0]?.ID;
  t.equal(shown, rootId, 'docker trust inspect shows the root key ID as root.json lists it');
  const rootKey = set.root.root.keys.get(rootId);
  t.ok(rootKey && canonicalKeyId(rootKey) !== rootId, 'its canonical ID is another one, and pinning accepts both');
  t.ok(set.targetsFiles.has('targets/alice'), 'the signer role docker trust signer add made');
});
