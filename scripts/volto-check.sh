#!/usr/bin/env bash
# The Volto journey (issue 15): Beffroi on a fresh demo, Volto 18 started against it by
# the shared Volto scripts (../shared/volto: installed from the npm registry once,
# ~3 minutes), and scripts/volto-check.js driving Volto in headless Chromium as a
# citizen then as the commune's editor. Exits non-zero on any problem it found.
# Screenshots of every step go to $SHOTS (default: the run's data folder).
#
#   scripts/volto-check.sh            # uses target/debug/beffroi (built if missing)
#   BEFFROI_BIN=target/release/beffroi SHOTS=/tmp/shots scripts/volto-check.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
volto=${VOLTO_SCRIPTS:-$here/../shared/volto}
if [ ! -x "$volto/start.sh" ]; then
  echo "volto-check: the shared Volto scripts are not at $volto (set VOLTO_SCRIPTS)" >&2
  exit 1
fi
home=${VOLTO_HOME:-$HOME/.cache/beffroi-volto}
[ -f "$home/volto/app/build/server.js" ] || "$volto/setup.sh"
bin=${BEFFROI_BIN:-$here/target/debug/beffroi}
[ -x "$bin" ] || cargo build --locked -p beffroi --manifest-path "$here/Cargo.toml"
data=$(mktemp -d)
port=${BEFFROI_PORT:-18080}
vport=${VOLTO_PORT:-13000}
shots=${SHOTS:-$data/shots}
pid=""
cleanup() {
  "$volto/stop.sh" >/dev/null 2>&1 || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
}
trap cleanup EXIT
# A Volto left running would still point at another backend.
"$volto/stop.sh" >/dev/null 2>&1 || true
BEFFROI_ADMIN_PASSWORD="admin password" "$bin" serve --data "$data" --demo \
  --listen "127.0.0.1:$port" --trusted-proxies 127.0.0.1 > "$data/beffroi.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/demo" && break
  kill -0 "$pid" 2>/dev/null || { echo "volto-check: Beffroi did not start:" >&2; cat "$data/beffroi.log" >&2; exit 1; }
  sleep 0.1
done
API="http://127.0.0.1:$port/demo" VOLTO_PORT="$vport" "$volto/start.sh"
VOLTO_URL="http://127.0.0.1:$vport" SHOTS="$shots" VOLTO_PASSWORD="admin password" node "$here/scripts/volto-check.js"
