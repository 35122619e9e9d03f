// Facts and sources: docs/formats/mds.md ("Tracks stored in compressed chunks").
#include "formats/mds_chunks.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

#include "formats/decoded_file.h"
#include "formats/zlib_block.h"

namespace udisc::formats::mds_chunks {
namespace {

// Group offsets kept for every 64th group; the others are summed from there.
constexpr uint64_t kCheckpointEvery = 64;
// Decoded groups kept for the next reads (a reader usually reads on within a group).
constexpr size_t kCachedGroups = 4;
// Input the table's zlib stream may take at most beyond its output (stored blocks' overhead and more).
constexpr uint64_t kTableSlack = 64 << 10;

// The first LRW block index of the stored bytes of the group starting at
// `first_sector`: blocks count on over the group's bytes, as if each sector
// held sector_size & ~15 of them (docs/formats/mds.md).
uint64_t first_block(uint32_t sector_size, uint64_t first_sector) {
  return 1 + uint64_t{sector_size / mds_crypto::kBlock} * first_sector;
}

void crypt(const mds_crypto::Lrw& cipher, std::span<uint8_t> stored, uint32_t sector_size, uint64_t first_sector,
           bool decrypting) {
  const std::span<uint8_t> whole = stored.first(stored.size() / mds_crypto::kBlock * mds_crypto::kBlock);
  const uint64_t first = first_block(sector_size, first_sector);
  if (decrypting) {
    cipher.decrypt(whole, first);
  } else {
    cipher.encrypt(whole, first);
  }
}

std::string hex4(uint16_t v) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kDigits[(v >> shift) & 0xF]);
  return out;
}

uint64_t stored_size(uint16_t entry, uint64_t group_bytes) {
  if (entry == 0) return group_bytes;
  if (entry & kFilled) return 0;
  return entry;
}

class ChunkedTrack final : public DecodedFile {
 public:
  ChunkedTrack(std::shared_ptr<RandomAccessFile> data, Track track, std::vector<uint16_t> entries,
               std::vector<uint64_t> checkpoints, std::shared_ptr<const mds_crypto::Lrw> cipher)
      : DecodedFile(data->name() + " (" + track.what + ", compressed)", track.sectors * track.sector_size),
        data_(std::move(data)),
        track_(std::move(track)),
        entries_(std::move(entries)),
        checkpoints_(std::move(checkpoints)),
        cipher_(std::move(cipher)),
        group_bytes_(uint64_t{track_.group_sectors} * track_.sector_size) {}

 protected:
  Status read_decoded(uint64_t offset, std::span<uint8_t> out) const override {
    std::lock_guard lock(mutex_);
    size_t done = 0;
    while (done < out.size()) {
      const uint64_t at = offset + done;
      const uint64_t g = at / group_bytes_;
      auto group = decoded(g);
      if (!group.ok()) return group.status();
      const uint64_t within = at - g * group_bytes_;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size() - done, (*group)->size() - within));
      std::memcpy(out.data() + done, (*group)->data() + within, n);
      done += n;
    }
    return Status::Ok();
  }

 private:
  using Bytes = std::shared_ptr<const std::vector<uint8_t>>;

  // Caller holds mutex_.
  Result<Bytes> decoded(uint64_t g) const {
    ++clock_;
    for (Slot& s : cache_) {
      if (s.bytes != nullptr && s.group == g) {
        s.used = clock_;
        return s.bytes;
      }
    }
    auto bytes = decode(g);
    if (!bytes.ok()) return bytes.status();
    Slot& victim = *std::min_element(cache_.begin(), cache_.end(), [](const Slot& a, const Slot& b) { return a.used < b.used; });
    victim = Slot{.group = g, .used = clock_, .bytes = *bytes};
    return victim.bytes;
  }

  uint64_t group_offset(uint64_t g) const {
    uint64_t at = checkpoints_[g / kCheckpointEvery];
    for (uint64_t k = g / kCheckpointEvery * kCheckpointEvery; k < g; ++k) at += stored_size(entries_[k], group_bytes_);
    return at;
  }

  Result<Bytes> decode(uint64_t g) const {
    const uint64_t first_sector = g * track_.group_sectors;
    const uint64_t sectors = std::min<uint64_t>(track_.group_sectors, track_.sectors - first_sector);
    const uint64_t want = sectors * track_.sector_size;
    const uint16_t entry = entries_[g];
    const uint64_t at = track_.offset + group_offset(g);
    auto out = std::make_shared<std::vector<uint8_t>>();
    const auto where = [&] {
      return "'" + data_->name() + "': " + track_.what + ": compression group " + std::to_string(g) + " at offset " +
             std::to_string(at);
    };
    if (entry & kFilled) {
      out->assign(static_cast<size_t>(want), static_cast<uint8_t>(entry & 0xFF));
      return Bytes(std::move(out));
    }
    if (entry == 0) {
      out->resize(static_cast<size_t>(want));
      if (Status s = data_->read_at(at, *out); !s.ok()) return s.with_context(where());
      if (cipher_ != nullptr) crypt(*cipher_, *out, track_.sector_size, first_sector, true);
      return Bytes(std::move(out));
    }
    std::vector<uint8_t> packed(entry);
    if (Status s = data_->read_at(at, packed); !s.ok()) return s.with_context(where());
    if (cipher_ != nullptr) crypt(*cipher_, packed, track_.sector_size, first_sector, true);
    // The last group may inflate to a whole group; its sectors are what is kept.
    out->resize(static_cast<size_t>(group_bytes_));
    const InflatedBlock z = inflate_block(packed, *out, -15);
    if (!z.started) return Status::IoError(where() + ": zlib cannot start inflating (out of memory)");
    const int rc = z.rc;
    const uint64_t produced = z.produced;
    const std::string zlib_says =
        !z.zlib_says.empty() ? z.zlib_says : (rc == Z_BUF_ERROR ? "more data than a group" : "incomplete");
    if (rc != Z_STREAM_END || produced < want) {
      return Status::Corruption(where() + ": " + std::to_string(entry) + " bytes of deflate data do not inflate to the " +
                                std::to_string(want) + " bytes of its " + std::to_string(sectors) + " sectors (zlib: " +
                                (rc == Z_STREAM_END ? "ended after " + std::to_string(produced) + " bytes" : zlib_says) +
                                ")");
    }
    out->resize(static_cast<size_t>(want));
    return Bytes(std::move(out));
  }

  struct Slot {
    uint64_t group = 0;
    uint64_t used = 0;
    Bytes bytes;
  };

  std::shared_ptr<RandomAccessFile> data_;
  Track track_;
  std::vector<uint16_t> entries_;
  std::vector<uint64_t> checkpoints_;  // offset (from track_.offset) of every kCheckpointEvery-th group
  std::shared_ptr<const mds_crypto::Lrw> cipher_;
  uint64_t group_bytes_;
  mutable std::mutex mutex_;
  mutable std::array<Slot, kCachedGroups> cache_{};
  mutable uint64_t clock_ = 0;
};

