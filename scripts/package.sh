#!/usr/bin/env bash
# Builds the self-contained release of atrest and packages it for a bare
# control-plane node (docs/packaging.md):
#
#   atrest-VERSION-linux-ARCH.tar.gz   bin/atrest, the man page, bash/zsh/fish completions
#   atrest_VERSION_ARCH.deb            the same, installed under /usr (dpkg-deb)
#   SHA256SUMS                         SHA-256 of both, and of the binary
#
# The binary links the Swift runtime and Foundation (--static-swift-stdlib),
# libstdc++ and libgcc, and Debian's liblmdb.a, libcrypto.a, libsodium.a and libsqlite3.a
# statically, so it needs nothing but glibc: no Swift, no liblmdb, no OpenSSL,
# no libsodium, no SQLite on the node. scripts/test-package.sh proves it in a root
# filesystem that holds only glibc.
#
#   scripts/package.sh [OUTDIR]         # default .build-static/dist
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

scratch=.build-static
out=${1:-$scratch/dist}
say() { echo "package.sh: $*" >&2; }
die() { echo "package.sh: FAILED: $*" >&2; exit 1; }

# pkg-config files that name the static archives: SwiftPM links the system
# libraries through pkg-config, and a directory holding only the `.a` files makes
# `-llmdb` resolve to the archive, never to the shared library beside it.
pc="$scratch/pkgconfig"
rm -rf "$pc" && mkdir -p "$pc/lib"
for module in lmdb:lmdb libcrypto:crypto libsodium:sodium sqlite3:sqlite3; do
  name=${module%%:*} lib=${module##*:}
  libdir=$(pkg-config --variable=libdir "$name") || die "pkg-config does not know $name"
  [ -f "$libdir/lib$lib.a" ] || die "$libdir/lib$lib.a is missing (Debian's $name -dev package ships it)"
  ln -sf "$libdir/lib$lib.a" "$pc/lib/lib$lib.a"
  printf 'Name: %s\nDescription: %s, linked statically\nVersion: %s\nCflags: %s\nLibs: -L%s -l%s\n' \
    "$name" "$name" "$(pkg-config --modversion "$name")" "$(pkg-config --cflags "$name")" "$PWD/$pc/lib" "$lib" > "$pc/$name.pc"
done

# The Swift runtime asks for `-lstdc++`, which finds GCC's shared libstdc++ unless
# the archive sits in a directory searched first.
libstdcxx=$(g++ -print-file-name=libstdc++.a)
[ -f "$libstdcxx" ] || die "GCC's libstdc++.a is missing"
ln -sf "$libstdcxx" "$pc/lib/libstdc++.a"

commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# Both products are built with the same settings, so neither build invalidates the other's.
build() {
  ATREST_GIT_COMMIT=$commit PKG_CONFIG_PATH="$PWD/$pc" swift build -c release --scratch-path "$scratch" --static-swift-stdlib \
    -Xswiftc -Xclang-linker -Xswiftc -static-libgcc "$@" >&2
}
say "building the static release binary (commit $commit)"
# Linked afresh every time: the build system cannot see which archive a -l resolves to.
rm -f "$scratch/release/atrest"
build --product atrest
bin="$scratch/release/atrest"
[ -x "$bin" ] || die "no binary at $bin"

# Nothing but glibc (libc, libm and the dynamic loader) may be needed.
extra=$(ldd "$bin" | awk '{print $1}' | grep -v -E '^(linux-vdso\.so\.1|libc\.so\.6|libm\.so\.6|/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux-aarch64\.so\.1)$' || true)
[ -z "$extra" ] || die "the binary still needs: $extra"

version=$("$bin" --version | head -n 1 | awk '{print $2}')
arch=$(dpkg --print-architecture)
stage=$(mktemp -d "${TMPDIR:-/tmp}/atrest-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# The man page and completions come from the command definitions themselves
# (swift-argument-parser's generate-manual and --generate-completion-script).
say "generating the man page and completions"
build --product generate-manual
date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
mkdir -p "$stage/man"
"$scratch/release/generate-manual" "$bin" --date "$date" --section 1 --output-directory "$stage/man" >&2
[ -f "$stage/man/atrest.1" ] || die "generate-manual wrote no atrest.1"

root="$stage/root"
install -D -m 0755 "$bin" "$root/usr/bin/atrest"
strip --strip-unneeded "$root/usr/bin/atrest"
install -D -m 0644 "$stage/man/atrest.1" "$root/usr/share/man/man1/atrest.1"
gzip -9 -n "$root/usr/share/man/man1/atrest.1"
mkdir -p "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d"
"$bin" --generate-completion-script bash > "$root/usr/share/bash-completion/completions/atrest"
"$bin" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_atrest"
"$bin" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/atrest.fish"
install -D -m 0644 README.md "$root/usr/share/doc/atrest/README.md"

# The tarball: the same files under atrest-VERSION/, with bin/ and share/.
tarname="atrest-$version-linux-$arch"
mkdir -p "$stage/$tarname"
cp -a "$root/usr/." "$stage/$tarname/"
mkdir -p "$out"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$(git log -1 --format=%ct 2>/dev/null || echo 0)" \
  -C "$stage" -czf "$out/$tarname.tar.gz" "$tarname"

# The .deb: glibc is its only dependency.
glibc=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-.*//')
mkdir -p "$root/DEBIAN"
cat > "$root/DEBIAN/control" <<EOF
Package: atrest
Version: $version
Architecture: $arch
Maintainer: atrest maintainers <atrest@users.noreply.github.com>
Depends: libc6 (>= $glibc)
Section: admin
Priority: optional
Installed-Size: $(du -sk "$root/usr" | awk '{print $1}')
Description: audit Kubernetes encryption at rest offline, from an etcd export
 Reads etcd snapshots and etcdctl exports and tells, for every entry, how it is
 stored and whether an EncryptionConfiguration can really decrypt it.
EOF
dpkg-deb --root-owner-group --build "$root" "$out/atrest_${version}_$arch.deb" >&2

cp "$root/usr/bin/atrest" "$out/atrest"
(cd "$out" && sha256sum "$tarname.tar.gz" "atrest_${version}_$arch.deb" atrest > SHA256SUMS)
say "wrote $out: $(cd "$out" && echo *)"
ls -l "$out" >&2
