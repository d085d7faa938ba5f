// After a failed `npm test`: print every failing assertion of this run again, with the names of
// the subtests it sits in and its diagnostics, so the end of a long log says what failed.
// Reads tap's saved results (.tap/test-results/**.tap) written at or after the given time.
// Usage: node scripts/test-failures.mjs <run-start-ms>
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = '.tap/test-results';
const maxDiagLines = 40;

function* tapFiles(dir, since) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* tapFiles(p, since);
    else if (e.name.endsWith('.tap') && statSync(p).mtimeMs >= since) yield p;
  }
}

/** The failing assertions of one TAP text: [{ path: subtest names, line, diag: lines }]. */
export function failuresOf(text) {
  const lines = text.split('\n');
  const names = []; // names[depth] = subtest name at that indentation
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const indent = line.length - line.trimStart().length;
    const depth = indent / 4;
    const sub = /^\s*# Subtest: (.*)$/.exec(line);
    if (sub) {
      names[depth] = sub[1];
      names.length = depth + 1;
      continue;
    }
    const notOk = /^\s*not ok \d+ - (.*)$/.exec(line);
    if (!notOk) continue;
    // A parent's "not ok" repeats its children's failures: it follows its own plan line.
    const previous = lines[i - 1] ?? '';
    const isParent = /^\s*1\.\.\d+/.test(previous) && previous.length - previous.trimStart().length > indent;
    if (isParent) continue;
    const diag = [];
    if ((lines[i + 1] ?? '').trim() === '---') {
      for (let j = i + 2; j < lines.length && lines[j].trim() !== '...'; j++) diag.push(lines[j]);
    }
    out.push({ path: names.slice(0, depth), line: notOk[1], diag });
  }
  return out;
}

export function report(since) {
  let count = 0;
  for (const file of tapFiles(root, since)) {
    const failures = failuresOf(readFileSync(file, 'utf8'));
    if (failures.length === 0) continue;
    console.log(`\n# FAILED in ${relative(root, file).replace(/\.tap$/, '')}`);
    for (const f of failures) {
      count++;
      console.log(`#   ${[...f.path, f.line].join(' > ')}`);
      const shown = f.diag.slice(0, maxDiagLines);
      for (const d of shown) console.log(`#     ${d.trim() === '' ? '' : d}`);
      if (f.diag.length > shown.length) console.log(`#     … ${f.diag.length - shown.length} more lines`);
    }
  }
  console.log(count === 0 ? '\n# no failing assertion found in the saved results (a file may have crashed or timed out: search the log for "not ok")' : `\n# ${count} failing assertion(s), listed above`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) report(Number(process.argv[2] ?? 0));
