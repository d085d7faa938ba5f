// The README as a newcomer reads it: the client recipes it shows are the tested files, every
// command it shows runs from a clone (`npx trustgate …`, never a bare `trustgate` that is not on
// PATH), and what it says the demo and the tests install is what scripts/install-peers.sh installs.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const ROOT = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const INSTALL = readFileSync(join(ROOT, 'scripts', 'install-peers.sh'), 'utf8');

/** The shell lines inside the README's ```sh blocks. */
function shellLines(): string[] {
  return [...README.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] as string).split('\n')).filter((l) => l.trim() !== '');
}

t.test('the client recipes in the README are the shipped, tested files', async (t) => {
  const dir = join(ROOT, 'deploy', 'clients');
  for (const client of readdirSync(dir)) {
    for (const file of readdirSync(join(dir, client))) {
      const text = readFileSync(join(dir, client, file), 'utf8').trimEnd();
      t.ok(README.includes(`\`\`\`toml\n${text}\n\`\`\``), `deploy/clients/${client}/${file} appears verbatim`);
      t.ok(README.includes(`deploy/clients/${client}/${file}`), `and is named`);
    }
  }
});

t.test('every trustgate command in the README runs from a clone', async (t) => {
  const lines = shellLines();
  t.ok(lines.some((l) => l.startsWith('npx trustgate ')), 'commands are shown as npx trustgate');
  t.same(lines.filter((l) => /^\s*trustgate\s/.test(l)), [], 'no bare trustgate command (not on PATH after a clone)');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; scripts: Record<string, string> };
  t.ok(pkg.bin.trustgate, 'npx trustgate finds the package bin');
  for (const l of lines.filter((x) => x.startsWith('npm run '))) {
    const script = (l.split(/\s+/)[2] as string).trim();
    t.ok(pkg.scripts[script], `npm run ${script} exists`);
  }
});

t.test('what the README says gets installed is what install-peers.sh installs', async (t) => {
  const table = /declare -A package=\(([\s\S]*?)\n\)/.exec(INSTALL)?.[1] ?? '';
  const packageOf = new Map([...table.matchAll(/\[([\w-]+)\]=([\w.-]+)/g)].map((m) => [m[1] as string, m[2] as string]));
  const all = new Set(packageOf.values());
  const tests = /`npm test` installs what the tests need[\s\S]*?type-checks/.exec(README)?.[0] ?? '';
  for (const p of all) t.match(tests, `\`${p}\``, `the Tests section names ${p}`);
  const demoCommands = /if \[ "\$\{1:-\}" = demo \]; then\n\s+commands=\(([^)]*)\)/.exec(INSTALL)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
  const demoPackages = new Set(demoCommands.map((c) => packageOf.get(c)));
  t.same([...demoPackages].sort(), ['docker-registry', 'notary', 'skopeo']);
  const demo = /## See it work: `npm run demo`[\s\S]*?## /.exec(README)?.[0] ?? '';
  for (const p of demoPackages) t.match(demo, `\`${p}\``, `the demo section names ${p}`);
  t.notMatch(demo, 'redis', 'and nothing the demo does not install');
});
