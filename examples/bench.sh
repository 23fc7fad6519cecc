#!/usr/bin/env bash
# The benchmark of docs/benchmarks.md in one command: builds Apiary and the `bench` example, starts
# a throwaway PostgreSQL and etcd, then for each backend an Apiary server on a fresh data
# directory, runs `bench run` against it (JSON results), stops it, and finally `bench report`
# writes the table into docs/benchmarks.md and the chart docs/benchmarks.svg.
#
#   examples/bench.sh [--backends rocksdb,postgres,etcd] [--profile dev|release] [--quick]
#                     [--no-build] [--no-report] [other `bench run` flags, e.g. --scenarios writes,lists]
#
# Run as root (PostgreSQL runs as the postgres user through runuser). BENCH_DIR (default
# /tmp/apiary-bench) holds the data directories, logs and results/<backend>.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BACKENDS=rocksdb,postgres,etcd
PROFILE=dev
BUILD=1
REPORT=1
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) BACKENDS="$2"; shift 2 ;;
    --profile) PROFILE="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-report) REPORT=0; shift ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
case "$PROFILE" in
  # The workspace build the test command makes: building only the binary and the example
  # would resolve features differently and rebuild most crates.
  dev) TARGET_DIR=debug; CARGO_FLAGS=(--workspace --all-targets) ;;
  release) TARGET_DIR=release; CARGO_FLAGS=(--release) ;;
  *) echo "--profile must be dev or release" >&2; exit 2 ;;
esac
if [ "$BUILD" = 1 ]; then
  if [ "$PROFILE" = dev ]; then
    (cd "$ROOT" && cargo build "${CARGO_FLAGS[@]}")
  else
    (cd "$ROOT" && cargo build "${CARGO_FLAGS[@]}" --bin apiary --example bench)
  fi
fi
T="$ROOT/target/$TARGET_DIR"
BENCH="$T/examples/bench"

# 1,000 watchers need 1,000 connections on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

B="${BENCH_DIR:-/tmp/apiary-bench}"
rm -rf "$B"
mkdir -p "$B/results"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
PG_PORT=55432
ETCD_PORT=12379
SERVER_PID=""
ETCD_PID=""
PG_STARTED=0

cleanup() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
  [ -n "$ETCD_PID" ] && kill "$ETCD_PID" 2>/dev/null || true
  if [ "$PG_STARTED" = 1 ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$B/pg/data" -m immediate stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

start_postgres() {
  [ "$PG_STARTED" = 1 ] && return
  [ -n "$PGBIN" ] || { echo "PostgreSQL is not installed (/usr/lib/postgresql/*/bin)" >&2; exit 1; }
  rm -rf "$B/pg" && mkdir -p "$B/pg" && chown postgres "$B/pg"
  runuser -u postgres -- "$PGBIN/initdb" -D "$B/pg/data" -U postgres -A trust >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$B/pg/data" -l "$B/pg/log" \
    -o "-p $PG_PORT -h 127.0.0.1 -k $B/pg -c max_connections=400" -w start >/dev/null
  PG_STARTED=1
  for db in apiary bench_raw; do
    runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
  done
}

start_etcd() {
  [ -n "$ETCD_PID" ] && return
  rm -rf "$B/etcd" && mkdir -p "$B/etcd"
  etcd --data-dir "$B/etcd/data" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" >"$B/etcd/log" 2>&1 &
  ETCD_PID=$!
  command -v etcdctl >/dev/null || { sleep 3; return; }
  for _ in $(seq 50); do
    etcdctl --endpoints "http://127.0.0.1:$ETCD_PORT" endpoint health >/dev/null 2>&1 && return
    sleep 0.2
  done
  echo "etcd did not start; see $B/etcd/log" >&2
  exit 1
}

port=16443
for backend in ${BACKENDS//,/ }; do
  RAW=()
  ENV=(APIARY_STORAGE__BACKEND="$backend" RUST_LOG=warn)
  case "$backend" in
    rocksdb) RAW=(--work-dir "$B/raw-rocksdb") ;;
    postgres)
      start_postgres
      ENV+=(APIARY_STORAGE__POSTGRES__URL="postgres://postgres@127.0.0.1:$PG_PORT/apiary")
      RAW=(--postgres-url "postgres://postgres@127.0.0.1:$PG_PORT/bench_raw" --pg-bin "$PGBIN") ;;
    etcd)
      start_etcd
      ENV+=(APIARY_STORAGE__ETCD__ENDPOINTS="[\"http://127.0.0.1:$ETCD_PORT\"]")
      RAW=(--etcd-endpoint "http://127.0.0.1:$ETCD_PORT") ;;
    *) echo "unknown backend $backend (rocksdb, postgres, etcd)" >&2; exit 2 ;;
  esac
  D="$B/$backend"
  mkdir -p "$D"
  env "${ENV[@]}" "$T/apiary" serve --listen "127.0.0.1:$port" --data-dir "$D" >"$D/log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do [ -f "$D/admin.kubeconfig" ] && break; sleep 0.1; done
  "$BENCH" run --backend "$backend" --data-dir "$D" --server-pid "$SERVER_PID" \
    --profile "$PROFILE" --out "$B/results/$backend.json" "${RAW[@]}" "${EXTRA[@]}" \
    || echo "bench run on $backend reported failures (see above)" >&2
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
  # The database of this backend stops too: the next backend's run has the machine to itself.
  if [ "$backend" = postgres ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$B/pg/data" -m fast stop >/dev/null
    PG_STARTED=0
  elif [ "$backend" = etcd ]; then
    kill "$ETCD_PID" 2>/dev/null || true
    wait "$ETCD_PID" 2>/dev/null || true
    ETCD_PID=""
  fi
  port=$((port + 1))
done

if [ "$REPORT" = 1 ]; then
  "$BENCH" report "$B"/results/*.json --doc "$ROOT/docs/benchmarks.md" --svg "$ROOT/docs/benchmarks.svg"
fi
