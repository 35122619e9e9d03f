// CHD codec pieces on hand-made input: the CRC-16 check value, the bit
// reader's order and overflow, MAME's canonical Huffman assignment, and
// clean errors (never a crash) for hunks that are not what their codec says.
#include "formats/chd_codecs.h"
#include "formats/chd_crc16.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string_view>
#include <vector>

namespace udisc::formats::chd {
namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(ChdCodecs, Crc16IsCcittFalse) {
  // The catalogued check value of CRC-16/CCITT-FALSE over "123456789".
  EXPECT_EQ(crc16(bytes("123456789")), 0x29B1);
  EXPECT_EQ(crc16({}), 0xFFFF);
  // The 16-byte fast path, the byte loop and a bit-at-a-time register
  // written from the polynomial here agree at every length and split.
  std::vector<uint8_t> data(100);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
  for (size_t n = 0; n <= data.size(); ++n) {
    uint16_t bytewise = 0xFFFF;
    uint16_t bitwise = 0xFFFF;
    for (size_t i = 0; i < n; ++i) {
      bytewise = crc16(std::span<const uint8_t>(&data[i], 1), bytewise);
      bitwise = static_cast<uint16_t>(bitwise ^ (data[i] << 8));
      for (int b = 0; b < 8; ++b) {
        bitwise = static_cast<uint16_t>((bitwise & 0x8000) ? (bitwise << 1) ^ 0x1021 : bitwise << 1);
      }
    }
    EXPECT_EQ(crc16(std::span<const uint8_t>(data.data(), n)), bytewise) << n;
    EXPECT_EQ(bytewise, bitwise) << n;
    if (n >= 37) {  // a fast-path call continued from a byte-loop state
      const uint16_t head = crc16(std::span<const uint8_t>(data.data(), 5));
      EXPECT_EQ(crc16(std::span<const uint8_t>(data.data() + 5, n - 5), head), bitwise) << n;
    }
  }
}

// A bit-at-a-time CCITT-FALSE register, written from the polynomial alone.
uint16_t crc16_bitwise(std::span<const uint8_t> data, uint16_t crc) {
  for (uint8_t byte : data) {
    crc = static_cast<uint16_t>(crc ^ (byte << 8));
    for (int b = 0; b < 8; ++b) crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

TEST(ChdCodecs, Crc16ImplementationsAgreeWithTheBitRegister) {
  // Random bytes at every length to 600 (the carry-less multiply path folds
  // 64-byte groups, then 16-byte blocks, then bytes), from unaligned starts,
  // with random initial values; and a whole 8-frame CD hunk.
  std::mt19937 rng(7);
  std::vector<uint8_t> data(19584 + 3);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  const bool clmul = crc16_clmul(std::span<const uint8_t>(data.data(), 64), 0xFFFF).has_value();
  std::printf("carry-less multiply CRC-16 %s on this machine\n", clmul ? "available" : "not available");
  for (size_t n = 0; n <= 600; ++n) {
    const size_t at = n % 3;
    const auto init = static_cast<uint16_t>(rng());
    const std::span<const uint8_t> span(data.data() + at, n);
    const uint16_t want = crc16_bitwise(span, init);
    ASSERT_EQ(crc16_slicing(span, init), want) << n;
    ASSERT_EQ(crc16(span, init), want) << n;
    if (clmul) {
      ASSERT_EQ(crc16_clmul(span, init).value(), want) << n;
    }
  }
  const std::span<const uint8_t> hunk(data.data() + 3, 19584);
  const uint16_t want = crc16_bitwise(hunk, 0xFFFF);
  EXPECT_EQ(crc16_slicing(hunk, 0xFFFF), want);
  EXPECT_EQ(crc16(hunk), want);
  if (clmul) {
    EXPECT_EQ(crc16_clmul(hunk, 0xFFFF).value(), want);
  }
}

TEST(ChdCodecs, BitReaderReadsMsbFirstAndFlagsOverflow) {
  const std::vector<uint8_t> data = {0xA5, 0x0F};
  BitReader bits(data);
  EXPECT_EQ(bits.read(1), 1u);
  EXPECT_EQ(bits.read(3), 0x2u);
  EXPECT_EQ(bits.read(8), 0x50u);
  EXPECT_FALSE(bits.overflow());
  EXPECT_EQ(bits.read(4), 0xFu);
  EXPECT_FALSE(bits.overflow());
  EXPECT_EQ(bits.read(5), 0u);  // zeros past the end
  EXPECT_TRUE(bits.overflow());
}

TEST(ChdCodecs, CanonicalCodesStartFromTheLongest) {
  // Lengths 1, 2, 3, 3. MAME assigns from the longest length down: the two
  // 3-bit codes are 000 and 001, the 2-bit code 01, the 1-bit code 1.
  HuffmanDecoder d(4, 3);
  const std::vector<uint8_t> lengths = {1, 2, 3, 3};
  ASSERT_TRUE(d.set_lengths(lengths).ok());
  const std::vector<uint8_t> stream = {0b10100000, 0b10000000};  // 1 | 01 | 000 | 001 | (pad)
  BitReader bits(stream);
  EXPECT_EQ(d.decode_one(bits), 0);
  EXPECT_EQ(d.decode_one(bits), 1);
  EXPECT_EQ(d.decode_one(bits), 2);
  EXPECT_EQ(d.decode_one(bits), 3);
}

TEST(ChdCodecs, IncompleteOrOverlongCodesAreRejected) {
  HuffmanDecoder d(4, 3);
  EXPECT_FALSE(d.set_lengths(std::vector<uint8_t>{1, 1, 1, 0}).ok());  // three 1-bit codes
  EXPECT_FALSE(d.set_lengths(std::vector<uint8_t>{4, 1, 2, 4}).ok());  // longer than max bits
}

TEST(ChdCodecs, GarbageGivesACorruptionNamingTheCodec) {
  const std::vector<uint8_t> garbage(64, 0xEE);
  for (uint32_t codec : {kCodecZlib, kCodecLzma, kCodecHuff, kCodecFlac, kCodecZstd, kCodecCdZlib, kCodecCdLzma,
                         kCodecCdFlac, kCodecCdZstd}) {
    std::vector<uint8_t> out(kCdFrameBytes * 2);
    const Status s = decompress_hunk(codec, garbage, out);
    EXPECT_EQ(s.code(), Status::Code::corruption) << codec_name(codec) << ": " << s.to_string();
    EXPECT_NE(s.message().find(codec_name(codec)), std::string::npos) << s.message();
    const Status empty = decompress_hunk(codec, {}, out);
    EXPECT_FALSE(empty.ok()) << codec_name(codec);
  }
  EXPECT_EQ(codec_name(kCodecCdLzma), "cdlz");
  EXPECT_EQ(codec_name(0x01020304), "0x01020304");
  EXPECT_EQ(decompress_hunk(codec_tag("avhu"), garbage, std::span<uint8_t>()).code(), Status::Code::not_supported);
}

}  // namespace
}  // namespace udisc::formats::chd
