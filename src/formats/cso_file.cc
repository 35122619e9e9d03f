// CSO ("CISO") and ZSO ("ZISO") decoding on demand: the file is cut into
// blocks of block_size bytes, each stored compressed (raw deflate in CSO, an
// LZ4 raw block in ZSO) or plain, and an index of block offsets follows the
// 24-byte header. The index is read at open
// (4 bytes per block); a read inflates only the blocks it covers.
// Layout and sources: docs/formats/cso.md.
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "formats/byte_view.h"
#include "formats/zlib_block.h"
#include "util/per_thread.h"
#include "formats/compressed_files.h"
#include "formats/decoded_file.h"
#include "formats/lz4_block.h"

namespace udisc::formats {
namespace {

constexpr uint32_t kHeaderSize = 24;
constexpr uint64_t kMaxBlocks = 64u << 20;  // 64 Mi blocks: a 256 MiB index at most
constexpr uint32_t kPlainBit = 0x80000000u;

// What a compressed block holds.
enum class Codec : uint8_t { deflate, lz4 };

class CsoFile final : public DecodedFile {
 public:
  CsoFile(std::shared_ptr<RandomAccessFile> cso, std::string name, std::vector<uint32_t> index, uint64_t size,
          uint32_t block, uint8_t align, Codec codec)
      : DecodedFile(std::move(name), size), cso_(std::move(cso)), index_(std::move(index)), block_(block), align_(align),
        codec_(codec) {}

  Status read_decoded(uint64_t offset, std::span<uint8_t> out) const override {
    struct PlainTag;
    struct PackedTag;
    std::vector<uint8_t>& plain = per_thread<std::vector<uint8_t>, PlainTag>();
    std::vector<uint8_t>& packed = per_thread<std::vector<uint8_t>, PackedTag>();
    size_t done = 0;
    while (done < out.size()) {
      const uint64_t at = offset + done;
      const uint64_t b = at / block_;
      const uint32_t within = static_cast<uint32_t>(at % block_);
      const uint32_t length = static_cast<uint32_t>(std::min<uint64_t>(block_, size() - b * block_));
      plain.resize(length);
      if (Status s = block(b, length, plain, packed); !s.ok()) return s;
      const size_t n = std::min<size_t>(out.size() - done, length - within);
      std::memcpy(out.data() + done, plain.data() + within, n);
      done += n;
    }
    return Status::Ok();
  }

 private:
  Status block(uint64_t b, uint32_t length, std::vector<uint8_t>& plain, std::vector<uint8_t>& packed) const {
    const uint64_t pos = uint64_t{index_[b] & ~kPlainBit} << align_;
    const uint64_t next = uint64_t{index_[b + 1] & ~kPlainBit} << align_;
    const std::string where = "'" + name() + "': block " + std::to_string(b);
    if (index_[b] & kPlainBit) return cso_->read_at(pos, plain);
    if (next <= pos || next - pos > 2 * uint64_t{block_} + 1024 || next > cso_->size()) {
      return Status::Corruption(where + ": compressed extent " + std::to_string(pos) + ".." + std::to_string(next) +
                                " is not inside the file or too large for its block");
    }
    packed.resize(static_cast<size_t>(next - pos));
    if (Status s = cso_->read_at(pos, packed); !s.ok()) return s.with_context(where);
    if (codec_ == Codec::lz4) return lz4_decode_block(packed, std::span<uint8_t>(plain.data(), length), where);
    const InflatedBlock z = inflate_block(packed, std::span<uint8_t>(plain.data(), length), -15);
    if (!z.started) return Status::IoError(where + ": inflateInit2 failed");
    const int rc = z.rc;
    const uint64_t produced = z.produced;
    if ((rc != Z_STREAM_END && rc != Z_BUF_ERROR && rc != Z_OK) || produced != length) {
      return Status::Corruption(where + ": deflate data does not decode to " + std::to_string(length) + " bytes (" +
                                std::to_string(produced) + " decoded, zlib status " + std::to_string(rc) + ")");
    }
    return Status::Ok();
  }

