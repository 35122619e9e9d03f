// CHD hunk codecs (docs/formats/chd.md, "Codecs"). Compression libraries do
// the real work (zlib, liblzma, libFLAC, libzstd); this file adds only the
// framing MAME puts around them and the Huffman coder MAME wrote itself.
#include "formats/chd_codecs.h"
#include "formats/chd_crc16.h"
#include "util/per_thread.h"

#include <FLAC/stream_decoder.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>

#include "disc/ecma130.h"

namespace udisc::formats::chd {
namespace {

Status corrupt(uint32_t codec, const std::string& what) {
  return Status::Corruption(codec_name(codec) + " data: " + what);
}

// ---- zlib: raw deflate (no zlib header), as MAME's chd_zlib_decompressor ----

Status inflate_raw(std::span<const uint8_t> src, std::span<uint8_t> dst, uint32_t codec) {
  struct Stream {
    z_stream z{};
    bool ready = false;
    ~Stream() {
      if (ready) inflateEnd(&z);
    }
  };
  Stream& stream = per_thread<Stream>();
  if (!stream.ready) {
    if (inflateInit2(&stream.z, -MAX_WBITS) != Z_OK) return corrupt(codec, "zlib initialisation failed");
    stream.ready = true;
  } else if (inflateReset(&stream.z) != Z_OK) {
    return corrupt(codec, "zlib reset failed");
  }
  z_stream& z = stream.z;
  z.next_in = const_cast<Bytef*>(src.data());
  z.avail_in = static_cast<uInt>(src.size());
  z.next_out = dst.data();
  z.avail_out = static_cast<uInt>(dst.size());
  const int rc = inflate(&z, Z_FINISH);
  if (rc != Z_STREAM_END && rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0)) {
    return corrupt(codec, std::string("deflate stream is invalid (") + (z.msg != nullptr ? z.msg : "zlib error") + ")");
  }
  if (z.total_out != dst.size()) {
    return corrupt(codec, "deflate stream gives " + std::to_string(z.total_out) + " bytes, expected " +
                              std::to_string(dst.size()));
  }
  return Status::Ok();
}

// ---- lzma: raw LZMA1, lc=3 lp=0 pb=2, no header, no end marker ----------------
// chdman encodes with the LZMA SDK at level 9 and the dictionary reduced to
// the hunk size; the decoder needs only a dictionary at least that large and
// the exact output size (LZMA_FILTER_LZMA1EXT carries it).

Status lzma_raw(std::span<const uint8_t> src, std::span<uint8_t> dst, uint32_t codec) {
  lzma_options_lzma options{};
  if (lzma_lzma_preset(&options, 0) != 0) return corrupt(codec, "liblzma preset failed");
  options.lc = 3;
  options.lp = 0;
  options.pb = 2;
  options.dict_size = std::max<uint32_t>(LZMA_DICT_SIZE_MIN, static_cast<uint32_t>(dst.size()));
  options.ext_flags = 0;  // no end marker
  options.ext_size_low = static_cast<uint32_t>(dst.size());
  options.ext_size_high = 0;
  std::array<lzma_filter, 2> filters = {lzma_filter{LZMA_FILTER_LZMA1EXT, &options},
                                        lzma_filter{LZMA_VLI_UNKNOWN, nullptr}};
  // One decoder per thread: liblzma re-initialises a stream's coder in place
  // when the filter is the same, keeping its dictionary and probability
  // tables when their sizes do not change (they do not within one CHD), so
  // hunks after the first allocate nothing.
  struct Stream {
    lzma_stream strm = LZMA_STREAM_INIT;
    ~Stream() { lzma_end(&strm); }
  };
  lzma_stream& strm = per_thread<Stream>().strm;
  if (lzma_raw_decoder(&strm, filters.data()) != LZMA_OK) return corrupt(codec, "liblzma initialisation failed");
  strm.next_in = src.data();
  strm.avail_in = src.size();
  strm.next_out = dst.data();
  strm.avail_out = dst.size();
  const lzma_ret rc = lzma_code(&strm, LZMA_FINISH);
  const uint64_t produced = strm.total_out;
  if (rc != LZMA_STREAM_END && !(rc == LZMA_OK && produced == dst.size())) {
    return corrupt(codec, "LZMA stream is invalid (liblzma error " + std::to_string(static_cast<int>(rc)) + ")");
  }
  if (produced != dst.size()) {
    return corrupt(codec, "LZMA stream gives " + std::to_string(produced) + " bytes, expected " +
                              std::to_string(dst.size()));
  }
  return Status::Ok();
}

// ---- zstd ---------------------------------------------------------------------

Status zstd_frame(std::span<const uint8_t> src, std::span<uint8_t> dst, uint32_t codec) {
  struct Context {
    ZSTD_DCtx* ctx = ZSTD_createDCtx();
    ~Context() { ZSTD_freeDCtx(ctx); }
  };
  Context& context = per_thread<Context>();
  if (context.ctx == nullptr) return corrupt(codec, "zstd initialisation failed");
  const size_t n = ZSTD_decompressDCtx(context.ctx, dst.data(), dst.size(), src.data(), src.size());
  if (ZSTD_isError(n)) return corrupt(codec, std::string("zstd frame is invalid (") + ZSTD_getErrorName(n) + ")");
  if (n != dst.size()) {
    return corrupt(codec, "zstd frame gives " + std::to_string(n) + " bytes, expected " + std::to_string(dst.size()));
  }
  return Status::Ok();
}

// ---- huff: the 8-bit Huffman codec ------------------------------------------

Status huffman_bytes(std::span<const uint8_t> src, std::span<uint8_t> dst, uint32_t codec) {
  BitReader bits(src);
  HuffmanDecoder decoder(256, 16);
  if (Status s = decoder.import_tree_huffman(bits); !s.ok()) return corrupt(codec, s.message());
  for (uint8_t& b : dst) {
    const int v = decoder.decode_one(bits);
    if (v < 0) return corrupt(codec, "a bit pattern that is no Huffman code");
    b = static_cast<uint8_t>(v);
  }
  if (bits.overflow()) return corrupt(codec, "Huffman data ends before the hunk is complete");
  return Status::Ok();
}

// ---- flac: FLAC frames behind a STREAMINFO block MAME does not store ------------
// The stored bytes are frames only; MAME's flac_decoder prepends a STREAMINFO
// of 44100 Hz, 2 channels, 16 bits and the block size the encoder used. We do
// the same, feed libFLAC from memory and take 16-bit stereo samples in the
// byte order asked for. finish() reports how many stored bytes the frames took
// (the CD codec's sub-channel data follows them).

class FlacFrames {
 public:
  FlacFrames(std::span<const uint8_t> frames, uint32_t block_size) : frames_(frames) {
    static constexpr std::array<uint8_t, 42> kTemplate = {
        'f',  'L',  'a',  'C',   // stream marker
        0x80, 0x00, 0x00, 0x22,  // last metadata block, STREAMINFO, 34 bytes
        0x00, 0x00, 0x00, 0x00,  // minimum / maximum block size (filled in)
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // frame sizes unknown
        0x0A, 0xC4, 0x42, 0xF0, 0x00, 0x00, 0x00, 0x00,  // 44100 Hz, 2 channels, 16 bits, length unknown
        0,    0,    0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0};  // MD5 unknown
    header_ = kTemplate;
    header_[8] = header_[10] = static_cast<uint8_t>(block_size >> 8);
    header_[9] = header_[11] = static_cast<uint8_t>(block_size);
  }

