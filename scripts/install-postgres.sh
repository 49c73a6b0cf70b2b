#!/usr/bin/env bash
# Installs the PostgreSQL server binaries the PostgresStore tests run (test/helpers/postgres.ts
# starts its own throwaway server from /usr/lib/postgresql/<major>/bin). Does nothing when they are
# already there; prints nothing unless something fails.
set -euo pipefail

if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-postgres: run as root (or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi

# The tests need only the binaries. Tell the Debian package not to create (and start) its usual
# 'main' cluster on port 5432: it would be a server nobody uses, holding memory and a port.
"${sudo[@]}" mkdir -p /etc/postgresql-common/createcluster.d
echo 'create_main_cluster = false' | "${sudo[@]}" tee /etc/postgresql-common/createcluster.d/longhaul.conf >/dev/null

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -q &&
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-postgres: installing PostgreSQL failed" >&2
  exit 1
fi

compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || {
  echo "install-postgres: installed, but no /usr/lib/postgresql/*/bin/initdb" >&2
  exit 1
}
