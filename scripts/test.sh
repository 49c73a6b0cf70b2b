#!/usr/bin/env bash
# The test command: installs what is missing, typechecks, runs every test against a real
# Temporal dev server and the simulator, and ends with the line `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund || exit 1
fi
node scripts/temporal-cli.mjs >/dev/null || exit 1
bash scripts/install-postgres.sh || exit 1
bash scripts/install-compose-check.sh || exit 1
node_modules/.bin/tsc --noEmit || { echo "typecheck failed"; exit 1; }

mkdir -p .longhaul
results=.longhaul/test-results.json
rm -f "$results"
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
node -e '
  const r = require(process.argv[1]);
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$PWD/$results" || echo "0 passed, 1 failed"
exit $status
