// CHD where the build has no liblzma, libzstd and libFLAC (the Windows
// build: Debian ships no mingw-w64 builds of them). A CHD is still
// recognised, so the user is told why it does not open.
#include <cstring>
#include <string_view>

#include "formats/chd_image.h"

namespace udisc::formats {

bool looks_like_chd(std::span<const uint8_t> head) {
  static constexpr std::string_view kSignature = "MComprHD";
  return head.size() >= kSignature.size() && std::memcmp(head.data(), kSignature.data(), kSignature.size()) == 0;
}

Result<ImagePtr> open_chd(std::shared_ptr<RandomAccessFile> file, const ChdOptions&) {
  const std::string name = file ? file->name() : std::string("CHD");
  return Status::NotSupported("'" + name +
                              "': CHD (MAME compressed hunks of data) is not readable by this build of udisc: its "
                              "codecs need liblzma, libzstd and libFLAC, which the Windows build does not have yet; "
                              "convert it with chdman extractcd, or use the Linux build");
}

std::optional<ChdCacheStats> chd_cache_stats(const disc::Image&) { return std::nullopt; }
std::optional<Result<bool>> chd_verify_data(const disc::Image&) { return std::nullopt; }

}  // namespace udisc::formats
