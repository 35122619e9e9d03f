// DiskCache: a second tier below BlockCache's memory for objects larger than
// the memory cache (a DVD image read more than once): blocks fetched once are
// kept in a file in a folder the user chooses (--cache-dir), up to a size
// limit (--cache-size); the blocks stored longest ago make room for new ones,
// their space given back to the file system (a punched hole).
//
// The file is anonymous (O_TMPFILE): private to this process, never seen by
// another user, and gone when the process ends, so a later run cannot mistake
// blocks of another version of the object for its own. Each HttpFile (one
// version of one object) has its own.
//
// Errors after open (a full disk, an I/O error) only mean a block is not
// stored or not found: the network is asked instead.
//
// Thread safety: every member from any thread.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "util/status.h"

namespace udisc::remote {

class DiskCache {
 public:
  // Errors name the folder (missing, not writable, no O_TMPFILE support).
  static Result<std::unique_ptr<DiskCache>> open(const std::string& dir, uint64_t limit_bytes, uint32_t block_size,
                                                 uint64_t object_size);
  ~DiskCache();
  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;

  // Fills `out` with blocks first, first+1, ... when all of them are stored.
  bool read(uint64_t first, std::span<uint8_t> out);
  // Stores the blocks `data` holds, from block `first` on.
  void write(uint64_t first, std::span<const uint8_t> data);

  uint64_t stored_bytes() const;
  // Bytes the file occupies on disk (st_blocks), for tests of the limit.
  uint64_t allocated_bytes() const;

 private:
  DiskCache(int fd, uint64_t limit_bytes, uint32_t block_size, uint64_t object_size);
  uint64_t block_bytes(uint64_t block) const;

  const int fd_;
  const uint64_t limit_;
  const uint32_t block_size_;
  const uint64_t size_;
  mutable std::mutex mu_;
  std::vector<bool> stored_;       // by block
  std::deque<uint64_t> order_;     // stored blocks, oldest first
  uint64_t stored_bytes_ = 0;
  uint64_t evictions_ = 0;  // a read that overlaps an eviction is not trusted
};

}  // namespace udisc::remote
