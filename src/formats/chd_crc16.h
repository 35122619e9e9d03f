// The CRC-16 of CHD hunks and maps (CCITT-FALSE: polynomial 0x1021, MSB
// first), in two implementations behind chd::crc16 (chd_codecs.h):
//   crc16_slicing  portable: slicing by 16 over byte-indexed tables
//   crc16_clmul    the same value by carry-less multiplication (x86-64
//                  PCLMULQDQ, chd_crc16_x86.cc); nullopt where the CPU or
//                  the build has none (chd_crc16_portable.cc elsewhere)
// chd::crc16 takes crc16_clmul when it answers. Both are tested against a
// bit-at-a-time register (chd_codecs_test.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace udisc::formats::chd {

uint16_t crc16_slicing(std::span<const uint8_t> data, uint16_t crc);
std::optional<uint16_t> crc16_clmul(std::span<const uint8_t> data, uint16_t crc);

}  // namespace udisc::formats::chd
