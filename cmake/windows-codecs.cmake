# The codecs Debian builds no mingw-w64 package of -- liblzma (xz-utils),
# libzstd, libFLAC, liblz4 and nettle (its AES, RIPEMD-160, HMAC and PBKDF2) -- compiled into the Windows build from their Debian
# source packages (with Debian's patches applied), static, decoders only.
# cmake/fetch-debian-sources.sh (run by tools/install-deps.sh) puts the
# sources in the cache below; they never enter the git tree.
#
# They are compiled directly (no ExternalProject, no autotools configure):
# the decoder source files of each library with the definitions its own
# build would find for x86-64 Windows, so the cold build grows only by these
# ~60 C files and ccache serves them afterwards. The same target names as the
# Linux build's find_package/pkg-config ones, so src/formats has one set of
# rules for both:
#   LibLZMA::LibLZMA      xz files (xz_file.cc) and the CHD lzma codec
#   PkgConfig::CHD_CODECS liblzma + libzstd (chd_codecs.cc)
#   PkgConfig::FLAC       FLAC tracks (flac_source.cc) and the CHD flac codec
#   PkgConfig::LZ4        ZSO blocks (lz4_block.cc)
#   PkgConfig::NETTLE     MDS version 2 / MDX (mds_crypto.cc)
set(UDISC_DEBIAN_SOURCES "$ENV{UDISC_DEBIAN_SOURCES}" CACHE PATH
    "Unpacked Debian source packages for the Windows build (cmake/fetch-debian-sources.sh)")
if(NOT UDISC_DEBIAN_SOURCES)
  set(UDISC_DEBIAN_SOURCES ${PROJECT_SOURCE_DIR}/build/debian-sources CACHE PATH "" FORCE)
endif()

# tools/install-deps.sh fetches them; configuring runs the script again (it
# does nothing when they are there), so a build tree made without that
# (another worktree, a moved cache) gets them the same way.
execute_process(COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/fetch-debian-sources.sh ${UDISC_DEBIAN_SOURCES}
                RESULT_VARIABLE _fetch_rc)
if(NOT _fetch_rc EQUAL 0)
  message(FATAL_ERROR "cmake/fetch-debian-sources.sh ${UDISC_DEBIAN_SOURCES} failed (${_fetch_rc})")
endif()

# udisc_debian_source(VAR PACKAGE): VAR = the unpacked tree of source PACKAGE.
function(udisc_debian_source var package)
  file(GLOB trees LIST_DIRECTORIES true ${UDISC_DEBIAN_SOURCES}/${package}-*/.unpacked)
  if(NOT trees)
    message(FATAL_ERROR "The Debian source package ${package} is missing from ${UDISC_DEBIAN_SOURCES}: "
                        "run tools/install-deps.sh (or cmake/fetch-debian-sources.sh)")
  endif()
  list(GET trees 0 stamp)
  get_filename_component(tree ${stamp} DIRECTORY)
  file(READ ${stamp} dsc)
  string(STRIP "${dsc}" dsc)
  message(STATUS "Windows codecs: ${package} from ${dsc}")
  set(${var} ${tree} PARENT_SCOPE)
endfunction()

# Third-party code keeps its own warnings to itself: the project's
# -Wall ... -Werror (from the root directory) is replaced by -w for these.
function(udisc_third_party target)
  set_target_properties(${target} PROPERTIES COMPILE_OPTIONS "-w" C_STANDARD 99)
endfunction()

# --- liblzma (xz-utils) ---
udisc_debian_source(_xz xz-utils)
set(_lz ${_xz}/src/liblzma)
add_library(udisc_lzma STATIC
  ${_lz}/check/check.c ${_lz}/check/crc32_fast.c ${_lz}/check/crc32_table.c
  ${_lz}/check/crc64_fast.c ${_lz}/check/crc64_table.c ${_lz}/check/sha256.c
  ${_lz}/common/alone_decoder.c ${_lz}/common/auto_decoder.c ${_lz}/common/block_buffer_decoder.c
  ${_lz}/common/block_decoder.c ${_lz}/common/block_header_decoder.c ${_lz}/common/block_util.c
  ${_lz}/common/common.c ${_lz}/common/easy_decoder_memusage.c ${_lz}/common/filter_buffer_decoder.c
  ${_lz}/common/filter_common.c ${_lz}/common/filter_decoder.c ${_lz}/common/filter_flags_decoder.c
  ${_lz}/common/index.c ${_lz}/common/index_decoder.c ${_lz}/common/index_hash.c
  ${_lz}/common/lzip_decoder.c ${_lz}/common/stream_buffer_decoder.c ${_lz}/common/stream_decoder.c
  ${_lz}/common/stream_flags_common.c ${_lz}/common/stream_flags_decoder.c
  ${_lz}/common/vli_decoder.c ${_lz}/common/vli_size.c
  ${_lz}/delta/delta_common.c ${_lz}/delta/delta_decoder.c
  ${_lz}/lz/lz_decoder.c
  ${_lz}/lzma/lzma_decoder.c ${_lz}/lzma/lzma2_decoder.c ${_lz}/lzma/lzma_encoder_presets.c
  ${_lz}/simple/simple_coder.c ${_lz}/simple/simple_decoder.c ${_lz}/simple/x86.c
  ${_lz}/simple/arm.c ${_lz}/simple/armthumb.c ${_lz}/simple/arm64.c ${_lz}/simple/ia64.c
  ${_lz}/simple/powerpc.c ${_lz}/simple/sparc.c)
