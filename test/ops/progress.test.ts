// Progress on a terminal, silence in scripts: the progress line itself, `warm` with it, and the
// built CLI under a real pseudo-terminal (`script`) and under pipes.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { formatBytes, progressOn } from '../../src/commands/progress.js';
import { runWarm } from '../../src/commands/warm.js';
import { freePort, run, tempDir } from '../helpers/process.js';
import { RepoSimulator } from '../helpers/simulator.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli.js');
const dir = tempDir('progress');
t.teardown(dir.remove);

function terminal(isTTY = true) {
  const written: string[] = [];
  return { stream: { isTTY, columns: 100, write: (s: string) => void written.push(s) }, written };
}

t.test('the progress line: counts, rate, redrawn in place, removed at the end; nothing off a terminal', async (t) => {
  let now = 0;
  const tty = terminal();
  const p = progressOn(tty.stream, 'repositories', 3, () => now);
  p.update({ done: 0, current: 'library/a' });
  now = 50;
  p.update({ done: 0, current: 'library/b' }); // within the redraw interval: not drawn
  now = 2000;
  p.update({ done: 2, current: 'library/c' });
  p.line(() => tty.written.push('library/c: warm\n'));
  p.update({ done: 3 });
  p.finish();
  t.same(tty.written, [
    '\r0/3 repositories · 0.0/s · library/a\x1b[K',
    '\r2/3 repositories · 1.0/s · library/c\x1b[K',
    '\r\x1b[K',
    'library/c: warm\n',
    '\r2/3 repositories · 1.0/s · library/c\x1b[K',
    '\r3/3 repositories · 1.5/s · library/c\x1b[K',
    '\r\x1b[K',
  ]);
  const bytes = terminal();
  let then = 0;
  const b = progressOn(bytes.stream, 'blobs', 2, () => then);
  then = 2000;
  b.update({ done: 1, bytes: 3 << 20 });
  t.same(bytes.written, ['\r1/2 blobs · 3.0 MiB, 1.5 MiB/s\x1b[K']);
  t.equal(formatBytes(512), '512 B');

  const pipe = terminal(false);
  const q = progressOn(pipe.stream, 'repositories', 3);
  q.update({ done: 1 });
  q.line(() => pipe.written.push('out\n'));
  q.finish();
  t.same(pipe.written, ['out\n'], 'not a terminal: only the output itself');
});

async function signedSite(t: Test): Promise<{ registry: string; notary: string }> {
  const manifest = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}');
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  const sim = new RepoSimulator('docker.io/library/warm');
  sim.addTarget('targets', 'v1', manifest);
  sim.publish();
  const notary = await sim.listen();
  t.teardown(() => sim.close());
  const registry = createServer((req, res) => {
    if (req.url === `/v2/library/warm/manifests/${digest}`) return void res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }).end(manifest);
    if (req.url?.startsWith('/v2/library/warm/tags/list')) return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"name":"library/warm","tags":["v1","nope"]}');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => registry.close(() => r())));
  return { registry: `http://127.0.0.1:${(registry.address() as AddressInfo).port}`, notary };
}

t.test('warm shows its progress on a terminal and only its results elsewhere', async (t) => {
  const site = await signedSite(t);
  const cfg = join(dir.path, 'warm.yaml');
  writeFileSync(cfg, stringify({ upstreams: [{ name: 'docker.io', registry: site.registry, notary: site.notary }] }));
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) };
  const tty = terminal();
  t.equal(await runWarm(['library/warm:v1', 'library/warm'], { config: cfg }, io, tty.stream), 0);
  t.match(out, [/^library\/warm:v1: warm \(sha256:[0-9a-f]{64}\)$/, /^library\/warm: warm$/]);
  t.match(tty.written.join(''), '2/2 repositories', 'the progress line reached the end');
  t.equal(tty.written.at(-1), '\r\x1b[K', 'and was removed');

  const pipe = terminal(false);
  out.length = 0;
  t.equal(await runWarm(['library/warm:v1', 'library/warm:nope'], { config: cfg }, io, pipe.stream), 1);
  t.same(pipe.written, [], 'not a terminal: no progress');
  t.equal(out.length, 1);
  t.match(err.at(-1), /^library\/warm:nope: .*\[NOT_SIGNED\]$/);
});

t.test('the built CLI: progress under a pseudo-terminal, none through pipes', async (t) => {
  const closed = await freePort(); // nothing listens: each repository fails fast
  const cfg = join(dir.path, 'closed.yaml');
  writeFileSync(cfg, stringify({ upstreams: [{ name: 'docker.io', registry: `http://127.0.0.1:${closed}`, notary: `http://127.0.0.1:${closed}` }] }));
  const command = `${process.execPath} ${CLI} warm library/a:1 library/b:1 --config ${cfg}`;
  const piped = await run(process.execPath, [CLI, 'warm', 'library/a:1', 'library/b:1', '--config', cfg]);
  t.equal(piped.code, 1);
  t.notMatch(piped.stderr, 'repositories', 'no progress line in a script');
  t.notMatch(piped.stderr, '\r');
  const onTerminal = await run('script', ['-qec', command, '/dev/null']);
  t.match(onTerminal.stdout, /\r2\/2 repositories/, 'a progress line on a terminal');
});
