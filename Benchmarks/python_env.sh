# shellcheck shell=bash
# Source it to get PY: a private venv's python with Benchmarks/requirements.txt
# (cryptography, PyNaCl, PyYAML, matplotlib) installed from PyPI with pip. The
# venv lives in $ATREST_BENCH_CACHE/venv (default /tmp/atrest-bench-cache) and is
# rebuilt only when requirements.txt changes.
_bench_cache=${ATREST_BENCH_CACHE:-/tmp/atrest-bench-cache}
_bench_venv=$_bench_cache/venv
_bench_requirements=$(dirname "${BASH_SOURCE[0]}")/requirements.txt
if ! cmp -s "$_bench_requirements" "$_bench_venv/requirements.txt" 2>/dev/null; then
  echo "installing $(tr '\n' ' ' < "$_bench_requirements")into $_bench_venv" >&2
  mkdir -p "$_bench_cache"
  rm -rf "$_bench_venv"
  python3 -m venv "$_bench_venv"
  "$_bench_venv/bin/pip" install --quiet --disable-pip-version-check -r "$_bench_requirements"
  cp "$_bench_requirements" "$_bench_venv/requirements.txt"
fi
PY=$_bench_venv/bin/python
