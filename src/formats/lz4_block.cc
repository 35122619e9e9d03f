// LZ4 raw blocks through liblz4 (see lz4_block.h).
#include "formats/lz4_block.h"

#include <lz4.h>

#include <limits>

namespace udisc::formats {

Status lz4_decode_block(std::span<const uint8_t> in, std::span<uint8_t> out, const std::string& where) {
  if (in.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      out.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Status::Corruption(where + ": LZ4 block too large");
  }
  const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(out.data()),
                                    static_cast<int>(in.size()), static_cast<int>(out.size()));
  if (n != static_cast<int>(out.size())) {
    return Status::Corruption(where + ": LZ4 data does not decode to " + std::to_string(out.size()) + " bytes (" +
                              (n < 0 ? "malformed" : std::to_string(n) + " decoded") + ")");
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> lz4_encode_block(std::span<const uint8_t> in) {
  if (in.size() > LZ4_MAX_INPUT_SIZE) return Status::InvalidArgument("LZ4 block too large");
  std::vector<uint8_t> out(static_cast<size_t>(LZ4_compressBound(static_cast<int>(in.size()))));
  const int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()), reinterpret_cast<char*>(out.data()),
                                     static_cast<int>(in.size()), static_cast<int>(out.size()));
  if (n <= 0) return Status::IoError("LZ4_compress_default failed");
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace udisc::formats
