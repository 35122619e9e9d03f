// CHD reader: MAME "Compressed Hunks of Data" images (docs/formats/chd.md).
//
// open_chd reads the header, the hunk map and the metadata (never hunk data)
// and builds the disc: a CD from CHT2 / CHTR / CHCD track metadata, a DVD
// from "DVD " metadata, and otherwise a plain data disc of 2048-byte sectors
// (raw / hard-disk-style CHDs). Sectors a track does not store (a pregap
// without data, a postgap, raw framing of 2048-byte tracks, sub-channel when
// none is stored) are synthesised exactly as for CUE/BIN.
//
// Hunks are decompressed on demand into a cache shared by all readers of the
// image: sharded by hunk number (kChdCacheShards shards, each with its own
// lock and LRU list), so concurrent readers of different hunks do not wait
// for one another and decompression runs outside every lock. The cache holds
// at most max(cache_bytes, kChdCacheShards hunks). The hunk map is read
// lazily (docs/formats/chd.md, "Reading"): opening reads the header and the
// metadata only; what grows with the image is a compressed v5 map, held as
// stored (about 4 bytes per hunk), plus a checkpoint per 1024 hunks. A
// sequential reader has the next hunks decompressed ahead on a small
// process-wide pool (ChdOptions::readahead_hunks), into the same cache.
//
// A child CHD (made with `chdman ... -op PARENT`) stores only the hunks that
// differ from its parent; the others name a unit of the parent (or a hunk of
// itself). The parent is asked of the FileResolver by chd_parent_ref(its
// SHA-1) (formats/companions.h: the .chd beside the child whose header
// records that SHA-1, or the file the user named with --parent) and opened
// with the child; its header SHA-1 must be the one the child records.
//
// Errors: a bad header, map or metadata -> Corruption naming the file and
// field at open; a child whose parent is missing -> NotFound, whose parent
// has another SHA-1 -> InvalidArgument, both naming the SHA-1 wanted; an
// unsupported variant (A/V or GD-ROM CHD, unknown codec) -> NotSupported
// naming it; a hunk that fails to decompress or whose CRC differs -> IoError
// naming the hunk and the LBA.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "disc/image.h"
#include "formats/companions.h"
#include "formats/file.h"
#include "formats/open.h"
#include "util/status.h"

namespace udisc::formats {

inline constexpr size_t kChdDefaultCacheBytes = size_t{32} << 20;  // 32 MiB
inline constexpr size_t kChdCacheShards = 32;

struct ChdOptions {
  size_t cache_bytes = kChdDefaultCacheBytes;
  // Most hunks a CHD may have (2^24 hunks: 300 GB of data in 8-frame CD
  // hunks, 64 GiB in 4 KiB hunks).
  uint64_t max_hunks = uint64_t{1} << 24;
  // Hunks decompressed ahead, on a process-wide pool of up to 4 threads
  // (one fewer than the CPUs), when a reader misses the hunk after one that
  // is cached (sequential reading); they go into the same bounded cache.
  // 0: none.
  uint32_t readahead_hunks = 4;
};

// Opens the CHD in `file` (and, for a child, its parent chain through
// `resolve`). Reads metadata only.
Result<ImagePtr> open_chd(std::shared_ptr<RandomAccessFile> file, const ChdOptions& options = {},
                          const FileResolver& resolve = {});

// What a CHD header says about identity, as lower-case hex: the SHA-1 a
// child names its parent by, and this CHD's parent ("" when it has none).
struct ChdIdentity {
  std::string sha1;
  std::string parent_sha1;
};
// nullopt when `file` holds no CHD header we read.
std::optional<ChdIdentity> chd_identity(const RandomAccessFile& file);

// Whether `head` (the first bytes of a file) starts with the CHD signature.
bool looks_like_chd(std::span<const uint8_t> head);

struct ChdCacheStats {
  uint64_t hits = 0;    // hunk look-ups served from the cache
  uint64_t misses = 0;  // hunk look-ups that decompressed
  size_t bound_bytes = 0;
  uint32_t hunk_bytes = 0;
};
// The cache counters of a CHD image; nullopt for any other image.
std::optional<ChdCacheStats> chd_cache_stats(const disc::Image& image);

// The bytes hunk `hunk` occupies in the file and the codec that compressed
// them (chd::kCodecNone for a hunk stored uncompressed), for benchmarks that
// time a codec over real hunks. nullopt for an image that is no CHD;
// OutOfRange past the last hunk; NotSupported for a hunk with no bytes of
// its own (a copy of another hunk, a parent's, a constant).
struct ChdStoredHunk {
  uint32_t codec = 0;
  std::vector<uint8_t> bytes;
};
std::optional<Result<ChdStoredHunk>> chd_stored_hunk(const disc::Image& image, uint64_t hunk);

// Checks the CHD's own integrity record: decompresses every hunk (each
// checked against its map CRC) and compares the SHA-1 of the data with the
// header's raw SHA-1. Ok(true) when they match, Ok(false) for a CHD that has
// no checksum to compare (all zero). nullopt for an image that is no CHD.
std::optional<Result<bool>> chd_verify_data(const disc::Image& image);

}  // namespace udisc::formats
