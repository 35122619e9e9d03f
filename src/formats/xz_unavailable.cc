// xz where the build has no liblzma (the Windows build: Debian ships no
// mingw-w64 liblzma). An xz file is still recognised, so the user is told
// why it does not open.
#include <cstring>

#include "formats/compressed_files.h"

namespace udisc::formats {

bool looks_like_xz(std::span<const uint8_t> head) {
  static constexpr uint8_t kMagic[6] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
  return head.size() >= 6 && std::memcmp(head.data(), kMagic, 6) == 0;
}

Result<std::shared_ptr<RandomAccessFile>> open_xz(std::shared_ptr<RandomAccessFile> xz) {
  return Status::NotSupported("'" + xz->name() +
                              "': xz-compressed images are not supported by this build of udisc (built without "
                              "liblzma); decompress it with unxz -k");
}

}  // namespace udisc::formats
