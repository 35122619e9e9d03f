#include "formats/zlib_block.h"

#include <zlib.h>

namespace udisc::formats {

InflatedBlock inflate_block(std::span<const uint8_t> in, std::span<uint8_t> out, int window_bits) {
  InflatedBlock r;
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return r;
  r.started = true;
  z.next_in = const_cast<uint8_t*>(in.data());  // zlib's API is not const-correct; it only reads
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  r.rc = inflate(&z, Z_FINISH);
  r.produced = z.total_out;
  if (z.msg != nullptr) r.zlib_says = z.msg;
  inflateEnd(&z);
  return r;
}

}  // namespace udisc::formats
