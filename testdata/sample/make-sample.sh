#!/usr/bin/env bash
# Regenerates the bundled sample: the audit fixture (../audit/entries.json) loaded
# into a real etcd (127.0.0.1, free ports, private data dir, stopped by pid on
# exit), with plaintext earlier revisions of a few secrets, exported as
# `etcdctl snapshot save` (snapshot.db) and `etcdctl get "" --prefix -w json`
# (export.json).
# Then the state after the rotation's rewrite (rotation/, see rotate.py): a second
# etcd loaded with the same entries and then rotation/after-rewrite.entries.json
# (the rewritten secrets become new revisions; the old ones stay in the history),
# exported as rotation/after-rewrite.snapshot.db and rotation/after-rewrite.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../scripts/lib/etcd.sh
source "$here/../../scripts/lib/etcd.sh"
start_etcd atrest-sample "$(mktemp -d /tmp/atrest-sample.XXXXXX)"
python3 "$here/load_entries.py" "$CLIENT" "$here/../audit/entries.json"
ctl get "" --prefix -w json > "$here/export.json"
ctl snapshot save "$here/snapshot.db" >/dev/null 2>&1
echo "wrote $here/export.json and $here/snapshot.db"

stop_etcd
rm -rf "$ETCD_WORK"
start_etcd atrest-sample "$(mktemp -d /tmp/atrest-sample.XXXXXX)"
python3 "$here/load_entries.py" "$CLIENT" "$here/../audit/entries.json" "$here/rotation/after-rewrite.entries.json"
ctl get "" --prefix -w json > "$here/rotation/after-rewrite.json"
ctl snapshot save "$here/rotation/after-rewrite.snapshot.db" >/dev/null 2>&1
echo "wrote $here/rotation/after-rewrite.json and $here/rotation/after-rewrite.snapshot.db"
