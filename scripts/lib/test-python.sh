#!/usr/bin/env bash
# Makes the Python the tests' KMS plugins run under: a private venv in
# .build-python with testdata/kms/requirements.txt (grpcio, cryptography) from
# PyPI, rebuilt only when that file changes. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.build-python
requirements=testdata/kms/requirements.txt
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
  echo "test-python.sh: installing $(tr '\n' ' ' < "$requirements")into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  log=$(mktemp "${TMPDIR:-/tmp}/atrest-test-python.XXXXXX.log")
  if ! "$venv/bin/pip" install --disable-pip-version-check -r "$requirements" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "test-python.sh: FAILED: pip could not install $requirements (log: $log)" >&2
    exit 1
  fi
  rm -f "$log"
  cp "$requirements" "$venv/requirements.txt"
fi
echo "$PWD/$venv/bin/python3"
