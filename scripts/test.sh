#!/usr/bin/env bash
# Runs the whole test suite, including the round trip through a real etcd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
