#!/usr/bin/env bash
# Fetches and unpacks the guest kernel for the real-kernel tests: Debian's
# linux-image-amd64 (its versioned dependency), downloaded with
# `apt-get download`, unpacked with dpkg-deb and indexed with depmod. Never
# installs anything on the host. Idempotent: a second run with the kernel
# already unpacked does nothing.
#
# Cache: $UDISC_GUEST_CACHE, else <repo>/build/guest.
# Prints the kernel root directory (containing boot/vmlinuz-* and lib/modules).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${UDISC_GUEST_CACHE:-$repo/build/guest}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
# Several guest tests may start at once (ctest -j): one prepares, the others wait.
if command -v flock >/dev/null; then
  exec 9>"$cache/.lock"
  flock 9
fi

# linux-image-amd64 is a metapackage; the kernel is the package it depends on.
# A kernel prepared earlier is reused (apt-cache is slow); UDISC_GUEST_REFRESH=1
# looks the current package up again.
pkg="${UDISC_GUEST_KERNEL_PACKAGE:-}"
if [[ -z "$pkg" && "${UDISC_GUEST_REFRESH:-0}" != 1 && -f "$cache/.package" ]]; then
  pkg="$(cat "$cache/.package")"
  [[ -f "$cache/$pkg/.prepared" ]] || pkg=""
fi
if [[ -z "$pkg" ]]; then
  pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
fi
if [[ -z "$pkg" ]]; then
  echo "prepare.sh: cannot find the kernel package linux-image-amd64 depends on (apt-get update?)" >&2
  exit 1
fi
root="$cache/$pkg"
stamp="$root/.prepared"
# The kernel decompresses itself slowly under TCG: keep an uncompressed
# vmlinux (ELF with a PVH entry, booted directly by QEMU) next to vmlinuz.
extract_vmlinux() {
  local kver vmlinuz
  kver="$(cat "$1/.kernel-version")"
  vmlinuz="$1/boot/vmlinuz-$kver"
  [[ -f "$1/boot/vmlinux-$kver" ]] && return 0
  command -v python3 >/dev/null || return 0
  python3 - "$vmlinuz" "$1/boot/vmlinux-$kver" <<'PY' || rm -f "$1/boot/vmlinux-$kver"
import lzma, sys
data = open(sys.argv[1], "rb").read()
i = data.find(b"\xfd7zXZ\x00")
if i < 0:
    sys.exit(0)
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[i:])
if out[:4] != b"\x7fELF":
    sys.exit(1)
open(sys.argv[2], "wb").write(out)
PY
}
if [[ -f "$stamp" ]]; then
  extract_vmlinux "$root"
  echo "$pkg" > "$cache/.package"
  echo "$root"
  exit 0
fi

work="$cache/download"
mkdir -p "$work"
deb="$(ls "$work"/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)"
if [[ -z "$deb" ]]; then
  (cd "$work" && apt-get download "$pkg" >&2)
  deb="$(ls "$work"/"${pkg}"_*.deb | head -n1)"
fi
rm -rf "$root.tmp"
mkdir -p "$root.tmp"
dpkg-deb -x "$deb" "$root.tmp"
kver="$(ls "$root.tmp/lib/modules" | head -n1)"
depmod -b "$root.tmp" "$kver"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "$kver" > "$root/.kernel-version"
extract_vmlinux "$root"
touch "$stamp"
echo "$pkg" > "$cache/.package"
echo "$root"
