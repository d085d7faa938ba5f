// allowedRealms entries are parsed origins with a path prefix on segment boundaries, never string
// prefixes; realms with userinfo are refused; https upstreams' credentials stay on https.

import t from 'tap';
import { realmAllowed, realmMatches } from '../../src/http/auth.js';

const upstream = new URL('https://registry.example.com');

t.test('an entry admits its own origin and paths below its prefix', async (t) => {
  t.ok(realmAllowed(upstream, 'https://auth.example.org/token', ['https://auth.example.org']));
  t.ok(realmAllowed(upstream, 'https://auth.example.org/token', ['https://auth.example.org/']));
  t.ok(realmAllowed(upstream, 'https://AUTH.example.org:443/token?x=1', ['https://auth.example.org/token']));
  t.ok(realmAllowed(upstream, 'https://auth.example.org/token/v2', ['https://auth.example.org/token/']));
  t.ok(realmAllowed(upstream, 'http://127.0.0.1:5001/token', ['http://127.0.0.1:5001']));
});

t.test('string-prefix tricks are refused', async (t) => {
  const entry = ['https://auth.example.org'];
  for (const realm of [
    'https://auth.example.org.evil.net/token',
    'https://auth.example.org@evil.net/token',
    'https://auth.example.org:secret@evil.net/token',
    'https://auth.example.org:8443/token',
    'http://auth.example.org/token',
    'https://auth.example.org%2eevil.net/token',
  ]) {
    t.notOk(realmAllowed(upstream, realm, entry), realm);
  }
  t.notOk(realmAllowed(upstream, 'https://auth.example.org/tokens', ['https://auth.example.org/token']), 'not a segment boundary');
  t.notOk(realmAllowed(upstream, 'https://auth.example.org/other', ['https://auth.example.org/token/']));
  t.notOk(realmAllowed(new URL('http://127.0.0.1:1'), 'http://127.0.0.1:12/token', ['http://127.0.0.1:1']), 'a port is not a prefix');
  t.notOk(realmAllowed(new URL('http://127.0.0.1:5'), 'http://127.0.0.10:5/token', ['http://127.0.0.1']), 'an address is not a prefix');
});

t.test('entries with userinfo, a query or a fragment admit nothing', async (t) => {
  const realm = new URL('https://auth.example.org/token');
  for (const entry of ['https://u:p@auth.example.org', 'https://auth.example.org/?a=b', 'https://auth.example.org/#x', 'not a url']) {
    t.notOk(realmMatches(realm, entry), entry);
  }
});

t.test('realms carrying userinfo are refused even on the upstream host', async (t) => {
  t.notOk(realmAllowed(upstream, 'https://user@registry.example.com/token'));
  t.ok(realmAllowed(upstream, 'https://registry.example.com/token'));
});

t.test('an https upstream does not send credentials to a plain-http realm unless listed', async (t) => {
  t.notOk(realmAllowed(upstream, 'http://registry.example.com/token'));
  t.notOk(realmAllowed(upstream, 'http://auth.example.com/token'));
  t.ok(realmAllowed(upstream, 'http://auth.example.com/token', ['http://auth.example.com']));
});
