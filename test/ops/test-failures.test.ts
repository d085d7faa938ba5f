// The failure summary `npm test` prints at the end of a failed run (scripts/test-failures.mjs):
// every failing assertion of real tap output, with its subtest path and diagnostics, parents'
// repeated "not ok" left out, and only results written by this run.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
// @ts-expect-error a plain script without type declarations
import { failuresOf } from '../../scripts/test-failures.mjs';

const run = promisify(execFile);
const project = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const script = join(project, 'scripts/test-failures.mjs');
const tapEntry = pathToFileURL(join(project, 'node_modules/tap/dist/esm/index.js')).href;

type Failure = { path: string[]; line: string; diag: string[] };

/** Real TAP text: a small test file with two failures (one nested) run by node with tap. */
async function realTap(dir: string): Promise<string> {
  const file = join(dir, 'sample.test.mjs');
  writeFileSync(
    file,
    `import t from ${JSON.stringify(tapEntry)};
t.test('outer', async t => {
  t.test('inner', async t => { t.equal(1, 2, 'one is two'); t.ok(true, 'passes') });
  t.ok(true, 'fine');
});
t.test('second', async t => { t.ok(false, 'plain fail') });
t.test('third', async t => { t.ok(true, 'all good') });
`,
  );
  const out = await run(process.execPath, [file], { cwd: dir }).then(
    (r) => r.stdout,
    (e: { stdout: string }) => e.stdout,
  );
  return out;
}

t.test('the leaf failures of real tap output, with their subtest paths and diagnostics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trustgate-failures-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tap = await realTap(dir);
  t.match(tap, /not ok 1 - outer/, 'the parent is reported failed by tap itself');
  const failures = failuresOf(tap) as Failure[];
  t.same(
    failures.map((f) => [...f.path, f.line]),
    [
      ['outer', 'inner', 'one is two'],
      ['second', 'plain fail'],
    ],
    'each failing assertion once, under its subtests; the parents and passing ones left out',
  );
  const diag = failures[0]?.diag ?? [];
  t.ok(
    diag.some((l) => l.trim() === '+1') && diag.some((l) => l.trim() === '-2'),
    'the diff of the failing comparison is kept',
  );
  t.same(failuresOf(tap.replace(/not ok/g, 'ok')), [], 'a passing run has none');
});

t.test('the script prints this run’s failures from tap’s saved results, not older ones', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'trustgate-failures-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const tap = await realTap(dir);
  const results = join(dir, '.tap/test-results/test/area');
  mkdirSync(results, { recursive: true });
  writeFileSync(join(results, 'new.test.ts.tap'), tap);
  writeFileSync(join(results, 'old.test.ts.tap'), tap);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(join(results, 'old.test.ts.tap'), old, old);
  const since = Date.now() - 60_000;
  const { stdout } = await run(process.execPath, [script, String(since)], { cwd: dir });
  t.match(stdout, /# FAILED in test\/area\/new\.test\.ts\n#   outer > inner > one is two\n/);
  t.match(stdout, /#   second > plain fail\n/);
  t.notMatch(stdout, /old\.test\.ts/, 'results older than the run are not listed');
  t.match(stdout, /# 2 failing assertion\(s\), listed above/);

  const none = await run(process.execPath, [script, String(Date.now() + 60_000)], { cwd: dir });
  t.match(none.stdout, /no failing assertion found/, 'says so when it finds none');
});
