// CHD hunk codecs: the pieces of MAME's CHD v5 format that turn stored bytes
// back into a hunk (docs/formats/chd.md, "Codecs").
//
//   BitReader       MSB-first bit stream; reading past the end yields zero
//                   bits and sets overflow(), as MAME's bitstream_in does.
//   HuffmanDecoder  canonical Huffman codes as MAME assigns them, with the two
//                   tree encodings it writes (RLE for the v5 map, a small
//                   Huffman tree for the `huff` codec).
//   decompress_hunk one hunk with one codec (zlib, lzma, huff, flac, zstd and
//                   the CD front ends cdzl, cdlz, cdfl, cdzs) into exactly
//                   dst.size() bytes.
//   crc16           the CRC-16 v5 maps store per hunk.
//
// Everything here is a pure function of its input: no state outlives a call
// except per-thread scratch, so any number of threads may decompress at once.
// Every failure is Status::Corruption naming the codec and what was wrong;
// nothing reads outside `src` or writes outside `dst`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/status.h"

namespace udisc::formats::chd {

// A v5 codec tag: four ASCII characters, big-endian ('zlib' = 0x7A6C6962).
constexpr uint32_t codec_tag(const char (&s)[5]) {
  return (uint32_t{static_cast<uint8_t>(s[0])} << 24) | (uint32_t{static_cast<uint8_t>(s[1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[2])} << 8) | uint32_t{static_cast<uint8_t>(s[3])};
}
inline constexpr uint32_t kCodecNone = 0;
inline constexpr uint32_t kCodecZlib = codec_tag("zlib");
inline constexpr uint32_t kCodecLzma = codec_tag("lzma");
inline constexpr uint32_t kCodecHuff = codec_tag("huff");
inline constexpr uint32_t kCodecFlac = codec_tag("flac");
inline constexpr uint32_t kCodecZstd = codec_tag("zstd");
inline constexpr uint32_t kCodecCdZlib = codec_tag("cdzl");
inline constexpr uint32_t kCodecCdLzma = codec_tag("cdlz");
inline constexpr uint32_t kCodecCdFlac = codec_tag("cdfl");
inline constexpr uint32_t kCodecCdZstd = codec_tag("cdzs");

// CD frames inside a CD CHD: 2352 bytes of sector data then 96 of sub-channel.
inline constexpr uint32_t kCdSectorBytes = 2352;
inline constexpr uint32_t kCdSubcodeBytes = 96;
inline constexpr uint32_t kCdFrameBytes = kCdSectorBytes + kCdSubcodeBytes;

// "zlib", "cdlz", ..., or the tag in hex when it is not printable.
std::string codec_name(uint32_t codec);
// Whether decompress_hunk knows the codec.
bool codec_supported(uint32_t codec);

// CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xFFFF, MSB first, no final
// XOR): MAME's crc16_creator, used for the v5 map and every hunk. Pass the
// previous result as `crc` to continue over more data.
uint16_t crc16(std::span<const uint8_t> data, uint16_t crc = 0xFFFF);

class BitReader {
 public:
  explicit BitReader(std::span<const uint8_t> data) : data_(data) {}
  // The next `bits` (0..32) bits, MSB first, without consuming them.
  uint32_t peek(int bits);
  void remove(int bits);
  uint32_t read(int bits) {
    const uint32_t v = peek(bits);
    remove(bits);
    return v;
  }
  // Whether more bits were consumed than the data holds.
  bool overflow() const { return consumed_ > data_.size() * 8; }
  // Whole bytes consumed so far (rounded up).
  size_t bytes_consumed() const { return static_cast<size_t>((consumed_ + 7) / 8); }

 private:
  std::span<const uint8_t> data_;
  uint64_t buffer_ = 0;  // bits not yet consumed, left-aligned
  int buffered_ = 0;     // how many
  size_t next_byte_ = 0;
  uint64_t consumed_ = 0;
};

class HuffmanDecoder {
 public:
  HuffmanDecoder(int num_codes, int max_bits);
  // Code lengths as MAME's import_tree_rle writes them (v5 map: 16 codes, 8 bits).
  Status import_tree_rle(BitReader& bits);
  // Code lengths coded with a small Huffman tree (import_tree_huffman; `huff` codec).
  Status import_tree_huffman(BitReader& bits);
  // Lengths given directly (tests and the small tree).
  Status set_lengths(std::span<const uint8_t> lengths);
  // One symbol; -1 for a bit pattern no code starts with.
  int decode_one(BitReader& bits) const;

 private:
  Status build();
  int num_codes_;
  int max_bits_;
  std::vector<uint8_t> lengths_;
  std::vector<uint32_t> lookup_;  // (symbol << 5) | length, indexed by the next max_bits bits
};

// Decompresses one hunk stored with `codec` into dst (the hunk size). For the
// CD codecs dst holds whole 2448-byte frames.
Status decompress_hunk(uint32_t codec, std::span<const uint8_t> src, std::span<uint8_t> dst);

}  // namespace udisc::formats::chd
