#!/usr/bin/env bash
# The Debian package as a user gets it, on this machine (CI runs as root):
#   build it with tools/build-deb.sh (dpkg-buildpackage), lintian (no errors; each
#   warning must be explained in docs/packaging.md), install it as the README says
#   (apt-get satisfies dependencies), check the file list and what the files do
#   (udisc --version, man -w, groff -ww, desktop-file-validate, xmllint, the MIME
#   database, bash completion, zsh completion loading, systemd-analyze verify),
#   the README's desktop-user commands as a fresh user (refused with a clear
#   message before joining group udisc), the desktop entry's command, installing
#   twice (dpkg -i), removing while the daemon has drives (the prerm removes
#   them), then purge and check nothing is left; then dist/README.md's
#   `sudo cmake --install build/default` (a fully built default tree), undone.
# systemd is not PID 1 in CI containers: units are checked with systemd-analyze
# verify and enabled by the maintainer scripts (symlinks), nothing is started by
# systemd; the daemon is started by hand (backend none: no TCMU kernel here).
# Modifies the system: installs and purges package udisc, adds and deletes user
# udisc-pkgtest and group udisc. Exit 77 (skipped) when not root or when a udisc
# package is already installed (it is not ours to remove).
# usage: package_test.sh SOURCE_DIR
set -euo pipefail
src="$(realpath "$1")"
cd "$src"
[[ $(id -u) -eq 0 ]] || { echo "SKIP: needs root (installs the package)"; exit 77; }
for t in dpkg-buildpackage lintian desktop-file-validate xmllint groff man systemd-analyze zsh xorriso; do
  command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
if dpkg-query -W -f='${Status}' udisc 2>/dev/null | grep -q "ok installed"; then
  echo "SKIP: a udisc package is already installed here; not replacing it"; exit 77
fi

failures=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1${2:+: $2}"; failures=$((failures + 1)); }
check() {  # check NAME COMMAND...: passes when the command succeeds
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi
}

work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-package.XXXXXX")"
chmod 755 "$work"
user=udisc-pkgtest
daemon_pid=""
had_group=no
getent group udisc >/dev/null && had_group=yes
cleanup() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  dpkg --purge udisc >/dev/null 2>&1 || true
  userdel "$user" 2>/dev/null || true
  [[ $had_group == yes ]] || groupdel udisc 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
t0=$SECONDS

# ---- build and lint --------------------------------------------------------
tools/build-deb.sh >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; bad "dpkg-buildpackage"; exit 1; }
echo "MEASURE package build: $((SECONDS - t0)) s"
deb=$(ls build/deb/udisc_*.deb)
ok "built $deb"
lintian --info "$deb" >"$work/lintian" 2>&1 || true
cat "$work/lintian"
if grep -q '^E: ' "$work/lintian"; then bad "lintian: errors"; else ok "lintian: no errors"; fi
for tag in $(sed -n 's/^W: udisc[^:]*: \([a-z0-9-]*\).*/\1/p' "$work/lintian" | sort -u); do
  if grep -q -- "$tag" docs/packaging.md; then ok "lintian warning $tag is explained in docs/packaging.md"
  else bad "lintian warning $tag is not explained in docs/packaging.md"; fi
done
dpkg-deb -I "$deb" >"$work/info"
if grep -q '^ Depends:.*libfmt' "$work/info" && ! grep -q '^ Depends:.*qemu' "$work/info"; then
  ok "Depends from shlibs (libfmt), qemu not a dependency"
else bad "Depends" "$(grep Depends "$work/info")"; fi

# ---- install as the README says ---------------------------------------------
# The README's lines are run as written, `sudo` included: as root, sudo (when
# installed) or a stand-in that runs its arguments (the CI container has none).
if ! command -v sudo >/dev/null; then
  mkdir -p "$work/bin" && printf '#!/bin/sh\nexec "$@"\n' >"$work/bin/sudo" && chmod 755 "$work/bin/sudo"
  PATH=$work/bin:$PATH
fi
userdel "$user" 2>/dev/null || true
useradd --system --no-create-home --shell /bin/sh "$user"
# (answering apt-get's question as a user would, when it has dependencies to add)
if (yes || true) | DEBIAN_FRONTEND=noninteractive sudo apt-get install ./build/deb/udisc_*.deb >"$work/install.log" 2>&1; then
  ok "sudo apt-get install ./build/deb/udisc_*.deb"
else cat "$work/install.log"; bad "apt-get install"; exit 1; fi
check "group udisc exists after install" getent group udisc
if [[ ! -d /run/systemd/system ]]; then
  if grep -q "start the daemon by hand with 'sudo udisc daemon'" "$work/install.log"; then
    ok "no systemd: postinst says how to start the daemon by hand"
  else bad "no systemd message" "$(cat "$work/install.log")"; fi
