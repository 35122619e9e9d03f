# Toolchain: Debian's mingw-w64 cross compiler (POSIX threads model, so
# std::thread and std::mutex work) building a static udisc.exe for 64-bit
# Windows. Used by the `windows` preset:
#   cmake --preset windows && cmake --build --preset windows
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(UDISC_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${UDISC_MINGW_TRIPLET}-gcc-posix)
set(CMAKE_CXX_COMPILER ${UDISC_MINGW_TRIPLET}-g++-posix)
set(CMAKE_RC_COMPILER ${UDISC_MINGW_TRIPLET}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${UDISC_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# One self-contained executable: libgcc, libstdc++ and winpthreads linked in,
# so it needs no DLL beyond Windows' own.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
# No `-s` at link time: a udisc.exe linked with -s (GCC 12, binutils 2.40)
# lost its C++ exception handling under Wine (every CLI11 ParseError, even
# --version, ended in std::terminate), while the same executable stripped
# afterwards works. src/cli strips udisc.exe after linking instead
# (--strip-debug: 13 MB -> 7 MB).
# How CTest (and tools/windows-test.sh) would run the result here.
set(CMAKE_CROSSCOMPILING_EMULATOR wine64)
