#!/usr/bin/env bash
# SPDX-License-Identifier: EUPL-1.2
# Times `beffroi import plone` (SQLite and PostgreSQL) and `beffroi export plone`
# (SQLite) on generated exports of 1,000 and 10,000 items, with their peak memory:
#
#   cargo build --release && scripts/with-postgres.sh scripts/import-bench.sh
#
# BEFFROI names the binary (default target/release/beffroi); WORK the scratch folder
# (default a new temporary one, removed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BEFFROI:-target/release/beffroi}
PG=${BEFFROI_TEST_DATABASE_URL:?run it under scripts/with-postgres.sh}
base=${PG%/*}
work=${WORK:-$(mktemp -d /tmp/beffroi-import-bench.XXXXXX)}
[ -n "${WORK:-}" ] || trap 'rm -rf "$work"' EXIT
[ -x "$B" ] || { echo "import-bench: no $B (cargo build --release first, or set BEFFROI)" >&2; exit 1; }
measure() {
  local out
  out=$(/usr/bin/time -f "  %e s, peak RSS %M KB" "$@" 2>&1 >/dev/null) || { echo "$out" >&2; exit 1; }
  echo "$out" | tail -1
}
for n in 1000 10000; do
  corpus=$work/corpus-$n
  [ -d "$corpus" ] || python3 scripts/plone-corpus.py "$n" "$corpus" >/dev/null
  echo "$n items, SQLite import:"
  measure "$B" import plone "$corpus" --site big --create --title Big --data "$work/sqlite-$n"
  echo "$n items, SQLite export:"
  measure "$B" export plone --site big "$work/export-$n" --data "$work/sqlite-$n"
  echo "$n items, PostgreSQL import:"
  psql "$PG" -qc "create database import_bench_$n" >/dev/null
  measure "$B" import plone "$corpus" --site big --create --title Big --database "$base/import_bench_$n" --data "$work/pg-$n"
done
