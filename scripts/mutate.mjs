// npm run mutate [area…] [--merge]: one Stryker run per area (stryker.config.mjs), each incremental — only
// mutants whose code or tests changed since the committed report are tested again — then the areas'
// reports merged into reports/mutation/index.html (what a reviewer opens) and mutation.json, and the
// score by area written to reports/mutation/summary.md (scripts/mutation-report.mjs).

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AREAS } from './mutation-areas.mjs';

// --merge: only merge the areas' committed reports and summarise (no Stryker run)
const mergeOnly = process.argv.includes('--merge');
const areas = process.argv.slice(2).filter((a) => a !== '--merge');
for (const a of areas) if (!(a in AREAS)) throw new Error(`unknown area ${a}: one of ${Object.keys(AREAS).join(', ')}`);

const seconds = {};
for (const area of mergeOnly ? [] : areas.length > 0 ? areas : Object.keys(AREAS)) {
  const started = process.hrtime.bigint();
  const run = spawnSync('npx', ['stryker', 'run'], { stdio: 'inherit', env: { ...process.env, MUTATION_AREA: area } });
  seconds[area] = Number((process.hrtime.bigint() - started) / 1_000_000n) / 1000;
  if (run.status !== 0) {
    console.error(`stryker run for ${area} failed (exit ${run.status ?? run.signal})`);
    process.exit(1);
  }
}

const missing = [];
const merged = { schemaVersion: '2', thresholds: { high: 90, low: 85 }, files: {}, testFiles: {}, projectRoot: '.' };
for (const area of Object.keys(AREAS)) {
  let report;
  try {
    report = JSON.parse(readFileSync(`reports/mutation/areas/${area}.json`, 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    missing.push(area);
    continue;
  }
  Object.assign(merged.files, report.files);
  for (const [file, tests] of Object.entries(report.testFiles ?? {})) merged.testFiles[file] ??= tests;
}
mkdirSync('reports/mutation', { recursive: true });
writeFileSync('reports/mutation/mutation.json', JSON.stringify(merged));
writeFileSync('reports/mutation/index.html', reportHtml(merged));

const summary = spawnSync('node', ['scripts/mutation-report.mjs', 'reports/mutation/mutation.json'], { encoding: 'utf8' });
writeFileSync('reports/mutation/summary.md', `# Mutation score by area\n\n${summary.stdout}`);
process.stdout.write(summary.stdout);
process.stderr.write(summary.stderr);
for (const [area, s] of Object.entries(seconds)) console.log(`stryker run ${area}: ${s.toFixed(0)} s wall time`);
if (missing.length > 0) console.error(`no report yet for ${missing.join(', ')} (npm run mutate ${missing.join(' ')})`);
process.exitCode = missing.length > 0 ? 1 : (summary.status ?? 1);

/** As Stryker's own HTML reporter: the mutation-testing-elements app with the report inlined. */
function reportHtml(report) {
  const app = readFileSync(createRequire(import.meta.url).resolve('mutation-testing-elements/dist/mutation-test-elements.js'), 'utf8');
  // a "</script>" inside a source file must not end the inline script
  const json = JSON.stringify(report).replace(/</g, '<"+"');
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>trustgate mutation report</title><script>${app}</script></head>
<body>
<mutation-test-report-app titlePostfix="trustgate"></mutation-test-report-app>
<script>
  const app = document.querySelector('mutation-test-report-app');
  app.report = ${json};
  const theme = () => { document.body.style.backgroundColor = app.themeBackgroundColor; };
  app.addEventListener('theme-changed', theme);
  theme();
</script>
</body>
</html>
`;
}

