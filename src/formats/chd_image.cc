// CHD reader (docs/formats/chd.md). Facts relied on, all big-endian:
//
//   Header (v5, 124 bytes): "MComprHD", length, version, 4 codec tags,
//     logical bytes, map offset, metadata offset, hunk bytes, unit bytes,
//     raw SHA-1, SHA-1, parent SHA-1.
//   Header (v3 120 / v4 108 bytes): flags (bit 0: has a parent), one
//     compression type (0 none, 1 zlib, 2 zlib+), total hunks, logical bytes,
//     metadata offset, hunk bytes, SHA-1s; the map follows the header.
//   Map (v5, compressed): 16-byte header (compressed length, first hunk
//     offset (48 bits), CRC-16 of the decoded map, bit widths of length /
//     self / parent fields), then a Huffman-coded (RLE tree, 16 codes, 8
//     bits) list of per-hunk compression types with run-length codes, then
//     per-hunk fields. Map (v5, no codecs): 4-byte hunk numbers, 0 = absent.
//   Map (v3/v4): 16 bytes per hunk: offset, CRC-32, 24-bit length, flags.
//   Metadata: a chain of (tag, flags, 24-bit length, next offset) headers.
//   CD layout: 2448-byte frames (2352 sector + 96 sub-channel), tracks in
//     order, each padded to a multiple of 4 frames; audio samples big-endian.
#include "formats/chd_image.h"

#include "crypto/digest.h"
#include "util/per_thread.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <array>
#include <cstring>
#include <list>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "disc/ecma130.h"
#include "disc/subchannel.h"
#include "formats/chd_codecs.h"
#include "formats/companions.h"

namespace udisc::formats {
namespace {

using chd::kCdFrameBytes;
using chd::kCdSectorBytes;
using chd::kCdSubcodeBytes;
using disc::TrackMode;

constexpr uint32_t kRaw = disc::kRawSectorSize;
constexpr uint32_t kSub = disc::kSubchannelSize;
constexpr std::string_view kSignature = "MComprHD";
constexpr uint32_t kV5HeaderBytes = 124;
constexpr uint32_t kV4HeaderBytes = 108;
constexpr uint32_t kV3HeaderBytes = 120;
constexpr uint32_t kMaxHunkBytes = 4u << 20;       // chdman writes at most 1 MiB; refuse the absurd
constexpr int kMaxMetadataEntries = 4096;
constexpr uint32_t kMaxMetadataBytes = 1u << 20;
constexpr int kCdTrackPadding = 4;                 // frames: each CD track is padded to a multiple of this
constexpr int64_t kMaxCdFrames = 4 * 100 * 60 * 75;
constexpr int kMaxSelfDepth = 4;

uint64_t be(std::span<const uint8_t> p, size_t at, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | p[at + i];
  return v;
}

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

bool all_zero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

std::string tag_name(uint32_t tag) {
  std::string s;
  for (int shift = 24; shift >= 0; shift -= 8) {
    const char c = static_cast<char>((tag >> shift) & 0xFF);
    s.push_back(c >= 0x20 && c <= 0x7E ? c : '?');
  }
  return s;
}

// ---- Header and map ------------------------------------------------------------

struct Header {
  uint32_t version = 0;
  std::array<uint32_t, 4> codecs{};  // v5; v3/v4 zlib becomes codecs[0] = zlib
  uint64_t logical_bytes = 0;
  uint64_t map_offset = 0;
  uint64_t meta_offset = 0;
  uint32_t hunk_bytes = 0;
  uint32_t unit_bytes = 0;
  uint64_t hunk_count = 0;
  std::array<uint8_t, 20> raw_sha1{};
  std::array<uint8_t, 20> sha1{};  // data and metadata: what a child names its parent by
  std::array<uint8_t, 20> parent_sha1{};
  bool has_parent = false;
};

enum class HunkKind : uint8_t { codec, raw, self, parent, zero, mini };
enum class HunkCheck : uint8_t { none, crc16, crc32 };

struct MapEntry {
  uint64_t offset = 0;  // file offset; hunk number (self); unit number (parent); value (mini)
  uint32_t length = 0;  // stored bytes
  uint32_t crc = 0;
  uint32_t codec = 0;
  HunkKind kind = HunkKind::zero;
  HunkCheck check = HunkCheck::none;
};

// v5 compressed-map hunk types.
enum : uint8_t {
  kMapCodec0 = 0,
  kMapCodec3 = 3,
  kMapNone = 4,
  kMapSelf = 5,
  kMapParent = 6,
  kMapRleSmall = 7,
  kMapRleLarge = 8,
  kMapSelf0 = 9,
  kMapSelf1 = 10,
  kMapParentSelf = 11,
  kMapParent0 = 12,
  kMapParent1 = 13,
};

Status header_error(const std::string& name, const std::string& what) {
  return Status::Corruption("'" + name + "': CHD header: " + what);
}

Result<Header> read_header(const RandomAccessFile& file, uint64_t max_hunks) {
  const std::string& name = file.name();
  std::array<uint8_t, kV5HeaderBytes> h{};
  if (file.size() < 16) return header_error(name, "file of " + std::to_string(file.size()) + " bytes is too short");
  const size_t have = static_cast<size_t>(std::min<uint64_t>(file.size(), h.size()));
  if (Status s = file.read_at(0, std::span<uint8_t>(h.data(), have)); !s.ok()) return s;
  if (std::memcmp(h.data(), kSignature.data(), kSignature.size()) != 0) return header_error(name, "no 'MComprHD' signature");
  Header out;
  const auto length = static_cast<uint32_t>(be(h, 8, 4));
  out.version = static_cast<uint32_t>(be(h, 12, 4));
  const uint32_t expected = out.version == 5 ? kV5HeaderBytes : out.version == 4 ? kV4HeaderBytes
                                                            : out.version == 3 ? kV3HeaderBytes
                                                                               : 0;
  if (expected == 0) {
    return Status::NotSupported("'" + name + "': CHD version " + std::to_string(out.version) +
                                " is not supported (versions 3, 4 and 5 are)");
  }
  if (length != expected) {
    return header_error(name, "length field is " + std::to_string(length) + ", version " +
                                  std::to_string(out.version) + " headers are " + std::to_string(expected) + " bytes");
  }
  if (have < expected) return header_error(name, "file ends inside the " + std::to_string(expected) + "-byte header");
  if (out.version == 5) {
    for (size_t i = 0; i < 4; ++i) out.codecs[i] = static_cast<uint32_t>(be(h, 16 + 4 * i, 4));
    out.logical_bytes = be(h, 32, 8);
    out.map_offset = be(h, 40, 8);
    out.meta_offset = be(h, 48, 8);
    out.hunk_bytes = static_cast<uint32_t>(be(h, 56, 4));
    out.unit_bytes = static_cast<uint32_t>(be(h, 60, 4));
    std::copy_n(h.begin() + 64, 20, out.raw_sha1.begin());
    std::copy_n(h.begin() + 84, 20, out.sha1.begin());
    std::copy_n(h.begin() + 104, 20, out.parent_sha1.begin());
    out.has_parent = !all_zero(out.parent_sha1);
    if (out.hunk_bytes != 0) out.hunk_count = (out.logical_bytes + out.hunk_bytes - 1) / out.hunk_bytes;
  } else {
    const auto flags = static_cast<uint32_t>(be(h, 16, 4));
    const auto compression = static_cast<uint32_t>(be(h, 20, 4));
    out.hunk_count = be(h, 24, 4);
    out.logical_bytes = be(h, 28, 8);
    out.meta_offset = be(h, 36, 8);
    if (out.version == 4) {
      out.hunk_bytes = static_cast<uint32_t>(be(h, 44, 4));
      std::copy_n(h.begin() + 48, 20, out.sha1.begin());
      std::copy_n(h.begin() + 68, 20, out.parent_sha1.begin());
      std::copy_n(h.begin() + 88, 20, out.raw_sha1.begin());
    } else {
      out.hunk_bytes = static_cast<uint32_t>(be(h, 76, 4));
      std::copy_n(h.begin() + 100, 20, out.parent_sha1.begin());
      std::copy_n(h.begin() + 80, 20, out.raw_sha1.begin());  // v3 SHA-1 is of the data
      out.sha1 = out.raw_sha1;
    }
    out.has_parent = (flags & 1) != 0;
    out.map_offset = expected;
    if (compression > 2) {
      return Status::NotSupported("'" + name + "': CHD v" + std::to_string(out.version) + " compression type " +
                                  std::to_string(compression) + (compression == 3 ? " (A/V Huffman)" : "") +
                                  " is not supported");
    }
    out.codecs[0] = compression == 0 ? chd::kCodecNone : chd::kCodecZlib;
    out.unit_bytes = out.hunk_bytes;  // refined from metadata (CD frames)
  }
  if (out.hunk_bytes == 0 || out.hunk_bytes > kMaxHunkBytes) {
    return header_error(name, "hunk size " + std::to_string(out.hunk_bytes) + " is outside 1.." +
                                  std::to_string(kMaxHunkBytes));
  }
  if (out.hunk_count == 0 || out.hunk_count > max_hunks) {
    return header_error(name, std::to_string(out.hunk_count) + " hunks (logical size " +
                                  std::to_string(out.logical_bytes) + ") is outside 1.." + std::to_string(max_hunks));
  }
  if (out.logical_bytes > out.hunk_count * out.hunk_bytes) {
    return header_error(name, "logical size " + std::to_string(out.logical_bytes) + " exceeds " +
                                  std::to_string(out.hunk_count) + " hunks of " + std::to_string(out.hunk_bytes));
  }
  if (out.version == 5) {
    if (out.unit_bytes == 0 || out.hunk_bytes % out.unit_bytes != 0) {
      return header_error(name, "unit size " + std::to_string(out.unit_bytes) + " does not divide the hunk size " +
                                    std::to_string(out.hunk_bytes));
    }
    for (uint32_t c : out.codecs) {
      if (c != chd::kCodecNone && !chd::codec_supported(c)) {
        return Status::NotSupported("'" + name + "': CHD codec '" + chd::codec_name(c) +
                                    "' is not supported (zlib, lzma, huff, flac, zstd, cdzl, cdlz, cdfl, cdzs are)");
      }
    }
  }
  return out;
}

Status map_error(const std::string& name, const std::string& what) {
  return Status::Corruption("'" + name + "': CHD map: " + what);
}

// The hunk map, read lazily so that opening reads metadata only. Entries of
// a plain map (v5 without codecs: 4 bytes per hunk; v3/v4: 16 bytes) are
// read from the file when a hunk is first decompressed. A compressed v5 map
// is a bit stream that can only be walked in order, so the first hunk look-up
// walks it once (checking its CRC) and keeps, every kMapPiece hunks, where
// the walk was; a look-up then decodes just that piece of kMapPiece entries
// into a small LRU of pieces. Memory: the compressed map, one checkpoint per
// kMapPiece hunks and at most kMapPiecesCached decoded pieces.
constexpr uint64_t kMapPiece = 1024;
constexpr size_t kMapPiecesCached = 64;  // 64 x 1024 entries x 24 bytes = 1.5 MiB

class HunkMap {
 public:
  // Checks where the map lies; reads nothing else.
  static Result<std::unique_ptr<HunkMap>> open(std::shared_ptr<RandomAccessFile> file, const Header& h) {
    auto map = std::unique_ptr<HunkMap>(new HunkMap(std::move(file), h));
    const std::string& name = map->file_->name();
    const uint64_t size = map->file_->size();
    if (h.version != 5 || h.codecs[0] == chd::kCodecNone) {
      const uint64_t bytes = h.hunk_count * (h.version == 5 ? 4 : 16);
      if (h.map_offset > size || bytes > size - h.map_offset) {
        return map_error(name, "the " + std::to_string(bytes) + "-byte map at offset " + std::to_string(h.map_offset) +
                                   " runs past the end of the file (" + std::to_string(size) + " bytes)");
      }
      return map;
    }
    std::array<uint8_t, 16> mh{};
    if (h.map_offset > size || size - h.map_offset < mh.size()) {
      return map_error(name, "map header at offset " + std::to_string(h.map_offset) + " lies past the end of the file");
    }
    if (Status s = map->file_->read_at(h.map_offset, mh); !s.ok()) return s;
    map->compressed_bytes_ = be(mh, 0, 4);
    map->first_offset_ = be(mh, 4, 6);
    map->map_crc_ = static_cast<uint16_t>(be(mh, 10, 2));
    map->length_bits_ = mh[12];
    map->self_bits_ = mh[13];
    map->parent_bits_ = mh[14];
    if (map->length_bits_ > 32 || map->self_bits_ > 32 || map->parent_bits_ > 32) {
      return map_error(name, "field widths " + std::to_string(map->length_bits_) + "/" + std::to_string(map->self_bits_) +
                                 "/" + std::to_string(map->parent_bits_) + " bits exceed 32");
    }
    if (map->compressed_bytes_ > size - h.map_offset - mh.size()) {
      return map_error(name, "compressed map of " + std::to_string(map->compressed_bytes_) +
                                 " bytes runs past the end of the file");
    }
    map->compressed_ = true;
    return map;
  }

