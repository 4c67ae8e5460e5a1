#!/usr/bin/env bash
# Ingest benchmark: loads N keys of ~1 KiB into a real etcd (127.0.0.1, free
# ports, private data dir), exports them with `etcdctl get -w json` and
# `etcdctl snapshot save`, then times `atrest index` on each export and reports
# throughput (MB/s of input) and peak memory (max RSS).
#
#   Benchmarks/ingest.sh [KEYS] [VALUE_BYTES]     # default 100000 1024
#
# Set ATREST_BENCH_CACHE=DIR to keep the generated exports there and reuse them
# on the next run (loading etcd takes most of the time).
set -euo pipefail
cd "$(dirname "$0")/.."
keys=${1:-100000}
size=${2:-1024}
work=$(mktemp -d /tmp/atrest-bench.XXXXXX)
# shellcheck source=../scripts/lib/etcd.sh
source scripts/lib/etcd.sh
trap 'rm -rf "$work"' EXIT
cache=${ATREST_BENCH_CACHE:-}
if [ -n "$cache" ] && [ -f "$cache/export-$keys-$size.json" ] && [ -f "$cache/snapshot-$keys-$size.db" ]; then
  cp "$cache/export-$keys-$size.json" "$work/export.json"
  cp "$cache/snapshot-$keys-$size.db" "$work/snapshot.db"
else
  start_etcd atrest-bench "$work" --quota-backend-bytes 8589934592
  echo "loading $keys keys of $size bytes..."
  python3 Benchmarks/load_etcd.py "$CLIENT" "$keys" "$size"
  ctl --command-timeout 120s get "" --prefix -w json > "$work/export.json"
  ctl snapshot save "$work/snapshot.db" >/dev/null 2>&1
  stop_etcd
  if [ -n "$cache" ]; then
    mkdir -p "$cache"
    cp "$work/export.json" "$cache/export-$keys-$size.json"
    cp "$work/snapshot.db" "$cache/snapshot-$keys-$size.db"
  fi
fi

swift build -c release --product atrest >/dev/null 2>&1
bin=$(swift build -c release --show-bin-path)/atrest

measure() {
  local label=$1 input=$2
  local bytes; bytes=$(stat -c %s "$input")
  rm -rf "$work/idx"
  # Warm the page cache so the figure is atrest's, not the disk's.
  cat "$input" > /dev/null
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" index "$input" --index "$work/idx" >/dev/null
  read -r seconds rss_kib < "$work/time"
  python3 - "$label" "$bytes" "$seconds" "$rss_kib" "$keys" <<'PY'
import sys
label, size, secs, rss, keys = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
secs = max(secs, 0.01)
print(f"| {label} | {keys:,} | {size/1e6:,.1f} MB | {secs:.2f} s | {size/1e6/secs:,.0f} MB/s | {keys/secs:,.0f} keys/s | {rss/1024:,.0f} MiB |")
PY
}
echo
echo "| input | keys | size | wall | throughput | keys/s | peak RSS |"
echo "|---|---|---|---|---|---|---|"
measure "etcdctl -w json" "$work/export.json"
measure "snapshot save" "$work/snapshot.db"
