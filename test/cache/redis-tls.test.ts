// The shared store over TLS with an ACL user: `rediss://`, `tls: { ca }`, usernameEnv/passwordEnv,
// against a real redis-server with a TLS port and a test CA.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { openStores } from '../../src/cache/stores.js';
import { parseConfig } from '../../src/config/config.js';
import { StoreUnavailableError } from '../../src/errors.js';
import { startRedis } from '../helpers/peers.js';
import { freePort, tempDir } from '../helpers/process.js';
import { makeTlsPki } from '../helpers/x509.js';

const dir = tempDir('redis-tls');
t.teardown(dir.remove);

t.test('rediss:// with a CA file and an ACL user from the environment', async (t) => {
  const pki = makeTlsPki();
  const file = (name: string, text: string) => {
    const p = join(dir.path, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const ca = file('ca.pem', pki.caPem);
  const tlsPort = await freePort();
  const redis = await startRedis(dir.path, {
    args: ['--tls-port', String(tlsPort), '--tls-cert-file', file('redis.crt', pki.certPem), '--tls-key-file', file('redis.key', pki.keyPem)]
      .concat(['--tls-ca-cert-file', ca, '--tls-auth-clients', 'no', '--user', 'default', 'off', '--user', 'trustgate', 'on', '>s3cret', '~*', '&*', '+@all']),
  });
  t.teardown(redis.stop);
  const env = { TG_USER: 'trustgate', TG_PASSWORD: 's3cret' };
  const redisDoc = { url: `rediss://127.0.0.1:${tlsPort}/0`, usernameEnv: 'TG_USER', passwordEnv: 'TG_PASSWORD', tls: { ca: 'ca.pem' } };
  const stores = await openStores(await parseConfig({ upstreams: [{ name: 'docker.io', registry: 'https://registry.example', notary: 'https://notary.example' }], redis: redisDoc, redisPrefix: 'tls:' }, { env, baseDir: dir.path }));
  t.teardown(() => stores.close());
  t.equal(stores.health?.up, true, 'connected over TLS as the ACL user');
  await stores.trustStore.putMetadata('docker.io/library/tls', 'root', Buffer.from('root over tls'), 1);
  t.same(await stores.trustStore.getMetadata('docker.io/library/tls', 'root'), Buffer.from('root over tls'));

  const { tls: _ca, ...noCa } = redisDoc; // the server's certificate is then not trusted
  const untrusted = await openStores(await parseConfig({ upstreams: [{ name: 'docker.io', registry: 'https://registry.example', notary: 'https://notary.example' }], redis: noCa, redisPrefix: 'tls:' }, { env, baseDir: dir.path }));
  t.teardown(() => untrusted.close());
  await t.rejects(untrusted.trustStore.getMetadata('docker.io/library/never', 'root'), StoreUnavailableError, 'no first contact over a connection that never verified');
});