  uint64_t size() const { return header_.hunk_count; }

  // The entry of hunk `i` (< size()); errors are Corruption naming the map.
  Result<MapEntry> entry(uint64_t i) const {
    if (i >= size()) return Status::Corruption("hunk number beyond the map");
    if (!compressed_) return plain_entry(i);
    std::call_once(indexed_, [this] { index_status_ = index(); });
    if (!index_status_.ok()) return index_status_;
    const uint64_t k = i / kMapPiece;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = pieces_.begin(); it != pieces_.end(); ++it) {
        if (it->first == k) {
          pieces_.splice(pieces_.begin(), pieces_, it);
          return (*it->second)[i % kMapPiece];
        }
      }
    }
    auto decoded = std::make_shared<std::vector<MapEntry>>();
    Walk walk = checkpoints_[k];
    const uint64_t end = std::min(size(), (k + 1) * kMapPiece);
    decoded->reserve(static_cast<size_t>(end - k * kMapPiece));
    for (uint64_t h = k * kMapPiece; h < end; ++h) {
      MapEntry e;
      if (Status s = step(walk, h, e, nullptr); !s.ok()) return s;
      decoded->push_back(e);
    }
    const MapEntry out = (*decoded)[i % kMapPiece];
    std::lock_guard<std::mutex> lock(mu_);
    pieces_.emplace_front(k, std::move(decoded));
    if (pieces_.size() > kMapPiecesCached) pieces_.pop_back();
    return out;
  }

 private:
  HunkMap(std::shared_ptr<RandomAccessFile> file, const Header& h) : file_(std::move(file)), header_(h) {}

  // Where a walk of the compressed map is: both bit streams (hunk types
  // first, then per-hunk fields) and the running values entries refer to.
  struct Walk {
    chd::BitReader types{{}};
    chd::BitReader fields{{}};
    uint8_t last_type = 0;
    uint32_t repeat = 0;
    uint64_t cursor = 0, last_self = 0, last_parent = 0;
  };

  int next_type(Walk& w) const {
    if (w.repeat > 0) {
      --w.repeat;
      return w.last_type;
    }
    const int v = tree_.decode_one(w.types);
    if (v < 0) return -1;
    if (v == kMapRleSmall) {
      w.repeat = 2 + static_cast<uint32_t>(std::max(0, tree_.decode_one(w.types)));
      return w.last_type;
    }
    if (v == kMapRleLarge) {
      w.repeat = 2 + 16 + (static_cast<uint32_t>(std::max(0, tree_.decode_one(w.types))) << 4);
      w.repeat += static_cast<uint32_t>(std::max(0, tree_.decode_one(w.types)));
      return w.last_type;
    }
    w.last_type = static_cast<uint8_t>(v);
    return v;
  }

