#!/usr/bin/env bash
# Checks the package scripts/package.sh makes, as a node without Swift would get it:
#
#  1. the checksums hold, and `ldd` lists nothing but glibc;
#  2. a root filesystem that holds only the package's files and the glibc files
#     the binary loads (and, with --debootstrap, a minimal Debian made by
#     debootstrap from Debian's packages, with the .deb installed by dpkg):
#     `atrest` runs there on the bundled sample and prints byte for byte what the
#     source build prints;
#  3. the man page renders with `man -l`, and bash completion completes a subcommand.
#
#   scripts/test-package.sh [--debootstrap] [DIST]     # DIST default .build-static/dist
set -euo pipefail
cd "$(dirname "$0")/.."
debootstrap=""
if [ "${1:-}" = --debootstrap ]; then debootstrap=1; shift; fi
dist=${1:-.build-static/dist}
say() { echo "test-package.sh: $*" >&2; }
die() { echo "test-package.sh: FAILED: $*" >&2; exit 1; }

[ -f "$dist/SHA256SUMS" ] || scripts/package.sh "$dist"
if [ "$(id -u)" != 0 ]; then
  # chroot and mounting /proc need root.
  command -v sudo >/dev/null || die "needs root (for chroot), and sudo is not installed"
  exec sudo -E "$0" ${debootstrap:+--debootstrap} "$dist"
fi
(cd "$dist" && sha256sum --quiet -c SHA256SUMS) || die "SHA256SUMS does not match $dist"
deb=$(ls "$dist"/atrest_*.deb)
tarball=$(ls "$dist"/atrest-*.tar.gz)

work=$(mktemp -d "${TMPDIR:-/tmp}/atrest-test-package.XXXXXX")
mounted=()
cleanup() {
  for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- 1. what the binary needs -------------------------------------------------
mkdir "$work/extracted"
dpkg-deb -x "$deb" "$work/extracted"
bin="$work/extracted/usr/bin/atrest"
needed=$(ldd "$bin" | awk '{print $1}')
for lib in $needed; do
  case "$lib" in
    linux-vdso.so.1|libc.so.6|libm.so.6|/lib64/ld-linux-x86-64.so.2|/lib/ld-linux-aarch64.so.1) ;;
    *) die "the packaged binary needs $lib" ;;
  esac
done
say "ldd: $(echo $needed | tr '\n' ' ')"
tar -tzf "$tarball" > "$work/tarball.list"
grep -q "/bin/atrest$" "$work/tarball.list" || die "the tarball holds no bin/atrest"

# --- 2. the bundled sample, in a bare root filesystem -------------------------
# The commands of scripts/demo.sh, plus JSON and a hex dump: their output must be
# what the source build prints.
commands=(
  "stats testdata/sample/snapshot.db"
  "audit testdata/sample/snapshot.db --config testdata/audit/config.yaml --kube-version 1.28 --history"
  "audit testdata/sample/snapshot.db --config testdata/audit/config.yaml --kube-version 1.28 --output json"
  "inspect testdata/sample/snapshot.db /registry/secrets/default/cbc-moved --config testdata/audit/config.yaml --kube-version 1.28"
)
source_bin="$(swift build -c release --show-bin-path)/atrest"
[ -x "$source_bin" ] || swift build -c release --product atrest >&2
run_all() {
  # $1: how to run atrest; prints every command's output and exit status.
  local runner=$1
  for command in "${commands[@]}"; do
    echo "== atrest $command"
    # shellcheck disable=SC2086
    $runner $command 2>&1 || echo "(exit $?)"
  done
}
expected=$(run_all "$source_bin")

root="$work/root"
if [ -n "$debootstrap" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  say "debootstrap --variant=minbase $suite (a few minutes)"
  debootstrap --variant=minbase "$suite" "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
  for absent in liblmdb0 libsodium23 libssl3 libssl3t64; do
    if chroot "$root" dpkg-query -W -f='${Status}' "$absent" 2>/dev/null | grep -q "install ok installed"; then
      die "the minimal root filesystem has $absent installed"
    fi
  done
  cp "$deb" "$root/tmp/atrest.deb"
  chroot "$root" dpkg -i /tmp/atrest.deb >&2
else
  # Only the package's files and the glibc files the binary loads: nothing else.
  mkdir -p "$root/tmp" "$root/proc"
  chmod 1777 "$root/tmp"
  cp -a "$work/extracted/." "$root/"
  for lib in $(ldd "$bin" | awk '$2 == "=>" {print $3} $1 ~ /^\// {print $1}'); do
    install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
fi
mount -t proc proc "$root/proc" && mounted+=("$root/proc")
mkdir -p "$root/testdata"
cp -a testdata/sample testdata/audit "$root/testdata/"
actual=$(run_all "chroot $root /usr/bin/atrest")
if [ "$actual" != "$expected" ]; then
  diff <(echo "$expected") <(echo "$actual") | head -n 40 >&2
  die "the packaged binary's output differs from the source build's"
fi
say "the packaged binary in a bare root filesystem prints what the source build prints ($(echo "$actual" | wc -l) lines)"
version=$(chroot "$root" /usr/bin/atrest --version)
echo "$version" | grep -q '^atrest ' || die "atrest --version printed: $version"

# --- 3. man page and completion, from the package's files ---------------------
page="$work/extracted/usr/share/man/man1/atrest.1.gz"
rendered=$(MANWIDTH=80 man -l "$page" 2>"$work/man.err") || { cat "$work/man.err" >&2; die "man -l failed"; }
[ ! -s "$work/man.err" ] || { cat "$work/man.err" >&2; die "man -l warned"; }
for section in NAME SYNOPSIS DESCRIPTION; do
  echo "$rendered" | grep -q "^$section" || die "the man page has no $section section"
done
for sub in audit inspect plan; do
  echo "$rendered" | grep -q "$sub" || die "the man page does not mention $sub"
done
completions=$(bash -c '
  source "$1"
  COMP_WORDS=(atrest au); COMP_CWORD=1; COMP_LINE="atrest au"; COMP_POINT=${#COMP_LINE}
  func=$(complete -p atrest | sed -E "s/.*-F ([^ ]+).*/\1/")
  "$func" atrest au atrest
  printf "%s\n" "${COMPREPLY[@]}"
' _ "$work/extracted/usr/share/bash-completion/completions/atrest")
[ "$completions" = audit ] || die "bash completion of 'atrest au' gave: $completions"
[ -s "$work/extracted/usr/share/zsh/vendor-completions/_atrest" ] || die "no zsh completion"
[ -s "$work/extracted/usr/share/fish/vendor_completions.d/atrest.fish" ] || die "no fish completion"
say "man -l renders the page; bash completes 'atrest au' to 'audit'"
say "passed"
