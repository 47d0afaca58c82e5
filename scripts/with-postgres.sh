#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL 15 cluster on a free loopback port.
#
#   scripts/with-postgres.sh cargo test --workspace
#
# Exports BEFFROI_TEST_DATABASE_URL (for the tests) and BEFFROI_BENCH_POSTGRES (for
# `beffroi bench`), both pointing at the cluster's `postgres` database as a superuser.
# The cluster lives in a temporary folder and is stopped and removed on exit, whatever
# happens. PostgreSQL 15 is installed from Debian's packages when missing.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ]; then
  echo "with-postgres: installing PostgreSQL 15" >&2
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  else
    echo "with-postgres: $PGBIN/initdb not found; install postgresql-15" >&2
    exit 1
  fi
fi

workdir=$(mktemp -d /tmp/beffroi-pg.XXXXXX)
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root: the cluster belongs to the postgres user.
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  chown postgres "$workdir"
  as_pg() { runuser -u postgres -- "$@"; }
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

stop() {
  as_pg "$PGBIN/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap stop EXIT

as_pg "$PGBIN/initdb" -D "$workdir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$workdir/initdb.log" 2>&1 \
  || { cat "$workdir/initdb.log" >&2; exit 1; }

# TLS with a certificate authority of its own (for the tests of encrypted connections):
# the server's certificate names 127.0.0.1 and localhost. Plain connections still work.
tls_opts=""
setup_tls() {
  tls="$workdir/tls"
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Beffroi test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>"$tls/openssl.log" || return 1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" \
    2>>"$tls/openssl.log" || return 1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 2 \
    -extfile "$tls/ext" -out "$tls/server.crt" 2>>"$tls/openssl.log" || return 1
  chmod 600 "$tls/server.key"
  if [ "$(id -u)" = 0 ]; then chown -R postgres "$tls"; fi
  tls_opts="-c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key"
  export BEFFROI_TEST_PG_CA="$tls/ca.crt"
}
if ! command -v openssl >/dev/null; then
  echo "with-postgres: no openssl, the cluster has no TLS" >&2
elif ! setup_tls; then
  echo "with-postgres: the certificates could not be made, the cluster has no TLS:" >&2
  cat "$workdir/tls/openssl.log" >&2 || true
  tls_opts=""
fi
as_pg "$PGBIN/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 30 \
  -o "-p $port -k $workdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 $tls_opts" \
  start >/dev/null || { cat "$workdir/server.log" >&2; exit 1; }

export BEFFROI_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
export BEFFROI_BENCH_POSTGRES="$BEFFROI_TEST_DATABASE_URL"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
