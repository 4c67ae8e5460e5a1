#!/usr/bin/env bash
# KMS v2 audit benchmark: N secrets stored as KMS v2 envelopes from 4 DEK seeds,
# read through a real plugin (testdata/kms/kms_plugin.py, gRPC on a unix
# socket), against the same N secrets under aesgcm, the local-key baseline.
#
#   Benchmarks/kms.sh [SIZES...]          # default: 1000000
#
# With the seeds unwrapped once each, the per-entry work is HKDF-Expand plus the
# AES-GCM open that aesgcm does too: the KMS audit should run at the speed of
# the aesgcm one, asking the plugin for one Decrypt per distinct DEK source.
#
# For each size N it builds (once, cached) the inputs with make_kms_bench.py
# (kms.json + kms.yaml, aesgcm.json + aesgcm.yaml, 1 KiB plaintexts), starts
# the plugin (KMS v2, current key ID k1, every call logged), then runs,
# alternately, 3 times each:
#
#   atrest audit aesgcm.json --config aesgcm.yaml
#   atrest audit kms.json --config kms.yaml --kms --kms-endpoint kms-v2=unix://...
#
# under /usr/bin/time, checks that every run finds all N entries current, and
# prints a Markdown table: median wall time, median peak RSS, the kms/aesgcm
# ratios, and the Decrypt calls the plugin logged during each KMS run. Fails
# if a run asked for other than 4 Decrypts (one per seed).
#
# Environment:
#   ATREST              the atrest binary (default .build/release/atrest; it is
#                       not built here: `swift build -c release --product atrest`)
#   ATREST_BENCH_CACHE  inputs (default /tmp/atrest-bench-cache, as compare.sh)
#   ATREST_BENCH_RUNS   runs of each command (default 3)
#
# The plugin and the generator need grpcio and cryptography: they run in the
# tests' venv (scripts/lib/test-python.sh, testdata/kms/requirements.txt).
# Disk: about 3.3 KB per entry in the cache (3.3 GB at 1M). Building 1M
# entries takes about half a minute on two cores.
set -euo pipefail
bin=${ATREST:-}
if [ -n "$bin" ] && [[ "$bin" != /* ]]; then bin=$PWD/$bin; fi
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(1000000); fi
for n in "${sizes[@]}"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "kms.sh: size '$n' is not a positive number of entries" >&2; exit 2; }
done
runs=${ATREST_BENCH_RUNS:-3}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "kms.sh: ATREST_BENCH_RUNS '$runs' is not a positive number" >&2; exit 2; }
seeds=4  # make_kms_bench.py SEEDS

say() { echo "kms.sh: $*" >&2; }
die() { echo "kms.sh: FAILED: $*" >&2; exit 1; }

bin=${bin:-$PWD/.build/release/atrest}
[ -x "$bin" ] || die "no atrest binary at $bin: build it (swift build -c release --product atrest) or set ATREST"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian: apt-get install time)"
py=$(scripts/lib/test-python.sh) || die "making the Python environment (scripts/lib/test-python.sh)"

cache=${ATREST_BENCH_CACHE:-/tmp/atrest-bench-cache}
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/atrest-kms-bench.XXXXXX")
plugin_pid=""
cleanup() {
  if [ -n "$plugin_pid" ]; then kill "$plugin_pid" 2>/dev/null || true; wait "$plugin_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# --- inputs -----------------------------------------------------------------
free_bytes() { df --output=avail -B1 "$1" | tail -n 1; }

build_inputs() {
  local n=$1 dir=$cache/kms-$n
  if [ -f "$dir/complete" ]; then return; fi
  local need=$((n * 3300 + (1 << 30)))
  [ "$(free_bytes "$cache")" -ge "$need" ] || die "building $n entries needs about $((need >> 30)) GiB free in $cache; $(($(free_bytes "$cache") >> 30)) GiB are"
  rm -rf "$dir"
  mkdir -p "$dir"
  say "writing the $n-entry exports"
  "$py" Benchmarks/make_kms_bench.py "$n" "$dir" >&2 || die "make_kms_bench.py $n"
  chmod 600 "$dir/aesgcm.yaml"
  touch "$dir/complete"
}
for n in "${sizes[@]}"; do build_inputs "$n"; done

# --- the plugin ---------------------------------------------------------------
socket=$work/v2.sock
calls=$work/v2.calls
"$py" testdata/kms/kms_plugin.py --api v2 --socket "$socket" --keks testdata/kms/keks.json \
  --current-key-id k1 --calls "$calls" --pid-file "$work/v2.pid" 2>"$work/plugin.log" &
plugin_pid=$!
for _ in $(seq 100); do
  [ -f "$work/v2.pid" ] && break
  kill -0 "$plugin_pid" 2>/dev/null || { cat "$work/plugin.log" >&2; die "the KMS plugin exited before it listened"; }
  sleep 0.1
done
[ -f "$work/v2.pid" ] || die "the KMS plugin did not listen within 10 s"
[ "$(cat "$work/v2.pid")" = "$plugin_pid" ] || die "the KMS plugin's pid file names another process"
touch "$calls"

# --- measurements -----------------------------------------------------------
results=$work/results.csv
echo "entries,command,run,seconds,max_rss_kib,decrypts" > "$results"

decrypts_so_far() { grep -c '"method": "Decrypt"' "$calls" || true; }

# measure N LABEL RUN -- CMD...: one timed run, one CSV row; all N entries must be current.
measure() {
  local n=$1 label=$2 run=$3
  shift 4
  local before after seconds rss
  before=$(decrypts_so_far)
  if ! /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/audit.json" 2>"$work/stderr"; then
    cat "$work/stderr" >&2
    die "$label at $n entries (run $run) exited with an error"
  fi
  after=$(decrypts_so_far)
  read -r seconds rss < <(tail -n 1 "$work/time")
  "$py" - "$n" "$label" "$work/audit.json" <<'PY' || die "$label at $n entries (run $run): not every entry is current"
import json, sys
n, label, output = int(sys.argv[1]), sys.argv[2], sys.argv[3]
got = {k: v for k, v in json.load(open(output))["totals"]["verdicts"].items() if v}
if got != {"current": n}:
    sys.exit(f"kms.sh: FAILED: {label}: verdicts {got}, expected {{'current': {n}}}")
PY
  echo "$n,$label,$run,$seconds,$rss,$((after - before))" >> "$results"
  say "  $label: $seconds s, $((rss / 1024)) MiB, $((after - before)) Decrypt calls"
}

for n in "${sizes[@]}"; do
  dir=$cache/kms-$n
  # Inputs come from the page cache, so the figures are the program's, not the disk's.
  cat "$dir/aesgcm.json" "$dir/kms.json" > /dev/null
  say "$n entries: $runs runs of each command"
  for run in $(seq "$runs"); do
    measure "$n" aesgcm "$run" -- \
      "$bin" audit "$dir/aesgcm.json" --config "$dir/aesgcm.yaml" --output json --exit-zero
    measure "$n" kms "$run" -- \
      "$bin" audit "$dir/kms.json" --config "$dir/kms.yaml" --output json --exit-zero \
        --kms --kms-endpoint "kms-v2=unix://$socket"
  done
done

grep -q '"method": "Encrypt"' "$calls" && die "atrest called the plugin's Encrypt"

"$py" - "$results" "$seeds" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
seeds = int(sys.argv[2])
print("| entries | command | runs | median wall | median peak RSS | Decrypt calls per run |")
print("|---|---|---|---|---|---|")
failed = False
for n in dict.fromkeys(r["entries"] for r in rows):
    med = {}
    for label in ("aesgcm", "kms"):
        mine = [r for r in rows if r["entries"] == n and r["command"] == label]
        wall = statistics.median(float(r["seconds"]) for r in mine)
        rss = statistics.median(int(r["max_rss_kib"]) for r in mine)
        med[label] = (wall, rss)
        decrypts = [int(r["decrypts"]) for r in mine]
        calls = ", ".join(map(str, decrypts)) if label == "kms" else "-"
        if label == "kms" and any(d != seeds for d in decrypts):
            failed = True
        print(f"| {int(n):,} | {label} | {len(mine)} | {wall:.2f} s | {rss / 1024:,.0f} MiB | {calls} |")
    (gw, gr), (kw, kr) = med["aesgcm"], med["kms"]
    print(f"| {int(n):,} | kms / aesgcm | | {kw / max(gw, 0.01):.2f}x | {kr / max(gr, 1):.2f}x | |")
if failed:
    sys.exit(f"kms.sh: FAILED: a KMS run did not ask for exactly {seeds} Decrypts (one per distinct seed)")
PY