  // Decodes out.size() / 4 stereo samples into out, big- or little-endian.
  Status decode(std::span<uint8_t> out, bool big_endian) {
    out_ = out;
    big_endian_ = big_endian;
    std::unique_ptr<FLAC__StreamDecoder, decltype(&FLAC__stream_decoder_delete)> decoder(FLAC__stream_decoder_new(),
                                                                                         FLAC__stream_decoder_delete);
    if (!decoder) return Status::Corruption("libFLAC initialisation failed");
    if (FLAC__stream_decoder_init_stream(decoder.get(), &FlacFrames::read_cb, nullptr, &FlacFrames::tell_cb, nullptr,
                                         nullptr, &FlacFrames::write_cb, nullptr, &FlacFrames::error_cb,
                                         this) != FLAC__STREAM_DECODER_INIT_STATUS_OK) {
      return Status::Corruption("libFLAC initialisation failed");
    }
    while (written_ < out_.size() && error_.empty()) {
      if (!FLAC__stream_decoder_process_single(decoder.get())) break;
      const FLAC__StreamDecoderState state = FLAC__stream_decoder_get_state(decoder.get());
      if (state == FLAC__STREAM_DECODER_END_OF_STREAM || state == FLAC__STREAM_DECODER_ABORTED) break;
    }
    if (!error_.empty()) return Status::Corruption("FLAC " + error_);
    if (written_ != out_.size()) {
      return Status::Corruption("FLAC frames give " + std::to_string(written_) + " bytes, expected " +
                                std::to_string(out_.size()));
    }
    FLAC__uint64 position = 0;
    if (!FLAC__stream_decoder_get_decode_position(decoder.get(), &position) || position < header_.size() ||
        position - header_.size() > frames_.size()) {
      return Status::Corruption("FLAC decoder lost its position");
    }
    consumed_ = static_cast<size_t>(position - header_.size());
    FLAC__stream_decoder_finish(decoder.get());
    return Status::Ok();
  }
  // Stored bytes the decoded frames occupied.
  size_t consumed() const { return consumed_; }

