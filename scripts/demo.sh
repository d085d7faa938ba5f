#!/usr/bin/env bash
# npm run demo: install what the demo needs (first run only), build if the sources changed, run it.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "trustgate demo: checking what it needs (first run: npm packages; Debian docker-registry, notary, skopeo)…"
node scripts/prepare.mjs
scripts/install-peers.sh demo
exec node --import=@tapjs/typescript/import scripts/demo.ts "$@"
