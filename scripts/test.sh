#!/usr/bin/env bash
# Runs the whole test suite, including the round trip through a real etcd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build

# Fuzz smoke (docs/reliability.md, "Fuzzing"): builds the libFuzzer targets with the
# address sanitizer and runs each on its committed seed corpus for 10 s; any crash,
# timeout or sanitizer report fails the run.
scripts/fuzz.sh all 10