fi
version=$(dpkg-query -W -f='${Version}' udisc)
check "udisc --version is the package version ($version)" bash -c "[[ \$(udisc --version) == 'udisc $version' ]]"
dpkg -L udisc >"$work/files"
for f in /usr/bin/udisc /lib/systemd/system/udisc.service /lib/systemd/system/udisc.socket \
         /usr/lib/sysusers.d/udisc.conf /usr/lib/tmpfiles.d/udisc.conf /usr/share/man/man1/udisc.1.gz \
         /usr/share/man/man8/udisc-daemon.8.gz /usr/share/bash-completion/completions/udisc \
         /usr/share/zsh/vendor-completions/_udisc /usr/share/applications/udisc-mount.desktop \
         /usr/share/mime/packages/udisc-images.xml; do
  if grep -qx "$f" "$work/files" && [[ -e $f ]]; then ok "installed $f"; else bad "file list lacks $f"; fi
done
check "man -w udisc" man -w udisc
check "man -w 8 udisc-daemon" man -w 8 udisc-daemon
check "README: man udisc, man udisc-daemon" bash -c \
  'MANPAGER=cat man udisc | grep -q "udisc mount" && MANPAGER=cat man udisc-daemon | grep -q "FILES"'
for page in $(man -w udisc) $(man -w 8 udisc-daemon); do
  warnings=$(zcat "$page" | LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z 2>&1)
  if [[ -z $warnings ]]; then ok "groff -ww $page: no warnings"; else bad "groff -ww $page" "$warnings"; fi
done
check "desktop-file-validate" desktop-file-validate /usr/share/applications/udisc-mount.desktop
check "xmllint udisc-images.xml" xmllint --noout /usr/share/mime/packages/udisc-images.xml
check "MIME database knows *.ccd and *.iso.gz" bash -c \
  'grep -q "application/x-ccd:\*\.ccd$" /usr/share/mime/globs2 && grep -q "x-gzip-compressed-iso:\*\.iso\.gz$" /usr/share/mime/globs2'
check "systemd-analyze verify the installed units" systemd-analyze verify /lib/systemd/system/udisc.service /lib/systemd/system/udisc.socket
check "udisc.socket enabled by the postinst" test -L /etc/systemd/system/sockets.target.wants/udisc.socket
check "state directory /var/lib/udisc (tmpfiles, mode 700)" bash -c '[[ $(stat -c %a /var/lib/udisc) == 700 ]]'

# ---- the daemon by hand (no systemd here), a user outside and inside group udisc
mkdir -p "$work/images/tree" && echo hello >"$work/images/tree/hello.txt"
xorriso -as mkisofs -quiet -R -V PKGTEST -o "$work/images/disc.iso" "$work/images/tree" 2>/dev/null
echo "not an image" >"$work/images/notes.txt"
chmod -R a+rX "$work/images"
udisc daemon --backend none >"$work/daemon.log" 2>&1 &
daemon_pid=$!
for _ in $(seq 50); do [[ -S /run/udisc/control.sock ]] && break; sleep 0.1; done
as_user() { su "$user" -c "cd '$work/images' && $1"; }
if out=$(as_user 'udisc mount disc.iso' 2>&1); then bad "mount before joining group udisc should be refused" "$out"
elif grep -q "group 'udisc'" <<<"$out" && grep -q "usermod -aG udisc" <<<"$out" && grep -q "log in again" <<<"$out"; then
  ok "not in group udisc: says which group, how to join, that a new login is needed"
else bad "message for a user outside group udisc" "$out"; fi
# The README's three commands for a desktop user (USER is that user).
USER=$user
sudo usermod -aG udisc "$USER"
check "README: udisc mount disc.iso (as $user)" as_user 'udisc mount disc.iso'
check "README: udisc unmount 0 (as $user)" as_user 'udisc unmount 0'
exec_line=$(sed -n 's/^Exec=//p' /usr/share/applications/udisc-mount.desktop)
if out=$(as_user "${exec_line/\%F/disc.iso}" 2>&1) && grep -q "disc.iso is in drive" <<<"$out"; then
  ok "desktop entry's command mounts and tells the drive: $(tr '\n' ' ' <<<"$out")"
else bad "desktop entry's command" "$out"; fi

