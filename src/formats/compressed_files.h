// Files stored compressed, read as the file they decode to.
//
// A compressed image (an ECM-encoded BIN, a CSO or ZSO ISO, an xz file) is not an image
// format of its own: open_image decodes it through a RandomAccessFile that
// presents the original bytes, then chooses the reader for those by content
// as usual. Only an index of the compressed stream is built at open — no full
// decode — and each read decodes just the pieces it covers, so random access
// costs one index lookup plus the decode of those pieces
// (docs/formats/ecm.md, docs/formats/cso.md, which also covers xz). Reads are stateless and
// thread-safe, and memory is bounded by the index.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "formats/file.h"
#include "util/status.h"

namespace udisc::formats {

// "ECM\0": Neill Corlett's Error Code Modeler.
bool looks_like_ecm(std::span<const uint8_t> head);
// The decoded file, named like `ecm` without its ".ecm" extension.
Result<std::shared_ptr<RandomAccessFile>> open_ecm(std::shared_ptr<RandomAccessFile> ecm);

// "CISO" (deflate) compressed ISO, format version 0 or 1.
bool looks_like_cso(std::span<const uint8_t> head);
Result<std::shared_ptr<RandomAccessFile>> open_cso(std::shared_ptr<RandomAccessFile> cso);

// "ZISO": the same container with LZ4 raw blocks (maxcso's ZSO), version 0 or 1.
bool looks_like_zso(std::span<const uint8_t> head);
Result<std::shared_ptr<RandomAccessFile>> open_zso(std::shared_ptr<RandomAccessFile> zso);

// xz with its block index (every .xz has one): random access per block when
// blocks are at most 16 MiB (made with `xz -T0` or `--block-size`).
bool looks_like_xz(std::span<const uint8_t> head);
Result<std::shared_ptr<RandomAccessFile>> open_xz(std::shared_ptr<RandomAccessFile> xz);

// Whole-file compressors without a random-access index (gzip, zstd,
// bzip2): the error to give, naming the format and the command that
// decompresses it; nullptr for anything else.
const char* compressed_without_index(std::span<const uint8_t> head);

}  // namespace udisc::formats
