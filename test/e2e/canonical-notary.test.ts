// Canonical JSON against the real notary: a targets file that names a target containing U+2028 (and
// <, &, >) is written by notary with those characters escaped, while its signature covers them raw.
// `notary list` verifies it; trustgate must too, and serve every other tag of the file.

import { join } from 'node:path';
import t from 'tap';
import { NotaryRemote } from '../../src/notary/remote.js';
import { NotaryCli, startNotaryServer } from '../helpers/notary.js';
import { tempDir } from '../helpers/process.js';
import { updaterFor } from '../helpers/trust.js';

const dir = tempDir('canonical-notary');
t.teardown(dir.remove);

t.test('a targets file with U+2028 in a target name verifies as notary verifies it', async (t) => {
  const server = await startNotaryServer({ dir: join(dir.path, 'notary') });
  t.teardown(server.stop);
  const cli = new NotaryCli(join(dir.path, 'cli'), server);
  const remote = new NotaryRemote(server.url, { ca: server.caPem });
  t.teardown(() => remote.close());
  const gun = 'docker.io/library/separators';
  await cli.init(gun);
  const v1 = await cli.addHash(gun, 'v1', 'manifest v1');
  await cli.addHash(gun, 'line\u2028separated<&>', 'another manifest');

  const lookup = await cli.lookup(gun, 'v1');
  t.equal(lookup.code, 0, 'the notary CLI verifies the targets file');
  const resolved = await updaterFor(remote).resolve(gun, 'v1');
  t.same({ digest: resolved.digest, size: resolved.length, role: resolved.role }, { digest: v1.digest, size: v1.size, role: 'targets' });
});