 private:
  static FLAC__StreamDecoderReadStatus read_cb(const FLAC__StreamDecoder*, FLAC__byte buffer[], size_t* bytes,
                                               void* client) {
    auto* self = static_cast<FlacFrames*>(client);
    const size_t total = self->header_.size() + self->frames_.size();
    if (self->offset_ >= total) {
      *bytes = 0;
      return FLAC__STREAM_DECODER_READ_STATUS_END_OF_STREAM;
    }
    size_t n = 0;
    while (n < *bytes && self->offset_ < total) {
      if (self->offset_ < self->header_.size()) {
        const size_t k = std::min(*bytes - n, self->header_.size() - self->offset_);
        std::memcpy(buffer + n, self->header_.data() + self->offset_, k);
        n += k;
        self->offset_ += k;
      } else {
        const size_t at = self->offset_ - self->header_.size();
        const size_t k = std::min(*bytes - n, self->frames_.size() - at);
        std::memcpy(buffer + n, self->frames_.data() + at, k);
        n += k;
        self->offset_ += k;
      }
    }
    *bytes = n;
    return FLAC__STREAM_DECODER_READ_STATUS_CONTINUE;
  }

  static FLAC__StreamDecoderTellStatus tell_cb(const FLAC__StreamDecoder*, FLAC__uint64* offset, void* client) {
    *offset = static_cast<FlacFrames*>(client)->offset_;
    return FLAC__STREAM_DECODER_TELL_STATUS_OK;
  }

  static FLAC__StreamDecoderWriteStatus write_cb(const FLAC__StreamDecoder*, const FLAC__Frame* frame,
                                                 const FLAC__int32* const buffer[], void* client) {
    auto* self = static_cast<FlacFrames*>(client);
    if (frame->header.channels != 2 || frame->header.bits_per_sample != 16) {
      self->error_ = "frame is not 16-bit stereo";
      return FLAC__STREAM_DECODER_WRITE_STATUS_ABORT;
    }
    // Samples as 16-bit left, right pairs; one loop per byte order, with no
    // test per sample (this runs over every sample of an audio track).
    const size_t n = std::min<size_t>(frame->header.blocksize, (self->out_.size() - self->written_) / 4);
    uint8_t* out = self->out_.data() + self->written_;
    auto put = [&]<bool kBig>() {
      constexpr int kHigh = kBig ? 0 : 1;  // where each sample's high byte goes
      for (size_t i = 0; i < n; ++i) {
        const auto left = static_cast<uint16_t>(buffer[0][i]);  // the low 16 bits: the sample
        const auto right = static_cast<uint16_t>(buffer[1][i]);
        uint8_t* p = out + 4 * i;
        p[kHigh] = static_cast<uint8_t>(left >> 8);
        p[1 - kHigh] = static_cast<uint8_t>(left);
        p[2 + kHigh] = static_cast<uint8_t>(right >> 8);
        p[3 - kHigh] = static_cast<uint8_t>(right);
      }
    };
    if (self->big_endian_) {
      put.template operator()<true>();
    } else {
      put.template operator()<false>();
    }
    self->written_ += 4 * n;
    return FLAC__STREAM_DECODER_WRITE_STATUS_CONTINUE;
  }

