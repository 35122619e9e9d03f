#include "remote/block_cache.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "util/signals.h"

namespace udisc::remote {

struct BlockCache::Block {
  enum class State { loading, ready, failed };
  std::mutex m;
  std::condition_variable cv;
  State state = State::loading;
  Status error;
  std::vector<uint8_t> data;
  bool in_lru = false;
  std::list<uint64_t>::iterator lru_pos;
};

struct BlockCache::Shard {
  std::mutex m;
  std::unordered_map<uint64_t, BlockPtr> blocks;
  std::list<uint64_t> lru;  // front: most recently used; only ready blocks
  uint64_t bytes = 0;
};

namespace {
constexpr size_t kShards = 16;
constexpr size_t kMaxQueuedPrefetches = 4;

CacheOptions with_defaults(CacheOptions o) {
  if (o.block_size == 0) o.block_size = CacheOptions{}.block_size;
  return o;
}
}  // namespace

BlockCache::BlockCache(uint64_t object_size, CacheOptions options, Fetcher fetch)
    : size_(object_size), options_(with_defaults(options)), fetch_(std::move(fetch)) {
  for (size_t i = 0; i < kShards; ++i) shards_.push_back(std::make_unique<Shard>());
  for (unsigned i = 0; i < options_.prefetch_threads && options_.readahead_blocks > 0; ++i) {
    prefetchers_.emplace_back([this] { prefetch_worker(); });
  }
}

BlockCache::~BlockCache() {
  {
    std::lock_guard lock(prefetch_mutex_);
    stopping_ = true;
  }
  prefetch_cv_.notify_all();
  for (auto& t : prefetchers_) t.join();
}

uint64_t BlockCache::block_count() const { return (size_ + options_.block_size - 1) / options_.block_size; }

uint64_t BlockCache::block_bytes(uint64_t block) const {
  const uint64_t start = block * options_.block_size;
  return std::min<uint64_t>(options_.block_size, size_ - start);
}

BlockCache::Shard& BlockCache::shard_of(uint64_t block) { return *shards_[block % kShards]; }

BlockCache::BlockPtr BlockCache::find_or_claim(uint64_t block, bool* owner, bool count_hit) {
  Shard& s = shard_of(block);
  std::lock_guard lock(s.m);
  auto it = s.blocks.find(block);
  if (it != s.blocks.end()) {
    *owner = false;
    BlockPtr b = it->second;
    if (b->in_lru) {
      s.lru.splice(s.lru.begin(), s.lru, b->lru_pos);
      if (count_hit) hits_.fetch_add(1, std::memory_order_relaxed);
    } else if (count_hit) {
      misses_.fetch_add(1, std::memory_order_relaxed);  // in flight: this reader waits for it
    }
    return b;
  }
  *owner = true;
  auto b = std::make_shared<Block>();
  s.blocks.emplace(block, b);
  return b;
}

void BlockCache::insert_lru(Shard& s, uint64_t block, const BlockPtr& b) {
  // Called with s.m held.
  b->lru_pos = s.lru.insert(s.lru.begin(), block);
  b->in_lru = true;
  s.bytes += b->data.size();
  const uint64_t cap = std::max<uint64_t>(options_.capacity_bytes / kShards, options_.block_size);
  while (s.bytes > cap && !s.lru.empty()) {
    const uint64_t victim = s.lru.back();
    s.lru.pop_back();
    auto it = s.blocks.find(victim);
    if (it == s.blocks.end()) continue;
    // Readers still copying from it keep their shared_ptr; the data lives until they finish.
    s.bytes -= it->second->data.size();
    it->second->in_lru = false;
    s.blocks.erase(it);
  }
}

void BlockCache::forget(uint64_t block, const BlockPtr& b) {
  Shard& s = shard_of(block);
  std::lock_guard lock(s.m);
  auto it = s.blocks.find(block);
  if (it != s.blocks.end() && it->second == b) s.blocks.erase(it);
}

void BlockCache::fetch_run(uint64_t first, const std::vector<BlockPtr>& blocks) {
  uint64_t total = 0;
  for (size_t i = 0; i < blocks.size(); ++i) total += block_bytes(first + i);
  std::vector<uint8_t> buffer(static_cast<size_t>(total));
  fetches_.fetch_add(1, std::memory_order_relaxed);
  Status status = fetch_(first, static_cast<uint32_t>(blocks.size()), buffer);
  if (status.ok()) fetched_bytes_.fetch_add(total, std::memory_order_relaxed);
  size_t at = 0;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const uint64_t n = block_bytes(first + i);
    const BlockPtr& b = blocks[i];
    if (status.ok()) {
      {
        std::lock_guard block_lock(b->m);
        b->data.assign(buffer.begin() + static_cast<ptrdiff_t>(at), buffer.begin() + static_cast<ptrdiff_t>(at + n));
        b->state = Block::State::ready;
      }
      Shard& s = shard_of(first + i);
      std::lock_guard lock(s.m);
      auto it = s.blocks.find(first + i);
      if (it != s.blocks.end() && it->second == b) insert_lru(s, first + i, b);
    } else {
      forget(first + i, b);
      std::lock_guard block_lock(b->m);
      b->state = Block::State::failed;
      b->error = status;
    }
    b->cv.notify_all();
    at += static_cast<size_t>(n);
  }
}

