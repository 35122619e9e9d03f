// LZ4 where the build has no liblz4 (the Windows build: Debian ships no
// mingw-w64 liblz4). A ZSO file is still recognised and opened; its first
// compressed block read says why it cannot be decoded.
#include "formats/lz4_block.h"

namespace udisc::formats {

Status lz4_decode_block(std::span<const uint8_t>, std::span<uint8_t>, const std::string& where) {
  return Status::NotSupported(where + ": LZ4-compressed (ZSO) blocks are not supported by this build of udisc "
                                      "(built without liblz4)");
}

Result<std::vector<uint8_t>> lz4_encode_block(std::span<const uint8_t>) {
  return Status::NotSupported("this build of udisc has no liblz4");
}

}  // namespace udisc::formats
