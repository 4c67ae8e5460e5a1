#!/usr/bin/env bash
# Installs the system packages atrest builds and tests with (Debian/Ubuntu):
# the four C libraries (SQLite reads k3s's kine datastore), python3 (its sqlite3
# module builds kine databases for the tests), etcd for the round-trip tests, hexdump (bsdextrautils)
# to check `inspect`, and Chromium to check the HTML report in a real browser.
set -euo pipefail
packages=(pkg-config liblmdb-dev lmdb-utils libsodium-dev libssl-dev libsqlite3-dev python3 etcd-server etcd-client bsdextrautils chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