  std::shared_ptr<RandomAccessFile> cso_;
  std::vector<uint32_t> index_;
  uint32_t block_;
  uint8_t align_;
  Codec codec_;
};

// Both formats: `magic` "CISO" (deflate) or "ZISO" (LZ4); `ext` the file
// extension replaced by ".iso" in the decoded file's name.
Result<std::shared_ptr<RandomAccessFile>> open_compressed_iso(std::shared_ptr<RandomAccessFile> cso, const char* magic,
                                                              Codec codec, const char* ext) {
  const std::string shown = "'" + cso->name() + "'";
  const char* format = codec == Codec::lz4 ? "ZSO" : "CSO";
  std::vector<uint8_t> header(kHeaderSize);
  if (cso->size() < kHeaderSize || !cso->read_at(0, header).ok() || std::memcmp(header.data(), magic, 4) != 0) {
    return Status::Corruption(shown + ": no 24-byte \"" + magic + "\" header; not a " + format + " file");
  }
  ByteView v(header, shown);
  const uint64_t total = v.le(8, 8, "uncompressed size");
  const uint32_t block = static_cast<uint32_t>(v.le(16, 4, "block size"));
  const uint8_t version = v.u8(20, "version");
  const uint8_t align = v.u8(21, "index alignment");
  if (version > 1) {
    return Status::NotSupported(shown + ": " + format + " version " + std::to_string(version) +
                                " is not supported (versions 0 and 1)");
  }
  if (block < 512 || block > (1u << 20) || (block & (block - 1)) != 0) {
    return v.fail(16, "block size " + std::to_string(block) + " is not a power of two in 512..1048576");
  }
  if (align > 31) return v.fail(21, "index alignment " + std::to_string(align) + " is more than 31");
  const uint64_t blocks = total / block + (total % block != 0 ? 1 : 0);  // no overflow for any total
  if (total == 0 || blocks > kMaxBlocks) {
    return v.fail(8, "uncompressed size " + std::to_string(total) + " gives " + std::to_string(blocks) + " blocks (1.." +
                         std::to_string(kMaxBlocks) + ")");
  }
  const uint64_t index_bytes = (blocks + 1) * 4;
  if (kHeaderSize + index_bytes > cso->size()) {
    return Status::Corruption(shown + ": the block index of " + std::to_string(blocks + 1) +
                              " entries runs past the end of the file (" + std::to_string(cso->size()) + " bytes)");
  }
  std::vector<uint8_t> raw(static_cast<size_t>(index_bytes));
  if (Status s = cso->read_at(kHeaderSize, raw); !s.ok()) return s;
  std::vector<uint32_t> index(static_cast<size_t>(blocks + 1));
  for (size_t i = 0; i < index.size(); ++i) {
    index[i] = uint32_t{raw[4 * i]} | uint32_t{raw[4 * i + 1]} << 8 | uint32_t{raw[4 * i + 2]} << 16 |
               uint32_t{raw[4 * i + 3]} << 24;
  }
  // Plain blocks must lie inside the file; compressed ones are checked when read.
  for (uint64_t b = 0; b < blocks; ++b) {
    const uint64_t pos = uint64_t{index[b] & ~kPlainBit} << align;
    const uint64_t len = std::min<uint64_t>(block, total - b * block);
    if ((index[b] & kPlainBit) && pos + len > cso->size()) {
      return Status::Corruption(shown + ": plain block " + std::to_string(b) + " at " + std::to_string(pos) +
                                " runs past the end of the file");
    }
  }
  std::string name = cso->name();
  if (name.size() > 4) {
    std::string tail = name.substr(name.size() - 4);
    for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (tail == ext) {
      name.resize(name.size() - 4);
      name += ".iso";
    }
  }
  return std::shared_ptr<RandomAccessFile>(
      std::make_shared<CsoFile>(std::move(cso), std::move(name), std::move(index), total, block, align, codec));
}

}  // namespace

bool looks_like_cso(std::span<const uint8_t> head) {
  return head.size() >= 4 && std::memcmp(head.data(), "CISO", 4) == 0;
}

Result<std::shared_ptr<RandomAccessFile>> open_cso(std::shared_ptr<RandomAccessFile> cso) {
  return open_compressed_iso(std::move(cso), "CISO", Codec::deflate, ".cso");
}

bool looks_like_zso(std::span<const uint8_t> head) {
  return head.size() >= 4 && std::memcmp(head.data(), "ZISO", 4) == 0;
}

Result<std::shared_ptr<RandomAccessFile>> open_zso(std::shared_ptr<RandomAccessFile> zso) {
  return open_compressed_iso(std::move(zso), "ZISO", Codec::lz4, ".zso");
}

}  // namespace udisc::formats
