#!/usr/bin/env bash
# Installs a Compose CLI for test/compose.test.ts's `docker-compose config -q` check (Debian's
# docker-compose package; no Docker engine is needed for `config`). Does nothing when a
# `docker compose` or `docker-compose` is already there; prints nothing unless something fails.
# Without it that one check is skipped, with a message; the schema check runs regardless.
set -euo pipefail

if docker compose version >/dev/null 2>&1 || docker-compose version >/dev/null 2>&1; then
  exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-compose-check: run as root (or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --no-install-recommends: the package recommends docker.io (the engine), which is not needed.
if ! { "${sudo[@]}" apt-get update -q &&
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-compose-check: installing docker-compose failed" >&2
  exit 1
fi

docker-compose version >/dev/null 2>&1 || {
  echo "install-compose-check: installed, but docker-compose does not run" >&2
  exit 1
}
