# Shared by the Wine tests (sourced): finds Wine, gives it a private prefix,
# and builds udisc.exe with the `windows` preset (incremental).
#   WINE_WORK=scratch dir of the caller
set -euo pipefail

SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# wine64 is not on PATH in Debian's wine64 package (only the `wine` wrapper is).
find_wine() {
  local w
  for w in "${WINE:-}" "$(command -v wine64 2>/dev/null || true)" /usr/lib/wine/wine64; do
    [ -n "$w" ] && [ -x "$w" ] && { echo "$w"; return 0; }
  done
  return 1
}

# setup_wine: exports WINE (the loader), WINEPREFIX (under the windows build
# tree, made once), WINEDEBUG=-all; skips without Wine or mingw-w64.
setup_wine() {
  WINE=$(find_wine) || skip "Wine is missing (tools/install-deps.sh installs wine64)"
  command -v x86_64-w64-mingw32-g++-posix >/dev/null || skip "mingw-w64 is missing (tools/install-deps.sh installs g++-mingw-w64-x86-64-posix)"
  export WINE WINEDEBUG=-all WINEPREFIX="$SOURCE_DIR/build/windows/wineprefix"
  mkdir -p "$SOURCE_DIR/build/windows"
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    local start=$SECONDS
    "$WINE" wineboot --init >/dev/null 2>&1 || true
    echo "made the Wine prefix $WINEPREFIX in $((SECONDS - start)) s"
  fi
}

# build_exe [TARGET]: configures (once) and builds udisc.exe (or TARGET, e.g.
# package) in build/windows; sets UDISC_EXE.
build_exe() {
  local target=${1:-udisc} start=$SECONDS
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  # The build tree may be shared by tests running at once: one build at a time.
  (
    flock 9
    if [ ! -f "$SOURCE_DIR/build/windows/build.ninja" ]; then
      cmake -S "$SOURCE_DIR" --preset windows "${launcher[@]}" >/dev/null
    fi
    cmake --build "$SOURCE_DIR/build/windows" --target "$target" >/dev/null
  ) 9>"$SOURCE_DIR/build/windows/.build.lock" || fail "cross build of $target failed (cmake --build build/windows --target $target)"
  UDISC_EXE=$SOURCE_DIR/build/windows/src/cli/udisc.exe
  echo "build/windows: $target up to date in $((SECONDS - start)) s"
}