  static void error_cb(const FLAC__StreamDecoder*, FLAC__StreamDecoderErrorStatus status, void* client) {
    auto* self = static_cast<FlacFrames*>(client);
    if (self->error_.empty()) self->error_ = std::string("stream error: ") + FLAC__StreamDecoderErrorStatusString[status];
  }

  std::span<const uint8_t> frames_;
  std::array<uint8_t, 42> header_{};
  size_t offset_ = 0;
  std::span<uint8_t> out_;
  bool big_endian_ = false;
  size_t written_ = 0;
  size_t consumed_ = 0;
  std::string error_;
};

// Block size MAME's FLAC encoders chose: a quarter of the bytes (stereo
// 16-bit samples), halved until at most `limit`.
uint32_t flac_block_size(uint32_t bytes, uint32_t limit) {
  uint32_t block = bytes / 4;
  while (block > limit) block /= 2;
  return block;
}

Status flac_hunk(std::span<const uint8_t> src, std::span<uint8_t> dst, uint32_t codec) {
  // First byte: 'L' or 'B', the byte order of the samples in the hunk.
  if (src.empty() || (src[0] != 'L' && src[0] != 'B')) return corrupt(codec, "first byte is not 'L' or 'B'");
  if (dst.size() % 4 != 0) return corrupt(codec, "hunk size is not whole stereo samples");
  FlacFrames flac(src.subspan(1), flac_block_size(static_cast<uint32_t>(dst.size()), 2048));
  if (Status s = flac.decode(dst, src[0] == 'B'); !s.ok()) return corrupt(codec, s.message());
  return Status::Ok();
}

// ---- CD front ends: sector data and sub-channel compressed apart -------------
// Layout of a stored CD hunk of N frames (MAME chd_cd_decompressor):
//   ceil(N/8) bytes   bit per frame: sync and ECC were removed, regenerate them
//                     (ECC over the header as stored, or zeros for mode 2)
//   2 or 3 bytes      compressed length of the sector data (3 if the hunk is
//                     65536 bytes or more), big-endian
//   base data         N * 2352 sector bytes, compressed by the base codec
//   sub-channel data  N * 96 bytes, compressed by the sub-channel codec
// cdfl has no ECC bitmap and no length: FLAC frames (big-endian samples),
// then zlib for the sub-channel, starting where the FLAC frames end.

Status base_codec(uint32_t codec, uint32_t cd_codec, std::span<const uint8_t> src, std::span<uint8_t> dst) {
  if (codec == kCodecZlib) return inflate_raw(src, dst, cd_codec);
  if (codec == kCodecLzma) return lzma_raw(src, dst, cd_codec);
  return zstd_frame(src, dst, cd_codec);
}

void interleave_frames(std::span<const uint8_t> sectors, std::span<const uint8_t> subcode, std::span<uint8_t> dst,
                       uint32_t frames) {
  for (uint32_t f = 0; f < frames; ++f) {
    uint8_t* frame = dst.data() + static_cast<size_t>(f) * kCdFrameBytes;
    std::memcpy(frame, sectors.data() + static_cast<size_t>(f) * kCdSectorBytes, kCdSectorBytes);
    std::memcpy(frame + kCdSectorBytes, subcode.data() + static_cast<size_t>(f) * kCdSubcodeBytes, kCdSubcodeBytes);
  }
}

Status cd_hunk(uint32_t codec, std::span<const uint8_t> src, std::span<uint8_t> dst) {
  if (dst.size() % kCdFrameBytes != 0) {
    return corrupt(codec, "hunk of " + std::to_string(dst.size()) + " bytes is not whole 2448-byte CD frames");
  }
  const auto frames = static_cast<uint32_t>(dst.size() / kCdFrameBytes);
  struct BufferTag;
  std::vector<uint8_t>& buffer = per_thread<std::vector<uint8_t>, BufferTag>();
  buffer.resize(dst.size());
  std::span<uint8_t> sectors(buffer.data(), static_cast<size_t>(frames) * kCdSectorBytes);
  std::span<uint8_t> subcode(buffer.data() + sectors.size(), static_cast<size_t>(frames) * kCdSubcodeBytes);

  if (codec == kCodecCdFlac) {
    FlacFrames flac(src, flac_block_size(frames * kCdSectorBytes, kCdSectorBytes));
    if (Status s = flac.decode(sectors, /*big_endian=*/true); !s.ok()) return corrupt(codec, s.message());
    if (Status s = inflate_raw(src.subspan(flac.consumed()), subcode, codec); !s.ok()) {
      return s.with_context("sub-channel");
    }
    interleave_frames(sectors, subcode, dst, frames);
    return Status::Ok();
  }

  const size_t ecc_bytes = (frames + 7) / 8;
  const size_t length_bytes = dst.size() < 65536 ? 2 : 3;
  const size_t header_bytes = ecc_bytes + length_bytes;
  if (src.size() < header_bytes) return corrupt(codec, "shorter than its header");
  size_t base_length = (size_t{src[ecc_bytes]} << 8) | src[ecc_bytes + 1];
  if (length_bytes == 3) base_length = (base_length << 8) | src[ecc_bytes + 2];
  if (base_length > src.size() - header_bytes) {
    return corrupt(codec, "sector data length " + std::to_string(base_length) + " runs past the hunk's " +
                              std::to_string(src.size()) + " bytes");
  }
  const uint32_t base = codec == kCodecCdZlib ? kCodecZlib : codec == kCodecCdLzma ? kCodecLzma : kCodecZstd;
  const uint32_t sub = codec == kCodecCdZstd ? kCodecZstd : kCodecZlib;
  if (Status s = base_codec(base, codec, src.subspan(header_bytes, base_length), sectors); !s.ok()) return s;
  if (Status s = base_codec(sub, codec, src.subspan(header_bytes + base_length), subcode); !s.ok()) {
    return s.with_context("sub-channel");
  }
  interleave_frames(sectors, subcode, dst, frames);
  // Sectors whose sync and ECC the compressor dropped (it checked they were
  // a mode 1 sector's): put the sync back and compute ECC P and Q again.
  for (uint32_t f = 0; f < frames; ++f) {
    if ((src[f / 8] & (1u << (f % 8))) == 0) continue;
    std::span<uint8_t, disc::ecma130::kSectorSize> sector(dst.data() + static_cast<size_t>(f) * kCdFrameBytes,
                                                    disc::ecma130::kSectorSize);
    std::copy(disc::ecma130::kSync.begin(), disc::ecma130::kSync.end(), sector.begin());
    // ECC covers the header, except in mode 2 where it is taken as zero.
    std::array<uint8_t, 4> header{};
    const bool mode2 = sector[disc::ecma130::kModeOffset] == 2;
    std::copy_n(sector.begin() + disc::ecma130::kHeaderOffset, 4, header.begin());
    if (mode2) std::fill_n(sector.begin() + disc::ecma130::kHeaderOffset, 4, uint8_t{0});
    disc::compute_ecc(sector);
    if (mode2) std::copy(header.begin(), header.end(), sector.begin() + disc::ecma130::kHeaderOffset);
  }
  return Status::Ok();
}

}  // namespace

