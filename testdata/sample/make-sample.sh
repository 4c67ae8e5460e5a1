#!/usr/bin/env bash
# Regenerates the bundled sample: the audit fixture (../audit/entries.json) loaded
# into a real etcd (127.0.0.1, free ports, private data dir, stopped by pid on
# exit), with plaintext earlier revisions of a few secrets, exported as
# `etcdctl snapshot save` (snapshot.db) and `etcdctl get "" --prefix -w json`
# (export.json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/atrest-sample.XXXXXX)
etcd_pid=""
cleanup() {
  if [ -n "$etcd_pid" ]; then kill "$etcd_pid" 2>/dev/null || true; wait "$etcd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
client=$(free_port); peer=$(free_port)
etcd --data-dir "$work/etcd" --name sample \
  --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:2379" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:2380" \
  --initial-cluster "sample=http://127.0.0.1:2380" >"$work/etcd.log" 2>&1 &
etcd_pid=$!
export ETCDCTL_API=3
ctl() { etcdctl --endpoints "http://127.0.0.1:$client" "$@"; }
for _ in $(seq 1 150); do ctl endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
python3 "$here/load_entries.py" "http://127.0.0.1:$client"
ctl get "" --prefix -w json > "$here/export.json"
ctl snapshot save "$here/snapshot.db" >/dev/null 2>&1
echo "wrote $here/export.json and $here/snapshot.db"