  // Hunk `i`'s entry; `crc` (when given) continues over the map's CRC record.
  Status step(Walk& w, uint64_t i, MapEntry& e, uint16_t* crc) const {
    const std::string& name = file_->name();
    const int t = next_type(w);
    if (t < 0) return map_error(name, "hunk " + std::to_string(i) + ": bits that are no Huffman code");
    auto type = static_cast<uint8_t>(t);
    uint64_t offset = w.cursor;
    uint32_t length = 0;
    uint16_t hunk_crc = 0;
    const uint64_t units_per_hunk = header_.hunk_bytes / header_.unit_bytes;
    switch (type) {
      case 0:
      case 1:
      case 2:
      case kMapCodec3:
        length = w.fields.read(length_bits_);
        w.cursor += length;
        hunk_crc = static_cast<uint16_t>(w.fields.read(16));
        e.kind = HunkKind::codec;
        e.codec = header_.codecs[type];
        if (e.codec == chd::kCodecNone) {
          return map_error(name, "hunk " + std::to_string(i) + " uses codec slot " + std::to_string(type) +
                                     ", which the header leaves empty");
        }
        break;
      case kMapNone:
        length = header_.hunk_bytes;
        w.cursor += length;
        hunk_crc = static_cast<uint16_t>(w.fields.read(16));
        e.kind = HunkKind::raw;
        break;
      case kMapSelf:
        w.last_self = offset = w.fields.read(self_bits_);
        e.kind = HunkKind::self;
        break;
      case kMapParent:
        w.last_parent = offset = w.fields.read(parent_bits_);
        e.kind = HunkKind::parent;
        break;
      case kMapSelf1:
        ++w.last_self;
        [[fallthrough]];
      case kMapSelf0:
        type = kMapSelf;
        offset = w.last_self;
        e.kind = HunkKind::self;
        break;
      case kMapParentSelf:
        type = kMapParent;
        w.last_parent = offset = i * units_per_hunk;
        e.kind = HunkKind::parent;
        break;
      case kMapParent1:
        w.last_parent += units_per_hunk;
        [[fallthrough]];
      case kMapParent0:
        type = kMapParent;
        offset = w.last_parent;
        e.kind = HunkKind::parent;
        break;
      default:
        return map_error(name, "hunk " + std::to_string(i) + " has compression type " + std::to_string(type) +
                                   ", which no CHD uses");
    }
    e.offset = offset;
    e.length = length;
    e.crc = hunk_crc;
    e.check = (e.kind == HunkKind::codec || e.kind == HunkKind::raw) ? HunkCheck::crc16 : HunkCheck::none;
    if (crc != nullptr) {
      // The CRC covers the map as MAME lays it out in memory: 12 bytes per
      // hunk (type, 24-bit length, 48-bit offset, CRC-16).
      std::array<uint8_t, 12> r{};
      r[0] = type;
      for (int k = 0; k < 3; ++k) r[1 + k] = static_cast<uint8_t>(length >> (16 - 8 * k));
      for (int k = 0; k < 6; ++k) r[4 + k] = static_cast<uint8_t>(offset >> (40 - 8 * k));
      r[10] = static_cast<uint8_t>(hunk_crc >> 8);
      r[11] = static_cast<uint8_t>(hunk_crc);
      *crc = chd::crc16(r, *crc);
    }
    return Status::Ok();
  }

  // The one walk of the whole compressed map: its CRC, and a checkpoint
  // every kMapPiece hunks.
  Status index() const {
    const std::string& name = file_->name();
    bits_.resize(static_cast<size_t>(compressed_bytes_));
    if (Status s = file_->read_at(header_.map_offset + 16, bits_); !s.ok()) return s;
    Walk w;
    w.types = chd::BitReader(bits_);
    if (Status s = tree_.import_tree_rle(w.types); !s.ok()) return map_error(name, s.message());
    // The fields follow the last hunk's type: walk the types alone first.
    Walk types_only = w;
    for (uint64_t i = 0; i < size(); ++i) {
      if (next_type(types_only) < 0) return map_error(name, "hunk " + std::to_string(i) + ": bits that are no Huffman code");
    }
    if (types_only.types.overflow()) return map_error(name, "the compressed map ends inside its hunk types");
    w.fields = types_only.types;
    w.cursor = first_offset_;
    checkpoints_.reserve(static_cast<size_t>((size() + kMapPiece - 1) / kMapPiece));
    uint16_t crc = 0xFFFF;
    for (uint64_t i = 0; i < size(); ++i) {
      if (i % kMapPiece == 0) checkpoints_.push_back(w);
      MapEntry e;
      if (Status s = step(w, i, e, &crc); !s.ok()) return s;
    }
    if (w.fields.overflow()) return map_error(name, "the compressed map ends before its last hunk");
    if (crc != map_crc_) {
      return map_error(name, "CRC-16 of the decoded map is " + std::to_string(crc) + ", the header says " +
                                 std::to_string(map_crc_));
    }
    return Status::Ok();
  }

  Result<MapEntry> plain_entry(uint64_t i) const {
    const Header& h = header_;
    MapEntry e;
    if (h.version == 5) {
      std::array<uint8_t, 4> r{};
      if (Status s = file_->read_at(h.map_offset + i * 4, r); !s.ok()) return s;
      const uint64_t block = be(r, 0, 4);
      if (block != 0) {
        e.kind = HunkKind::raw;
        e.offset = block * h.hunk_bytes;
        e.length = h.hunk_bytes;
      } else if (h.has_parent) {  // a child's hunk not stored: the parent's of the same number
        e.kind = HunkKind::parent;
        e.offset = i * (h.hunk_bytes / h.unit_bytes);
      }
      return e;
    }
    std::array<uint8_t, 16> r{};
    if (Status s = file_->read_at(h.map_offset + i * 16, r); !s.ok()) return s;
    e.offset = be(r, 0, 8);
    e.crc = static_cast<uint32_t>(be(r, 8, 4));
    e.length = static_cast<uint32_t>(be(r, 12, 2) | (uint64_t{r[14]} << 16));
    const uint8_t flags = r[15];
    e.check = (flags & 0x10) ? HunkCheck::none : HunkCheck::crc32;
    switch (flags & 0x0F) {
      case 1: e.kind = HunkKind::codec; e.codec = chd::kCodecZlib; break;
      case 2: e.kind = HunkKind::raw; e.length = h.hunk_bytes; break;
      case 3: e.kind = HunkKind::mini; break;
      case 4: e.kind = HunkKind::self; break;
      case 5: e.kind = HunkKind::parent; break;
      default:
        return map_error(file_->name(), "hunk " + std::to_string(i) + " has entry type " +
                                            std::to_string(flags & 0x0F) + ", which v" + std::to_string(h.version) +
                                            " maps do not use");
    }
    return e;
  }

  std::shared_ptr<RandomAccessFile> file_;
  Header header_;
  bool compressed_ = false;
  uint64_t compressed_bytes_ = 0, first_offset_ = 0;
  uint16_t map_crc_ = 0;
  int length_bits_ = 0, self_bits_ = 0, parent_bits_ = 0;

  // Built once by index(), read-only afterwards.
  mutable std::once_flag indexed_;
  mutable Status index_status_;
  mutable std::vector<uint8_t> bits_;
  mutable chd::HuffmanDecoder tree_{16, 8};
  mutable std::vector<Walk> checkpoints_;

  mutable std::mutex mu_;  // guards pieces_
  mutable std::list<std::pair<uint64_t, std::shared_ptr<const std::vector<MapEntry>>>> pieces_;  // most recent first
};

// ---- Metadata ------------------------------------------------------------------

struct Metadata {
  uint32_t tag = 0;
  std::vector<uint8_t> data;
  std::string text() const {
    std::string s(data.begin(), data.end());
    const size_t nul = s.find('\0');
    if (nul != std::string::npos) s.resize(nul);
    return s;
  }
};

Result<std::vector<Metadata>> read_metadata(const RandomAccessFile& file, const Header& h) {
  const std::string& name = file.name();
  std::vector<Metadata> out;
  uint64_t offset = h.meta_offset;
  for (int n = 0; offset != 0; ++n) {
    if (n >= kMaxMetadataEntries) {
      return Status::Corruption("'" + name + "': CHD metadata: more than " + std::to_string(kMaxMetadataEntries) +
                                " entries (or a loop in the chain)");
    }
    std::array<uint8_t, 16> mh{};
    if (offset > file.size() || file.size() - offset < mh.size()) {
      return Status::Corruption("'" + name + "': CHD metadata entry " + std::to_string(n) + " at offset " +
                                std::to_string(offset) + " lies past the end of the file");
    }
    if (Status s = file.read_at(offset, mh); !s.ok()) return s;
    Metadata m;
    m.tag = static_cast<uint32_t>(be(mh, 0, 4));
    const auto length = static_cast<uint32_t>(be(mh, 5, 3));
    const uint64_t next = be(mh, 8, 8);
    if (length > kMaxMetadataBytes || length > file.size() - offset - mh.size()) {
      return Status::Corruption("'" + name + "': CHD metadata entry " + std::to_string(n) + " ('" + tag_name(m.tag) +
                                "') of " + std::to_string(length) + " bytes runs past the end of the file");
    }
    m.data.resize(length);
    if (Status s = file.read_at(offset + mh.size(), m.data); !s.ok()) return s;
    out.push_back(std::move(m));
    offset = next;
  }
  return out;
}

// ---- CD track metadata -----------------------------------------------------------

constexpr uint32_t kTagCht2 = chd::codec_tag("CHT2");
constexpr uint32_t kTagChtr = chd::codec_tag("CHTR");
constexpr uint32_t kTagChcd = chd::codec_tag("CHCD");
constexpr uint32_t kTagChgd = chd::codec_tag("CHGD");
constexpr uint32_t kTagDvd = chd::codec_tag("DVD ");
constexpr uint32_t kTagAv = chd::codec_tag("AVAV");

