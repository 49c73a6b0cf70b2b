#!/usr/bin/env bash
# The test command: installs what is missing, then lint, typecheck and the fast lane (unit tests
# and the loop against a scripted model), then the end-to-end suite (a real Temporal dev server,
# the simulator, PostgreSQL). Arguments go to the end-to-end vitest run. Ends with the line
# `N passed, N failed` over both lanes.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || { echo "0 passed, 1 failed"; exit 1; }
fi
setup() { "$@" || { echo "setup failed: $*"; echo "0 passed, 1 failed"; exit 1; }; }
setup node scripts/temporal-cli.mjs >/dev/null
setup node scripts/temporal-server.mjs >/dev/null
setup bash scripts/install-postgres.sh
setup bash scripts/install-tools.sh
setup bash scripts/install-compose-check.sh
setup npm run --silent lint
setup npm run --silent typecheck

mkdir -p .longhaul
fast=.longhaul/test-results-fast.json
e2e=.longhaul/test-results-e2e.json
rm -f "$fast" "$e2e"
node_modules/.bin/vitest run --project fast --reporter=default --reporter=json --outputFile.json="$fast"
fast_status=$?
node_modules/.bin/vitest run --project e2e --reporter=default --reporter=json --outputFile.json="$e2e" "$@"
e2e_status=$?
node -e '
  let passed = 0, failed = 0, skipped = 0;
  for (const file of process.argv.slice(1)) {
    try {
      const r = require(file);
      passed += r.numPassedTests; failed += r.numFailedTests; skipped += r.numPendingTests + r.numTodoTests;
    } catch { failed += 1; } // a lane that wrote no results failed as a whole
  }
  console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$PWD/$fast" "$PWD/$e2e"
[ $fast_status -eq 0 ] && [ $e2e_status -eq 0 ]