Status BlockCache::wait_ready(const BlockPtr& b) {
  std::unique_lock lock(b->m);
  b->cv.wait(lock, [&] { return b->state != Block::State::loading; });
  return b->state == Block::State::ready ? Status::Ok() : b->error;
}

Status BlockCache::read(uint64_t offset, std::span<uint8_t> out) {
  if (out.empty()) return Status::Ok();
  if (offset > size_ || out.size() > size_ - offset) {
    return Status::IoError("read of " + std::to_string(out.size()) + " bytes at byte " + std::to_string(offset) +
                           " is past the end of the object (" + std::to_string(size_) + " bytes)");
  }
  const uint64_t bs = options_.block_size;
  const uint64_t first = offset / bs;
  const uint64_t last = (offset + out.size() - 1) / bs;
  const bool sequential = next_sequential_.exchange(offset + out.size(), std::memory_order_relaxed) == offset;
  const uint64_t window_end =
      std::min<uint64_t>(block_count(), sequential ? std::max<uint64_t>(last + 1, first + options_.readahead_blocks)
                                                   : last + 1);

  std::vector<BlockPtr> needed;
  needed.reserve(static_cast<size_t>(last - first + 1));
  for (uint64_t b = first; b <= last;) {
    bool owner = false;
    BlockPtr block = find_or_claim(b, &owner, /*count_hit=*/true);
    if (!owner) {
      needed.push_back(std::move(block));
      ++b;
      continue;
    }
    // Claim the run of absent blocks that follows, up to the read-ahead window.
    std::vector<BlockPtr> run{block};
    uint64_t next = b + 1;
    while (next < window_end) {
      bool next_owner = false;
      BlockPtr nb = find_or_claim(next, &next_owner, /*count_hit=*/false);
      if (!next_owner) break;
      run.push_back(std::move(nb));
      ++next;
    }
    misses_.fetch_add(std::min<uint64_t>(next, last + 1) - b, std::memory_order_relaxed);
    fetch_run(b, run);
    for (uint64_t i = b; i < std::min<uint64_t>(next, last + 1); ++i) needed.push_back(run[static_cast<size_t>(i - b)]);
    b = std::min<uint64_t>(next, last + 1);
    // Blocks of the run past `last` stay claimed only until fetch_run filled them.
  }
  if (sequential && last + 1 < block_count()) schedule_prefetch(last + 1);

  uint64_t pos = offset;
  size_t done = 0;
  for (size_t i = 0; i < needed.size(); ++i) {
    if (Status s = wait_ready(needed[i]); !s.ok()) return s;
    const uint64_t block = first + i;
    const uint64_t in_block = pos - block * bs;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(needed[i]->data.size() - in_block, out.size() - done));
    std::memcpy(out.data() + done, needed[i]->data.data() + in_block, n);
    done += n;
    pos += n;
  }
  return Status::Ok();
}

void BlockCache::schedule_prefetch(uint64_t first) {
  {
    std::lock_guard lock(prefetch_mutex_);
    if (prefetchers_.empty() || prefetch_queue_.size() >= kMaxQueuedPrefetches) return;
    if (std::find(prefetch_queue_.begin(), prefetch_queue_.end(), first) != prefetch_queue_.end()) return;
    prefetch_queue_.push_back(first);
  }
  prefetch_cv_.notify_one();
}

void BlockCache::prefetch_worker() {
  block_process_signals_in_this_thread();
  for (;;) {
    uint64_t first = 0;
    {
      std::unique_lock lock(prefetch_mutex_);
      prefetch_cv_.wait(lock, [&] { return stopping_ || !prefetch_queue_.empty(); });
      if (stopping_) return;
      first = prefetch_queue_.front();
      prefetch_queue_.pop_front();
    }
    claim_and_fetch(first, options_.readahead_blocks);
  }
}

void BlockCache::claim_and_fetch(uint64_t first, uint32_t max_count) {
  // Skip what is cached or in flight within the window, then fetch the first
  // run of absent blocks: the window just ahead of the reader stays full.
  const uint64_t end = std::min<uint64_t>(block_count(), first + max_count);
  std::vector<BlockPtr> run;
  uint64_t run_first = 0;
  for (uint64_t b = first; b < end; ++b) {
    bool owner = false;
    BlockPtr block = find_or_claim(b, &owner, /*count_hit=*/false);
    if (owner) {
      if (run.empty()) run_first = b;
      run.push_back(std::move(block));
    } else if (!run.empty()) {
      break;
    }
  }
  if (run.empty()) return;
  prefetched_.fetch_add(run.size(), std::memory_order_relaxed);
  fetch_run(run_first, run);
}

CacheStats BlockCache::stats() const {
  CacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.fetches = fetches_.load(std::memory_order_relaxed);
  s.fetched_bytes = fetched_bytes_.load(std::memory_order_relaxed);
  s.prefetched_blocks = prefetched_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace udisc::remote