// A CHD track type (MAME cdrom_file track types, in the order CHCD numbers them).
struct TrackType {
  const char* name;
  uint32_t data_bytes;  // bytes of each frame the track stores
  TrackMode mode;       // mode2 types are refined from the subheader
  bool probe_xa;
};
constexpr std::array<TrackType, 8> kTrackTypes = {{
    {"MODE1", 2048, TrackMode::mode1, false},
    {"MODE1_RAW", 2352, TrackMode::mode1, false},
    {"MODE2", 2336, TrackMode::mode2_form1, true},
    {"MODE2_FORM1", 2048, TrackMode::mode2_form1, false},
    {"MODE2_FORM2", 2324, TrackMode::mode2_form2, false},
    {"MODE2_FORM_MIX", 2336, TrackMode::mode2_form1, true},
    {"MODE2_RAW", 2352, TrackMode::mode2_form1, true},
    {"AUDIO", 2352, TrackMode::audio, false},
}};
constexpr std::array<const char*, 3> kSubTypes = {"RW", "RW_RAW", "NONE"};

struct CdTrack {
  int number = 0;
  size_t type = 0;
  bool sub_stored = false;
  int64_t frames = 0;       // stored frames (pregap included when pregap_stored)
  int64_t pad_frames = 0;   // frames after the track in the CHD
  int64_t pregap = 0;
  bool pregap_stored = false;
  int64_t postgap = 0;
};

std::optional<size_t> track_type(std::string_view name) {
  for (size_t i = 0; i < kTrackTypes.size(); ++i) {
    if (name == kTrackTypes[i].name) return i;
  }
  return std::nullopt;
}

// "KEY:VALUE KEY:VALUE ..." as CHT2 / CHTR write them.
Result<CdTrack> parse_track_text(const std::string& text, const std::string& where) {
  CdTrack t;
  bool have_track = false, have_type = false, have_frames = false;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t end = std::min(text.find(' ', i), text.size());
    const std::string word = text.substr(i, end - i);
    i = end;
    if (word.empty()) continue;
    const size_t colon = word.find(':');
    if (colon == std::string::npos) return Status::Corruption(where + ": '" + word + "' is not KEY:VALUE");
    const std::string key = word.substr(0, colon), value = word.substr(colon + 1);
    auto number = [&](int64_t limit) -> Result<int64_t> {
      if (value.empty() || value.size() > 9 || !std::all_of(value.begin(), value.end(), ::isdigit)) {
        return Status::Corruption(where + ": " + key + " '" + value + "' is not a number");
      }
      const int64_t v = std::stoll(value);
      if (v > limit) return Status::Corruption(where + ": " + key + " " + value + " exceeds " + std::to_string(limit));
      return v;
    };
    if (key == "TRACK") {
      auto v = number(99);
      if (!v.ok()) return v.status();
      t.number = static_cast<int>(*v);
      have_track = true;
    } else if (key == "TYPE") {
      auto type = track_type(value);
      if (!type) return Status::Corruption(where + ": unknown track TYPE '" + value + "'");
      t.type = *type;
      have_type = true;
    } else if (key == "SUBTYPE") {
      if (std::find_if(kSubTypes.begin(), kSubTypes.end(), [&](const char* s) { return value == s; }) ==
          kSubTypes.end()) {
        return Status::Corruption(where + ": unknown SUBTYPE '" + value + "'");
      }
      t.sub_stored = value != "NONE";
    } else if (key == "FRAMES") {
      auto v = number(kMaxCdFrames);
      if (!v.ok()) return v.status();
      t.frames = *v;
      have_frames = true;
    } else if (key == "PREGAP") {
      auto v = number(kMaxCdFrames);
      if (!v.ok()) return v.status();
      t.pregap = *v;
    } else if (key == "PGTYPE") {
      // 'V' before the type: the pregap's sectors are stored with the track.
      t.pregap_stored = !value.empty() && value[0] == 'V';
    } else if (key == "POSTGAP") {
      auto v = number(kMaxCdFrames);
      if (!v.ok()) return v.status();
      t.postgap = *v;
    }
    // PGSUB and keys of later versions carry nothing we model.
  }
  if (!have_track || !have_type || !have_frames) {
    return Status::Corruption(where + ": needs TRACK, TYPE and FRAMES ('" + text + "')");
  }
  if (t.pregap_stored && t.pregap >= t.frames) {
    return Status::Corruption(where + ": stored PREGAP " + std::to_string(t.pregap) + " is not shorter than FRAMES " +
                              std::to_string(t.frames));
  }
  t.pad_frames = (kCdTrackPadding - t.frames % kCdTrackPadding) % kCdTrackPadding;
  return t;
}

// CHCD: the oldest CD metadata, binary: track count, then 99 records of six
// 32-bit values (type, sub type, data size, sub size, frames, extra frames),
// in the byte order of the machine that wrote it.
Result<std::vector<CdTrack>> parse_chcd(const std::vector<uint8_t>& data, const std::string& where) {
  constexpr size_t kRecords = 99, kRecordBytes = 24;
  if (data.size() < 4 + kRecords * kRecordBytes) {
    return Status::Corruption(where + ": " + std::to_string(data.size()) + " bytes, expected " +
                              std::to_string(4 + kRecords * kRecordBytes));
  }
  auto word = [&](size_t at, bool big) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) v |= uint32_t{data[at + k]} << (big ? 24 - 8 * k : 8 * k);
    return v;
  };
  bool big = true;
  uint32_t count = word(0, true);
  if (count == 0 || count > kRecords) {
    big = false;
    count = word(0, false);
  }
  if (count == 0 || count > kRecords) return Status::Corruption(where + ": track count is not 1..99");
  std::vector<CdTrack> out;
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = 4 + i * kRecordBytes;
    CdTrack t;
    t.number = static_cast<int>(i + 1);
    const uint32_t type = word(at, big), sub = word(at + 4, big);
    if (type >= kTrackTypes.size() || sub >= kSubTypes.size()) {
      return Status::Corruption(where + ": track " + std::to_string(i + 1) + " has type " + std::to_string(type) +
                                " / sub type " + std::to_string(sub));
    }
    t.type = type;
    t.sub_stored = sub != 2;
    t.frames = word(at + 16, big);
    t.pad_frames = word(at + 20, big);
    if (t.frames > kMaxCdFrames || t.pad_frames > kMaxCdFrames) {
      return Status::Corruption(where + ": track " + std::to_string(i + 1) + " has " + std::to_string(t.frames) +
                                " frames");
    }
    out.push_back(t);
  }
  return out;
}

// ---- Hunk cache ----------------------------------------------------------------

using HunkPtr = std::shared_ptr<const uint8_t[]>;  // hunk_bytes bytes

class HunkCache {
 public:
  HunkCache(size_t bound_bytes, uint32_t hunk_bytes)
      : per_shard_(std::max<size_t>(1, bound_bytes / (kChdCacheShards * size_t{hunk_bytes}))), hunk_bytes_(hunk_bytes) {}

  // `*first_of_ahead` (when given): whether this is the first look-up of a
  // hunk read ahead.
  HunkPtr find(uint64_t hunk, bool* first_of_ahead = nullptr) {
    Shard& s = shard(hunk);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.index.find(hunk);
    if (it == s.index.end()) {
      ++s.misses;
      return nullptr;
    }
    ++s.hits;
    const bool fresh = s.ahead_unread.erase(hunk) != 0;
    if (first_of_ahead != nullptr) *first_of_ahead = fresh;
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return it->second->second;
  }

  // `hunk` if cached, counted as a hit in place of the miss just counted
  // (a hunk that read-ahead delivered while its reader waited).
  HunkPtr find_after_miss(uint64_t hunk) {
    Shard& s = shard(hunk);
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.index.find(hunk);
    if (it == s.index.end()) return nullptr;
    ++s.hits;
    --s.misses;
    s.ahead_unread.erase(hunk);
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return it->second->second;
  }

  // Whether `hunk` is cached; no statistics, no LRU change.
  bool contains(uint64_t hunk) {
    Shard& s = shard(hunk);
    std::lock_guard<std::mutex> lock(s.mu);
    return s.index.count(hunk) != 0;
  }

  void insert(uint64_t hunk, HunkPtr data, bool read_ahead = false) {
    Shard& s = shard(hunk);
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.index.count(hunk) != 0) return;  // another reader decompressed it meanwhile
    s.lru.emplace_front(hunk, std::move(data));
    s.index[hunk] = s.lru.begin();
    if (read_ahead) s.ahead_unread.insert(hunk);
    if (s.lru.size() > per_shard_) {
      s.index.erase(s.lru.back().first);
      s.ahead_unread.erase(s.lru.back().first);
      s.lru.pop_back();
    }
  }

  ChdCacheStats stats() {
    ChdCacheStats out;
    for (Shard& s : shards_) {
      std::lock_guard<std::mutex> lock(s.mu);
      out.hits += s.hits;
      out.misses += s.misses;
    }
    out.bound_bytes = per_shard_ * kChdCacheShards * hunk_bytes_;
    out.hunk_bytes = hunk_bytes_;
    return out;
  }

 private:
  struct Shard {
    std::mutex mu;
    std::list<std::pair<uint64_t, HunkPtr>> lru;  // most recent first
    std::unordered_map<uint64_t, std::list<std::pair<uint64_t, HunkPtr>>::iterator> index;
    std::unordered_set<uint64_t> ahead_unread;  // read ahead, not looked up yet
    uint64_t hits = 0, misses = 0;
  };
  // Neighbouring hunks land in different shards, so sequential and random
  // readers spread over all locks.
  Shard& shard(uint64_t hunk) { return shards_[hunk % kChdCacheShards]; }

  std::array<Shard, kChdCacheShards> shards_;
  size_t per_shard_;
  uint32_t hunk_bytes_;
};

