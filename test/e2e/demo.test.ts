// `npm run demo` as a newcomer runs it: the signed pull is served, the unsigned one refused with its
// reason, each decision has its audit line; then Ctrl-C (SIGINT to the whole foreground process
// group, as a terminal sends it) stops every process the demo started and removes its files.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import t from 'tap';
import { run, waitFor } from '../helpers/process.js';

const ROOT = join(import.meta.dirname, '..', '..');

t.test('npm run demo, then Ctrl-C', async (t) => {
  const demo = spawn('npm', ['run', 'demo'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const group = demo.pid as number;
  let stdout = '';
  let stderr = '';
  demo.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  demo.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => demo.once('exit', (code, signal) => resolve({ code, signal })));
  t.teardown(() => {
    try {
      process.kill(-group, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  });
  await waitFor('the demo to show its results', async () => {
    if (demo.exitCode !== null) throw new Error(`the demo exited ${demo.exitCode}: ${stdout}\n${stderr}`);
    return stdout.includes('press Ctrl-C');
  }, 300_000);

  t.match(stdout, /served: sha256:[0-9a-f]{64} \(the digest Notary signs for demo:signed\)/);
  t.match(stdout, 'refused: docker.io/library/demo:unsigned is not signed');
  t.match(stdout, '"reason":"NOT_SIGNED"');
  t.match(stdout, /served {2}library\/demo:signed/, 'the audit line of the served pull');
  t.match(stdout, /refused {2}library\/demo:unsigned {2}NOT_SIGNED/, 'the audit line of the refusal');
  t.match(stdout, 'Try next');
  const configPath = /config used: (\S+)/.exec(stdout)?.[1];
  t.ok(configPath && existsSync(configPath), 'the demo runs from its own temporary directory');
  const demoDir = dirname(configPath as string);
  t.not((await run('pgrep', ['-f', demoDir])).stdout.trim(), '', 'its registry, notary-server and trustgate run from it');

  process.kill(-group, 'SIGINT');
  t.same(await exited, { code: 0, signal: null }, 'Ctrl-C: npm run demo exits 0');
  t.match(stdout, 'stopping the demo and removing its files');
  t.notOk(existsSync(demoDir), 'its files are removed');
  t.equal((await run('pgrep', ['-f', demoDir])).stdout.trim(), '', 'none of its processes is left');
  await waitFor('the process group to be empty', async () => (await run('pgrep', ['-g', String(group)])).stdout.trim() === '', 10_000);
});
