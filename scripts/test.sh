#!/usr/bin/env bash
# Runs the whole test suite: every test against the debug build, then every
# end-to-end test (every bad-input test among them) again against the release
# binary, built exactly as the README builds it: that is what users run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

echo "== debug build: all tests"
swift build --build-tests
ATREST_BINARY="$(swift build --show-bin-path)/atrest" swift test --skip-build

echo "== release build: end-to-end tests against the binary users run"
swift build -c release --product atrest
ATREST_BINARY="$(swift build -c release --show-bin-path)/atrest" swift test --skip-build --filter EndToEndTests

echo "== fuzz smoke"
# docs/reliability.md, "Fuzzing": builds the libFuzzer targets with the address
# sanitizer and runs each on its committed seed corpus for 10 s; any crash,
# timeout or sanitizer report fails the run.
scripts/fuzz.sh all 10
