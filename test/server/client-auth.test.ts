// Client authentication does a bcrypt comparison for every Basic attempt, whether or not the username
// exists (against a dummy hash of the file's highest cost), so answer times do not reveal usernames.
// Counted, never timed.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import t from 'tap';
import { UnauthorizedError } from '../../src/errors.js';
import { ClientAuth } from '../../src/server/client-auth.js';
import { tempDir } from '../helpers/process.js';

const dir = tempDir('client-auth');
t.teardown(dir.remove);

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

t.test('unknown usernames cost a bcrypt comparison of the same cost as known ones', async (t) => {
  const htpasswd = join(dir.path, 'htpasswd');
  writeFileSync(htpasswd, `alice:${bcrypt.hashSync('alice-pass', 6)}\nbob:${bcrypt.hashSync('bob-pass', 7)}\n`);
  const compared: string[] = [];
  const auth = new ClientAuth({ realm: 'trustgate', htpasswdPath: htpasswd, tokenSha256: [] }, async (password, hash) => {
    compared.push(hash);
    return bcrypt.compare(password, hash);
  });
  await auth.load();

  const refused = async (header: string) => {
    const err = await auth.check(header).then(() => undefined, (e: unknown) => e);
    t.ok(err instanceof UnauthorizedError, header);
    t.equal((err as UnauthorizedError).code, 'UNAUTHORIZED');
  };
  await refused(basic('mallory', 'guess'));
  t.equal(compared.length, 1, 'an unknown username was compared too');
  t.match(compared[0], /^\$2[aby]\$07\$/, "at the file's highest cost");
  await refused(basic('bob', 'wrong'));
  t.equal(compared.length, 2, 'a known username with a wrong password: one comparison');
  await auth.check(basic('alice', 'alice-pass'));
  t.equal(compared.length, 3);
  await auth.check(basic('alice', 'alice-pass'));
  t.equal(compared.length, 3, 'a verified credential is remembered');
});
