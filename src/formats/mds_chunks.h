// MDS version 2 / MDX tracks stored in compressed chunks (footer flag 0x01):
// the track's sectors cut into groups, each stored raw, as raw deflate, or
// not at all (filled with one byte value), listed in a zlib-compressed table
// of 16-bit entries after the groups. Layout and sources: docs/formats/mds.md
// ("Tracks stored in compressed chunks").
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/file.h"
#include "formats/mds_crypto.h"
#include "util/status.h"

namespace udisc::formats::mds_chunks {

// Table entries: 0 raw group; bit 15 set: group filled with the low byte; else
// the size of the group's raw deflate stream.
constexpr uint16_t kFilled = 0x8000;
// Limits: a group of at most 4 MiB, a table of at most 16 Mi groups (32 MiB).
constexpr uint64_t kMaxGroupBytes = 4u << 20;
constexpr uint64_t kMaxGroups = 16u << 20;

// One compressed track, from its footer and track block.
struct Track {
  uint64_t offset = 0;         // track block 40: where the track's first group starts in the data file
  uint32_t sector_size = 0;    // track block 16: main + inline sub-channel bytes
  uint32_t group_sectors = 0;  // footer 12
  uint64_t sectors = 0;        // footer 16 (64-bit): sectors the table covers
  uint64_t table_offset = 0;   // footer 24 (64-bit), counted from `offset`
  std::string what;            // "'disc.mdx': track 3", for messages
};

// The track's sectors as a file of sectors * sector_size bytes (the track's
// first stored sector at 0). The table is read and indexed at open; groups
// are decoded (decrypted with `cipher` if not null, then inflated) on read.
Result<std::shared_ptr<RandomAccessFile>> open_track(std::shared_ptr<RandomAccessFile> data, const Track& track,
                                                     std::shared_ptr<const mds_crypto::Lrw> cipher);

// The writer's side (tests/fixtures/write_image.cc): a track's plain stored
// bytes cut into groups of `group_sectors`, compressed (and encrypted with
// `cipher` if not null) as open_track reads them; the table follows the groups.
// A group of one byte value is stored filled; of the others every
// `raw_every`-th (0: none) is stored raw, so that test images hold every
// kind of group, and the rest deflated (raw when deflate does not make it
// smaller or its size would not fit an entry).
struct Packed {
  std::vector<uint8_t> bytes;  // groups, then the compressed table
  uint64_t table_offset = 0;   // where the table starts in `bytes`
};
Packed pack_track(std::span<const uint8_t> plain, uint32_t sector_size, uint32_t group_sectors,
                  const mds_crypto::Lrw* cipher, uint32_t raw_every = 0);

}  // namespace udisc::formats::mds_chunks