std::string codec_name(uint32_t codec) {
  if (codec == kCodecNone) return "none";
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((codec >> shift) & 0xFF);
    if (c < 0x20 || c > 0x7E) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08X", codec);
      return hex;
    }
    s.push_back(c);
  }
  return s;
}

bool codec_supported(uint32_t codec) {
  switch (codec) {
    case kCodecZlib:
    case kCodecLzma:
    case kCodecHuff:
    case kCodecFlac:
    case kCodecZstd:
    case kCodecCdZlib:
    case kCodecCdLzma:
    case kCodecCdFlac:
    case kCodecCdZstd: return true;
    default: return false;
  }
}

uint16_t crc16(std::span<const uint8_t> data, uint16_t crc) {
  if (auto fast = crc16_clmul(data, crc)) return *fast;
  return crc16_slicing(data, crc);
}

uint16_t crc16_slicing(std::span<const uint8_t> data, uint16_t crc) {
  // Slicing by 16: kTables[k][v] is the CRC register after byte v and k zero
  // bytes, so sixteen bytes fold in with sixteen independent look-ups and one
  // short dependency chain per 16 bytes (every decompressed hunk is checked,
  // so this runs over all data read; 8 KiB of tables stay in L1).
  static constexpr size_t kSlices = 16;
  static constexpr auto kTables = [] {
    std::array<std::array<uint16_t, 256>, kSlices> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i << 8;
      for (int k = 0; k < 8; ++k) c = (c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1;
      t[0][i] = static_cast<uint16_t>(c);
    }
    for (size_t k = 1; k < kSlices; ++k) {
      for (size_t i = 0; i < 256; ++i) {
        const uint16_t prev = t[k - 1][i];
        t[k][i] = static_cast<uint16_t>((prev << 8) ^ t[0][prev >> 8]);
      }
    }
    return t;
  }();
  const uint8_t* p = data.data();
  size_t n = data.size();
  for (; n >= kSlices; n -= kSlices, p += kSlices) {
    const uint16_t x = static_cast<uint16_t>(crc ^ ((p[0] << 8) | p[1]));
    uint16_t folded = static_cast<uint16_t>(kTables[15][x >> 8] ^ kTables[14][x & 0xFF]);
    for (size_t k = 2; k < kSlices; ++k) folded ^= kTables[kSlices - 1 - k][p[k]];
    crc = folded;
  }
  for (; n > 0; --n, ++p) crc = static_cast<uint16_t>((crc << 8) ^ kTables[0][((crc >> 8) ^ *p) & 0xFF]);
  return crc;
}

