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

# linux-image-amd64 is a metapackage; the kernel is the package it depends on.
pkg="${UDISC_GUEST_KERNEL_PACKAGE:-}"
if [[ -z "$pkg" ]]; then
  pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')"
fi
if [[ -z "$pkg" ]]; then
  echo "prepare.sh: cannot find the kernel package linux-image-amd64 depends on (apt-get update?)" >&2
  exit 1
fi
root="$cache/$pkg"
stamp="$root/.prepared"
if [[ -f "$stamp" ]]; then
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
touch "$stamp"
echo "$root"