target_include_directories(udisc_lzma PRIVATE ${_lz}/common ${_lz}/check ${_lz}/lz ${_lz}/rangecoder
                           ${_lz}/lzma ${_lz}/delta ${_lz}/simple ${_xz}/src/common
                           PUBLIC ${_lz}/api)
# What xz-utils' own CMakeLists.txt defines for x86-64 Windows with GCC, the encoders left out.
target_compile_definitions(udisc_lzma
  PRIVATE HAVE_CHECK_CRC32 HAVE_CHECK_CRC64 HAVE_CHECK_SHA256 HAVE_DECODERS HAVE_DECODER_ARM
          HAVE_DECODER_ARMTHUMB HAVE_DECODER_ARM64 HAVE_DECODER_DELTA HAVE_DECODER_IA64 HAVE_DECODER_LZMA1
          HAVE_DECODER_LZMA2 HAVE_DECODER_POWERPC HAVE_DECODER_SPARC HAVE_DECODER_X86 HAVE_LZIP_DECODER
          HAVE_STDBOOL_H HAVE__BOOL HAVE_STDINT_H HAVE_INTTYPES_H MYTHREAD_VISTA TUKLIB_SYMBOL_PREFIX=lzma_
          HAVE___BUILTIN_BSWAPXX TUKLIB_FAST_UNALIGNED_ACCESS HAVE___BUILTIN_ASSUME_ALIGNED HAVE_CPUID_H
          HAVE_IMMINTRIN_H HAVE__MM_MOVEMASK_EPI8 HAVE_VISIBILITY=0
  PUBLIC LZMA_API_STATIC)
udisc_third_party(udisc_lzma)
add_library(LibLZMA::LibLZMA ALIAS udisc_lzma)

# --- libzstd (decompression) ---
udisc_debian_source(_zstd libzstd)
set(_zl ${_zstd}/lib)
add_library(udisc_zstd STATIC
  ${_zl}/common/debug.c ${_zl}/common/entropy_common.c ${_zl}/common/error_private.c
  ${_zl}/common/fse_decompress.c ${_zl}/common/xxhash.c ${_zl}/common/zstd_common.c
  ${_zl}/decompress/huf_decompress.c ${_zl}/decompress/zstd_ddict.c
  ${_zl}/decompress/zstd_decompress.c ${_zl}/decompress/zstd_decompress_block.c)
target_include_directories(udisc_zstd PUBLIC ${_zl})
# The x86-64 assembly Huffman decoder is ELF-only (zstd disables it off Linux/macOS itself).
target_compile_definitions(udisc_zstd PRIVATE ZSTD_DISABLE_ASM)
udisc_third_party(udisc_zstd)

add_library(udisc_chd_codecs INTERFACE)
target_link_libraries(udisc_chd_codecs INTERFACE udisc_lzma udisc_zstd)
add_library(PkgConfig::CHD_CODECS ALIAS udisc_chd_codecs)

# --- libFLAC (decoder; native FLAC only, so no libogg) ---
udisc_debian_source(_flac flac)
set(_fl ${_flac}/src/libFLAC)
add_library(udisc_flac STATIC
  ${_fl}/bitmath.c ${_fl}/bitreader.c ${_fl}/cpu.c ${_fl}/crc.c ${_fl}/fixed.c
  ${_fl}/fixed_intrin_sse2.c ${_fl}/fixed_intrin_ssse3.c ${_fl}/float.c ${_fl}/format.c ${_fl}/lpc.c
  ${_fl}/lpc_intrin_sse2.c ${_fl}/lpc_intrin_sse41.c ${_fl}/lpc_intrin_avx2.c ${_fl}/lpc_intrin_fma.c
  ${_fl}/md5.c ${_fl}/memory.c ${_fl}/stream_decoder.c ${_fl}/window.c
  ${_flac}/src/share/win_utf8_io/win_utf8_io.c)