// ---- BitReader -----------------------------------------------------------------

uint32_t BitReader::peek(int bits) {
  if (bits <= 0) return 0;
  while (buffered_ < bits) {
    const uint64_t byte = next_byte_ < data_.size() ? data_[next_byte_] : 0;  // zeros past the end
    ++next_byte_;
    buffer_ |= byte << (56 - buffered_);
    buffered_ += 8;
  }
  return static_cast<uint32_t>(buffer_ >> (64 - bits));
}

void BitReader::remove(int bits) {
  if (bits <= 0) return;
  buffer_ <<= bits;
  buffered_ -= bits;
  consumed_ += static_cast<uint64_t>(bits);
}

// ---- HuffmanDecoder ------------------------------------------------------------

HuffmanDecoder::HuffmanDecoder(int num_codes, int max_bits)
    : num_codes_(num_codes), max_bits_(max_bits), lengths_(static_cast<size_t>(num_codes), 0) {}

Status HuffmanDecoder::set_lengths(std::span<const uint8_t> lengths) {
  if (lengths.size() != lengths_.size()) return Status::Corruption("Huffman tree of the wrong size");
  std::copy(lengths.begin(), lengths.end(), lengths_.begin());
  return build();
}

Status HuffmanDecoder::import_tree_rle(BitReader& bits) {
  // Each entry is a length in 3/4/5 bits; 1 escapes: "1 1" is a length of 1,
  // "1 L n" repeats L n+3 times.
  const int entry_bits = max_bits_ >= 16 ? 5 : max_bits_ >= 8 ? 4 : 3;
  int code = 0;
  while (code < num_codes_) {
    uint32_t length = bits.read(entry_bits);
    if (length != 1) {
      lengths_[static_cast<size_t>(code++)] = static_cast<uint8_t>(length);
      continue;
    }
    length = bits.read(entry_bits);
    if (length == 1) {
      lengths_[static_cast<size_t>(code++)] = 1;
      continue;
    }
    const uint32_t repeat = bits.read(entry_bits) + 3;
    if (code + static_cast<int>(repeat) > num_codes_) return Status::Corruption("Huffman tree run overflows the tree");
    for (uint32_t i = 0; i < repeat; ++i) lengths_[static_cast<size_t>(code++)] = static_cast<uint8_t>(length);
  }
  if (bits.overflow()) return Status::Corruption("Huffman tree is truncated");
  return build();
}

