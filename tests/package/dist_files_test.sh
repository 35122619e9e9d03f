#!/usr/bin/env bash
# The files dist/ generates in a build tree, checked by the tools that read
# them: groff -ww (man pages), desktop-file-validate, xmllint and
# update-mime-database (with shared-mime-info's own package), sh/bash/zsh -n.
# Then `cmake --install` into a scratch DESTDIR with prefix /usr/local: every
# file lands where the prefix says, the unit runs the installed binary.
# usage: dist_files_test.sh BUILD_DIR   (exit 77 when a checker is missing)
set -euo pipefail
build="$1"
gen="$build/dist"
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
# Every subcommand has its section in udisc(1), and its own page renders cleanly.
for cmd in info verify convert serve daemon mount insert list status eject unmount identity doctor; do
  grep -q "^\.SS udisc $cmd\$" "$gen/man/udisc.1" || bad "udisc.1 has no section for $cmd"
  warnings=$("$build/src/cli/udisc" help --man "$cmd" | LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z 2>&1)
  [[ -z $warnings ]] || bad "groff -ww on udisc help --man $cmd" "$warnings"
done
# The example `udisc help` prints in its own help.
if out=$("$build/src/cli/udisc" help --man mount | MANPAGER=cat MANWIDTH=80 man -l - 2>&1) && grep -q "udisc mount" <<<"$out"; then
  ok "udisc help --man mount | man -l -"
else bad "udisc help --man mount | man -l -" "$out"; fi
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
dest="$mime/install"
if DESTDIR="$dest" cmake --install "$build" --prefix /usr/local >/dev/null; then
  for f in bin/udisc lib/systemd/system/udisc.service lib/systemd/system/udisc.socket lib/sysusers.d/udisc.conf \
           lib/tmpfiles.d/udisc.conf libexec/udisc/udisc-desktop-mount share/applications/udisc-mount.desktop \
           share/bash-completion/completions/udisc share/zsh/site-functions/_udisc share/man/man1/udisc.1 \
           share/man/man8/udisc-daemon.8 share/mime/packages/udisc-images.xml; do
    [[ -e $dest/usr/local/$f ]] || bad "cmake --install: no /usr/local/$f"
  done
  grep -q "^ExecStart=/usr/local/bin/udisc daemon" "$dest/usr/local/lib/systemd/system/udisc.service" &&
    ok "cmake --install --prefix /usr/local: files and ExecStart follow the prefix" || bad "ExecStart does not follow the prefix"
  grep -q "^Exec=/usr/local/libexec/udisc/udisc-desktop-mount %F$" "$dest/usr/local/share/applications/udisc-mount.desktop" ||
    bad "desktop Exec does not follow the prefix"
else
  bad "cmake --install"
fi
echo "$failures failure(s)"
((failures == 0))
