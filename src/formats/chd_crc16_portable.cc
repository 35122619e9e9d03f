// crc16_clmul where the build has no carry-less multiply: never answers, so
// chd::crc16 uses slicing by 16 (chd_crc16.h).
#include "formats/chd_crc16.h"

namespace udisc::formats::chd {

std::optional<uint16_t> crc16_clmul(std::span<const uint8_t>, uint16_t) { return std::nullopt; }

}  // namespace udisc::formats::chd
