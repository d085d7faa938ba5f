#!/usr/bin/env bash
# The whole test suite: install what the tests need, type-check, build, run every test.
# Extra arguments go to tap (e.g. a single test file).
# On failure the end of the output lists every failing assertion again (scripts/test-failures.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-peers.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json --noEmit
npx tsc -p tsconfig.build.json
started=$(( $(date +%s) * 1000 - 1000 ))
status=0
npx tap "$@" || status=$?
if [ "$status" -ne 0 ]; then
  node scripts/test-failures.mjs "$started" || true
fi
exit "$status"
