#!/usr/bin/env bash
# Installs every Debian package the project builds, tests and benchmarks with.
# Debian packages only; nothing is downloaded from anywhere else.
set -euo pipefail
packages=(
  # build
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libgtest-dev libbenchmark-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libflac-dev zlib1g-dev libssl-dev libisal-dev liblzma-dev libzstd-dev liblz4-dev
  # MDS v2 / MDX images: AES and PBKDF2-HMAC-RIPEMD-160 (src/formats/mds_crypto.cc)
  nettle-dev
  # fixtures and independent peers
  xorriso udftools mame-tools flac sox
  libcdio-utils cdparanoia sg3-utils dvd+rw-tools
  libiscsi-bin open-iscsi tgt qemu-system-x86 qemu-block-extra qemu-utils
  busybox-static cpio kmod iperf3
  python3 python3-crcmod genisoimage xz-utils gzip googletest
  # images from URLs: libcurl, and nginx (with openssl for its test CA) as the server in the tests
  libcurl4-openssl-dev nginx openssl
  # the Windows build (cmake/mingw-w64.cmake) and its tests under Wine
  g++-mingw-w64-x86-64-posix mingw-w64 libz-mingw-w64-dev libgcrypt-mingw-w64-dev wine64 unzip
  # the Debian package and its checks (tools/build-deb.sh, tests/package/)
  debhelper dpkg-dev lintian desktop-file-utils libxml2-utils shared-mime-info groff man-db
  bash-completion zsh systemd passwd libnotify-bin
  # independent readers of the descriptor formats (issue 10): toc2cue, mdf2iso; zstd for its error test
  cdrdao mdf2iso zstd
  # iat: independent reader of DiscJuggler .cdi images (issue 10)
  iat
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The Debian source packages (xz-utils, libzstd, flac) the Windows build
# compiles its codecs from, verified, into build/debian-sources (cmake/windows-codecs.cmake).
bash "$(dirname "$0")/../cmake/fetch-debian-sources.sh"
