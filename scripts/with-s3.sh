#!/usr/bin/env bash
# Runs a command with a throw-away S3-compatible server (moto, from PyPI) on a free
# loopback port, for the tests of blobs kept in object storage.
#
#   scripts/with-s3.sh cargo test --workspace
#
# Exports BEFFROI_TEST_S3_ENDPOINT (http://127.0.0.1:PORT). moto is installed once in a
# virtual environment under ~/.cache/beffroi-moto; the server is stopped on exit.
set -euo pipefail

MOTO_VERSION=${MOTO_VERSION:-5.2.6}
venv=${BEFFROI_MOTO_VENV:-$HOME/.cache/beffroi-moto}
if [ ! -x "$venv/bin/moto_server" ]; then
  echo "with-s3: installing moto $MOTO_VERSION from PyPI into $venv" >&2
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 makes virtual environments only with python3-venv.
    if [ "$(id -u)" = 0 ]; then
      rm -rf "$venv"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv "$venv"
    else
      echo "with-s3: python3 -m venv failed; install python3-venv" >&2
      exit 1
    fi
  fi
  "$venv/bin/pip" install -q "moto[server]==$MOTO_VERSION" >&2
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp /tmp/beffroi-s3.XXXXXX)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
server=$!
stop() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -f "$log"
}
trap stop EXIT

for _ in $(seq 1 100); do
  if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null \
  || { echo "with-s3: moto did not start" >&2; cat "$log" >&2; exit 1; }

export BEFFROI_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
echo "with-s3: moto $("$venv/bin/pip" show moto 2>/dev/null | awk '/^Version/ {print $2}') on 127.0.0.1:$port" >&2
"$@"