# config.h from flac's own template, with what its CMake build finds for
# x86-64 Windows (in a function: the template's names, PROJECT_VERSION among
# them, must not leak into the project's scope).
function(udisc_flac_config flac_tree out)
  set(CPU_IS_BIG_ENDIAN 0)
  set(ENABLE_64_BIT_WORDS 1)
  set(FLAC__ALIGN_MALLOC_DATA 1)
  set(FLAC__CPU_X86_64 1)
  set(FLAC__HAS_X86INTRIN 1)
  set(FLAC__HAS_NEONINTRIN 0)
  set(FLAC__HAS_A64NEONINTRIN 0)
  set(OGG_FOUND 0)
  set(WITH_AVX 1)
  set(HAVE_LROUND 1)
  set(HAVE_BSWAP16 1)
  set(HAVE_BSWAP32 1)
  set(HAVE_CPUID_H 1)
  set(HAVE_INTTYPES_H 1)
  set(HAVE_STDINT_H 1)
  set(HAVE_STDLIB_H 1)
  set(HAVE_STRING_H 1)
  set(HAVE_SYS_STAT_H 1)
  set(HAVE_SYS_TYPES_H 1)
  set(HAVE_X86INTRIN_H 1)
  set(HAVE_FSEEKO 1)
  string(REGEX MATCH "flac-([0-9.]+)" _ ${flac_tree})
  set(PROJECT_VERSION ${CMAKE_MATCH_1})
  configure_file(${flac_tree}/config.cmake.h.in ${out}/config.h)
endfunction()
udisc_flac_config(${_flac} ${PROJECT_BINARY_DIR}/flac-config)
target_include_directories(udisc_flac PRIVATE ${PROJECT_BINARY_DIR}/flac-config ${_fl}/include
                           PUBLIC ${_flac}/include)
target_compile_definitions(udisc_flac PRIVATE HAVE_CONFIG_H PUBLIC FLAC__NO_DLL)
udisc_third_party(udisc_flac)
add_library(PkgConfig::FLAC ALIAS udisc_flac)

# --- liblz4 (block decompression, for ZSO) ---
udisc_debian_source(_lz4 lz4)
add_library(udisc_lz4 STATIC ${_lz4}/lib/lz4.c)
target_include_directories(udisc_lz4 PUBLIC ${_lz4}/lib)
udisc_third_party(udisc_lz4)
add_library(PkgConfig::LZ4 ALIAS udisc_lz4)

# --- nettle (AES-128/256, RIPEMD-160, HMAC, PBKDF2: what mds_crypto.cc uses) ---
# The portable C files only: no config.h (so no HAVE_NATIVE_* assembler, and
# TMP_ALLOC's fixed-size buffers instead of alloca); memxor's word size
# follows __x86_64__ in memxor-internal.h. The headers are reached as
# <nettle/...>, as the Linux build reaches the installed ones.
udisc_debian_source(_nettle nettle)
set(_nt ${_nettle})
add_library(udisc_nettle STATIC
  ${_nt}/aes-set-key-internal.c ${_nt}/aes-invert-internal.c ${_nt}/aes-encrypt-internal.c
  ${_nt}/aes-decrypt-internal.c ${_nt}/aes-encrypt-table.c ${_nt}/aes-decrypt-table.c
  ${_nt}/aes128-set-encrypt-key.c ${_nt}/aes128-set-decrypt-key.c ${_nt}/aes128-encrypt.c ${_nt}/aes128-decrypt.c
  ${_nt}/aes256-set-encrypt-key.c ${_nt}/aes256-set-decrypt-key.c ${_nt}/aes256-encrypt.c ${_nt}/aes256-decrypt.c
  ${_nt}/ripemd160.c ${_nt}/ripemd160-compress.c ${_nt}/ripemd160-meta.c ${_nt}/hmac.c ${_nt}/hmac-ripemd160.c ${_nt}/pbkdf2.c
  ${_nt}/memxor.c ${_nt}/memxor3.c ${_nt}/write-le32.c)
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/nettle-include)
file(CREATE_LINK ${_nt} ${PROJECT_BINARY_DIR}/nettle-include/nettle SYMBOLIC)
target_include_directories(udisc_nettle PUBLIC ${PROJECT_BINARY_DIR}/nettle-include)
udisc_third_party(udisc_nettle)
add_library(PkgConfig::NETTLE ALIAS udisc_nettle)
