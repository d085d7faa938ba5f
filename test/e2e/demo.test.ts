// `npm run demo` as a newcomer runs it (TRUSTGATE_DEMO_ONCE=1 stops it after the show): the signed
// pull is served, the unsigned one refused with its reason, and nothing is left running.

import { join } from 'node:path';
import t from 'tap';
import { run } from '../helpers/process.js';

t.test('npm run demo', async (t) => {
  const root = join(import.meta.dirname, '..', '..');
  const r = await run('bash', [join(root, 'scripts', 'demo.sh')], { cwd: root, env: { ...process.env, TRUSTGATE_DEMO_ONCE: '1' }, timeoutMs: 300_000 });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /served: sha256:[0-9a-f]{64} \(the digest Notary signs for demo:signed\)/);
  t.match(r.stdout, 'refused: docker.io/library/demo:unsigned is not signed');
  t.match(r.stdout, '"reason":"NOT_SIGNED"');
  t.match(r.stdout, 'Try next');
  const left = await run('pgrep', ['-f', 'trustgate-demo-']);
  t.equal(left.stdout.trim(), '', 'no demo process is left running');
});
