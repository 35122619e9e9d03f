// One whole zlib or raw deflate stream decoded at once into a buffer of known
// size (an MDS v2 descriptor, an MDX chunk group, a CSO block): the one place
// that drives zlib's inflate for such blocks; each caller judges the result
// (exact size or at least, and how it names the damage).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace udisc::formats {

struct InflatedBlock {
  bool started = false;   // false: zlib could not start (out of memory); nothing decoded
  int rc = 0;             // inflate's return for Z_FINISH: Z_STREAM_END when the stream ended
  uint64_t produced = 0;  // bytes written to `out`
  std::string zlib_says;  // zlib's message, "" when it gave none
};

// window_bits: 15 for a zlib stream (header and Adler-32), -15 for raw deflate.
InflatedBlock inflate_block(std::span<const uint8_t> in, std::span<uint8_t> out, int window_bits);

}  // namespace udisc::formats
