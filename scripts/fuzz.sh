#!/usr/bin/env bash
# Fuzzes atrest's parsers of untrusted input with libFuzzer (docs/reliability.md, "Fuzzing").
#
#   scripts/fuzz.sh --list              the targets and what each one reads
#   scripts/fuzz.sh TARGET SECONDS      build, then fuzz TARGET for SECONDS
#   scripts/fuzz.sh all SECONDS         every target in turn, SECONDS each (CI smoke)
#   scripts/fuzz.sh TARGET SECONDS -- ARGS...   extra libFuzzer flags (e.g. -runs=10000000)
#
# Each run starts from a scratch copy of the committed seed corpus (Fuzz/Corpus/TARGET), so the
# tree never changes. It exits non-zero on any crash, timeout, out-of-memory or sanitizer
# report; the input that caused it is kept under .build-fuzz/findings/TARGET/.
# Environment: FUZZ_SKIP_BUILD=1 reuses the last build; FUZZ_KEEP_CORPUS=DIR keeps the grown corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch_path="$root/.build-fuzz"

# name  executable  max_len  what it reads
targets=(
  "json      FuzzJSON      32768  etcdctl -w json (one document or concatenated pages) and grpc-gateway JSON"
  "fields    FuzzFields    32768  etcdctl -w fields output"
  "hex       FuzzHex       32768  etcdctl --hex output"
  "simple    FuzzSimple    32768  plain etcdctl get output (both passes)"
  "snapshot  FuzzSnapshot  65536  etcdctl snapshot save files and member/snap/db: trailer, meta, tree walk"
  "kine      FuzzKine      65536  k3s kine SQLite databases (state.db): integrity check, schema, rows and old_value copies"
  "config    FuzzConfig    16384  EncryptionConfiguration files, YAML and JSON"
  "envelope  FuzzEnvelope  4096   stored values: k8s:enc: envelopes, KMS v1/v2, annotation, static-key decryption"
  "object    FuzzObject    8192   Kubernetes objects read by inspect --decrypt (protobuf, JSON) and their annotation"
)

usage() {
  echo "usage: scripts/fuzz.sh --list | TARGET SECONDS [-- LIBFUZZER-ARGS...] | all SECONDS" >&2
  exit 64
}

field() { echo "$1" | awk -v n="$2" '{ print $n }'; }

lookup() {
  local t
  for t in "${targets[@]}"; do
    if [ "$(field "$t" 1)" = "$1" ]; then echo "$t"; return 0; fi
  done
  return 1
}

if [ "${1:-}" = "--list" ]; then
  for t in "${targets[@]}"; do
    printf '%-9s %s\n' "$(field "$t" 1)" "$(echo "$t" | awk '{ $1=$2=$3=""; sub(/^ +/, ""); print }')"
  done
  exit 0
fi
[ $# -ge 2 ] || usage
name=$1 seconds=$2
shift 2
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
if [ "${1:-}" = "--" ]; then shift; fi
extra=("$@")

if [ "$name" = all ]; then
  selected=("${targets[@]}")
else
  entry=$(lookup "$name") || { echo "fuzz.sh: unknown target '$name' (see --list)" >&2; exit 64; }
  selected=("$entry")
fi

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
  # -enable-testing: the dump readers are internal to AtRestDump and the targets call them directly.
  swift build -c release --package-path Fuzz --scratch-path "$scratch_path" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
fi
bin="$scratch_path/release"

work=$(mktemp -d "${TMPDIR:-/tmp}/atrest-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The targets rewrite one scratch file per input: keep it in memory when possible.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi

failed=()
for entry in "${selected[@]}"; do
  target=$(field "$entry" 1) exe=$(field "$entry" 2) max_len=$(field "$entry" 3)
  corpus="$work/$target/corpus" findings="$scratch_path/findings/$target"
  mkdir -p "$corpus" "$findings"
  cp "Fuzz/Corpus/$target/"* "$corpus/"
  log="$work/$target/log"
  echo "== fuzz $target for ${seconds}s (max_len $max_len)"
  status=0
  # The Swift runtime's backtracer would take over the crash signals from the sanitizer.
  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" "$bin/$exe" "$corpus" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -print_final_stats=1 -artifact_prefix="$findings/" ${extra[@]+"${extra[@]}"} >"$log" 2>&1 || status=$?
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^Done|^#[0-9]+.*DONE' "$log" || true
  if [ "$status" -ne 0 ] || grep -qE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|SUMMARY: ' "$log"; then
    echo "!! $target: failed (exit $status); log tail:" >&2
    tail -n 40 "$log" >&2
    echo "!! $target: reproducer(s) kept in $findings/" >&2
    failed+=("$target")
  else
    echo "   $target: no crash, timeout or sanitizer report; corpus now $(ls "$corpus" | wc -l) inputs"
  fi
  if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then mkdir -p "$FUZZ_KEEP_CORPUS/$target"; cp "$corpus/"* "$FUZZ_KEEP_CORPUS/$target/"; fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
