#!/usr/bin/env bash
# npm run demo: install what the demo needs (first run only), then run it.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "trustgate demo: checking what it needs (first run: npm packages, Debian docker-registry, notary, skopeo)…"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
scripts/install-peers.sh
# build only when the sources changed since the last build
if [ ! -f dist/cli.js ] || [ -n "$(find src -newer dist/cli.js -print -quit)" ]; then
  npx tsc -p tsconfig.build.json
fi
exec node --import=@tapjs/typescript/import scripts/demo.ts "$@"
