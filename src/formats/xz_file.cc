// xz decoding on demand. Every .xz stream ends with an index of its blocks
// (compressed and uncompressed size of each); liblzma decodes it from the
// stream footer without touching the data. A read locates its blocks in the
// index and decodes only those, keeping the last decoded block per thread.
// A file made with a block size (`xz -T0`, `xz --block-size=1MiB`) is thus
// random-access at block granularity; a single-block file (plain `xz`) would
// need a full decode per read and is refused with the command to decompress.
// Layout and sources: docs/formats/cso.md ("xz").
#include <lzma.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "formats/compressed_files.h"
#include "formats/decoded_file.h"
#include "util/per_thread.h"

namespace udisc::formats {
namespace {

constexpr uint64_t kMaxBlock = 16 << 20;       // uncompressed bytes of one block decoded at once
constexpr uint64_t kMaxIndexBytes = 64 << 20;  // the stream index read at open
constexpr uint64_t kMemLimit = 256 << 20;      // liblzma's limit for the index and a block decoder

struct Block {
  uint64_t out = 0;         // uncompressed offset
  uint64_t in = 0;          // compressed offset of the block header
  uint64_t in_size = 0;     // total compressed size (header + data + padding + check)
  uint64_t out_size = 0;
};

class XzFile final : public DecodedFile {
 public:
  XzFile(std::shared_ptr<RandomAccessFile> xz, std::string name, std::vector<Block> blocks, uint64_t size, lzma_check check)
      : DecodedFile(std::move(name), size), xz_(std::move(xz)), blocks_(std::move(blocks)), check_(check) {}

  Status read_decoded(uint64_t offset, std::span<uint8_t> out) const override {
    size_t done = 0;
    while (done < out.size()) {
      const uint64_t at = offset + done;
      auto it = std::upper_bound(blocks_.begin(), blocks_.end(), at, [](uint64_t v, const Block& b) { return v < b.out; });
      const Block& b = *--it;
      auto plain = decode(static_cast<size_t>(it - blocks_.begin()));
      if (!plain.ok()) return plain.status();
      const uint64_t rel = at - b.out;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size() - done, b.out_size - rel));
      std::memcpy(out.data() + done, (*plain)->data() + rel, n);
      done += n;
    }
    return Status::Ok();
  }

 private:
  // The last block this thread decoded, keyed by a process-unique file id
  // (not the address, which a later XzFile may reuse).
  struct Cache {
    uint64_t file = 0;
    size_t block = 0;
    std::vector<uint8_t> data;
  };
  static uint64_t next_id() {
    static std::atomic<uint64_t> ids{0};
    return ++ids;
  }
  const uint64_t id_ = next_id();

  Result<const std::vector<uint8_t>*> decode(size_t index) const {
    Cache& cache = per_thread<Cache>();
    if (cache.file == id_ && cache.block == index && !cache.data.empty()) return &cache.data;
    const Block& b = blocks_[index];
    const std::string where = "'" + name() + "': xz block " + std::to_string(index);
    std::vector<uint8_t> packed(static_cast<size_t>(b.in_size));
    if (Status s = xz_->read_at(b.in, packed); !s.ok()) return s.with_context(where);
    std::array<lzma_filter, LZMA_FILTERS_MAX + 1> filters{};
    lzma_block block{};
    block.version = 1;
    block.check = check_;
    block.filters = filters.data();
    block.header_size = lzma_block_header_size_decode(packed[0]);
    if (packed[0] == 0 || block.header_size > packed.size() || lzma_block_header_decode(&block, nullptr, packed.data()) != LZMA_OK) {
      return Status::Corruption(where + ": bad block header");
    }
    cache.file = 0;
    cache.data.resize(static_cast<size_t>(b.out_size));
    size_t in_pos = block.header_size, out_pos = 0;
    const lzma_ret rc = lzma_block_buffer_decode(&block, nullptr, packed.data(), &in_pos, packed.size(), cache.data.data(),
                                                 &out_pos, cache.data.size());
    for (lzma_filter& f : filters) {
      if (f.id == LZMA_VLI_UNKNOWN) break;
      free(f.options);  // allocated by lzma_block_header_decode with the default allocator
    }
    if (rc != LZMA_OK || out_pos != b.out_size) {
      return Status::Corruption(where + ": does not decode to " + std::to_string(b.out_size) + " bytes (liblzma status " +
                                std::to_string(rc) + ")");
    }
    cache.file = id_;
    cache.block = index;
    return &cache.data;
  }

