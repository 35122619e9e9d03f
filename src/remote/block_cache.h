// BlockCache: a bounded cache of fixed-size blocks of a remote object,
// shared by concurrent readers.
//
// The object is split into blocks of `block_size` bytes (the last one may be
// shorter). read() copies any byte range out of the cache, fetching missing
// blocks through the Fetcher, which receives a run of consecutive blocks so
// one request can bring several. A block being fetched is fetched once: other
// readers of it wait for that fetch instead of asking again (no request for
// data already cached or in flight). A failed fetch is not cached; the next
// read asks again.
//
// Sequential reads are recognised (a read starting where an earlier one
// ended) and widen a miss to `readahead_blocks`, and the next window is
// fetched in the background so a sequential reader rarely waits.
//
// Memory: at most `capacity_bytes` of block data (least recently used blocks
// are dropped first; blocks being read or fetched are never dropped), plus
// the blocks of fetches in flight.
//
// Thread safety: every member may be called from any thread. The cache is
// split into shards by block number so readers of different blocks do not
// serialise on one lock.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include "util/status.h"

namespace udisc::remote {

struct CacheOptions {
  uint32_t block_size = 64 * 1024;
  uint64_t capacity_bytes = 64ull << 20;
  uint32_t readahead_blocks = 16;
  unsigned prefetch_threads = 2;
};

struct CacheStats {
  uint64_t hits = 0;             // blocks found in the cache
  uint64_t misses = 0;           // blocks a reader had to wait for
  uint64_t fetches = 0;          // Fetcher calls
  uint64_t fetched_bytes = 0;    // bytes the Fetcher delivered
  uint64_t prefetched_blocks = 0;
};

class BlockCache {
 public:
  // Fills `out` (out.size() == count blocks' bytes, the last possibly short)
  // with blocks first, first+1, ... first+count-1.
  using Fetcher = std::function<Status(uint64_t first, uint32_t count, std::span<uint8_t> out)>;

  BlockCache(uint64_t object_size, CacheOptions options, Fetcher fetch);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  Status read(uint64_t offset, std::span<uint8_t> out);
  CacheStats stats() const;
  uint64_t object_size() const { return size_; }

 private:
  struct Block;
  struct Shard;
  using BlockPtr = std::shared_ptr<Block>;

  uint64_t block_count() const;
  uint64_t block_bytes(uint64_t block) const;
  Shard& shard_of(uint64_t block);
  // The block, cached or now being fetched by this caller (*owner = true).
  BlockPtr find_or_claim(uint64_t block, bool* owner, bool count_hit);
  // Fetches blocks [first, first + count) that this caller claimed.
  void fetch_run(uint64_t first, const std::vector<BlockPtr>& blocks);
  Status wait_ready(const BlockPtr& b);
  void forget(uint64_t block, const BlockPtr& b);
  void insert_lru(Shard& s, uint64_t block, const BlockPtr& b);
  void schedule_prefetch(uint64_t first);
  void prefetch_worker();
  void claim_and_fetch(uint64_t first, uint32_t max_count);

  const uint64_t size_;
  const CacheOptions options_;
  const Fetcher fetch_;
  std::vector<std::unique_ptr<Shard>> shards_;

  std::atomic<uint64_t> next_sequential_{UINT64_MAX};
  std::atomic<uint64_t> hits_{0}, misses_{0}, fetches_{0}, fetched_bytes_{0}, prefetched_{0};

  std::mutex prefetch_mutex_;
  std::condition_variable prefetch_cv_;
  std::deque<uint64_t> prefetch_queue_;
  bool stopping_ = false;
  std::vector<std::thread> prefetchers_;
};

}  // namespace udisc::remote
