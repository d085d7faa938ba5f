// `trustgate check` (the built CLI) against a real notary-server signed with the notary CLI.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { freePort, run, tempDir } from '../helpers/process.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const dir = tempDir('check-cli');
t.teardown(dir.remove);

t.test('trustgate check', async (t) => {
  t.ok(existsSync(CLI), 'the CLI is built (npm run build)');
  const server = await startNotaryServer({ dir: join(dir.path, 'notary') });
  t.teardown(server.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), server);
  const gun = 'docker.io/library/checkme';
  await cli.init(gun);
  const v1 = await cli.addHash(gun, 'v1', 'manifest v1');
  await cli.addDelegation(gun, 'targets/releases');
  const v2 = await cli.addHash(gun, 'v2', 'manifest v2', 'targets/releases');
  const check = (...args: string[]) => run('node', [CLI, 'check', ...args, '--notary', server.url, '--ca', server.caPath]);

  const signed = await check('checkme:v2'); // short name, normalised as docker does
  t.equal(signed.code, 0, signed.stderr);
  t.match(signed.stdout, v2.digest);
  t.match(signed.stdout, 'targets/releases');
  t.notMatch(signed.stdout, v1.digest, 'prints only the digest docker would pull');

  const json = await check('docker.io/library/checkme:v1', '--json');
  t.equal(json.code, 0);
  const doc = JSON.parse(json.stdout);
  t.same({ digest: doc.digest, size: doc.size, role: doc.role }, { digest: v1.digest, size: v1.size, role: 'targets' });
  t.ok(doc.roles.some((r: { role: string }) => r.role === 'timestamp'), 'each role with its expiry');

  const unsigned = await check('checkme:nope');
  t.equal(unsigned.code, 1, 'exit 1 when not signed');
  t.match(unsigned.stderr, 'NOT_SIGNED');
  t.equal((await check('checkme:nope', '--json')).code, 1);
  t.equal((await check('library/never:v1')).code, 1, 'exit 1 when there is no trust data');

  const [rootId] = await cli.rootKeyIds(gun);
  t.ok(rootId, 'notary key list shows the root key');
  t.equal((await check('checkme:v1', '--pin-key', rootId as string)).code, 0, 'pinned to the canonical ID notary key list shows');
  const pinned = await check('checkme:v1', '--pin-key', 'f'.repeat(64));
  t.equal(pinned.code, 1, 'exit 1 when the root does not match the pin');
  t.match(pinned.stderr, 'PINNING_FAILED');

  const closed = await freePort();
  const down = await run('node', [CLI, 'check', 'checkme:v1', '--notary', `https://127.0.0.1:${closed}`]);
  t.equal(down.code, 2, 'exit 2 when Notary is unreachable');
  t.match(down.stderr, 'UNREACHABLE');
  const badRef = await run('node', [CLI, 'check', 'Bad//Ref']);
  t.equal(badRef.code, 2, 'exit 2 on a bad reference');
  t.match(badRef.stderr, '[USAGE]', 'a usage error, not a configuration error');
  const byDigest = await run('node', [CLI, 'check', `checkme@${v1.digest}`]);
  t.equal(byDigest.code, 2, 'a digest is not a tag');
  t.match(byDigest.stderr, '[USAGE]');
  t.equal((await run('node', [CLI, 'check'])).code, 2, 'exit 2 when the argument is missing (not 1: that means not signed)');
  t.equal((await run('node', [CLI, 'check', 'a:1', 'b:2'])).code, 2, 'exit 2 on extra arguments');
  t.equal((await run('node', [CLI, 'check', 'a:1', '--no-such-option'])).code, 2, 'exit 2 on an unknown option');

  const noCa = await run('node', [CLI, 'check', 'checkme:v1', '--notary', server.url]);
  t.equal(noCa.code, 2, 'TLS is verified: without the CA the server is not trusted');
  t.match(noCa.stderr, '--ca', 'an untrusted certificate points at --ca');
  const noCaJson = JSON.parse((await run('node', [CLI, 'check', 'checkme:v1', '--notary', server.url, '--json'])).stdout);
  t.equal(noCaJson.error.code, 'UNREACHABLE');
  t.match(noCaJson.error.tls, /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/, 'the certificate failure is named');
});

t.test('trustgate --version and usage errors', async (t) => {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8'));
  const v = await run('node', [CLI, '--version']);
  t.equal(v.code, 0);
  t.equal(v.stdout.trim(), pkg.version);
  t.equal((await run('node', [CLI, 'no-such-command'])).code, 2);
  t.equal((await run('node', [CLI, 'check', '--help'])).code, 0, 'help is not an error');
  const exportHelp = await run('node', [CLI, 'trust', 'export', '--help']);
  t.match(exportHelp.stdout, 'containers dir:', 'export --help says what --images writes');
  const launcher = await run(process.execPath, [join(import.meta.dirname, '..', '..', 'scripts', 'trustgate.mjs'), '--version']);
  t.equal(launcher.stdout.trim(), pkg.version, 'the package bin (npx trustgate) runs the built CLI');
});

t.test('healthcheck says why when nothing answers', async (t) => {
  const closed = await freePort();
  const r = await run('node', [CLI, 'healthcheck', '--url', `http://127.0.0.1:${closed}/healthz`]);
  t.equal(r.code, 1, 'unhealthy');
  t.match(r.stderr, `127.0.0.1:${closed}`, 'names where it looked');
});
