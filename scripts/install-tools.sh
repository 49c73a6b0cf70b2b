#!/usr/bin/env bash
# Installs Debian's ripgrep and bubblewrap, which the coding tools use when present (tools/coding/):
# grep and glob fall back to a JavaScript search without rg, and run_command's sandbox 'auto' runs
# unsandboxed without bwrap, so a failed install only warns. Also Debian's chromium, which the
# console's browser tests drive (test/console.test.ts, headless); `longhaul console` itself needs
# no browser on the machine it runs on. Does nothing when all are there; prints nothing unless
# something fails.
set -uo pipefail

missing=()
command -v rg >/dev/null || missing+=(ripgrep)
command -v bwrap >/dev/null || missing+=(bubblewrap)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "install-tools: warning: not root and no sudo; ${missing[*]} not installed" >&2; exit 0; }
  sudo=(sudo)
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -q &&
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 5 "$log" >&2
  echo "install-tools: warning: installing ${missing[*]} failed; the coding tools use their fallbacks, and without chromium the console's browser tests cannot run" >&2
fi
exit 0
