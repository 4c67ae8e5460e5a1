#!/usr/bin/env bash
# Re-records the golden outputs (Tests/EndToEndTests/Snapshots/) from the debug build, after a
# deliberate change of output; review the diff (git diff Tests/EndToEndTests/Snapshots) before
# committing it, and name the change in the commit message.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
rm -f Tests/EndToEndTests/Snapshots/*.txt
ATREST_RECORD_GOLDEN=1 ATREST_BINARY="$(swift build --show-bin-path)/atrest" swift test --skip-build --filter GoldenOutputTests.outputMatchesItsRecording
git status --short Tests/EndToEndTests/Snapshots