# ---- completions --------------------------------------------------------------
complete_words() {  # complete_words WORD...: what bash completion offers for the last word
  (cd "$work/images" && bash -c 'source /usr/share/bash-completion/bash_completion
    _completion_loader udisc
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    _udisc; printf "%s\n" "${COMPREPLY[@]}"' complete "$@")
}
check "complete -p udisc (bash)" bash -c 'source /usr/share/bash-completion/bash_completion; _completion_loader udisc; complete -p udisc | grep -q "_udisc udisc"'
check "bash: udisc mo<TAB> -> mount" bash -c '[[ $0 == mount ]]' "$(complete_words udisc mo)"
offered=$(complete_words udisc mount "")
if grep -qx disc.iso <<<"$offered" && ! grep -qx notes.txt <<<"$offered"; then ok "bash: image files filtered by extension"
else bad "bash: image completion" "$offered"; fi
check "bash: --kind values" bash -c '[[ $(echo $0) == "cd dvd bd" ]]' "$(complete_words udisc mount --kind "")"
offered=$(complete_words udisc unmount "")
drive=$(udisc list --json | sed -n 's/^ *"drive": *\([0-9][0-9]*\),*$/\1/p' | head -n1)
if [[ -n $drive ]] && grep -qx "$drive" <<<"$offered"; then ok "bash: drive numbers from udisc list --json ($drive)"
else bad "bash: drive completion" "drive '$drive', offered: $offered"; fi
check "zsh: _udisc loads for udisc" zsh -fc 'fpath=(/usr/share/zsh/vendor-completions $fpath); autoload -Uz compinit; compinit -u -d '"$work"'/zcd; [[ ${_comps[udisc]} == _udisc ]]'

# ---- installing twice, removing with drives, purge ------------------------------
cp /usr/bin/udisc "$work/udisc-client"
if dpkg -i "$deb" >"$work/reinstall.log" 2>&1 && "$work/udisc-client" list --json | grep -q '"drive": '"$drive"; then
  ok "installing twice (dpkg -i) keeps the drive"
else bad "installing twice" "$(cat "$work/reinstall.log")"; fi
if dpkg -r udisc >"$work/remove.log" 2>&1; then ok "dpkg -r udisc"; else bad "dpkg -r" "$(cat "$work/remove.log")"; fi
check "removal left no drive behind" bash -c "'$work/udisc-client' list | grep -q 'no drives'"
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
# README: apt-get purge udisc (answering its question as a user would)
check "apt-get purge udisc" bash -c '(yes || true) | DEBIAN_FRONTEND=noninteractive apt-get purge udisc' 
left=""
while read -r f; do  # files and links only (directories such as /lib may be shared, or usrmerge links)
  [[ -d $f ]] || { [[ -e $f || -L $f ]] && left+=" $f"; }
done <"$work/files"
for f in /var/lib/udisc /run/udisc /etc/systemd/system/sockets.target.wants/udisc.socket \
         /etc/systemd/system/multi-user.target.wants/udisc.service; do
  [[ -e $f || -L $f ]] && left+=" $f"
done
grep -q "x-ccd" /usr/share/mime/globs2 && left+=" (MIME type application/x-ccd)"
if [[ -z $left ]]; then ok "purge left nothing (group udisc stays, as Debian does with system groups)"
else bad "purge left" "$left"; fi

# ---- dist/README.md: installing from the build tree, as written, then undone --
# (after the package is gone: /usr/local/bin/udisc would stand before /usr/bin's).
# Every file it reports "Installing:" is removed again, also after a failure
# (install_manifest.txt is only written on success); files it found already
# there ("Up-to-date:") were someone's before and stay. The CI runs this after
# building the whole tree; in a partly built tree it is not run (said so).
if [[ -f build/default/build.ninja ]] && ninja -C build/default -n 2>/dev/null | grep -q "no work to do"; then
  prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' build/default/CMakeCache.txt)
  if sudo cmake --install build/default >"$work/cmake-install.log" 2>&1; then
    installed=$(sed -n 's/^-- \(Installing\|Up-to-date\): //p' "$work/cmake-install.log")
    if [[ $("$prefix/bin/udisc" --version 2>&1) == "udisc "* ]] && [[ -n $installed ]] && ! grep -qv "^$prefix/" <<<"$installed"; then
      ok "sudo cmake --install build/default: $(wc -l <<<"$installed") files under $prefix"
    else bad "sudo cmake --install build/default" "$installed"; fi
  else bad "sudo cmake --install build/default" "$(tail -20 "$work/cmake-install.log")"; fi
  sed -n 's/^-- Installing: //p' "$work/cmake-install.log" | xargs -r -d '\n' rm -f --
  # and the folder of our own it made (libexec/udisc), when empty now
  sed -n 's/^-- Installing: \(.*\/udisc\)\/[^/]*$/\1/p' "$work/cmake-install.log" | sort -u | xargs -r rmdir -- 2>/dev/null || true
else
  echo "NOT RUN: sudo cmake --install build/default (build/default is not a fully built tree here)"
fi

echo "MEASURE package test: $((SECONDS - t0)) s"
echo "$failures failure(s)"
((failures == 0))
