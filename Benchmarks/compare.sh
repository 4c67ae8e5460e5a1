#!/usr/bin/env bash
# Audit benchmark against the Python peer: atrest versus the ~80-line Python
# audit an operator would write (Benchmarks/peer_audit.py: json, base64,
# cryptography, PyNaCl), on the same entries at each size.
#
#   Benchmarks/compare.sh [SIZES...]        # default: 100000 1000000; 4000000 works too
#   Benchmarks/compare.sh --prepare [SIZES...]   # only build and cache the inputs
#
# For each size N it builds (once, cached) an etcdctl `-w json` export of N
# really encrypted ~1 KiB secrets (make_audit_bench.py: 60 % aesgcm, 20 %
# secretbox, 10 % aescbc, 10 % plaintext) with its EncryptionConfiguration,
# and a snapshot of a real etcd holding the same keys and values. Then it runs,
# alternately and several times each (5 runs up to 100k, 3 up to 1M, 2 above):
#
#   atrest audit export.json --config ...     atrest audit snapshot.db --config ...
#   atrest index export.json --index DIR      atrest audit --index DIR --config ...
#   python3 Benchmarks/peer_audit.py export.json config.yaml
#
# under /usr/bin/time, checks that every run gives the same verdict counts as
# the Python peer (and as the generator's mix), and prints a Markdown table of
# medians (wall time, CPU time, peak RSS). Fails loudly on any disagreement.
#
# Environment:
#   ATREST_BENCH_CACHE  inputs and the Python venv (default /tmp/atrest-bench-cache)
#   ATREST_BENCH_OUT    raw measurements CSV and table (default $ATREST_BENCH_CACHE/results)
#   ATREST_BENCH_PLOT   plot of time and RSS against entries (default docs/performance-audit.png)
#   ATREST_BENCH_RUNS   runs of each command at every size (overrides the defaults)
#   ATREST_BENCH_NOTE   text added to the plot's title (e.g. the machine)
#   ATREST_BENCH_SNAPSHOT_LIMIT  sizes above it get no etcd snapshot (building one
#                       is most of the preparation time): the snapshot audit is
#                       not measured there, everything else is
#
# Disk: about 4.5 KB per entry while a size is built (export, etcd's data,
# snapshot), 3 KB per entry in the cache, plus the index (about 1.4 KB per entry)
# while measuring: about 25 GB free for 4,000,000 entries. Memory: the Python
# peer holds the whole export parsed (about 3.5 KB per entry, 13 GiB at 4M).
# Time to build: about 17 minutes for 4M entries (mostly the etcd load).
set -euo pipefail
cd "$(dirname "$0")/.."
prepare_only=""
if [ "${1:-}" = --prepare ]; then prepare_only=1; shift; fi
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(100000 1000000); fi
for n in "${sizes[@]}"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: size '$n' is not a positive number of entries" >&2; exit 2; }
done
cache=${ATREST_BENCH_CACHE:-/tmp/atrest-bench-cache}
out=${ATREST_BENCH_OUT:-$cache/results}
plot=${ATREST_BENCH_PLOT:-docs/performance-audit.png}
mkdir -p "$cache" "$out"
work=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$work"' EXIT

