#include "crypto/digest.h"

#include <gtest/gtest.h>

#include <string>

namespace udisc::crypto {
namespace {

std::string hex_digest(Algorithm a, std::string_view text) {
  Digest d(a);
  d.update(text.substr(0, 1));
  d.update(text.substr(1));
  std::string out;
  for (uint8_t b : d.finish()) {
    static const char* digits = "0123456789abcdef";
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// FIPS 180-2 / FIPS 202 / RFC 1321 test vectors for "abc".
TEST(Digest, KnownVectors) {
  EXPECT_EQ(hex_digest(Algorithm::md5, "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex_digest(Algorithm::sha1, "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex_digest(Algorithm::sha256, "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_digest(Algorithm::sha3_256, "abc"), "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

TEST(Digest, RandomBytesDiffer) {
  std::vector<uint8_t> a(32), b(32);
  ASSERT_TRUE(random_bytes(a).ok());
  ASSERT_TRUE(random_bytes(b).ok());
  EXPECT_NE(a, b);
  EXPECT_TRUE(equal_constant_time(a, a));
  EXPECT_FALSE(equal_constant_time(a, b));
  EXPECT_FALSE(equal_constant_time(a, std::span<const uint8_t>(a.data(), 31)));
}

}  // namespace
}  // namespace udisc::crypto
