#!/usr/bin/env bash
# Runs the whole test suite: every test against the debug build, then every
# end-to-end test (every bad-input test among them) again against the release
# binary, built exactly as the README builds it: that is what users run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The KMS tests run real plugins in Python with grpcio (testdata/kms/requirements.txt).
ATREST_TEST_PYTHON=$(scripts/lib/test-python.sh)
export ATREST_TEST_PYTHON
# `atrest --version` names the commit (Package.swift).
ATREST_GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
export ATREST_GIT_COMMIT

echo "== debug build: all tests"
swift build --build-tests
ATREST_BINARY="$(swift build --show-bin-path)/atrest" swift test --skip-build

echo "== release build: end-to-end tests against the binary users run"
swift build -c release --product atrest
ATREST_BINARY="$(swift build -c release --show-bin-path)/atrest" swift test --skip-build --filter EndToEndTests

echo "== package: the self-contained binary, on a root filesystem with only glibc"
# docs/packaging.md: scripts/package.sh builds the static binary, the tarball and
# the .deb; scripts/test-package.sh runs the packaged binary in a chroot holding
# nothing but glibc and compares its output with the release build's, then
# checks the man page (man -l) and bash completion.
scripts/package.sh
scripts/test-package.sh

echo "== fuzz smoke"
# docs/reliability.md, "Fuzzing": builds the libFuzzer targets with the address
# sanitizer and runs each on its committed seed corpus for 10 s; any crash,
# timeout or sanitizer report fails the run.
scripts/fuzz.sh all 10
