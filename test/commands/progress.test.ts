// Progress on a terminal for `trust export --images` and `trust import` (the shared progress line,
// commands/progress.ts): repositories, blobs or files, bytes and rate — and nothing at all off a
// terminal. The last test runs the built command under a pseudo-terminal (`script`) and a pipe.

import { execFileSync } from 'node:child_process';
import t from 'tap';
import { runExport, runImport } from '../../src/commands/trust.js';
import { capture, exportOk, freshPaths, imageRegistry, offlineSite, serveRepos, simulatedRepo } from '../helpers/airgap.js';
import { tempDir } from '../helpers/process.js';
import { CLI } from '../helpers/trustgate.js';

const dir = tempDir('trust-progress');
t.teardown(dir.remove);
const fresh = freshPaths(dir.path);

function terminal(isTTY = true) {
  const written: string[] = [];
  return { stream: { isTTY, columns: 200, write: (s: string) => void written.push(s) }, written, frames: () => written.filter((w) => w.startsWith('\r') && w.length > 4) };
}

t.test('an import shows repositories, trust files, bytes and rate, and takes the line away at the end', async (t) => {
  const sims = [simulatedRepo('docker.io/library/a'), simulatedRepo('docker.io/library/b')];
  const notary = await serveRepos(t, sims);
  const bundle = await exportOk(['library/a', 'library/b'], { out: fresh('bundle') + '.tar', notary });
  const tty = terminal();
  const c = capture();
  t.equal(await runImport(bundle, { config: offlineSite(fresh('site')).path }, { ...c.io, progress: tty.stream }), 0, c.text());
  t.match(tty.frames()[0], /^\r0\/2 repositories · \d+ B, .*\/s · \d+ files · docker\.io\/library\/a/);
  t.match(tty.frames().at(-1), /^\r2\/2 repositories · .* · 1[0-9] files · docker\.io\/library\/b/, 'at the end: both repositories, files counted across both');
  t.equal(tty.written.at(-1), '\r\x1b[K', 'removed before the result lines');

  const pipe = terminal(false);
  t.equal(await runImport(bundle, { config: offlineSite(fresh('site')).path }, { ...capture().io, progress: pipe.stream }), 0);
  t.same(pipe.written, [], 'off a terminal: nothing');
});

t.test('an image export shows blobs and bytes as they stream', async (t) => {
  const reg = await imageRegistry(t);
  const sim = simulatedRepo('docker.io/library/app');
  sim.addTarget('targets', 'img', reg.manifest);
  sim.publish();
  const notary = await serveRepos(t, [sim]);
  const tty = terminal();
  const c = capture();
  const code = await runExport(['library/app:img'], { out: fresh('images') + '.tar', notary, images: true, registry: reg.url }, { ...c.io, progress: tty.stream });
  t.equal(code, 0, c.text());
  t.match(tty.frames().at(-1), /^\r1\/1 repositories · 1[0-9.]* KiB, .*\/s · 2 blobs · docker\.io\/library\/app/);
  t.equal(tty.written.at(-1), '\r\x1b[K');
  t.match(c.out.join('\n'), /wrote bundle/);
});

t.test('the real command on a pseudo-terminal shows progress; piped, it does not', async (t) => {
  const sim = simulatedRepo('docker.io/library/app');
  const notary = await serveRepos(t, [sim]);
  const bundle = await exportOk(['library/app'], { out: fresh('bundle') + '.tar', notary });
  const site = offlineSite(fresh('site'));
  const args = [CLI, 'trust', 'import', bundle, '--config', site.path];
  // a pseudo-terminal from `script` reports 0 columns until told otherwise
  const command = `stty cols 200; ${[process.execPath, ...args].map((a) => `'${a}'`).join(' ')}`;
  const onTty = execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.match(onTty, /1\/1 repositories · .* files · docker\.io\/library\/app/, 'a progress line on the terminal');
  t.match(onTty, /imported 1 repositories/);
  const piped = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.notMatch(piped, /repositories ·/, 'no progress in a pipe');
  t.match(piped, /imported 1 repositories/);
});
