// Access control for real: client authentication (htpasswd bcrypt, bearer tokens) in front of a
// trustgate that holds upstream credentials, and TLS on the listener, reloaded on SIGHUP or change.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import t from 'tap';
import { Agent, request } from 'undici';
import { ALL_MANIFEST_TYPES, buildLayouts, manifestOf, push } from '../helpers/images.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { startRegistry } from '../helpers/peers.js';
import { run, tempDir } from '../helpers/process.js';
import { startInProcess, startProcess, type TrustgateSpec } from '../helpers/trustgate.js';
import { makeTlsPki } from '../helpers/x509.js';

const dir = tempDir('access');
t.teardown(dir.remove);
const REPO = 'library/demo';
const GUN = `docker.io/${REPO}`;
const TOKEN = 'ci-pipeline-token-0123456789';
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

t.test('client authentication and listener TLS', async (t) => {
  const registry = await startRegistry(dir.path);
  t.teardown(registry.stop);
  const layouts = buildLayouts(join(dir.path, 'oci'));
  await push(layouts.single, 'v1', `${registry.url.replace('http://', '')}/${REPO}:v1`, { format: 'v2s2' });
  const v1 = await manifestOf(registry.url, REPO, 'v1');
  const notary = await startNotaryServer({ dir: join(dir.path, 'notary') });
  t.teardown(notary.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), notary);
  await cli.init(GUN);
  await cli.sign(GUN, 'v1', v1);
  const upstreams: TrustgateSpec['upstreams'] = [{ name: 'docker.io', registry: registry.url, notary: notary.url, ca: notary.caPath, default: true }];

  await t.test('htpasswd (bcrypt) and bearer tokens', async (t) => {
    const htpasswd = join(dir.path, 'htpasswd');
    writeFileSync(htpasswd, `alice:${bcrypt.hashSync('alice-pw', 10)}\n`);
    const tg = await startInProcess(dir.path, {
      upstreams,
      auth: { realm: 'trustgate test', htpasswd, tokenSha256: [createHash('sha256').update(TOKEN).digest('hex')] },
    });
    t.teardown(tg.stop);
    const get = (authorization?: string) =>
      fetch(`${tg.url}/v2/${REPO}/manifests/v1`, { headers: { accept: ALL_MANIFEST_TYPES.join(','), ...(authorization ? { authorization } : {}) } });

    const anon = await get();
    t.equal(anon.status, 401);
    t.equal(anon.headers.get('www-authenticate'), 'Basic realm="trustgate test"');
    t.equal(((await anon.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
    t.equal((await fetch(`${tg.url}/v2/`)).status, 401, 'the API root challenges too (docker login)');
    t.equal((await get(basic('alice', 'wrong'))).status, 401);
    t.equal((await get(basic('mallory', 'alice-pw'))).status, 401);
    t.equal((await get(basic('alice', 'alice-pw'))).status, 200);
    t.equal((await get(`Bearer ${TOKEN}`)).status, 200);
    t.equal((await get('Bearer not-the-token')).status, 401);
    t.equal((await fetch(`${tg.url}/healthz`)).status, 200, 'health stays open');

    const host = tg.url.replace('http://', '');
    const noCreds = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${host}/${REPO}:v1`]);
    t.not(noCreds.code, 0, 'skopeo without credentials is refused');
    const withCreds = await run('skopeo', ['inspect', '--tls-verify=false', '--creds', 'alice:alice-pw', `docker://${host}/${REPO}:v1`]);
    t.equal(withCreds.code, 0, withCreds.stderr);

    writeFileSync(htpasswd, `alice:${bcrypt.hashSync('new-pw', 10)}\n`);
    await tg.app?.reload();
    t.equal((await get(basic('alice', 'alice-pw'))).status, 401, 'the old password stops working on reload');
    t.equal((await get(basic('alice', 'new-pw'))).status, 200);
  });

  await t.test('TLS on the listener, with the certificate reloaded on SIGHUP and on change', async (t) => {
    const first = makeTlsPki();
    const cert = join(dir.path, 'tls.crt');
    const key = join(dir.path, 'tls.key');
    writeFileSync(cert, first.certPem);
    writeFileSync(key, first.keyPem);
    const tg = await startProcess(dir.path, { upstreams, tls: { cert, key } });
    t.teardown(tg.stop);
    const ping = async (caPem: string) => {
      const agent = new Agent({ connect: { ca: caPem } });
      try {
        const r = await request(`${tg.url}/v2/${REPO}/manifests/v1`, { dispatcher: agent, headers: { accept: ALL_MANIFEST_TYPES.join(',') } });
        await r.body.dump();
        return r.statusCode;
      } catch {
        return 0;
      } finally {
        await agent.close();
      }
    };
    t.equal(await ping(first.caPem), 200, 'served over TLS');

    for (const how of ['SIGHUP', 'file change'] as const) {
      const next = makeTlsPki();
      writeFileSync(cert, next.certPem);
      writeFileSync(key, next.keyPem);
      if (how === 'SIGHUP') tg.daemon.child.kill('SIGHUP');
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await ping(next.caPem)) !== 200) await new Promise((r) => setTimeout(r, 200));
      t.equal(await ping(next.caPem), 200, `${how}: the new certificate is served`);
      t.equal(await ping(first.caPem), 0, `${how}: the old one is not`);
    }
  });
});