// The table: a zlib stream at `at` inflating to exactly `count` 16-bit entries.
Result<std::vector<uint16_t>> read_table(const RandomAccessFile& data, uint64_t at, uint64_t count, const std::string& where) {
  const uint64_t out_bytes = count * 2;
  std::vector<uint8_t> table(static_cast<size_t>(out_bytes));
  const uint64_t max_in = std::min<uint64_t>(data.size() - at, 2 * out_bytes + kTableSlack);
  std::vector<uint8_t> in(static_cast<size_t>(std::min<uint64_t>(max_in, 64 << 10)));
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return Status::IoError(where + ": zlib cannot start inflating (out of memory)");
  z.next_out = table.data();
  z.avail_out = static_cast<uInt>(table.size());
  uint64_t fed = 0;
  bool input_ended = false;
  int rc = Z_OK;
  Status read_error = Status::Ok();
  while (rc == Z_OK) {
    if (z.avail_in == 0) {
      if (fed == max_in) {
        input_ended = true;
        break;
      }
      const size_t n = static_cast<size_t>(std::min<uint64_t>(in.size(), max_in - fed));
      if (Status s = data.read_at(at + fed, std::span<uint8_t>(in.data(), n)); !s.ok()) {
        read_error = s;
        break;
      }
      fed += n;
      z.next_in = in.data();
      z.avail_in = static_cast<uInt>(n);
    }
    rc = inflate(&z, Z_NO_FLUSH);
  }
  const uint64_t produced = z.total_out;
  const std::string zlib_says = z.msg != nullptr ? z.msg : "error " + std::to_string(rc);
  inflateEnd(&z);
  if (!read_error.ok()) return read_error.with_context(where);
  if (rc != Z_STREAM_END || produced != out_bytes) {
    std::string why;
    if (rc == Z_STREAM_END) {
      why = "it ends after " + std::to_string(produced) + " bytes";
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      why = "zlib: " + zlib_says;
    } else if (!input_ended) {
      why = "it holds more than that";
    } else {
      why = "it is cut off after " + std::to_string(fed) + " bytes, the end of the file or of the " +
            std::to_string(max_in) + " bytes allowed";
    }
    return Status::Corruption(where + ": the compression table is not a zlib stream of " + std::to_string(count) +
                              " 16-bit entries (" + why + ")");
  }
  std::vector<uint16_t> entries(static_cast<size_t>(count));
  for (size_t i = 0; i < entries.size(); ++i) entries[i] = static_cast<uint16_t>(table[2 * i] | (table[2 * i + 1] << 8));
  return entries;
}

}  // namespace

