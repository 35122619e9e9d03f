// CRC32C (Castagnoli) as used by iSCSI header and data digests (RFC 7143
// 13.1, RFC 3385). Uses ISA-L's crc32_iscsi, which picks the SSE4.2/PCLMUL
// implementation at run time where the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace udisc::iscsi {

inline constexpr uint32_t kCrc32cInit = 0xffffffff;
// Continues a running CRC (start with kCrc32cInit).
uint32_t crc32c_update(uint32_t crc, const uint8_t* data, size_t length);
inline uint32_t crc32c_final(uint32_t crc) { return crc ^ 0xffffffff; }
inline uint32_t crc32c(const uint8_t* data, size_t length) {
  return crc32c_final(crc32c_update(kCrc32cInit, data, length));
}

}  // namespace udisc::iscsi