say() { echo "compare.sh: $*" >&2; }
die() { echo "compare.sh: FAILED: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  say "installing Debian's time package for /usr/bin/time"
  if [ "$(id -u)" = 0 ]; then apt-get install -y time >/dev/null; else sudo apt-get install -y time >/dev/null; fi
fi
# shellcheck source=python_env.sh
source Benchmarks/python_env.sh
py=$PY

# --- inputs -----------------------------------------------------------------
free_bytes() { df --output=avail -B1 "$1" | tail -n 1; }

snapshot_limit=${ATREST_BENCH_SNAPSHOT_LIMIT:-}
wants_snapshot() { [ -z "$snapshot_limit" ] || [ "$1" -le "$snapshot_limit" ]; }

build_inputs() {
  local n=$1 dir=$cache/audit-$n
  if [ -f "$dir/complete" ]; then return; fi
  if ! wants_snapshot "$n" && [ -f "$dir/complete-export" ]; then return; fi
  local need=$((n * 4500 + (1 << 30)))
  [ "$(free_bytes "$cache")" -ge "$need" ] || die "building $n entries needs about $((need >> 30)) GiB free in $cache; $(($(free_bytes "$cache") >> 30)) GiB are"
  rm -rf "$dir"
  mkdir -p "$dir"
  say "writing the $n-entry export"
  "$py" Benchmarks/make_audit_bench.py "$dir" "$n" >&2
  chmod 600 "$dir/config.yaml"
  touch "$dir/complete-export"
  if ! wants_snapshot "$n"; then say "no snapshot of $n entries (ATREST_BENCH_SNAPSHOT_LIMIT=$snapshot_limit)"; return; fi
  say "loading the $n entries into a real etcd for the snapshot"
  # A subshell, so etcd.sh's EXIT trap stops etcd by pid and removes its
  # data directory whether the load succeeds or fails.
  (
    # shellcheck source=../scripts/lib/etcd.sh
    source scripts/lib/etcd.sh
    quota=$(( n * 3000 > (2 << 30) ? n * 3000 : (2 << 30) ))
    # --snapshot-count keeps the WAL small (1000-put transactions); the quota
    # is about twice the data.
    mkdir -p "$dir/etcd"
    start_etcd atrest-bench "$dir/etcd" --quota-backend-bytes "$quota" \
      --max-txn-ops 1000 --max-request-bytes 4194304 --snapshot-count 200
    started=$(date +%s)
    (cd Benchmarks && "$py" load_audit_etcd.py "$CLIENT" "$n" 1000) >&2
    count=$(ctl get "" --prefix --keys-only --limit 1 -w json | "$py" -c 'import json,sys; print(json.load(sys.stdin)["count"])')
    [ "$count" = "$n" ] || die "etcd holds $count keys, expected $n"
    ctl --command-timeout 30m snapshot save "$dir/snapshot.db" >"$dir/etcd/save.log" 2>&1 || { cat "$dir/etcd/save.log" >&2; exit 1; }
    say "etcd snapshot of $n entries in $(( $(date +%s) - started )) s"
    stop_etcd
  ) || die "making the etcd snapshot of $n entries"
  touch "$dir/complete"
}

for n in "${sizes[@]}"; do build_inputs "$n"; done
if [ -n "$prepare_only" ]; then say "inputs ready in $cache"; exit 0; fi

say "building atrest (release)"
swift build -c release --product atrest >"$work/build.log" 2>&1 || { tail -n 30 "$work/build.log" >&2; die "swift build"; }
bin=$(swift build -c release --show-bin-path)/atrest

# --- measurements -----------------------------------------------------------
csv=$out/compare-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "entries,command,run,seconds,user_seconds,system_seconds,max_rss_kib,input_bytes" > "$csv"

# measure N COMMAND_LABEL RUN INPUT_BYTES OUTPUT -- CMD...: one timed run, one CSV row.
measure() {
  local n=$1 label=$2 run=$3 bytes=$4 output=$5
  shift 6
  if ! /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >"$output" 2>"$work/stderr"; then
    cat "$work/stderr" >&2
    die "$label at $n entries (run $run) exited with an error"
  fi
  local seconds user system rss
  read -r seconds user system rss < <(tail -n 1 "$work/time")
  echo "$n,$label,$run,$seconds,$user,$system,$rss,$bytes" >> "$csv"
  say "  $label: $seconds s (CPU $user s user, $system s system), $((rss / 1024)) MiB"
}

# check_verdicts N LABEL OUTPUT: atrest's --output json totals must equal the peer's.
check_verdicts() {
  "$py" - "$1" "$2" "$3" "$work/expected.json" <<'PY' || die "$2 at $1 entries disagrees with the Python peer"
import json, sys
n, label, output, expected_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
expected = json.load(open(expected_path))
document = json.load(open(output))
got = {k: v for k, v in document["totals"]["verdicts"].items() if v}
if got != expected:
    sys.exit(f"compare.sh: FAILED: {label}: atrest counts {got}, the Python peer {expected}")
PY
}

for n in "${sizes[@]}"; do
  dir=$cache/audit-$n
  runs=${ATREST_BENCH_RUNS:-$(( n <= 100000 ? 5 : n <= 1000000 ? 3 : 2 ))}
  # The peer parses the whole export (about 3.5 KB per entry): refuse rather than
  # let the kernel's OOM killer pick a process.
  available=$(( $(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) * 1024 ))
  [ "$available" -ge $((n * 3600)) ] || die "the Python peer needs about $((n * 3600 >> 30)) GiB of memory at $n entries; $((available >> 30)) GiB are available"
  json_bytes=$(stat -c %s "$dir/export.json")
  snapshot=""
  if wants_snapshot "$n" && [ -f "$dir/snapshot.db" ]; then snapshot=$dir/snapshot.db; fi
  # Inputs come from the page cache, so the figures are the programs', not the disk's:
  # each command's input is read once right before it runs, as the peer's memory (and
  # the other inputs) may have pushed it out of a small page cache.
  warm() { cat "$@" > /dev/null; }
  say "$n entries: $runs runs of each command"
  for run in $(seq "$runs"); do
    warm "$dir/export.json"
    measure "$n" "python peer_audit.py export.json" "$run" "$json_bytes" "$work/peer.json" -- \
      "$py" Benchmarks/peer_audit.py "$dir/export.json" "$dir/config.yaml"
    if [ "$run" = 1 ]; then
      # The peer's counts must also be the mix the generator wrote: a peer
      # that agreed with a wrong atrest would prove nothing.
      "$py" - "$n" "$work/peer.json" <<'PY' || die "the Python peer's counts at $n entries are not the generator's mix"
import json, sys
n, peer = int(sys.argv[1]), json.load(open(sys.argv[2]))
mix = {"current": sum(1 for i in range(n) if i % 10 < 6), "stale": sum(1 for i in range(n) if 6 <= i % 10 < 9),
       "unencrypted": sum(1 for i in range(n) if i % 10 == 9)}
mix = {k: v for k, v in mix.items() if v}
if peer != mix:
    sys.exit(f"compare.sh: FAILED: the Python peer counts {peer}, the generator wrote {mix}")
PY
      cp "$work/peer.json" "$work/expected.json"
    elif ! cmp -s "$work/peer.json" "$work/expected.json"; then
      die "the Python peer's counts changed between runs at $n entries"
    fi
    warm "$dir/export.json"
    measure "$n" "atrest audit export.json" "$run" "$json_bytes" "$work/audit.json" -- \
      "$bin" audit "$dir/export.json" --config "$dir/config.yaml" --output json --exit-zero
    check_verdicts "$n" "atrest audit export.json" "$work/audit.json"
    if [ -n "$snapshot" ]; then
      warm "$snapshot"
      measure "$n" "atrest audit snapshot.db" "$run" "$(stat -c %s "$snapshot")" "$work/audit.json" -- \
        "$bin" audit "$snapshot" --config "$dir/config.yaml" --output json --exit-zero
      check_verdicts "$n" "atrest audit snapshot.db" "$work/audit.json"
    fi
    rm -rf "$work/idx"
    warm "$dir/export.json"
    measure "$n" "atrest index export.json" "$run" "$json_bytes" /dev/null -- \
      "$bin" index "$dir/export.json" --index "$work/idx"
    measure "$n" "atrest audit --index" "$run" "$json_bytes" "$work/audit.json" -- \
      "$bin" audit --index "$work/idx" --config "$dir/config.yaml" --output json --exit-zero
    check_verdicts "$n" "atrest audit --index" "$work/audit.json"
  done
  say "$n entries: every atrest audit agrees with the Python peer: $(cat "$work/expected.json")"
  rm -rf "$work/idx"
done

"$py" Benchmarks/compare_report.py "$csv" "$plot" "${ATREST_BENCH_NOTE:-}" | tee "${csv%.csv}.md"
say "raw measurements: $csv; table: ${csv%.csv}.md; plot: $plot"