  std::shared_ptr<RandomAccessFile> xz_;
  std::vector<Block> blocks_;
  lzma_check check_;
};

}  // namespace

bool looks_like_xz(std::span<const uint8_t> head) {
  static constexpr uint8_t kMagic[6] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
  return head.size() >= 6 && std::memcmp(head.data(), kMagic, 6) == 0;
}

Result<std::shared_ptr<RandomAccessFile>> open_xz(std::shared_ptr<RandomAccessFile> xz) {
  const std::string shown = "'" + xz->name() + "'";
  const uint64_t size = xz->size();
  std::array<uint8_t, LZMA_STREAM_HEADER_SIZE> header{}, footer_bytes{};
  if (size < 2 * LZMA_STREAM_HEADER_SIZE || !xz->read_at(0, header).ok() ||
      !xz->read_at(size - LZMA_STREAM_HEADER_SIZE, footer_bytes).ok()) {
    return Status::Corruption(shown + ": too short for an xz stream");
  }
  lzma_stream_flags head_flags{}, foot_flags{};
  if (lzma_stream_header_decode(&head_flags, header.data()) != LZMA_OK ||
      lzma_stream_footer_decode(&foot_flags, footer_bytes.data()) != LZMA_OK ||
      lzma_stream_flags_compare(&head_flags, &foot_flags) != LZMA_OK) {
    return Status::Corruption(shown + ": xz stream header and footer do not match (concatenated or padded streams "
                              "are not supported; decompress it first: unxz -k FILE)");
  }
  const uint64_t index_size = foot_flags.backward_size;
  if (index_size > kMaxIndexBytes || index_size + 2 * LZMA_STREAM_HEADER_SIZE > size) {
    return Status::Corruption(shown + ": xz index of " + std::to_string(index_size) + " bytes does not fit the file");
  }
  std::vector<uint8_t> raw(static_cast<size_t>(index_size));
  if (Status s = xz->read_at(size - LZMA_STREAM_HEADER_SIZE - index_size, raw); !s.ok()) return s;
  lzma_index* index = nullptr;
  uint64_t memlimit = kMemLimit;
  size_t pos = 0;
  if (lzma_index_buffer_decode(&index, &memlimit, nullptr, raw.data(), &pos, raw.size()) != LZMA_OK) {
    return Status::Corruption(shown + ": the xz index does not decode");
  }
  std::vector<Block> blocks;
  lzma_index_iter it;
  lzma_index_iter_init(&it, index);
  bool too_big = false;
  while (!lzma_index_iter_next(&it, LZMA_INDEX_ITER_BLOCK)) {
    Block b{it.block.uncompressed_file_offset, it.block.compressed_file_offset, it.block.total_size,
            it.block.uncompressed_size};
    too_big = too_big || b.out_size > kMaxBlock;
    blocks.push_back(b);
  }
  const uint64_t total = lzma_index_uncompressed_size(index);
  const uint64_t file_size = lzma_index_file_size(index);
  lzma_index_end(index, nullptr);
  if (file_size != size) {
    return Status::Corruption(shown + ": the xz index describes " + std::to_string(file_size) + " bytes, the file has " +
                              std::to_string(size) + " (concatenated streams are not supported)");
  }
  if (blocks.empty() || too_big) {
    return Status::NotSupported(shown + ": xz-compressed data in " + std::to_string(blocks.size()) +
                                " block(s) larger than " + std::to_string(kMaxBlock >> 20) +
                                " MiB: no random access; recompress with blocks (xz -k -T0 --block-size=1MiB) or "
                                "decompress it first: unxz -k FILE");
  }
  for (const Block& b : blocks) {
    if (b.in + b.in_size > size || b.in_size == 0) return Status::Corruption(shown + ": an xz block lies outside the file");
  }
  std::string name = xz->name();
  if (name.size() > 3 && name.compare(name.size() - 3, 3, ".xz") == 0) name.resize(name.size() - 3);
  return std::shared_ptr<RandomAccessFile>(
      std::make_shared<XzFile>(std::move(xz), std::move(name), std::move(blocks), total, foot_flags.check));
}

}  // namespace udisc::formats
