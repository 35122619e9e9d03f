#!/usr/bin/env bash
# Fetches the Debian source packages the Windows build compiles its codecs
# from (cmake/windows-codecs.cmake): xz-utils (liblzma), libzstd, flac
# (libFLAC) and lz4, at the versions of the host's -dev packages where the mirror has
# them, so udisc.exe decodes with the same library versions as the Linux udisc.
#
# Debian only, verified: a private apt configuration under the cache (the
# system's sources.list is left alone) with a deb-src entry for
# deb.debian.org; `apt-get update` checks the Sources index against the
# Release file signed with Debian's archive keyring, `apt-get source` checks
# each .dsc and tarball against that index, and dpkg-source checks the
# tarballs against the .dsc's checksums while unpacking (with the Debian
# patches applied; its "cannot verify inline signature" warning is about the
# .dsc's maintainer signature, which needs the debian-keyring package; the
# archive signature above already covers the .dsc). Nothing is installed; works as root without sudo.
#
# Cache: $UDISC_DEBIAN_SOURCES, else <repo>/build/debian-sources. Idempotent:
# a package already unpacked there is not fetched again.
#   cmake/fetch-debian-sources.sh [CACHE]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${1:-${UDISC_DEBIAN_SOURCES:-$repo/build/debian-sources}}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
# source package <- the -dev package whose version it must match
declare -A dev=([xz-utils]=liblzma-dev [libzstd]=libzstd-dev [flac]=libflac-dev [lz4]=liblz4-dev [nettle]=nettle-dev)
# wanted: "source=version" of each package not unpacked in the cache yet.
find_wanted() {
  wanted=()
  local src version upstream
  for src in xz-utils libzstd flac lz4 nettle; do
    version="$(dpkg-query -W -f='${source:Version}' "${dev[$src]}" 2>/dev/null || true)"
    [[ -n "$version" ]] || { echo "fetch-debian-sources.sh: ${dev[$src]} is not installed (tools/install-deps.sh)" >&2; exit 1; }
    upstream="${version#*:}"; upstream="${upstream%-*}"
    [[ -f "$cache/$src-$upstream/.unpacked" ]] || wanted+=("$src=$version")
  done
}
# Everything there: nothing to write, so no lock either (`sudo
# tools/install-deps.sh` leaves a root-owned cache that the user's own builds
# only read). Under the lock, again: another run may have fetched them meanwhile.
find_wanted
((${#wanted[@]})) || exit 0
exec 9>"$cache/.lock"
flock 9
find_wanted
((${#wanted[@]})) || exit 0

apt_dir="$cache/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
cat > "$apt_dir/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
          -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir" -o "Dir::Cache::pkgcache="
          -o "Dir::Cache::srcpkgcache=" -o "APT::Sandbox::User=root" -o "Acquire::Languages=none")
apt-get "${apt_opts[@]}" -q update >&2
work="$cache/download"
rm -rf "$work"; mkdir -p "$work"
# Each at the host's version; if the mirror cannot serve that one (a
# security update it does not carry), the bookworm release's, said plainly.
for want in "${wanted[@]}"; do
  (cd "$work" && apt-get "${apt_opts[@]}" -q source --download-only "$want" >&2) && continue
  echo "fetch-debian-sources.sh: $want unavailable; taking ${want%%=*} from bookworm instead" >&2
  rm -f "$work/${want%%=*}"_*
  (cd "$work" && apt-get "${apt_opts[@]}" -q source --download-only "${want%%=*}/bookworm" >&2)
done
for dsc in "$work"/*.dsc; do
  name="$(basename "$dsc" .dsc)"          # e.g. flac_1.4.2+ds-2
  src="${name%%_*}"; upstream="${name#*_}"; upstream="${upstream%-*}"
  rm -rf "${cache:?}/$src"-*  # an older version too: the build takes the one tree there is
  dpkg-source --require-strong-checksums -x "$dsc" "$cache/$src-$upstream" >&2
  basename "$dsc" > "$cache/$src-$upstream/.unpacked"
done
rm -rf "$work" "$apt_dir" "$cache"/*.orig.tar.*  # the indexes, and the tarball copies dpkg-source leaves beside each tree
echo "Debian sources for the Windows build in $cache" >&2
