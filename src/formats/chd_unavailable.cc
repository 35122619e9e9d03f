// The CHD half of chd_image.h where the build has no CHD codecs (the Windows
// build: Debian ships no mingw-w64 liblzma, libzstd or libFLAC). A CHD is
// still recognised, so opening one says why it cannot be read instead of
// "unknown format"; every other format is unaffected.
#include <cstring>

#include "formats/chd_image.h"

namespace udisc::formats {

bool looks_like_chd(std::span<const uint8_t> head) {
  static constexpr char kSignature[] = "MComprHD";
  return head.size() >= 8 && std::memcmp(head.data(), kSignature, 8) == 0;
}

Result<ImagePtr> open_chd(std::shared_ptr<RandomAccessFile> file, const ChdOptions&, const FileResolver&) {
  return Status::NotSupported("'" + file->name() +
                              "': CHD images are not supported by this build of udisc (built without its LZMA, "
                              "Zstandard and FLAC codecs); convert it with chdman extractcd on another system");
}

std::optional<ChdIdentity> chd_identity(const RandomAccessFile&) { return std::nullopt; }

std::optional<ChdCacheStats> chd_cache_stats(const disc::Image&) { return std::nullopt; }

std::optional<Result<bool>> chd_verify_data(const disc::Image&) { return std::nullopt; }

}  // namespace udisc::formats