// ---- Read-ahead ----------------------------------------------------------------

// One pool per process that decompresses hunks ahead of sequential readers,
// so a reader finds the next hunks ready instead of decompressing each in
// turn. Workers never wait for another hunk in flight (a self or parent
// reference decompresses it directly), so queued work cannot deadlock.
class ReadAheadPool {
 public:
  static ReadAheadPool& instance() {
    static ReadAheadPool pool;
    return pool;
  }
  // False when the queue is full (the hunk is then left to its reader).
  bool submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || queue_.size() >= kMaxQueued) return false;
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }
  static bool on_worker() { return worker_; }

 private:
  static constexpr size_t kMaxQueued = 64;
  ReadAheadPool() {
    const unsigned cpus = std::max(2u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < std::min(4u, cpus - 1); ++i) threads_.emplace_back([this] { run(); });
  }
  ~ReadAheadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      queue_.clear();
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  void run() {
    worker_ = true;
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }
  static inline thread_local bool worker_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// ---- The image -----------------------------------------------------------------

// A run of LBAs of one track: stored from CHD frame `frame` on, or not stored.
struct Extent {
  int32_t lba = 0;
  int32_t count = 0;
  size_t track = 0;
  bool stored = false;
  uint64_t frame = 0;
};

struct TrackFormat {
  size_t type = 0;           // kTrackTypes index; for DVD/raw images: MODE1 (2048)
  TrackMode mode = TrackMode::mode1;
  bool sub_stored = false;
};

class ChdImage final : public disc::Image, public std::enable_shared_from_this<ChdImage> {
 public:
  ChdImage(std::shared_ptr<RandomAccessFile> file, Header header, std::unique_ptr<HunkMap> map, size_t cache_bytes,
           uint32_t readahead_hunks)
      : file_(std::move(file)),
        header_(header),
        map_(std::move(map)),
        cache_(cache_bytes, header_.hunk_bytes),
        readahead_(readahead_hunks) {}

  const disc::Disc& disc() const override { return disc_; }
  std::string format_name() const override { return "chd"; }

  // CD images address 2448-byte frames; others 2048-byte sectors.
  bool cd() const { return cd_; }

