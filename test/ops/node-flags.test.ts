// Every way trustgate is launched passes the same V8 flags (src/node-flags.ts): the bin's shebang,
// the `trustgate` script a clone runs, `npm start`, the container's entrypoint; and Node.js takes them.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { NODE_FLAGS } from '../../src/node-flags.js';
import { run } from '../helpers/process.js';

const ROOT = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');
const flagsOf = (words: string[]) => words.filter((w) => w.startsWith('--'));

t.test('the shebangs, npm start and the container entrypoint pass NODE_FLAGS', async (t) => {
  for (const file of ['src/cli.ts', 'scripts/trustgate.mjs']) {
    const shebang = read(file).split('\n')[0] as string;
    t.match(shebang, /^#!\/usr\/bin\/env -S node /, file);
    t.same(flagsOf(shebang.split(' ').slice(3)), NODE_FLAGS, `${file} shebang`);
  }
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start as string;
  t.same(flagsOf(start.split(' ')), NODE_FLAGS, 'npm start');
  const entry = /^ENTRYPOINT (\[.*\])$/m.exec(read('Dockerfile'))?.[1] ?? '[]';
  t.same(flagsOf(JSON.parse(entry) as string[]), NODE_FLAGS, 'Dockerfile ENTRYPOINT');
});

t.test('this Node.js takes the flags (it refuses an unknown one)', async (t) => {
  const ok = await run(process.execPath, [...NODE_FLAGS, '-e', '']);
  t.same([ok.code, ok.stderr], [0, '']);
  const bad = await run(process.execPath, ['--initial-old-space-sizes=64', '-e', '']);
  t.not(bad.code, 0, 'a misspelt flag would be noticed');
});
