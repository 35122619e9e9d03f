# Dependencies of the Windows build (included by the root CMakeLists.txt when
# cross-compiling with cmake/mingw-w64.cmake), as the target names the Linux
# build gets from find_package/pkg-config:
#   ZLIB::ZLIB       Debian's libz-mingw-w64-dev (static libz.a)
#   Gcrypt::Gcrypt   Debian's libgcrypt-mingw-w64-dev (static): src/crypto's
#                    digests instead of OpenSSL, which Debian has no mingw build of
#   CLI11::CLI11, fmt::fmt (FMT_HEADER_ONLY), nlohmann_json::nlohmann_json:
#                    the Linux packages' headers, which are header-only
#   LibLZMA::LibLZMA, PkgConfig::CHD_CODECS, PkgConfig::FLAC: liblzma, libzstd
#                    and libFLAC, which Debian has no mingw build of, compiled
#                    from their Debian source packages (cmake/windows-codecs.cmake);
#                    so is nettle (PkgConfig::NETTLE: AES, PBKDF2 for MDS v2 / MDX)
# Not available: ISA-L (a portable CRC32C instead).
set(_mingw /usr/${UDISC_MINGW_TRIPLET})
enable_language(RC)  # udisc.exe's manifest (src/cli/windows/udisc.rc)

find_library(UDISC_MINGW_LIBZ NAMES libz.a PATHS ${_mingw}/lib NO_DEFAULT_PATH REQUIRED)
add_library(ZLIB::ZLIB STATIC IMPORTED)
set_target_properties(ZLIB::ZLIB PROPERTIES IMPORTED_LOCATION ${UDISC_MINGW_LIBZ}
                      INTERFACE_INCLUDE_DIRECTORIES ${_mingw}/include)

find_library(UDISC_MINGW_GCRYPT NAMES libgcrypt.a PATHS ${_mingw}/lib NO_DEFAULT_PATH REQUIRED)
find_library(UDISC_MINGW_GPG_ERROR NAMES libgpg-error.a PATHS ${_mingw}/lib NO_DEFAULT_PATH REQUIRED)
add_library(Gcrypt::Gcrypt STATIC IMPORTED)
set_target_properties(Gcrypt::Gcrypt PROPERTIES IMPORTED_LOCATION ${UDISC_MINGW_GCRYPT}
                      INTERFACE_INCLUDE_DIRECTORIES ${_mingw}/include
                      INTERFACE_LINK_LIBRARIES "${UDISC_MINGW_GPG_ERROR};ws2_32")

include(${CMAKE_CURRENT_LIST_DIR}/windows-codecs.cmake)

# Header-only libraries: only their own directories of the host's /usr/include
# (never /usr/include itself, whose C headers are glibc's), through links in
# the build tree.
set(_host_headers ${PROJECT_BINARY_DIR}/host-headers)
file(MAKE_DIRECTORY ${_host_headers})
foreach(dir CLI fmt nlohmann)
  if(NOT EXISTS /usr/include/${dir})
    message(FATAL_ERROR "/usr/include/${dir} missing: run tools/install-deps.sh")
  endif()
  file(CREATE_LINK /usr/include/${dir} ${_host_headers}/${dir} SYMBOLIC)
endforeach()
add_library(CLI11::CLI11 INTERFACE IMPORTED)
set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_host_headers})
add_library(fmt::fmt INTERFACE IMPORTED)
set_target_properties(fmt::fmt PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_host_headers}
                      INTERFACE_COMPILE_DEFINITIONS FMT_HEADER_ONLY)
add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED)
set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_host_headers})
