#!/usr/bin/env bash
# The main job on a fresh machine: install what is missing, start a Temporal dev server on a
# SQLite file, the model simulator (unless ANTHROPIC_API_KEY is set) and a worker, then run the
# 250-file audit with live progress and print its report and figures.
# `scripts/demo.sh coding`: the coding task instead, on a small repository with a failing test,
# with the coding tools; the demo approves each command the run holds, as a person would.
set -euo pipefail
cd "$(dirname "$0")/.."

DEMO=${1:-audit}
case "$DEMO" in
  audit | coding) ;;
  *) echo "usage: bash scripts/demo.sh [coding]" >&2 && exit 2 ;;
esac

DEMO_DIR=${LONGHAUL_DEMO_DIR:-.longhaul/demo}
FILES=${LONGHAUL_DEMO_FILES:-250}
TEMPORAL_PORT=${LONGHAUL_DEMO_TEMPORAL_PORT:-17233}
SIM_PORT=${LONGHAUL_DEMO_SIM_PORT:-18787}
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm ci --no-audit --no-fund >&2
fi
TSX=node_modules/.bin/tsx
TEMPORAL=$(node scripts/temporal-cli.mjs)
"$TSX" worker/bundle.ts >&2

rm -rf "$DEMO_DIR/workspace" "$DEMO_DIR/store"
mkdir -p "$DEMO_DIR/workspace"
# The worker's only workspace root: runs reach the audit's files, not the store or the history beside them.
WORKSPACE_ROOT=$(cd "$DEMO_DIR/workspace" && pwd)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

# Eager activity execution hands a scheduled activity straight back to the worker that scheduled
# it: docs/benchmarks.md measured 177 -> 68 ms of overhead per turn with it. The blob limits are
# deploy/temporal-dynamic-config.yaml's: a payload over 1 MiB is refused before it reaches history.
say "starting Temporal dev server on 127.0.0.1:$TEMPORAL_PORT (history in $DEMO_DIR/temporal.db)"
"$TEMPORAL" server start-dev --headless --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
  --db-filename "$DEMO_DIR/temporal.db" --log-level error \
  --dynamic-config-value system.enableActivityEagerExecution=true \
  --dynamic-config-value limit.blobSize.error=1048576 --dynamic-config-value limit.blobSize.warn=262144 \
  >"$DEMO_DIR/temporal.log" 2>&1 &
pids+=($!)

export TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT LONGHAUL_STORE_DIR=$DEMO_DIR/store
if [ -n "${ANTHROPIC_API_KEY:-}" ] && [ -z "${ANTHROPIC_BASE_URL:-}" ]; then
  say "using Claude (ANTHROPIC_API_KEY is set)"
else
  say "starting the model simulator on 127.0.0.1:$SIM_PORT"
  "$TSX" simulator/main.ts --port "$SIM_PORT" >"$DEMO_DIR/simulator.log" 2>&1 &
  pids+=($!)
  export ANTHROPIC_BASE_URL=http://127.0.0.1:$SIM_PORT
fi
# The simulator answers for the real model ids, so the offline demo names one too.
MODEL_FLAGS=(--model "${LONGHAUL_DEMO_MODEL:-claude-sonnet-5-5}")

# The coding task: the worker serves the coding tools with `git diff` and `ls` on the command
# allow-list; the run may edit (edit_file=allow) and every other command waits for a person.
coding_demo() {
  say "starting a worker with the coding tools"
  LONGHAUL_WORKSPACE_ROOTS=$WORKSPACE_ROOT LONGHAUL_TOOLS=workspace,coding LONGHAUL_COMMAND_ALLOW='git diff,ls' \
    LONGHAUL_TOOL_POLICIES=write_file=allow,edit_file=allow node bin/longhaul.mjs worker >"$DEMO_DIR/worker.log" 2>&1 &
  pids+=($!)
  say "writing a small repository with a failing test into $DEMO_DIR/workspace"
  local task run_id progress status
  task=$("$TSX" scripts/demo-workspace.ts coding "$DEMO_DIR/workspace")
  run_id=demo-coding-$(date +%Y%m%d-%H%M%S)
  say "running the coding task as $run_id"
  node bin/longhaul.mjs submit --id "$run_id" --workspace "$DEMO_DIR/workspace" --task "$task" --max-turns 30 \
    --tool-policy edit_file=allow "${MODEL_FLAGS[@]}" >/dev/null
  for _ in $(seq 1 600); do
    # Until the worker has picked the run up, no one answers its query.
    progress=$(node bin/longhaul.mjs status "$run_id" --json 2>/dev/null) || { sleep 0.5 && continue; }
    status=$(node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).status' <<<"$progress")
    case "$status" in
      awaiting_human)
        say "the run holds a command for a person (longhaul held $run_id):"
        node bin/longhaul.mjs held "$run_id"
        say "approving it (longhaul approve $run_id)"
        node bin/longhaul.mjs approve "$run_id" >/dev/null
        ;;
      running) sleep 0.5 ;;
      *) break ;;
    esac
  done
  node bin/longhaul.mjs result "$run_id"
  say "the tests in $DEMO_DIR/workspace now (node --test):"
  (cd "$DEMO_DIR/workspace" && node --test >/dev/null && echo "pass") || echo "fail"
}

for _ in $(seq 1 100); do
  "$TEMPORAL" operator namespace describe --address "$TEMPORAL_ADDRESS" -n default >/dev/null 2>&1 && break
  sleep 0.3
done

if [ "$DEMO" = coding ]; then coding_demo; exit; fi

say "starting a worker"
# The audit writes notes and a report: the worker lets runs allow write_file (the run does, below).
LONGHAUL_WORKSPACE_ROOTS=$WORKSPACE_ROOT LONGHAUL_TOOL_POLICIES=write_file=allow \
  node bin/longhaul.mjs worker >"$DEMO_DIR/worker.log" 2>&1 &
pids+=($!)

say "writing $FILES files to audit into $DEMO_DIR/workspace"
TASK=$("$TSX" scripts/demo-workspace.ts "$DEMO_DIR/workspace" "$FILES")

say "running the audit (progress below; the run survives a worker restart)"
node bin/longhaul.mjs run --workspace "$DEMO_DIR/workspace" --task "$TASK" \
  --max-turns $((FILES + 60)) --compaction-trigger 50000 --tool-policy write_file=allow "${MODEL_FLAGS[@]}"
