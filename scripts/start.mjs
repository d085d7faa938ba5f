#!/usr/bin/env node
// `npm start`: install dependencies if needed, build, and run `trustgate serve` with any extra
// arguments (e.g. `npm start -- --config config/example.yaml`).
import { execSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sh = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });
const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
if (mtime(join(root, 'node_modules', '.package-lock.json')) < mtime(join(root, 'package-lock.json'))) {
  sh('npm ci --no-audit --no-fund');
}
sh('npx tsc -p tsconfig.build.json');
// --max-semi-space-size: see src/cli.ts
const child = spawn(process.execPath, ['--max-semi-space-size=32', join(root, 'dist', 'cli.js'), 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
