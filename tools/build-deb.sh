#!/usr/bin/env bash
# Builds the Debian package with Debian's own tools (dpkg-buildpackage -b -uc -us
# on the debian/ directory) from a clean copy of the tracked tree, so the source
# tree gets no build litter. The .deb lands in OUTDIR (default build/deb).
# usage: tools/build-deb.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-build/deb}")"
src="$out/udisc"   # fixed path: ccache (base_dir) finds the previous build's objects
rm -rf "$src" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src" 2>/dev/null || true
else
  tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
start=$SECONDS
(cd "$src" && nice dpkg-buildpackage -b -uc -us -j"$(nproc)")
rm -rf "$src"
echo "built $(ls "$out"/*.deb) in $((SECONDS - start)) s"