  Status read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    const Extent* first = find(lba);
    if (first == nullptr || count == 0) return check_args(lba, count, out.size(), 0, "read_user");
    const uint32_t size = disc::user_data_size(formats_[first->track].mode);
    if (out.size() != static_cast<size_t>(count) * size) return check_args(lba, count, out.size(), size, "read_user");
    Cursor cursor(*this);
    for (uint32_t i = 0; i < count;) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const Extent* e = find(at);
      if (e == nullptr) return out_of_range(at);
      const TrackFormat& f = formats_[e->track];
      if (disc::user_data_size(f.mode) != size) {
        return Status::InvalidArgument("read_user: LBA " + std::to_string(at) + " (track " +
                                       std::to_string(disc_.tracks[e->track].number) +
                                       ") has a different user data size than LBA " + std::to_string(lba));
      }
      const uint32_t run = std::min<uint32_t>(count - i, static_cast<uint32_t>(e->lba + e->count - at));
      std::span<uint8_t> dst = out.subspan(static_cast<size_t>(i) * size, static_cast<size_t>(run) * size);
      if (!e->stored) {
        std::fill(dst.begin(), dst.end(), uint8_t{0});
      } else if (!cd_) {
        if (Status s = cursor.copy(e->frame * 2048 + static_cast<uint64_t>(at - e->lba) * 2048, dst, at); !s.ok()) return s;
      } else {
        const uint32_t offset = user_offset(f);
        for (uint32_t k = 0; k < run; ++k) {
          const int32_t sector = at + static_cast<int32_t>(k);
          std::span<uint8_t> one = dst.subspan(static_cast<size_t>(k) * size, size);
          if (Status s = cursor.copy(frame_offset(*e, sector) + offset, one, sector); !s.ok()) return s;
          if (f.mode == TrackMode::audio) swap_bytes(one);
        }
      }
      i += run;
    }
    return Status::Ok();
  }

  Status read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (out.size() != static_cast<size_t>(count) * kRaw) return check_args(lba, count, out.size(), kRaw, "read_raw");
    if (!disc::is_cd(disc_.disc_class)) {
      return Status::NotSupported("'" + file_->name() + "': raw CD sectors do not exist on a " +
                                  disc::to_string(disc_.disc_class) + " disc");
    }
    Cursor cursor(*this);
    std::array<uint8_t, kRaw> stored{};
    for (uint32_t i = 0; i < count; ++i) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const Extent* e = find(at);
      if (e == nullptr) return out_of_range(at);
      const TrackFormat& f = formats_[e->track];
      std::span<uint8_t, kRaw> dst(out.data() + static_cast<size_t>(i) * kRaw, kRaw);
      if (!e->stored) {
        disc::build_empty_sector(f.mode, at, dst);
        continue;
      }
      const uint32_t data_bytes = cd_ ? kTrackTypes[f.type].data_bytes : 2048;
      const uint64_t offset = cd_ ? frame_offset(*e, at) : (e->frame + static_cast<uint64_t>(at - e->lba)) * 2048;
      if (data_bytes == kRaw) {
        if (Status s = cursor.copy(offset, dst, at); !s.ok()) return s;
        if (f.mode == TrackMode::audio) swap_bytes(dst);
        continue;
      }
      std::span<uint8_t> part(stored.data(), data_bytes);
      if (Status s = cursor.copy(offset, part, at); !s.ok()) return s;
      if (Status s = disc::build_raw_sector(f.mode, at, part, dst); !s.ok()) return s.with_context("LBA " + std::to_string(at));
    }
    return Status::Ok();
  }

  Status read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (out.size() != static_cast<size_t>(count) * kSub) {
      return check_args(lba, count, out.size(), kSub, "read_subchannel");
    }
    Cursor cursor(*this);
    for (uint32_t i = 0; i < count; ++i) {
      const int32_t at = lba + static_cast<int32_t>(i);
      const Extent* e = find(at);
      if (e == nullptr) return out_of_range(at);
      std::span<uint8_t, kSub> dst(out.data() + static_cast<size_t>(i) * kSub, kSub);
      if (cd_ && e->stored && formats_[e->track].sub_stored) {
        if (Status s = cursor.copy(frame_offset(*e, at) + kCdSectorBytes, dst, at); !s.ok()) return s;
        continue;
      }
      disc::build_subchannel(disc_, at, dst);
    }
    return Status::Ok();
  }

  bool stores_raw(int32_t lba) const override {
    const Extent* e = find(lba);
    return cd_ && e != nullptr && e->stored && kTrackTypes[formats_[e->track].type].data_bytes == kRaw;
  }

  ChdCacheStats cache_stats() const { return cache_.stats(); }

  Result<ChdStoredHunk> stored_hunk(uint64_t h) const {
    if (h >= map_->size()) {
      return Status::OutOfRange("'" + file_->name() + "': hunk " + std::to_string(h) + " is past its " +
                                std::to_string(map_->size()) + " hunks");
    }
    auto entry = map_->entry(h);
    if (!entry.ok()) return entry.status();
    if (entry->kind != HunkKind::codec && entry->kind != HunkKind::raw) {
      return Status::NotSupported("'" + file_->name() + "': hunk " + std::to_string(h) +
                                  " stores no bytes of its own (a copy, a parent's, or a constant)");
    }
    if (entry->offset > file_->size() || entry->length > file_->size() - entry->offset) {
      return Status::Corruption("'" + file_->name() + "': hunk " + std::to_string(h) + " lies past the end of the file");
    }
    ChdStoredHunk out;
    out.codec = entry->kind == HunkKind::codec ? entry->codec : chd::kCodecNone;
    out.bytes.resize(entry->length);
    if (Status s = file_->read_at(entry->offset, out.bytes); !s.ok()) return s;
    return out;
  }

  Result<bool> verify_data() const {
    if (all_zero(header_.raw_sha1)) return false;
    crypto::Digest sha1(crypto::Algorithm::sha1);
    uint64_t left = header_.logical_bytes;
    for (uint64_t h = 0; h < map_->size() && left > 0; ++h) {
      auto data = hunk(h, "");
      if (!data.ok()) return data.status();
      const size_t n = static_cast<size_t>(std::min<uint64_t>(left, header_.hunk_bytes));
      sha1.update(std::span<const uint8_t>(data->get(), n));
      left -= n;
    }
    std::array<uint8_t, 20> digest{};
    const std::vector<uint8_t> computed = sha1.finish();
    std::copy_n(computed.begin(), std::min(computed.size(), digest.size()), digest.begin());
    if (digest != header_.raw_sha1) {
      return Status::Corruption("'" + file_->name() + "': SHA-1 of the CHD's data is " + hex(digest) +
                                ", its header records " + hex(header_.raw_sha1));
    }
    return true;
  }

  // ---- building (open_chd only) ----
  void set_parent(std::shared_ptr<const ChdImage> parent) { parent_ = std::move(parent); }
  const Header& header() const { return header_; }
  Status build_cd(const std::vector<CdTrack>& tracks);
  Status build_plain(bool dvd);
  void probe_modes();

 private:
  // Reads logical CHD bytes through one hunk at a time, keeping the current
  // hunk so consecutive sectors of one hunk cost a single cache look-up.
  class Cursor {
   public:
    explicit Cursor(const ChdImage& image) : image_(image) {}
    Status copy(uint64_t offset, std::span<uint8_t> out, int32_t lba) {
      const uint32_t hb = image_.header_.hunk_bytes;
      size_t done = 0;
      while (done < out.size()) {
        const uint64_t at = offset + done;
        const uint64_t h = at / hb;
        if (h != current_ || !data_) {
          auto loaded = image_.hunk(h, "LBA " + std::to_string(lba));
          if (!loaded.ok()) return loaded.status();
          data_ = std::move(loaded).value();
          current_ = h;
        }
        const size_t within = static_cast<size_t>(at % hb);
        const size_t n = std::min(out.size() - done, static_cast<size_t>(hb) - within);
        std::memcpy(out.data() + done, data_.get() + within, n);
        done += n;
      }
      return Status::Ok();
    }

   private:
    const ChdImage& image_;
    uint64_t current_ = UINT64_MAX;
    HunkPtr data_;
  };

  static void swap_bytes(std::span<uint8_t> data) {
    for (size_t i = 0; i + 1 < data.size(); i += 2) std::swap(data[i], data[i + 1]);
  }

  // Offset of the user data inside a stored frame.
  static uint32_t user_offset(const TrackFormat& f) {
    const uint32_t stored = kTrackTypes[f.type].data_bytes;
    const bool xa = f.mode == TrackMode::mode2_form1 || f.mode == TrackMode::mode2_form2;
    if (stored == kRaw) return f.mode == TrackMode::audio ? 0 : xa ? 24 : 16;
    if (stored == 2336) return xa ? 8 : 0;
    return 0;
  }

  uint64_t frame_offset(const Extent& e, int32_t lba) const {
    return (e.frame + static_cast<uint64_t>(lba - e.lba)) * kCdFrameBytes;
  }

  const Extent* find(int32_t lba) const {
    auto it = std::upper_bound(extents_.begin(), extents_.end(), lba,
                               [](int32_t v, const Extent& e) { return v < e.lba; });
    if (it == extents_.begin()) return nullptr;
    --it;
    return lba < it->lba + it->count ? &*it : nullptr;
  }

  Status out_of_range(int32_t lba) const {
    return Status::OutOfRange("'" + file_->name() + "': LBA " + std::to_string(lba) +
                              " is not on the disc (lead-out at " + std::to_string(disc_.leadout_lba()) + ")");
  }

  Status check_args(int32_t lba, uint32_t count, size_t size, uint32_t sector, const char* what) const {
    if (find(lba) == nullptr) return out_of_range(lba);
    if (count == 0 && size == 0) return Status::Ok();
    return Status::InvalidArgument(std::string(what) + " at LBA " + std::to_string(lba) + ": buffer of " +
                                   std::to_string(size) + " bytes for " + std::to_string(count) + " sectors of " +
                                   std::to_string(sector) + " bytes");
  }

  // The decompressed hunk `h`, from the cache or decompressed now (outside
  // every lock). Errors are IoError naming the hunk and `where`.
  Result<HunkPtr> hunk(uint64_t h, const std::string& where, int depth = 0) const {
    bool first_of_ahead = false;
    if (HunkPtr cached = cache_.find(h, &first_of_ahead)) {
      // The reader reached a hunk read ahead: keep the window ahead of it.
      if (first_of_ahead && !ReadAheadPool::on_worker()) read_ahead(h + 1);
      return cached;
    }
    if (readahead_ > 0 && !ReadAheadPool::on_worker()) {
      // A miss right after the previous hunk: a sequential reader; have the
      // next hunks decompressed meanwhile. A hunk being decompressed ahead
      // is waited for; one still queued is taken back and decompressed here.
      if (h > 0 && cache_.contains(h - 1)) read_ahead(h + 1);
      std::unique_lock<std::mutex> lock(ahead_mu_);
      if (auto it = ahead_.find(h); it != ahead_.end() && !it->second) ahead_.erase(it);
      if (ahead_.count(h) != 0) {
        // Being decompressed: rather than idle, decompress the next hunk
        // still queued, then wait.
        for (uint64_t k = h + 1; k <= h + readahead_; ++k) {
          auto it = ahead_.find(k);
          if (it == ahead_.end() || it->second) continue;
          ahead_.erase(it);
          lock.unlock();
          decompress_ahead(k);
          lock.lock();
          break;
        }
      }
      ahead_cv_.wait(lock, [&] { return ahead_.count(h) == 0; });
      lock.unlock();
      if (HunkPtr cached = cache_.find_after_miss(h)) {
        read_ahead(h + 1);
        return cached;
      }
    }
    // Not zero-filled: load() writes every byte or fails.
    std::shared_ptr<uint8_t[]> data = std::make_shared_for_overwrite<uint8_t[]>(header_.hunk_bytes);
    if (Status s = load(h, std::span<uint8_t>(data.get(), header_.hunk_bytes), depth); !s.ok()) {
      return Status::IoError("'" + file_->name() + "': CHD hunk " + std::to_string(h) +
                             (where.empty() ? "" : " (" + where + ")") + ": " + s.message());
    }
    HunkPtr ready = std::move(data);
    cache_.insert(h, ready);
    return ready;
  }

  // Queues hunks from..from+readahead_-1 (those neither cached nor queued)
  // on the pool; each is decompressed into the cache, errors left to the
  // reader that reaches the hunk.
  void read_ahead(uint64_t from) const {
    const uint64_t end = std::min<uint64_t>(map_->size(), from + readahead_);
    for (uint64_t k = from; k < end; ++k) {
      {
        std::lock_guard<std::mutex> lock(ahead_mu_);
        if (ahead_.count(k) != 0 || cache_.contains(k)) continue;
        ahead_.emplace(k, false);
      }
      std::weak_ptr<const ChdImage> self = weak_from_this();
      const bool queued = ReadAheadPool::instance().submit([self, k] {
        auto image = self.lock();
        if (image == nullptr || !image->start_ahead(k)) return;
        image->decompress_ahead(k);
        image->finish_ahead(k);
      });
      if (!queued) {
        finish_ahead(k);
        return;
      }
    }
  }

  // Hunk `k` into the cache, marked as read ahead; an error is left to the
  // reader that reaches it.
  void decompress_ahead(uint64_t k) const {
    std::shared_ptr<uint8_t[]> data = std::make_shared_for_overwrite<uint8_t[]>(header_.hunk_bytes);
    if (load(k, std::span<uint8_t>(data.get(), header_.hunk_bytes), 0).ok()) {
      cache_.insert(k, HunkPtr(std::move(data)), true);
    }
  }

  // Whether the queued hunk `k` is still wanted (not taken back by its reader).
  bool start_ahead(uint64_t k) const {
    std::lock_guard<std::mutex> lock(ahead_mu_);
    auto it = ahead_.find(k);
    if (it == ahead_.end()) return false;
    it->second = true;
    return true;
  }

  void finish_ahead(uint64_t k) const {
    {
      std::lock_guard<std::mutex> lock(ahead_mu_);
      ahead_.erase(k);
    }
    ahead_cv_.notify_all();
  }

  Status load(uint64_t h, std::span<uint8_t> out, int depth) const {
    auto entry = map_->entry(h);
    if (!entry.ok()) return entry.status();
    const MapEntry& e = *entry;
    switch (e.kind) {
      case HunkKind::zero: std::fill(out.begin(), out.end(), uint8_t{0}); return Status::Ok();
      case HunkKind::mini:
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(e.offset >> (56 - 8 * (i % 8)));
        return check(e, out);
      case HunkKind::self: {
        if (e.offset >= map_->size() || e.offset == h || depth >= kMaxSelfDepth) {
          return Status::Corruption("refers to hunk " + std::to_string(e.offset) + ", which cannot be resolved");
        }
        auto other = hunk(e.offset, "", depth + 1);
        if (!other.ok()) return other.status();
        std::copy_n(other->get(), out.size(), out.begin());
        return Status::Ok();
      }
      case HunkKind::parent: {
        if (parent_ == nullptr) return Status::Corruption("is stored in a parent CHD, yet the header names no parent");
        // v5: the parent's bytes from unit N on; v3/v4: the parent's hunk of the same number.
        const uint64_t at = header_.version == 5 ? e.offset * header_.unit_bytes : h * header_.hunk_bytes;
        return parent_->read_bytes(at, out);  // its errors name the parent file
      }
      case HunkKind::raw:
      case HunkKind::codec: break;
    }
    if (e.offset > file_->size() || e.length > file_->size() - e.offset) {
      return Status::Corruption(std::to_string(e.length) + " bytes at offset " + std::to_string(e.offset) +
                                " lie past the end of the file (" + std::to_string(file_->size()) + " bytes)");
    }
    if (e.kind == HunkKind::raw) {
      if (Status s = file_->read_at(e.offset, out); !s.ok()) return s;
      return check(e, out);
    }
    struct PackedTag;
    std::vector<uint8_t>& packed = per_thread<std::vector<uint8_t>, PackedTag>();
    packed.resize(e.length);
    if (Status s = file_->read_at(e.offset, packed); !s.ok()) return s;
    if (Status s = chd::decompress_hunk(e.codec, packed, out); !s.ok()) return s;
    return check(e, out);
  }

  static Status check(const MapEntry& e, std::span<const uint8_t> data) {
    if (e.check == HunkCheck::crc16) {
      const uint16_t got = chd::crc16(data);
      if (got != e.crc) {
        return Status::Corruption("CRC-16 of the data is " + std::to_string(got) + ", the map says " +
                                  std::to_string(e.crc));
      }
    } else if (e.check == HunkCheck::crc32) {
      const auto got = static_cast<uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size())));
      if (got != e.crc) return Status::Corruption("CRC-32 of the data differs from the map's");
    }
    return Status::Ok();
  }

  // `out.size()` logical bytes from `offset` on, through the cache (a
  // child's parent hunks are read this way).
  Status read_bytes(uint64_t offset, std::span<uint8_t> out) const {
    const uint64_t hb = header_.hunk_bytes;
    if (offset > map_->size() * hb || out.size() > map_->size() * hb - offset) {
      return Status::Corruption("'" + file_->name() + "': " + std::to_string(out.size()) + " bytes at offset " +
                                std::to_string(offset) + " lie beyond its " + std::to_string(map_->size()) + " hunks");
    }
    for (size_t done = 0; done < out.size();) {
      const uint64_t at = offset + done;
      auto data = hunk(at / hb, "");
      if (!data.ok()) return data.status();
      const size_t within = static_cast<size_t>(at % hb);
      const size_t n = std::min(out.size() - done, static_cast<size_t>(hb) - within);
      std::memcpy(out.data() + done, data->get() + within, n);
      done += n;
    }
    return Status::Ok();
  }

  std::shared_ptr<RandomAccessFile> file_;
  std::shared_ptr<const ChdImage> parent_;  // a child's parent CHD, opened with it
  Header header_;
  std::unique_ptr<HunkMap> map_;
  mutable HunkCache cache_;
  uint32_t readahead_;  // hunks decompressed ahead of a sequential reader (0: none)
  mutable std::mutex ahead_mu_;  // guards ahead_
  mutable std::condition_variable ahead_cv_;
  mutable std::unordered_map<uint64_t, bool> ahead_;  // hunks read ahead -> being decompressed (else queued)
  bool cd_ = false;
  disc::Disc disc_;
  std::vector<TrackFormat> formats_;
  std::vector<Extent> extents_;
};

