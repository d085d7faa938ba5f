#!/usr/bin/env node
// Before running from a clone: install dependencies when package-lock.json is newer than the
// installed tree, and compile when a source is newer than the last build — not on every start (a
// build takes seconds). In an installed package (no src/) there is nothing to do. Output goes to
// stderr, so a command's own output (e.g. `check --json`) stays clean.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);

/** The newest modification time of the files under `dir`. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, mtime(join(entry.parentPath ?? entry.path, entry.name)));
  }
  return latest;
}

export function needsInstall(root = ROOT) {
  return mtime(join(root, 'node_modules', '.package-lock.json')) < mtime(join(root, 'package-lock.json'));
}

export function needsBuild(root = ROOT) {
  const inputs = Math.max(newest(join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json', 'package-lock.json'].map((f) => mtime(join(root, f))));
  return mtime(join(root, 'dist', 'cli.js')) < inputs;
}

export function prepare(root = ROOT) {
  if (!existsSync(join(root, 'src'))) return;
  const sh = (cmd) => execSync(cmd, { cwd: root, stdio: ['ignore', 2, 2] });
  if (needsInstall(root)) {
    process.stderr.write('trustgate: installing dependencies (npm ci)…\n');
    sh('npm ci --no-audit --no-fund --loglevel=error');
  }
  if (needsBuild(root)) {
    process.stderr.write('trustgate: building (sources changed since the last build)…\n');
    sh('npx tsc -p tsconfig.build.json');
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) prepare(process.argv[2] ?? ROOT);
