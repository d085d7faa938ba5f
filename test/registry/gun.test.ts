// One check for every GUN (Notary URLs, store keys, file paths, bundles, the Notary read API): the host
// follows the registry host grammar, so no component is empty, `.` or `..`.

import t from 'tap';
import { isValidGun, isValidRegistryHost } from '../../src/registry/reference.js';

t.test('valid GUNs', async (t) => {
  for (const gun of ['docker.io/library/alpine', '127.0.0.1:5000/team/app', 'localhost/a', 'registry-1.example.com:443/a/b-c/d__e', 'a/b']) {
    t.ok(isValidGun(gun), gun);
  }
});

t.test('GUNs that could leave a directory or name no host', async (t) => {
  for (const gun of ['../x', './x', '../../etc/passwd', 'a/../b', 'a/./b', '.a/b', 'a./b', 'a..b/c', '-a/b', 'a-/b', '/a', 'a', 'a/', 'a//b', 'A/b', 'a/B', 'a:port/b', 'a:/b', 'a/.b', `a/${'b'.repeat(260)}`]) {
    t.notOk(isValidGun(gun), JSON.stringify(gun));
  }
});

t.test('registry hosts', async (t) => {
  t.ok(isValidRegistryHost('docker.io'));
  t.ok(isValidRegistryHost('127.0.0.1:5000'));
  for (const h of ['..', '.', 'a..b', '.a', 'a.', 'a-', '-a', 'a:b', '', 'a/b', 'UPPER.example']) t.notOk(isValidRegistryHost(h), JSON.stringify(h));
});