Status ChdImage::build_cd(const std::vector<CdTrack>& tracks) {
  cd_ = true;
  const std::string& name = file_->name();
  if (header_.version == 5 && header_.unit_bytes != kCdFrameBytes) {
    return Status::Corruption("'" + name + "': CD CHD with unit size " + std::to_string(header_.unit_bytes) +
                              " (CD frames are " + std::to_string(kCdFrameBytes) + " bytes)");
  }
  int32_t cursor = 0;
  uint64_t frame = 0;
  for (size_t i = 0; i < tracks.size(); ++i) {
    const CdTrack& t = tracks[i];
    const std::string where = "'" + name + "': CD track " + std::to_string(t.number);
    if (t.number != static_cast<int>(i) + 1) {
      return Status::Corruption("'" + name + "': CD track metadata numbers track " + std::to_string(t.number) +
                                " where track " + std::to_string(i + 1) + " belongs");
    }
    if (t.frames <= (t.pregap_stored ? t.pregap : 0)) return Status::Corruption(where + " stores no sectors");
    const TrackType& type = kTrackTypes[t.type];
    const uint64_t end_frame = frame + static_cast<uint64_t>(t.frames);
    if (end_frame * kCdFrameBytes > header_.logical_bytes) {
      return Status::Corruption(where + " ends at frame " + std::to_string(end_frame) + ", beyond the CHD's " +
                                std::to_string(header_.logical_bytes / kCdFrameBytes) + " frames");
    }
    disc::Track dt;
    dt.number = static_cast<uint8_t>(t.number);
    dt.session = 1;
    dt.mode = type.mode;
    dt.control = disc::is_data(type.mode) ? disc::control::kDataTrack : 0;
    // Track 1: a pregap of up to 150 sectors is the disc's 2-second pregap
    // before LBA 0, as the cue reader lays it out.
    if (i == 0) cursor = t.pregap <= disc::kMsfLbaShift ? -static_cast<int32_t>(t.pregap) : 0;
    dt.pregap_lba = cursor;
    if (t.pregap_stored) {
      extents_.push_back(Extent{cursor, static_cast<int32_t>(t.frames), i, true, frame});
      dt.start_lba = cursor + static_cast<int32_t>(t.pregap);
      cursor += static_cast<int32_t>(t.frames);
    } else {
      if (t.pregap > 0) extents_.push_back(Extent{cursor, static_cast<int32_t>(t.pregap), i, false, 0});
      cursor += static_cast<int32_t>(t.pregap);
      dt.start_lba = cursor;
      extents_.push_back(Extent{cursor, static_cast<int32_t>(t.frames), i, true, frame});
      cursor += static_cast<int32_t>(t.frames);
    }
    if (t.postgap > 0) extents_.push_back(Extent{cursor, static_cast<int32_t>(t.postgap), i, false, 0});
    cursor += static_cast<int32_t>(t.postgap);
    if (cursor > kMaxCdFrames) return Status::Corruption(where + ": the disc would be longer than any CD");
    dt.postgap = static_cast<int32_t>(t.postgap);
    dt.end_lba = cursor;
    if (dt.start_lba > dt.pregap_lba) dt.indices.push_back(disc::Index{0, dt.pregap_lba});
    dt.indices.push_back(disc::Index{1, dt.start_lba});
    formats_.push_back(TrackFormat{t.type, type.mode, t.sub_stored});
    disc_.tracks.push_back(std::move(dt));
    frame = end_frame + static_cast<uint64_t>(t.pad_frames);
  }
  disc_.sessions.push_back(disc::Session{1, 1, static_cast<uint8_t>(tracks.size()), cursor});
  return Status::Ok();
}

// XA or formless: the subheader of the track's first sector after index 1
// decides, as the cue reader decides it (copies equal: XA, form from submode).
void ChdImage::probe_modes() {
  bool all_audio = true, any_mode2 = false;
  for (size_t i = 0; i < formats_.size(); ++i) {
    TrackFormat& f = formats_[i];
    disc::Track& t = disc_.tracks[i];
    if (kTrackTypes[f.type].probe_xa) {
      const Extent* e = find(t.start_lba);
      std::array<uint8_t, 8> sh{};
      const uint32_t sub = kTrackTypes[f.type].data_bytes == kRaw ? 16 : 0;
      Cursor cursor(*this);
      if (e != nullptr && e->stored && cursor.copy(frame_offset(*e, t.start_lba) + sub, sh, t.start_lba).ok()) {
        if (std::memcmp(sh.data(), sh.data() + 4, 4) != 0) {
          f.mode = TrackMode::mode2;
        } else {
          f.mode = (sh[2] & disc::ecma130::submode::kForm2) ? TrackMode::mode2_form2 : TrackMode::mode2_form1;
        }
      }
      t.mode = f.mode;
    }
    all_audio = all_audio && t.mode == TrackMode::audio;
    any_mode2 = any_mode2 || t.mode == TrackMode::mode2 || t.mode == TrackMode::mode2_form1 ||
                t.mode == TrackMode::mode2_form2;
  }
  disc_.disc_class = all_audio   ? disc::DiscClass::cd_da
                     : any_mode2 ? disc::DiscClass::cd_rom_xa
                                 : disc::DiscClass::cd_rom;
}