Result<std::shared_ptr<RandomAccessFile>> open_track(std::shared_ptr<RandomAccessFile> data, const Track& track,
                                                     std::shared_ptr<const mds_crypto::Lrw> cipher) {
  const std::string where = "'" + data->name() + "': " + track.what;
  const uint64_t size = data->size();
  const uint64_t group_bytes = uint64_t{track.group_sectors} * track.sector_size;
  if (track.group_sectors == 0 || group_bytes == 0 || group_bytes > kMaxGroupBytes) {
    return Status::Corruption(where + ": " + std::to_string(track.group_sectors) + " sectors of " +
                              std::to_string(track.sector_size) + " bytes per compression group (footer offset 12) is not 1.." +
                              std::to_string(kMaxGroupBytes) + " bytes");
  }
  const uint64_t groups = track.sectors / track.group_sectors + (track.sectors % track.group_sectors != 0 ? 1 : 0);
  if (track.sectors == 0 || groups > kMaxGroups) {
    return Status::Corruption(where + ": " + std::to_string(track.sectors) + " compressed sectors (footer offset 16) give " +
                              std::to_string(groups) + " compression groups (1.." + std::to_string(kMaxGroups) + ")");
  }
  if (track.offset > size || track.table_offset >= size - track.offset) {
    return Status::Corruption(where + ": compression table at offset " + std::to_string(track.offset) + " + " +
                              std::to_string(track.table_offset) + " (footer offset 24) is not inside the data file (" +
                              std::to_string(size) + " bytes)");
  }
  auto entries = read_table(*data, track.offset + track.table_offset, groups,
                            where + ": offset " + std::to_string(track.offset + track.table_offset));
  if (!entries.ok()) return entries.status();
  // The index: where every kCheckpointEvery-th group starts; every group must lie inside the file.
  std::vector<uint64_t> checkpoints;
  checkpoints.reserve(static_cast<size_t>(groups / kCheckpointEvery + 1));
  uint64_t at = 0;
  for (uint64_t g = 0; g < groups; ++g) {
    if (g % kCheckpointEvery == 0) checkpoints.push_back(at);
    const bool last = g + 1 == groups;
    const uint64_t sectors = last ? track.sectors - g * track.group_sectors : track.group_sectors;
    const uint16_t e = (*entries)[static_cast<size_t>(g)];
    const uint64_t stored = e == 0 ? sectors * track.sector_size : stored_size(e, group_bytes);
    if (stored > size - track.offset - at) {
      return Status::Corruption(where + ": compression group " + std::to_string(g) + " (table entry 0x" +
                                hex4(e) +
                                ") at offset " + std::to_string(track.offset + at) + ", " + std::to_string(stored) +
                                " bytes, runs past the end of the data file (" + std::to_string(size) + " bytes)");
    }
    at += stored_size(e, group_bytes);
  }
  return std::shared_ptr<RandomAccessFile>(std::make_shared<ChunkedTrack>(
      std::move(data), track, std::move(entries).value(), std::move(checkpoints), std::move(cipher)));
}

Packed pack_track(std::span<const uint8_t> plain, uint32_t sector_size, uint32_t group_sectors,
                  const mds_crypto::Lrw* cipher, uint32_t raw_every) {
  Packed p;
  const uint64_t group_bytes = uint64_t{group_sectors} * sector_size;
  std::vector<uint8_t> table;
  std::vector<uint8_t> packed(compressBound(static_cast<uLong>(group_bytes)));
  for (uint64_t g = 0; g * group_bytes < plain.size(); ++g) {
    const std::span<const uint8_t> group = plain.subspan(static_cast<size_t>(g * group_bytes)).first(
        static_cast<size_t>(std::min<uint64_t>(group_bytes, plain.size() - g * group_bytes)));
    uint16_t entry = 0;
    std::span<const uint8_t> stored = group;
    if (std::all_of(group.begin(), group.end(), [&](uint8_t b) { return b == group[0]; })) {
      entry = static_cast<uint16_t>(kFilled | group[0]);
      stored = {};
    } else if (raw_every == 0 || (g + 1) % raw_every != 0) {
      z_stream z{};
      deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
      z.next_in = const_cast<uint8_t*>(group.data());
      z.avail_in = static_cast<uInt>(group.size());
      z.next_out = packed.data();
      z.avail_out = static_cast<uInt>(packed.size());
      const int rc = deflate(&z, Z_FINISH);
      const uint64_t n = z.total_out;
      deflateEnd(&z);
      // Kept deflated only when smaller and its size fits an entry (below bit 15).
      if (rc == Z_STREAM_END && n < group.size() && n < kFilled) {
        entry = static_cast<uint16_t>(n);
        stored = std::span<const uint8_t>(packed.data(), static_cast<size_t>(n));
      }
    }
    const size_t from = p.bytes.size();
    p.bytes.insert(p.bytes.end(), stored.begin(), stored.end());
    if (cipher != nullptr) {
      crypt(*cipher, std::span<uint8_t>(p.bytes).subspan(from), sector_size, g * group_sectors, false);
    }
    table.push_back(static_cast<uint8_t>(entry));
    table.push_back(static_cast<uint8_t>(entry >> 8));
  }
  p.table_offset = p.bytes.size();
  std::vector<uint8_t> z(compressBound(static_cast<uLong>(table.size())));
  uLongf z_size = static_cast<uLongf>(z.size());
  compress2(z.data(), &z_size, table.data(), static_cast<uLong>(table.size()), 9);
  p.bytes.insert(p.bytes.end(), z.begin(), z.begin() + static_cast<std::ptrdiff_t>(z_size));
  return p;
}

}  // namespace udisc::formats::mds_chunks
