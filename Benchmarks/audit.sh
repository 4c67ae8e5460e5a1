#!/usr/bin/env bash
# Audit benchmark: N entries (default 100,000) of 1 KiB plaintext, really
# encrypted (60% aesgcm, 20% secretbox, 10% aescbc; 10% plaintext), written as an
# etcdctl -w json export with its EncryptionConfiguration; indexes it, then times
# `atrest audit --index` and reports entries/s and MB/s of ciphertext decrypted.
#
#   Benchmarks/audit.sh [ENTRIES]
set -euo pipefail
cd "$(dirname "$0")/.."
entries=${1:-100000}
work=$(mktemp -d /tmp/atrest-audit-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
# shellcheck source=python_env.sh
source Benchmarks/python_env.sh
"$PY" Benchmarks/make_audit_bench.py "$work" "$entries" >/dev/null
chmod 600 "$work/config.yaml"
swift build -c release --product atrest >/dev/null 2>&1
bin=$(swift build -c release --show-bin-path)/atrest
"$bin" index "$work/export.json" --index "$work/idx" >/dev/null
ciphertext=$("$PY" - "$work/export.json" <<'PY'
import base64, json, sys
total = 0
for kv in json.load(open(sys.argv[1]))["kvs"]:
    v = base64.b64decode(kv.get("value", ""))
    if v.startswith(b"k8s:enc:"):
        total += len(v)
print(total)
PY
)
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" audit --index "$work/idx" --config "$work/config.yaml" --output json --exit-zero > "$work/audit.json"
read -r seconds rss_kib < "$work/time"
"$PY" - "$entries" "$ciphertext" "$seconds" "$rss_kib" "$work/audit.json" <<'PY'
import json, sys
n, ct, secs, rss = int(sys.argv[1]), int(sys.argv[2]), max(float(sys.argv[3]), 0.01), int(sys.argv[4])
verdicts = json.load(open(sys.argv[5]))["totals"]["verdicts"]
print("| entries | ciphertext | wall | entries/s | ciphertext MB/s | peak RSS | verdicts |")
print("|---|---|---|---|---|---|---|")
print(f"| {n:,} | {ct/1e6:,.1f} MB | {secs:.2f} s | {n/secs:,.0f} | {ct/1e6/secs:,.0f} | {rss/1024:,.0f} MiB | "
      + ", ".join(f"{k} {v:,}" for k, v in sorted(verdicts.items())) + " |")
PY
