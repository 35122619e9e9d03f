// The portable CRC32C (Windows build) against ISA-L's, which the Linux build
// uses: both are linked here under different names (see CMakeLists.txt).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "transport/iscsi/crc32c.h"

namespace udisc::iscsi {
uint32_t crc32c_update_portable(uint32_t crc, const uint8_t* data, size_t length);
uint32_t crc32c_update_table_for_test(uint32_t crc, const uint8_t* data, size_t length);
namespace {

TEST(Crc32cPortable, Rfc3720Vectors) {
  // RFC 3720 B.4: 32 bytes of zeros, of 0xff, and an ascending sequence.
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), up(32);
  for (int i = 0; i < 32; ++i) up[i] = static_cast<uint8_t>(i);
  auto crc = [](const std::vector<uint8_t>& v) { return crc32c_final(crc32c_update_portable(kCrc32cInit, v.data(), v.size())); };
  EXPECT_EQ(crc(zeros), 0x8a9136aau);
  EXPECT_EQ(crc(ones), 0x62a8ab43u);
  EXPECT_EQ(crc(up), 0x46dd794eu);
}

TEST(Crc32cPortable, MatchesIsaLOnEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::vector<uint8_t> buf(70000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 4095u, 65536u}) {
      const uint8_t* p = buf.data() + offset;
      const uint32_t want = crc32c_update(kCrc32cInit, p, len);
      EXPECT_EQ(crc32c_update_portable(kCrc32cInit, p, len), want) << "offset " << offset << " length " << len;
      EXPECT_EQ(crc32c_update_table_for_test(kCrc32cInit, p, len), want) << "offset " << offset << " length " << len;
    }
  }
}

}  // namespace
}  // namespace udisc::iscsi
