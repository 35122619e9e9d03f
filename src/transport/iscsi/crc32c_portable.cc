// crc32c_update without ISA-L (the Windows build: Debian ships no mingw-w64
// ISA-L). SSE4.2's CRC32 instruction computes exactly CRC32C; every x86-64
// CPU Windows 11 supports has it, and a table covers the rest. Tested against
// ISA-L's crc32_iscsi on Linux (crc32c_portable_test).
#include <array>
#include <cstring>

#include "transport/iscsi/crc32c.h"

namespace udisc::iscsi {
namespace {

constexpr uint32_t kReflectedPolynomial = 0x82F63B78;

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kReflectedPolynomial : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kTable = make_table();

uint32_t crc32c_table(uint32_t crc, const uint8_t* data, size_t length) {
  for (size_t i = 0; i < length; ++i) crc = kTable[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t crc, const uint8_t* data, size_t length) {
  uint64_t c = crc;
  while (length >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    c = __builtin_ia32_crc32di(c, word);
    data += 8;
    length -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (length > 0) {
    c32 = __builtin_ia32_crc32qi(c32, *data++);
    --length;
  }
  return c32;
}

}  // namespace

uint32_t crc32c_update(uint32_t crc, const uint8_t* data, size_t length) {
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  return hardware ? crc32c_sse42(crc, data, length) : crc32c_table(crc, data, length);
}

// For the test: the table path whatever the CPU.
uint32_t crc32c_update_table_for_test(uint32_t crc, const uint8_t* data, size_t length) {
  return crc32c_table(crc, data, length);
}

}  // namespace udisc::iscsi
