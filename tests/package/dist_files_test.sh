#!/usr/bin/env bash
# The files dist/ generates in a build tree, checked by the tools that read
# them: groff -ww (man pages), desktop-file-validate, xmllint and
# update-mime-database (with shared-mime-info's own package), sh/bash/zsh -n.
# usage: dist_files_test.sh BUILD/dist   (exit 77 when a checker is missing)
set -euo pipefail
gen="$1"
for t in groff desktop-file-validate xmllint update-mime-database zsh; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
failures=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1${2:+: $2}"; failures=$((failures + 1)); }
check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi
}
for page in "$gen"/man/udisc.1 "$gen"/man/udisc-daemon.8; do
  warnings=$(LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z "$page" 2>&1)
  if [[ -s $page && -z $warnings ]]; then ok "groff -ww $(basename "$page")"; else bad "groff -ww $page" "$warnings"; fi
done
# Every subcommand has its section in udisc(1).
for cmd in info verify convert serve daemon mount insert list status eject unmount identity doctor; do
  grep -q "^\.SS udisc $cmd\$" "$gen/man/udisc.1" || bad "udisc.1 has no section for $cmd"
done
check "desktop-file-validate" desktop-file-validate "$gen/udisc-mount.desktop"
check "xmllint" xmllint --noout "$gen/udisc-images.xml"
mime="$(mktemp -d)"
trap 'rm -rf "$mime"' EXIT
mkdir -p "$mime/packages"
cp /usr/share/mime/packages/freedesktop.org.xml "$gen/udisc-images.xml" "$mime/packages/"
check "update-mime-database" update-mime-database "$mime"
check "MIME globs of our package" grep -q "application/x-ccd:\*\.ccd$" "$mime/globs2"
# Every MIME type in the desktop entry is known to the database (ours or shared-mime-info's).
for type in $(sed -n 's/^MimeType=//p' "$gen/udisc-mount.desktop" | tr ';' ' '); do
  grep -q "^$type$" "$mime/types" || bad "desktop entry names MIME type $type, which no package defines"
done
check "sh -n udisc-desktop-mount" sh -n "$gen/udisc-desktop-mount"
check "bash -n completion" bash -n "$gen/completion/udisc"
check "zsh -n completion" zsh -n "$gen/completion/_udisc"
echo "$failures failure(s)"
((failures == 0))
