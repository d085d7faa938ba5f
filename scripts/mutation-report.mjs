// Summarise Stryker's JSON report by area and hold it to the targets: every surviving mutant is either
// killed or listed, with the reason it is equivalent, in reports/mutation/equivalent-mutants.yaml.
// An entry matches a mutant by file, mutator, replacement and the source line it sits on (so entries
// survive unrelated edits that move lines). A listed mutant that timed out (it only slows the code)
// counts as equivalent, not detected. Exit status 1 if a survivor is unexplained, an entry matches
// nothing, or an area misses its target.
//
//   node scripts/mutation-report.mjs [report.json]

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const AREAS = [
  { name: 'trust engine (src/trust)', match: (f) => f.startsWith('src/trust/'), target: 90 },
  { name: 'pull path (src/pull)', match: (f) => f.startsWith('src/pull/'), target: 85 },
  { name: 'update workflow (src/notary/updater.ts)', match: (f) => f === 'src/notary/updater.ts', target: 85 },
  { name: 'store floors (src/cache)', match: (f) => f.startsWith('src/cache/'), target: undefined },
];
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const reportPath = process.argv[2] ?? 'reports/mutation/mutation.json';
const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const equivalents = parse(readFileSync('reports/mutation/equivalent-mutants.yaml', 'utf8')) ?? [];

const key = (file, mutator, replacement, line) => JSON.stringify([file, mutator, replacement, line.trim()]);
const explained = new Map(equivalents.map((e) => [key(e.file, e.mutator, e.replacement, e.code), e]));
const used = new Set();

let failed = false;
const unexplained = [];
const rows = [];
for (const area of AREAS) {
  const counts = { detected: 0, undetected: 0, equivalent: 0, ignored: 0 };
  for (const [file, data] of Object.entries(report.files)) {
    if (!area.match(file)) continue;
    const lines = data.source.split('\n');
    for (const m of data.mutants) {
      const line = lines[m.location.start.line - 1] ?? '';
      const k = key(file, m.mutatorName, m.replacement ?? '', line);
      // a listed mutant that only slows the code (a fast path removed) can time out on a loaded
      // machine (Stryker's timeout, or the test runner's: "Killed" with a timeout as the reason): it
      // counts as what the entry says it is, equivalent, not as detected
      const listedTimeout = explained.has(k) && (m.status === 'Timeout' || (m.status === 'Killed' && /timeout/i.test(m.statusReason ?? '')));
      if (DETECTED.has(m.status) && !listedTimeout) counts.detected++;
      else if (m.status === 'Ignored') counts.ignored++;
      if (!UNDETECTED.has(m.status) && !listedTimeout) continue;
      counts.undetected++;
      if (explained.has(k)) {
        used.add(k);
        counts.equivalent++;
      } else unexplained.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName} → ${JSON.stringify(m.replacement)}\n    ${line.trim()}`);
    }
  }
  const valid = counts.detected + counts.undetected;
  if (valid === 0) continue;
  const score = (100 * counts.detected) / valid;
  const meets = area.target === undefined || score >= area.target;
  if (!meets) failed = true;
  rows.push(
    `| ${area.name} | ${valid} | ${counts.detected} | ${counts.undetected - counts.equivalent} | ${counts.equivalent} | ${counts.ignored} | ` +
      `**${score.toFixed(1)}%** | ${area.target === undefined ? '—' : `≥ ${area.target}%: ${meets ? 'met' : 'NOT met'}`} |`,
  );
}

console.log('| area | mutants | killed | survived, unexplained | survived, equivalent | ignored (message text, store plumbing) | mutation score | target |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
if (unexplained.length > 0) {
  failed = true;
  console.log(`\n${unexplained.length} surviving mutant(s) neither killed nor listed as equivalent:`);
  for (const u of unexplained) console.log(`  ${u}`);
}
const stale = [...explained].filter(([k, e]) => !used.has(k) && e.file in report.files).map(([k]) => k);
if (stale.length > 0) {
  failed = true;
  console.log(`\n${stale.length} equivalent-mutant entr(y/ies) match no surviving mutant (killed since, or the code moved on):`);
  for (const k of stale) console.log(`  ${k}`);
}
process.exitCode = failed ? 1 : 0;
