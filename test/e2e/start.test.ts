// `npm start` itself, stopped the ways an operator stops it: Ctrl-C in a terminal (SIGINT to the
// whole foreground process group: npm, the shell npm runs the script in, the server — and npm
// forwards it again) and SIGTERM to the npm process (a service manager, `kill`). Either way the
// server finishes, logs "stopped", nothing is left listening or running, and npm exits 0. And the
// build step: compile only when a source changed.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { listeningOn } from '../../src/commands/lifecycle.js';
import { freePort, portOpen, run, tempDir, waitFor } from '../helpers/process.js';
import { SLOW_BLOB_SIZE, startSlowBlobUpstream } from '../helpers/slow-blobs.js';
import { startProcess, startWithConfig } from '../helpers/trustgate.js';

const ROOT = join(import.meta.dirname, '..', '..');
const dir = tempDir('start');
t.teardown(dir.remove);

interface Started {
  readonly npm: ChildProcess;
  readonly port: number;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start -- --config …` in its own process group, as a terminal runs a foreground job. */
async function npmStart(t: Test): Promise<Started> {
  const port = await freePort();
  const cfg = join(dir.path, `start-${port}.yaml`);
  // an upstream nobody listens on: no pull is made, the test is about starting and stopping
  writeFileSync(cfg, `listen: 127.0.0.1:${port}\nupstreams:\n  - name: docker.io\n    registry: http://127.0.0.1:9\n    notary: http://127.0.0.1:9\n`);
  const npm = spawn('npm', ['start', '--', '--config', cfg], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TRUSTGATE_LOG_FORMAT: 'json' } });
  let output = '';
  npm.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => killGroup(npm.pid as number));
  await waitFor('npm start to listen', async () => (await portOpen(port)) || (npm.exitCode !== null ? Promise.reject(new Error(output)) : false), 120_000);
  return { npm, port, output: () => output, exited };
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function groupMembers(pgid: number): Promise<string> {
  return (await run('pgrep', ['-g', String(pgid)])).stdout.trim();
}

async function stoppedCleanly(t: Test, s: Started): Promise<void> {
  const bounded = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 60_000).unref());
  const result = await Promise.race([s.exited, bounded]);
  t.same(result, { code: 0, signal: null }, 'npm exits 0');
  const lines = s.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string });
  t.ok(lines.some((l) => l.msg === 'stopped'), 'the server logged "stopped"');
  t.notOk(await portOpen(s.port), 'nothing listens on the port');
  await waitFor('the process group to be empty', async () => (await groupMembers(s.npm.pid as number)) === '', 10_000);
  t.equal(await groupMembers(s.npm.pid as number), '', 'no process of the group is left');
}

t.test('npm start, then Ctrl-C: SIGINT to the whole process group', async (t) => {
  const s = await npmStart(t);
  process.kill(-(s.npm.pid as number), 'SIGINT');
  await stoppedCleanly(t, s);
});

t.test('npm start, then SIGTERM to npm alone', async (t) => {
  const s = await npmStart(t);
  process.kill(s.npm.pid as number, 'SIGTERM');
  await stoppedCleanly(t, s);
});

t.test('a second SIGINT while shutting down is ignored: the in-flight pull completes, exit 0', async (t) => {
  // a blob that takes about a second, so the second signal lands mid-shutdown
  const upstream = await startSlowBlobUpstream(t);
  const tg = await startProcess(dir.path, { upstreams: [{ name: 'docker.io', registry: upstream, notary: upstream, default: true }] });
  t.teardown(tg.stop);
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => tg.daemon.child.once('exit', (code, signal) => r({ code, signal })));

  const response = await fetch(`${tg.url}/v2/library/x/blobs/sha256:${'a'.repeat(64)}`); // headers: the blob is flowing
  const inflight = response.arrayBuffer().then((b) => b.byteLength);
  tg.daemon.child.kill('SIGINT');
  await waitFor('the listener to close', async () => !(await portOpen(tg.port)));
  tg.daemon.child.kill('SIGINT');
  t.equal(await inflight, SLOW_BLOB_SIZE, 'the in-flight blob completed');
  t.same(await exited, { code: 0, signal: null }, 'exit 0, not killed by the second SIGINT');
});

t.test('an empty configuration file: the embedded defaults, and the log says so at start', async (t) => {
  const empty = join(dir.path, 'empty.yaml');
  writeFileSync(empty, '# to be written\n');
  const port = await freePort();
  const tg = await startWithConfig(dir.path, empty, port, { ...process.env, TRUSTGATE_LISTEN: `127.0.0.1:${port}`, TRUSTGATE_LOG_FORMAT: 'json' });
  t.teardown(tg.stop);
  const warnings = () =>
    readFileSync(tg.daemon.logPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .filter((l) => l.level === 40);
  await waitFor('the start-up warning', async () => warnings().length > 0, 10_000);
  t.match(warnings()[0]?.msg, empty, 'a warning naming the empty file');
});

t.test('the start-up line names the address as bound', async (t) => {
  t.same(listeningOn({ address: '0.0.0.0', family: 'IPv4', port: 5000 }, false), { url: 'http://0.0.0.0:5000', description: 'http://0.0.0.0:5000 (all interfaces)' });
  t.same(listeningOn({ address: '::', family: 'IPv6', port: 5000 }, true), { url: 'https://[::]:5000', description: 'https://[::]:5000 (all interfaces)' });
  t.same(listeningOn({ address: '127.0.0.1', family: 'IPv4', port: 5055 }, false), { url: 'http://127.0.0.1:5055', description: 'http://127.0.0.1:5055' });
});

t.test('npm start builds only when a source changed since the last build', async (t) => {
  // the decision prepare.mjs makes, on a tree of its own (a real rebuild of this tree would change
  // dist/ under the other tests)
  const prepare = join(ROOT, 'scripts', 'prepare.mjs');
  const { needsBuild } = (await import(prepare)) as { needsBuild(root: string): boolean };
  const tree = join(dir.path, 'tree');
  const at = (file: string, seconds: number) => {
    mkdirSync(dirname(join(tree, file)), { recursive: true });
    if (!existsSync(join(tree, file))) writeFileSync(join(tree, file), '');
    utimesSync(join(tree, file), seconds, seconds);
  };
  at('src/cli.ts', 1000);
  at('src/server/app.ts', 1000);
  at('tsconfig.json', 900);
  t.equal(needsBuild(tree), true, 'never built: build');
  at('dist/cli.js', 2000);
  t.equal(needsBuild(tree), false, 'built after every source changed: no build');
  at('src/server/app.ts', 3000);
  t.equal(needsBuild(tree), true, 'a source in a subdirectory changed: build');
  at('dist/cli.js', 4000);
  at('tsconfig.build.json', 5000);
  t.equal(needsBuild(tree), true, 'the compiler settings changed: build');

  // and on this tree, as built for the tests: npm start starts without compiling
  const r = await run(process.execPath, [prepare], { cwd: ROOT, timeoutMs: 240_000 });
  t.equal(r.code, 0, r.stderr);
  t.equal(needsBuild(ROOT), false, 'built, and nothing to do');
});
