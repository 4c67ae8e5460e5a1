#!/usr/bin/env bash
# Every command on one snapshot, beside the reference for reading a snapshot whole: Debian's
# `etcdctl snapshot status` (Go, bbolt: walks and hashes every key and value).
#
#   Benchmarks/commands.sh [SIZES...]      # default: 100000 1000000
#
# Uses the inputs Benchmarks/compare.sh builds and caches (run `compare.sh --prepare SIZES` first):
# a snapshot of a real etcd holding N encrypted ~1 KiB secrets, and its EncryptionConfiguration.
# For each size it runs, alternately and several times each (5 up to 100k, 3 above), under
# /usr/bin/time with the snapshot read into the page cache first:
#
#   etcdctl snapshot status snapshot.db        atrest stats snapshot.db
#   atrest audit snapshot.db                   atrest audit snapshot.db --output jsonl
#   atrest audit snapshot.db --history         atrest plan --config C --proposed P snapshot.db
#   atrest inspect snapshot.db KEY             atrest inspect --index DIR KEY
#
# and prints a Markdown table of medians (wall, CPU, peak RSS) with each command's ratio to
# `atrest audit snapshot.db` and to `etcdctl snapshot status`.
#
# Environment: ATREST_BENCH_CACHE (default /tmp/atrest-bench-cache), ATREST_BENCH_RUNS.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then sizes=("$@"); else sizes=(100000 1000000); fi
cache=${ATREST_BENCH_CACHE:-/tmp/atrest-bench-cache}
say() { echo "commands.sh: $*" >&2; }
die() { echo "commands.sh: FAILED: $*" >&2; exit 1; }
command -v etcdctl >/dev/null || die "etcdctl is missing (apt-get install etcd-client)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install time)"

ATREST_GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown) swift build -c release --product atrest --quiet
atrest="$(swift build -c release --show-bin-path)/atrest"
work=$(mktemp -d "${TMPDIR:-/tmp}/atrest-commands.XXXXXX")
trap 'rm -rf "$work"' EXIT

# median of the numbers on standard input
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| entries | command | wall (s) | CPU (s) | peak RSS (MiB) | / audit snapshot.db | / etcdctl snapshot status |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for n in "${sizes[@]}"; do
  dir="$cache/audit-$n"
  snapshot="$dir/snapshot.db"
  [ -f "$dir/complete" ] && [ -f "$snapshot" ] || die "no cached snapshot for $n entries: run Benchmarks/compare.sh --prepare $n"
  config="$dir/config.yaml"
  # The proposed configuration: the same providers with identity removed, the plan a migration asks for.
  proposed="$work/proposed-$n.yaml"
  grep -v "identity" "$config" > "$proposed"
  chmod 600 "$proposed"
  key=/registry/secrets/ns-50/secret-0000050
  index="$work/index-$n"
  "$atrest" index "$snapshot" --index "$index" > /dev/null
  labels=("etcdctl snapshot status" "atrest stats" "atrest audit" "atrest audit --output jsonl" "atrest audit --history"
          "atrest plan" "atrest inspect snapshot.db KEY" "atrest inspect --index DIR KEY")
  commands=("etcdctl snapshot status $snapshot -w json"
            "$atrest stats $snapshot"
            "$atrest audit $snapshot --config $config --exit-zero"
            "$atrest audit $snapshot --config $config --exit-zero --output jsonl"
            "$atrest audit $snapshot --config $config --exit-zero --history"
            "$atrest plan --config $config --proposed $proposed $snapshot"
            "$atrest inspect $snapshot $key"
            "$atrest inspect --index $index $key")
  runs=${ATREST_BENCH_RUNS:-$([ "$n" -le 100000 ] && echo 5 || echo 3)}
  : > "$work/rows"
  for run in $(seq "$runs"); do
    for i in "${!commands[@]}"; do
      cat "$snapshot" > /dev/null
      # plan exits 1 when unsafe, audit --exit-zero 0: any other status is a failure.
      status=0
      /usr/bin/time -f "%e %U %S %M" -o "$work/time" ${commands[$i]} > /dev/null 2> "$work/stderr" || status=$?
      [ "$status" -le 1 ] || die "${labels[$i]} exited $status: $(head -c 500 "$work/stderr")"
      read -r wall user system rss < <(tail -n 1 "$work/time")
      echo "$i $wall $(echo "$user + $system" | bc) $rss" >> "$work/rows"
    done
  done
  declare -A wall cpu rss
  for i in "${!commands[@]}"; do
    wall[$i]=$(awk -v i="$i" '$1 == i { print $2 }' "$work/rows" | median)
    cpu[$i]=$(awk -v i="$i" '$1 == i { print $3 }' "$work/rows" | median)
    rss[$i]=$(awk -v i="$i" '$1 == i { print $4 }' "$work/rows" | median)
  done
  for i in "${!commands[@]}"; do
    printf "| %s | %s | %.2f | %.2f | %.0f | %.2f× | %.2f× |\n" "$n" "${labels[$i]}" "${wall[$i]}" "${cpu[$i]}" \
      "$(echo "${rss[$i]} / 1024" | bc -l)" "$(echo "${wall[$i]} / ${wall[2]}" | bc -l)" "$(echo "${wall[$i]} / ${wall[0]}" | bc -l)"
  done
  rm -rf "$index"
done
