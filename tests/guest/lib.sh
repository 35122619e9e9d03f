# Shared by the host side of the guest tests (sourced, not run):
# src/daemon/guest_test.sh, tests/guest/tcmu_test.sh and
# tests/package/guest_maintainer_scripts.sh. See docs/guest-tests.md.
#   guest_setup NAME              skips (exit 77) without QEMU, xorriso, cpio or
#                                 busybox-static; makes the scratch folder $work
#                                 (udisc-NAME.XXXXXX, removed on exit)
#   guest_iso VOLID TREE ISO SUMS [mkisofs options...]
#                                 an ISO9660 (Rock Ridge) of folder TREE, and the
#                                 sha256 of each of its files (./relative paths,
#                                 for `cd /mnt && sha256sum -c SUMS` in the guest)
#   guest_run RUN.SH-OPTIONS...   boots the guest (tests/guest/run.sh) and exits
#                                 with its status (the scratch folder goes then)
set -euo pipefail
guest_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

guest_setup() {
  local t
  for t in qemu-system-x86_64 xorriso cpio; do
    command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
  done
  [[ -x /bin/busybox ]] || { echo "SKIP: busybox-static not installed"; exit 77; }
  work="$(mktemp -d "${TMPDIR:-/tmp}/udisc-$1.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
}

guest_iso() {
  local volid="$1" tree="$2" iso="$3" sums="$4"
  shift 4
  xorriso -as mkisofs -quiet -R "$@" -V "$volid" -o "$iso" "$tree" 2>/dev/null
  (cd "$tree" && find . -type f | sort | xargs sha256sum) > "$sums"
}

guest_run() {
  local rc=0
  "$guest_lib_dir/run.sh" "$@" || rc=$?
  exit "$rc"
}
