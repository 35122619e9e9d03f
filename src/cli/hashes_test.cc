#include "cli/hashes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace udisc::cli {
namespace {

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

TEST(Hashes, StandardCheckValues) {
  // CRC-32 check value (ISO-HDLC, as zlib computes it); MD5 RFC 1321 and SHA-1 FIPS 180 test vectors.
  Hashes crc;
  crc.update(bytes("123456789"));
  EXPECT_EQ(crc.finish().crc32, "cbf43926");
  Hashes abc;
  abc.update(bytes("abc"));
  const Digests d = abc.finish();
  EXPECT_EQ(d.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  Hashes empty;
  const Digests e = empty.finish();
  EXPECT_EQ(e.crc32, "00000000");
  EXPECT_EQ(e.md5, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(e.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST(Hashes, PiecesHashLikeTheWhole) {
  std::vector<uint8_t> data(100000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + (i >> 9));
  Hashes whole;
  whole.update(data);
  Hashes pieces;
  for (size_t at = 0; at < data.size(); at += 2352) {
    pieces.update(std::span(data).subspan(at, std::min<size_t>(2352, data.size() - at)));
  }
  const Digests a = whole.finish(), b = pieces.finish();
  EXPECT_EQ(a.crc32, b.crc32);
  EXPECT_EQ(a.md5, b.md5);
  EXPECT_EQ(a.sha1, b.sha1);
}

}  // namespace
}  // namespace udisc::cli
