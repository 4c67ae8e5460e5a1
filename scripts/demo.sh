#!/usr/bin/env bash
# Installs what atrest needs, builds it, and runs it on the bundled sample: a
# real etcd snapshot (testdata/sample/snapshot.db) audited against its
# EncryptionConfiguration (testdata/audit/config.yaml). That configuration still
# lists a KMS v1 provider, which the newest apiserver refuses by default, so the
# audit applies the rules of the sample cluster's release, 1.28.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "demo.sh: building atrest in release mode (swift build -c release; a few minutes the first time)" >&2
ATREST_GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown) swift build -c release --product atrest --quiet
bin=$(swift build -c release --show-bin-path)/atrest
echo "== atrest stats testdata/sample/snapshot.db"
"$bin" stats testdata/sample/snapshot.db
echo
echo "== atrest audit testdata/sample/snapshot.db --config testdata/audit/config.yaml --kube-version 1.28 --history"
# Exit status 1 means findings: this sample has undecryptable and unencrypted entries on purpose.
"$bin" audit testdata/sample/snapshot.db --config testdata/audit/config.yaml --kube-version 1.28 --history || [ $? -eq 1 ]
