#!/usr/bin/env bash
# Installs the system packages atrest builds and tests with (Debian/Ubuntu):
# the four C libraries (SQLite reads k3s's kine datastore), python3 (its sqlite3
# module builds kine databases for the tests) and python3-venv (the KMS test
# plugins run in a venv with grpcio), etcd for the round-trip tests,
# hexdump (bsdextrautils) to check `inspect`, man-db to check the packaged man
# page, Chromium to check the HTML report in a real browser, and strace to see the
# mode private directories are created with.
# Quiet: one line says what it installs; apt's output goes to a log, shown only
# if apt fails.
set -euo pipefail
packages=(pkg-config liblmdb-dev lmdb-utils libsodium-dev libssl-dev libsqlite3-dev python3 python3-venv etcd-server etcd-client bsdextrautils chromium man-db strace)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
log=$(mktemp "${TMPDIR:-/tmp}/atrest-install-deps.XXXXXX.log")
echo "install-deps.sh: installing ${missing[*]} with apt-get (log: $log)" >&2
if ! { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "install-deps.sh: FAILED: apt-get could not install ${missing[*]} (log: $log)" >&2
  exit 1
fi
rm -f "$log"
