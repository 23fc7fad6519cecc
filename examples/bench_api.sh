#!/usr/bin/env bash
# The API benchmark of docs/benchmarks.md: each backend's raw ceiling, then creates through the
# API at 32 clients with watch delay (PostgreSQL: written through replica A, watched through B).
# Needs a prior `cargo build --workspace --all-targets`; run as root (PostgreSQL runs as postgres).
set -euo pipefail
B=${BENCH_DIR:-/tmp/apiary-bench}; T="$(cd "$(dirname "$0")/.." && pwd)/target/debug"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
rm -rf $B/pg $B/a $B/b $B/e $B/etcd $B/r; mkdir -p $B/pg $B/a $B/b $B/e $B/r $B/etcd
chown postgres $B/pg
runuser -u postgres -- $PGBIN/initdb -D $B/pg/data -U postgres -A trust >/dev/null
runuser -u postgres -- $PGBIN/pg_ctl -D $B/pg/data -l $B/pg/log -o "-p 55432 -h 127.0.0.1 -k $B/pg -c max_connections=400" -w start >/dev/null
runuser -u postgres -- $PGBIN/createdb -h 127.0.0.1 -p 55432 -U postgres apiary
cleanup() { kill $(jobs -p) 2>/dev/null || true; runuser -u postgres -- $PGBIN/pg_ctl -D $B/pg/data -m immediate stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
export APIARY_STORAGE__BACKEND=postgres APIARY_STORAGE__POSTGRES__URL=postgres://postgres@127.0.0.1:55432/apiary RUST_LOG=warn
$T/apiary serve --listen 127.0.0.1:16443 --data-dir $B/a >$B/a/log 2>&1 &
sleep 3; cp $B/a/ca.crt $B/a/ca.key $B/a/sa.key $B/b/
$T/apiary serve --listen 127.0.0.1:16444 --data-dir $B/b >$B/b/log 2>&1 &
sleep 3
echo "== raw INSERT ceiling (pgbench, 32 clients, one-row insert transactions)"
runuser -u postgres -- psql -q -h 127.0.0.1 -p 55432 -U postgres -d apiary -c "create table if not exists raw_ins(id bigserial primary key, k text, v bytea)" 
echo "insert into raw_ins(k, v) values (md5(random()::text), decode(repeat('78', 512), 'hex'));" > $B/ins.sql
runuser -u postgres -- $PGBIN/pgbench -n -h 127.0.0.1 -p 55432 -U postgres -c 32 -j 2 -T 10 -f $B/ins.sql apiary 2>&1 | grep -E "tps|latency"
echo "== API on PostgreSQL: writes through A, watch through B"
$T/examples/bench_api --kubeconfig $B/a/admin.kubeconfig --watch-kubeconfig $B/b/admin.kubeconfig --clients 32 --seconds 10
kill %1 %2 || true; wait 2>/dev/null || true
unset APIARY_STORAGE__POSTGRES__URL
echo "== raw etcd put ceiling (etcd-client loop, 32 tasks)"
etcd --data-dir $B/etcd --listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 --listen-peer-urls http://127.0.0.1:12380 >$B/etcd/log 2>&1 &
sleep 3
$T/examples/bench_etcd 32 10 http://127.0.0.1:12379 2>&1 | tail -4
echo "== API on etcd"
APIARY_STORAGE__BACKEND=etcd APIARY_STORAGE__ETCD__ENDPOINTS='["http://127.0.0.1:12379"]' $T/apiary serve --listen 127.0.0.1:16445 --data-dir $B/e >$B/e/log 2>&1 &
sleep 3
$T/examples/bench_api --kubeconfig $B/e/admin.kubeconfig --clients 32 --seconds 10
kill %3 %4 2>/dev/null || true; sleep 1
echo "== raw RocksDB ceiling (32 writers)"
$T/examples/bench_rocksdb 32 10 2>&1 | tail -2
echo "== API on RocksDB"
APIARY_STORAGE__BACKEND=rocksdb $T/apiary serve --listen 127.0.0.1:16446 --data-dir $B/r >$B/r/log 2>&1 &
sleep 3
$T/examples/bench_api --kubeconfig $B/r/admin.kubeconfig --clients 32 --seconds 10
