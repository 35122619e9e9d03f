#include "remote/block_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>

namespace udisc::remote {
namespace {

// An object in memory behind a fetcher that counts what it is asked for.
struct FakeObject {
  explicit FakeObject(size_t size) : bytes(size) {
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  }
  BlockCache::Fetcher fetcher(uint32_t block_size) {
    return [this, block_size](uint64_t first, uint32_t count, std::span<uint8_t> out) {
      calls.fetch_add(1);
      blocks.fetch_add(count);
      if (fail_next.exchange(false)) return Status::IoError("injected failure");
      const uint64_t at = first * block_size;
      if (at + out.size() > bytes.size()) return Status::IoError("fetch past the end");
      std::memcpy(out.data(), bytes.data() + at, out.size());
      return Status::Ok();
    };
  }
  std::vector<uint8_t> bytes;
  std::atomic<uint64_t> calls{0}, blocks{0};
  std::atomic<bool> fail_next{false};
};

CacheOptions small_options() {
  CacheOptions o;
  o.block_size = 4096;
  o.capacity_bytes = 64 * 4096;
  o.readahead_blocks = 0;
  o.prefetch_threads = 0;
  return o;
}

TEST(BlockCache, ReadsAnyRangeExactly) {
  FakeObject object(100 * 4096 + 123);  // last block short
  BlockCache cache(object.bytes.size(), small_options(), object.fetcher(4096));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 500; ++i) {
    const uint64_t offset = rng() % object.bytes.size();
    const size_t len = static_cast<size_t>(1 + rng() % std::min<uint64_t>(20000, object.bytes.size() - offset));
    std::vector<uint8_t> out(len);
    ASSERT_TRUE(cache.read(offset, out).ok());
    ASSERT_EQ(0, std::memcmp(out.data(), object.bytes.data() + offset, len)) << "offset " << offset;
  }
  std::vector<uint8_t> past(10);
  EXPECT_FALSE(cache.read(object.bytes.size() - 5, past).ok());
}

TEST(BlockCache, CachedBlocksAreNotFetchedAgain) {
  FakeObject object(32 * 4096);
  BlockCache cache(object.bytes.size(), small_options(), object.fetcher(4096));
  std::vector<uint8_t> out(32 * 4096);
  ASSERT_TRUE(cache.read(0, out).ok());
  const uint64_t blocks = object.blocks.load();
  EXPECT_EQ(blocks, 32u);
  ASSERT_TRUE(cache.read(0, out).ok());
  EXPECT_EQ(object.blocks.load(), blocks);
  EXPECT_EQ(cache.stats().hits, 32u);
}

TEST(BlockCache, ConcurrentReadersOfOneBlockShareOneFetch) {
  FakeObject object(16 * 4096);
  std::atomic<int> inside{0};
  auto slow = [&, inner = object.fetcher(4096)](uint64_t first, uint32_t count, std::span<uint8_t> out) {
    inside.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return inner(first, count, out);
  };
  BlockCache cache(object.bytes.size(), small_options(), slow);
  std::vector<std::thread> readers;
  std::atomic<int> good{0};
  for (int t = 0; t < 32; ++t) {
    readers.emplace_back([&] {
      std::vector<uint8_t> out(100);
      if (cache.read(4096 * 3 + 10, out).ok() && std::memcmp(out.data(), object.bytes.data() + 4096 * 3 + 10, 100) == 0)
        good.fetch_add(1);
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(good.load(), 32);
  EXPECT_EQ(object.calls.load(), 1u);
}

TEST(BlockCache, MemoryStaysWithinCapacity) {
  FakeObject object(1000 * 4096);
  CacheOptions o = small_options();
  BlockCache cache(object.bytes.size(), o, object.fetcher(4096));
  std::vector<uint8_t> out(4096);
  for (uint64_t b = 0; b < 1000; ++b) ASSERT_TRUE(cache.read(b * 4096, out).ok());
  // Everything was fetched once; re-reading the first blocks fetches them again (evicted).
  EXPECT_EQ(object.blocks.load(), 1000u);
  for (uint64_t b = 0; b < 10; ++b) ASSERT_TRUE(cache.read(b * 4096, out).ok());
  EXPECT_EQ(object.blocks.load(), 1010u);
  // And the most recent blocks are still there.
  const uint64_t before = object.blocks.load();
  ASSERT_TRUE(cache.read(995 * 4096, out).ok());
  EXPECT_EQ(object.blocks.load(), before);
}

TEST(BlockCache, FailuresAreNotCached) {
  FakeObject object(8 * 4096);
  BlockCache cache(object.bytes.size(), small_options(), object.fetcher(4096));
  std::vector<uint8_t> out(4096);
  object.fail_next = true;
  Status s = cache.read(0, out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("injected failure"), std::string::npos);
  EXPECT_TRUE(cache.read(0, out).ok());
  EXPECT_EQ(0, std::memcmp(out.data(), object.bytes.data(), 4096));
}

// Reads a 256-block object front to back in 2 KiB reads through a cache with
// a 16-block read-ahead window and `prefetch_threads` background prefetchers,
// checking every byte.
void read_sequentially(FakeObject& object, unsigned prefetch_threads, CacheStats* stats) {
  CacheOptions o = small_options();
  o.readahead_blocks = 16;
  o.prefetch_threads = prefetch_threads;
  o.capacity_bytes = 512 * 4096;
  BlockCache cache(object.bytes.size(), o, object.fetcher(4096));
  std::vector<uint8_t> out(2048);
  for (uint64_t at = 0; at < object.bytes.size(); at += out.size()) {
    ASSERT_TRUE(cache.read(at, out).ok());
    ASSERT_EQ(0, std::memcmp(out.data(), object.bytes.data() + at, out.size()));
  }
  *stats = cache.stats();
}

// Sequential reads widen a miss to the read-ahead window: with no background
// prefetcher (deterministic), 256 blocks arrive in 1 + 255/16 requests.
TEST(BlockCache, SequentialReadersGetReadAheadInFewRequests) {
  FakeObject object(256 * 4096);
  CacheStats stats;
  read_sequentially(object, /*prefetch_threads=*/0, &stats);
  EXPECT_EQ(object.calls.load(), 17u);
  EXPECT_EQ(object.blocks.load(), 256u);
  EXPECT_GT(stats.hits, 0u);
}

// With the background prefetcher racing the reader, runs may split -- on a
// loaded machine down to one block a request (214 requests for 256 blocks
// were seen in CI), so the request count is the deterministic test's above --
// but no block is fetched twice and every byte is right.
TEST(BlockCache, BackgroundReadAheadFetchesEachBlockOnce) {
  FakeObject object(256 * 4096);
  CacheStats stats;
  read_sequentially(object, /*prefetch_threads=*/1, &stats);
  EXPECT_EQ(object.blocks.load(), 256u);
  EXPECT_LE(object.calls.load(), 256u);
}

}  // namespace
}  // namespace udisc::remote