Status ChdImage::build_plain(bool dvd) {
  const std::string& name = file_->name();
  if (header_.logical_bytes % 2048 != 0 || header_.logical_bytes == 0) {
    return Status::NotSupported("'" + name + "': a CHD without CD metadata of " + std::to_string(header_.logical_bytes) +
                                " bytes is not whole 2048-byte sectors (a hard-disk image, not a disc)");
  }
  const uint64_t sectors = header_.logical_bytes / 2048;
  if (sectors > static_cast<uint64_t>(INT32_MAX)) {
    return Status::NotSupported("'" + name + "': " + std::to_string(sectors) + " sectors exceed the LBA range");
  }
  disc_.disc_class = disc::classify_plain_image(sectors);
  if (dvd && disc::is_cd(disc_.disc_class)) disc_.disc_class = disc::DiscClass::dvd_rom_single_layer;
  disc::Track t;
  t.mode = TrackMode::mode1;
  t.control = disc::control::kDataTrack;
  t.end_lba = static_cast<int32_t>(sectors);
  t.indices = {disc::Index{1, 0}};
  disc_.tracks.push_back(t);
  disc_.sessions.push_back(disc::Session{1, 1, 1, static_cast<int32_t>(sectors)});
  formats_.push_back(TrackFormat{0, TrackMode::mode1, false});
  extents_.push_back(Extent{0, static_cast<int32_t>(sectors), 0, true, 0});
  return Status::Ok();
}

}  // namespace

bool looks_like_chd(std::span<const uint8_t> head) {
  return head.size() >= kSignature.size() && std::memcmp(head.data(), kSignature.data(), kSignature.size()) == 0;
}

namespace {

constexpr int kMaxParentDepth = 8;  // child, parent, grandparent, ...

Result<std::shared_ptr<const ChdImage>> open_chd_image(std::shared_ptr<RandomAccessFile> file,
                                                       const ChdOptions& options, const FileResolver& resolve,
                                                       int depth);

// The parent a child CHD names by SHA-1, through `resolve`; its header must
// record that SHA-1 and the child's unit size.
Result<std::shared_ptr<const ChdImage>> open_parent(const std::string& name, const Header& child,
                                                    const ChdOptions& options, const FileResolver& resolve,
                                                    int depth) {
  const std::string wanted = hex(child.parent_sha1);
  const std::string what = "'" + name + "': this child CHD stores only its differences from a parent CHD (SHA-1 " +
                           wanted + ")";
  if (!resolve) return Status::NotSupported(what + ", and no parent can be looked for here");
  if (depth >= kMaxParentDepth) {
    return Status::NotSupported(what + ": more than " + std::to_string(kMaxParentDepth) + " CHDs in the parent chain");
  }
  auto file = resolve(chd_parent_ref(wanted));
  if (!file.ok()) return file.status().with_context(what + ", which is missing");
  const std::string parent_name = (*file)->name();
  auto parent = open_chd_image(std::move(file).value(), options, resolve, depth + 1);
  if (!parent.ok()) return parent.status().with_context(what + ": opening the parent");
  const Header& ph = (*parent)->header();
  if (ph.sha1 != child.parent_sha1) {
    return Status::InvalidArgument("'" + name + "': the parent given, '" + parent_name + "', has SHA-1 " +
                                   hex(ph.sha1) + "; this child CHD was made from the CHD with SHA-1 " + wanted);
  }
  if (child.version == 5 && ph.unit_bytes != child.unit_bytes) {
    return Status::Corruption("'" + name + "': unit size " + std::to_string(child.unit_bytes) + " differs from its parent '" +
                              parent_name + "' (" + std::to_string(ph.unit_bytes) + ")");
  }
  if (child.version != 5 && ph.hunk_bytes != child.hunk_bytes) {
    return Status::Corruption("'" + name + "': hunk size " + std::to_string(child.hunk_bytes) +
                              " differs from its parent '" + parent_name + "' (" + std::to_string(ph.hunk_bytes) + ")");
  }
  return parent;
}

Result<std::shared_ptr<const ChdImage>> open_chd_image(std::shared_ptr<RandomAccessFile> file,
                                                       const ChdOptions& options, const FileResolver& resolve,
                                                       int depth) {
  if (file == nullptr) return Status::InvalidArgument("open_chd: no file");
  const std::string name = file->name();
  auto header = read_header(*file, options.max_hunks);
  if (!header.ok()) return header.status();
  std::shared_ptr<const ChdImage> parent;
  if (header->has_parent) {
    auto opened = open_parent(name, *header, options, resolve, depth);
    if (!opened.ok()) return opened.status();
    parent = std::move(opened).value();
  }
  auto map = HunkMap::open(file, *header);
  if (!map.ok()) return map.status();
  auto metadata = read_metadata(*file, *header);
  if (!metadata.ok()) return metadata.status();

  std::vector<CdTrack> tracks;
  bool dvd = false;
  for (const Metadata& m : *metadata) {
    const std::string where = "'" + name + "': CHD metadata '" + tag_name(m.tag) + "'";
    if (m.tag == kTagCht2 || m.tag == kTagChtr) {
      auto t = parse_track_text(m.text(), where);
      if (!t.ok()) return t.status();
      tracks.push_back(*t);
    } else if (m.tag == kTagChcd) {
      auto t = parse_chcd(m.data, where);
      if (!t.ok()) return t.status();
      tracks = *t;
    } else if (m.tag == kTagChgd) {
      return Status::NotSupported("'" + name + "': a GD-ROM CHD (CHGD metadata) is not supported");
    } else if (m.tag == kTagAv) {
      return Status::NotSupported("'" + name + "': an A/V (LaserDisc) CHD is not supported");
    } else if (m.tag == kTagDvd) {
      dvd = true;
    }
  }
  if (tracks.size() > 99) return Status::Corruption("'" + name + "': CHD metadata lists more than 99 CD tracks");
  std::sort(tracks.begin(), tracks.end(), [](const CdTrack& a, const CdTrack& b) { return a.number < b.number; });

  Header h = *header;
  if (!tracks.empty() && h.version != 5) h.unit_bytes = kCdFrameBytes;
  if (!tracks.empty() && h.hunk_bytes % kCdFrameBytes != 0) {
    return Status::Corruption("'" + name + "': CD CHD hunk size " + std::to_string(h.hunk_bytes) +
                              " is not whole 2448-byte frames");
  }
  auto image = std::make_shared<ChdImage>(std::move(file), h, std::move(map).value(), options.cache_bytes,
                                         options.readahead_hunks);
  image->set_parent(std::move(parent));
  Status s = tracks.empty() ? image->build_plain(dvd) : image->build_cd(tracks);
  if (!s.ok()) return s;
  if (image->cd()) image->probe_modes();
  if (Status v = disc::validate(image->disc()); !v.ok()) return v.with_context("'" + name + "'");
  return std::shared_ptr<const ChdImage>(std::move(image));
}

}  // namespace

Result<ImagePtr> open_chd(std::shared_ptr<RandomAccessFile> file, const ChdOptions& options,
                          const FileResolver& resolve) {
  auto image = open_chd_image(std::move(file), options, resolve, 0);
  if (!image.ok()) return image.status();
  return ImagePtr(std::move(image).value());
}

std::optional<ChdIdentity> chd_identity(const RandomAccessFile& file) {
  auto header = read_header(file, UINT64_MAX);
  if (!header.ok()) return std::nullopt;
  return ChdIdentity{hex(header->sha1), header->has_parent ? hex(header->parent_sha1) : std::string()};
}

std::optional<ChdCacheStats> chd_cache_stats(const disc::Image& image) {
  const auto* chd = dynamic_cast<const ChdImage*>(&image);
  if (chd == nullptr) return std::nullopt;
  return chd->cache_stats();
}

std::optional<Result<ChdStoredHunk>> chd_stored_hunk(const disc::Image& image, uint64_t hunk) {
  const auto* chd = dynamic_cast<const ChdImage*>(&image);
  if (chd == nullptr) return std::nullopt;
  return chd->stored_hunk(hunk);
}

std::optional<Result<bool>> chd_verify_data(const disc::Image& image) {
  const auto* chd = dynamic_cast<const ChdImage*>(&image);
  if (chd == nullptr) return std::nullopt;
  return chd->verify_data();
}

}  // namespace udisc::formats
