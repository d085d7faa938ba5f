// Digest pulls follow the delegation `paths` rules tag pulls follow, through a `trustgate serve`
// process in front of a real registry and notary-server: a targets/releases delegation narrowed to
// `prod-` after it signed `evil` still lists `evil` in its file, but may not sign it — so neither the
// tag nor its digest is served, exactly as `notary list` leaves it out.

import { join } from 'node:path';
import t from 'tap';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { tempDir } from '../helpers/process.js';
import { startProcess } from '../helpers/trustgate.js';

const dir = tempDir('digest-paths');
t.teardown(dir.remove);
const GUN = 'docker.io/library/demo';

t.test('a delegation signs digests only under its paths', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const layouts = buildLayouts(join(dir.path, 'oci'));
  const host = registry.url.replace('http://', '');
  await push(layouts.single, 'v1', `${host}/library/demo:prod-1`, { format: 'v2s2' });
  await push(layouts.single2, 'v2', `${host}/library/demo:evil`, { format: 'v2s2' });
  const prod = await manifestOf(registry.url, 'library/demo', 'prod-1');
  const evil = await manifestOf(registry.url, 'library/demo', 'evil');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary'), tls: false });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  await cli.addDelegation(GUN, 'targets/releases', 'all');
  await cli.sign(GUN, 'prod-1', prod, 'targets/releases');
  await cli.sign(GUN, 'evil', evil, 'targets/releases');
  // narrow the delegation: its file keeps `evil`, which it may no longer sign
  await cli.notary('delegation', 'remove', GUN, 'targets/releases', '--all-paths', '-y', '-p');
  await cli.notary('delegation', 'add', GUN, 'targets/releases', '--paths', 'prod-', '-p');
  t.same((await cli.listDockerView(GUN)).map((l) => l.name), ['prod-1'], 'notary lists only what the delegation may sign');

  const tg = await startProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, default: true }] });
  t.teardown(tg.stop);
  const pull = (ref: string) => fetch(`${tg.url}/v2/library/demo/manifests/${ref}`, { headers: { accept: ALL_MANIFEST_TYPES.join(',') } });
  const reason = async (r: Response) => ((await r.json().catch(() => ({}))) as { errors?: { detail: { reason: string } }[] }).errors?.[0]?.detail.reason;

  for (const ref of ['prod-1', prod.digest]) {
    const r = await pull(ref);
    t.equal(r.status, 200, ref);
    t.equal(r.headers.get('docker-content-digest'), prod.digest);
  }
  const byTag = await pull('evil');
  t.equal(byTag.status, 403, 'evil by tag');
  t.equal(await reason(byTag), 'NOT_SIGNED');
  const byDigest = await pull(evil.digest);
  t.equal(byDigest.status, 403, 'evil by digest');
  t.equal(await reason(byDigest), 'DIGEST_NOT_SIGNED');
});
