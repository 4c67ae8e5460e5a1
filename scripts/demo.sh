#!/usr/bin/env bash
# Installs what atrest needs, builds it, and runs it on the bundled sample export.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product atrest
bin=$(swift build -c release --show-bin-path)/atrest
echo "== atrest stats testdata/etcd/snapshot.db"
"$bin" stats testdata/etcd/snapshot.db
echo
echo "== the same etcd, exported with etcdctl get -w json: the same live keys and storage classes"
"$bin" stats testdata/etcd/export.json | sed -n '/^keys/,$p'