Status HuffmanDecoder::import_tree_huffman(BitReader& bits) {
  // A 24-symbol tree (lengths in 3 bits, 7 ends the list) codes the lengths:
  // symbol v > 0 is a length of v-1, symbol 0 repeats the last length.
  std::array<uint8_t, 24> small{};
  small[0] = static_cast<uint8_t>(bits.read(3));
  const uint32_t start = bits.read(3) + 1;
  uint32_t count = 0;
  for (uint32_t index = 1; index < small.size(); ++index) {
    if (index < start || count == 7) {
      small[index] = 0;
    } else {
      count = bits.read(3);
      small[index] = static_cast<uint8_t>(count == 7 ? 0 : count);
    }
  }
  HuffmanDecoder small_tree(24, 6);
  if (Status s = small_tree.set_lengths(small); !s.ok()) return s.with_context("Huffman tree's own tree");
  int rle_bits = 0;
  for (uint32_t t = static_cast<uint32_t>(num_codes_ - 9); t != 0; t >>= 1) ++rle_bits;
  int code = 0;
  uint8_t last = 0;
  while (code < num_codes_) {
    const int value = small_tree.decode_one(bits);
    if (value < 0) return Status::Corruption("Huffman tree holds a pattern that is no code");
    if (bits.overflow()) return Status::Corruption("Huffman tree is truncated");
    if (value != 0) {
      last = static_cast<uint8_t>(value - 1);
      lengths_[static_cast<size_t>(code++)] = last;
      continue;
    }
    uint32_t repeat = bits.read(3) + 2;
    if (repeat == 7 + 2) repeat += bits.read(rle_bits);
    for (; repeat != 0 && code < num_codes_; --repeat) lengths_[static_cast<size_t>(code++)] = last;
  }
  return build();
}

Status HuffmanDecoder::build() {
  // MAME's canonical assignment: starting from the longest length, each
  // length's first code follows from the count of longer ones.
  std::array<uint32_t, 33> first{};
  for (uint8_t length : lengths_) {
    if (length > max_bits_) {
      return Status::Corruption("Huffman code of " + std::to_string(length) + " bits exceeds the maximum " +
                                std::to_string(max_bits_));
    }
    ++first[length];
  }
  uint32_t start = 0;
  for (int length = 32; length > 0; --length) {
    const uint32_t next = (start + first[static_cast<size_t>(length)]) >> 1;
    if (length != 1 && next * 2 != start + first[static_cast<size_t>(length)]) {
      return Status::Corruption("Huffman code lengths do not form a complete code");
    }
    first[static_cast<size_t>(length)] = start;
    start = next;
  }
  lookup_.assign(size_t{1} << max_bits_, 0);
  for (int symbol = 0; symbol < num_codes_; ++symbol) {
    const uint8_t length = lengths_[static_cast<size_t>(symbol)];
    if (length == 0) continue;
    const uint32_t code = first[length]++;
    const int shift = max_bits_ - length;
    const uint64_t begin = static_cast<uint64_t>(code) << shift;
    const uint64_t end = static_cast<uint64_t>(code + 1) << shift;
    if (end > lookup_.size()) return Status::Corruption("Huffman code lengths overflow the code space");
    std::fill(lookup_.begin() + static_cast<std::ptrdiff_t>(begin), lookup_.begin() + static_cast<std::ptrdiff_t>(end),
              (static_cast<uint32_t>(symbol) << 5) | length);
  }
  return Status::Ok();
}

int HuffmanDecoder::decode_one(BitReader& bits) const {
  const uint32_t entry = lookup_[bits.peek(max_bits_)];
  const int length = static_cast<int>(entry & 0x1F);
  if (length == 0) return -1;
  bits.remove(length);
  return static_cast<int>(entry >> 5);
}

// ---- dispatch --------------------------------------------------------------------

Status decompress_hunk(uint32_t codec, std::span<const uint8_t> src, std::span<uint8_t> dst) {
  switch (codec) {
    case kCodecZlib: return inflate_raw(src, dst, codec);
    case kCodecLzma: return lzma_raw(src, dst, codec);
    case kCodecZstd: return zstd_frame(src, dst, codec);
    case kCodecHuff: return huffman_bytes(src, dst, codec);
    case kCodecFlac: return flac_hunk(src, dst, codec);
    case kCodecCdZlib:
    case kCodecCdLzma:
    case kCodecCdFlac:
    case kCodecCdZstd: return cd_hunk(codec, src, dst);
    default: return Status::NotSupported("codec " + codec_name(codec) + " is not supported");
  }
}

}  // namespace udisc::formats::chd
