// Progress on a terminal for `trust export --images` and `trust import`: repositories, blobs or
// files, bytes and rate, redrawn in place — and nothing at all when stdout or stderr is not a
// terminal. The last test runs the real command under a pseudo-terminal (`script`).

import { execFileSync } from 'node:child_process';
import t from 'tap';
import { progressLine, type Terminal } from '../../src/commands/progress.js';
import { runImport } from '../../src/commands/trust.js';
import { capture, exportOk, freshPaths, offlineSite, serveRepos, simulatedRepo } from '../helpers/airgap.js';
import { tempDir } from '../helpers/process.js';
import { CLI } from '../helpers/trustgate.js';

const dir = tempDir('progress');
t.teardown(dir.remove);
const fresh = freshPaths(dir.path);

function terminal(isTTY = true): Terminal & { text: () => string } {
  const written: string[] = [];
  return { isTTY, columns: 200, write: (s: string) => written.push(s), text: () => written.join('') };
}

t.test('repositories, items, bytes and rate on one line, redrawn at most every interval', async (t) => {
  let now = 0;
  const err = terminal();
  const p = progressLine({ items: 'blobs', stderr: err, stdout: { isTTY: true }, clock: () => now, intervalMs: 100 });
  p.repository('docker.io/library/app', 1, 2);
  now = 1000;
  p.bytes(4 * 1048576);
  p.item();
  now = 1050;
  p.bytes(1048576); // within the interval: not drawn
  now = 2000;
  p.item();
  const frames = err.text().split('\r\x1b[2K').filter((f) => f !== '');
  t.same(frames, [
    '1/2 repositories · 0 blobs · 0.0 MiB · – · docker.io/library/app',
    '1/2 repositories · 0 blobs · 4.0 MiB · 4.0 MiB/s · docker.io/library/app',
    '1/2 repositories · 2 blobs · 5.0 MiB · 2.5 MiB/s · docker.io/library/app',
  ]);
  p.clear();
  t.ok(err.text().endsWith('\r\x1b[2K'), 'cleared');
});

t.test('quiet unless both stdout and stderr are terminals', async (t) => {
  for (const [errTTY, outTTY] of [
    [false, true],
    [true, false],
    [false, false],
  ]) {
    const err = terminal(errTTY);
    const p = progressLine({ items: 'files', stderr: err, stdout: { isTTY: outTTY } });
    p.repository('docker.io/library/app', 1, 1);
    p.bytes(100);
    p.item();
    p.clear();
    t.equal(err.text(), '', `stderr ${errTTY ? '' : 'not '}a TTY, stdout ${outTTY ? '' : 'not '}a TTY`);
  }
});

t.test('an import reports every repository and trust file it reads', async (t) => {
  const sims = [simulatedRepo('docker.io/library/a'), simulatedRepo('docker.io/library/b')];
  const notary = await serveRepos(t, sims);
  const bundle = await exportOk(['library/a', 'library/b'], { out: fresh('bundle') + '.tar', notary });
  const err = terminal();
  const progress = progressLine({ items: 'files', stderr: err, stdout: { isTTY: true }, intervalMs: 0 });
  const c = capture();
  t.equal(await runImport(bundle, { config: offlineSite(fresh('site')).path }, { ...c.io, progress }), 0, c.text());
  const frames = err.text().split('\r\x1b[2K').filter((f) => f !== '');
  t.match(frames.at(-1), /^2\/2 repositories · 1[0-9] files · 0\.0 MiB · .* · docker\.io\/library\/b$/);
  t.ok(err.text().endsWith('\r\x1b[2K'), 'the line is gone before the result lines');
});

t.test('the real command on a pseudo-terminal shows progress; piped, it does not', async (t) => {
  const sim = simulatedRepo('docker.io/library/app');
  const notary = await serveRepos(t, [sim]);
  const bundle = await exportOk(['library/app'], { out: fresh('bundle') + '.tar', notary });
  const site = offlineSite(fresh('site'));
  const args = [CLI, 'trust', 'import', bundle, '--config', site.path];
  const command = [process.execPath, ...args].map((a) => `'${a}'`).join(' ');
  const onTty = execFileSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.match(onTty, /1\/1 repositories · \d+ files · /, 'a progress line on the terminal');
  t.match(onTty, /imported 1 repositories/);
  const piped = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.notMatch(piped, /repositories ·/, 'no progress in a pipe');
  t.match(piped, /imported 1 repositories/);
});
