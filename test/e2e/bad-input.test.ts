// A corpus of hostile or malformed requests, sent raw over TCP (no client-side normalisation): every
// one gets a registry error envelope, and none reaches an upstream registry or Notary.

import { connect } from 'node:net';
import t from 'tap';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { startInProcess } from '../helpers/trustgate.js';
import { freePort, tempDir } from '../helpers/process.js';

const dir = tempDir('bad-input');
t.teardown(dir.remove);

interface Raw {
  status: number;
  body: string;
}

/** Send `request` as bytes and read the whole answer (the server closes or we time out). */
function raw(port: number, request: string | Buffer): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(new Error('no answer in 5 s')), 5_000);
    s.on('data', (c) => {
      chunks.push(c);
      const text = Buffer.concat(chunks).toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const len = /content-length: (\d+)/i.exec(text.slice(0, head))?.[1];
      if (head >= 0 && len !== undefined && Buffer.concat(chunks).length >= head + 4 + Number(len)) s.end();
    });
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.write(request);
  });
}

const get = (path: string, headers = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`;
const hex = (c: string) => c.repeat(64);

const corpus: [string, string | Buffer][] = [
  ['dot-dot segments', get('/v2/library/../etc/manifests/v1')],
  ['dot-dot inside a name', get('/v2/library/demo/../../x/manifests/v1')],
  ['percent-encoded slash', get('/v2/library%2Fdemo/manifests/v1')],
  ['percent-encoded dots', get('/v2/library/%2e%2e/manifests/v1')],
  ['percent-encoded dot-dot suffix', get('/v2/library/demo%2E%2E/manifests/v1')],
  ['encoded slash in a tag', get('/v2/library/demo/manifests/v1%2Fx')],
  ['encoded NUL', get('/v2/library/demo%00/manifests/v1')],
  ['backslash', get('/v2/library\\demo/manifests/v1')],
  ['double slash', get('/v2/library//demo/manifests/v1')],
  ['trailing slash', get('/v2/library/demo/manifests/v1/')],
  ['upper-case name', get('/v2/Library/Demo/manifests/v1')],
  ['overlong name', get(`/v2/${'a/'.repeat(130)}b/manifests/v1`)],
  ['overlong component', get(`/v2/library/${'a'.repeat(300)}/manifests/v1`)],
  ['overlong tag', get(`/v2/library/demo/manifests/${'a'.repeat(129)}`)],
  ['tag starting with a dot', get('/v2/library/demo/manifests/.v1')],
  ['tag starting with a dash', get('/v2/library/demo/manifests/-v1')],
  ['tag with a semicolon', get('/v2/library/demo/manifests/v1;ls')],
  ['empty reference', get('/v2/library/demo/manifests/')],
  ['sha512 digest', get(`/v2/library/demo/manifests/sha512:${'a'.repeat(128)}`)],
  ['md5 digest', get('/v2/library/demo/manifests/md5:d41d8cd98f00b204e9800998ecf8427e')],
  ['upper-case hex', get(`/v2/library/demo/manifests/sha256:${hex('A')}`)],
  ['short hex', get('/v2/library/demo/manifests/sha256:abc123')],
  ['non-hex digest', get(`/v2/library/demo/manifests/sha256:${hex('g')}`)],
  ['blob by tag', get('/v2/library/demo/blobs/latest')],
  ['blob with an upper-case digest', get(`/v2/library/demo/blobs/sha256:${hex('F')}`)],
  ['empty ns', get('/v2/library/demo/manifests/v1?ns=')],
  ['unknown ns', get('/v2/library/demo/manifests/v1?ns=evil.example.com')],
  ['ns naming a path', get('/v2/library/demo/manifests/v1?ns=docker.io%2F..')],
  ['ns twice', get('/v2/library/demo/manifests/v1?ns=docker.io&ns=evil.example.com')],
  ['a huge query string', get(`/v2/library/demo/manifests/v1?x=${'y'.repeat(20_000)}`)],
  ['a huge Accept header', get('/v2/library/demo/manifests/v1', `Accept: ${'a'.repeat(20_000)}\r\n`)],
  ['a header with a NUL byte', Buffer.from(get('/v2/library/demo/manifests/v1', 'X-Evil: a\u0000b\r\n'), 'latin1')],
  ['no Host header', 'GET /v2/library/demo/manifests/v1 HTTP/1.1\r\nConnection: close\r\n\r\n'],
  ['an absolute-form target', get('http://evil.example.com/v2/library/demo/manifests/v1')],
  ['not HTTP at all', 'HELLO there\r\n\r\n'],
  ['the catalog', get('/v2/_catalog')],
  ['a push', `PUT /v2/library/demo/manifests/v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}`],
  ['an upload', `POST /v2/library/demo/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`],
  ['OPTIONS', `OPTIONS /v2/library/demo/manifests/v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`],
  ['a chunked body on a GET', `GET /v2/library/demo/manifests/v1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`],
  ['a path outside the API', get('/etc/passwd')],
];

t.test('the bad-input corpus: registry errors only, no upstream contacted', async (t) => {
  const target = `http://127.0.0.1:${await freePort()}`; // nothing listens: a request reaching it would fail anyway
  const registry = new FaultProxy(target);
  const notary = new FaultProxy(target);
  await registry.start();
  await notary.start();
  t.teardown(() => registry.stop());
  t.teardown(() => notary.stop());
  const tg = await startInProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: registry.url, notary: notary.url, default: true }] });
  t.teardown(tg.stop);

  for (const [name, request] of corpus) {
    const r = await raw(tg.port, request);
    t.ok(r.status >= 400 && r.status < 500, `${name}: HTTP ${r.status}`);
    let code: string | undefined;
    try {
      code = (JSON.parse(r.body) as { errors: { code: string }[] }).errors[0]?.code;
    } catch {
      code = undefined;
    }
    t.ok(code && /^[A-Z_]+$/.test(code), `${name}: a registry error envelope (${code ?? r.body.slice(0, 80)})`);
  }
  t.equal(registry.requests.length, 0, 'no request reached the registry');
  t.equal(notary.requests.length, 0, 'no request reached Notary');
});
