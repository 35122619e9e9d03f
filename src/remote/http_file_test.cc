// HttpFile against a real web server: nginx (Debian) on 127.0.0.1, over
// HTTP and HTTPS with a CA made for the test.
#include "remote/http_file.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "remote/testing/nginx.h"

namespace udisc::remote {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> pattern(size_t size, uint32_t seed) {
  std::vector<uint8_t> v(size);
  std::mt19937 rng(seed);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                               static_cast<std::streamsize>(bytes.size()));
}

HttpOptions quick_options() {
  HttpOptions o;
  o.retries = 2;
  o.backoff = std::chrono::milliseconds(20);
  o.connect_timeout = std::chrono::milliseconds(1000);
  o.request_timeout = std::chrono::milliseconds(5000);
  return o;
}

class HttpFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Nginx::available()) GTEST_SKIP() << "nginx is not installed (tools/install-deps.sh installs it)";
    server_ = std::make_unique<Nginx>();
    ASSERT_TRUE(server_->start()) << server_->error();
    data_ = pattern(3 * 1024 * 1024 + 777, 1);
    write_file(server_->root() / "disc.iso", data_);
  }
  std::unique_ptr<Nginx> server_;
  std::vector<uint8_t> data_;
};

TEST_F(HttpFileTest, ReadsEqualTheFileOverHttpAndHttps) {
  for (bool tls : {false, true}) {
    HttpOptions o = quick_options();
    if (tls) o.ca_file = server_->ca_file();
    auto file = HttpFile::open(server_->url("/disc.iso", tls), o);
    ASSERT_TRUE(file.ok()) << file.status().message();
    EXPECT_EQ((*file)->size(), data_.size());
    std::mt19937_64 rng(3);
    for (int i = 0; i < 200; ++i) {
      const uint64_t offset = rng() % data_.size();
      std::vector<uint8_t> out(static_cast<size_t>(std::min<uint64_t>(1 + rng() % 200000, data_.size() - offset)));
      ASSERT_TRUE((*file)->read_at(offset, out).ok());
      ASSERT_EQ(0, std::memcmp(out.data(), data_.data() + offset, out.size())) << "offset " << offset;
    }
    EXPECT_NE((*file)->validator().find("ETag"), std::string::npos);
  }
}

TEST_F(HttpFileTest, HttpsIsVerifiedByDefault) {
  auto file = HttpFile::open(server_->url("/disc.iso", true), quick_options());
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("certificate"), std::string::npos) << file.status().message();
}

TEST_F(HttpFileTest, MissingObjectAndNoRangeSupportAreClearErrors) {
  auto missing = HttpFile::open(server_->url("/nothing.iso"), quick_options());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("404"), std::string::npos) << missing.status().message();

  auto no_ranges = HttpFile::open(server_->url("/noranges/disc.iso"), quick_options());
  ASSERT_FALSE(no_ranges.ok());
  EXPECT_NE(no_ranges.status().message().find("does not serve byte ranges"), std::string::npos)
      << no_ranges.status().message();
  // The refusal did not download the object.
}

TEST_F(HttpFileTest, CredentialsInTheUrlAreRefused) {
  auto file = HttpFile::open("http://user:secret@127.0.0.1:1/disc.iso", quick_options());
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("--auth-file"), std::string::npos);
  EXPECT_EQ(file.status().message().find("secret"), std::string::npos);
}

TEST_F(HttpFileTest, BearerAndBasicCredentials) {
  HttpOptions o = quick_options();
  auto refused = HttpFile::open(server_->url("/private/disc.iso"), o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("401"), std::string::npos) << refused.status().message();

  const fs::path token_file = server_->root().parent_path() / "token";
  std::ofstream(token_file) << "bearer " << Nginx::kBearerToken << "\n";
  auto bearer = load_credentials(token_file.string());
  ASSERT_TRUE(bearer.ok()) << bearer.status().message();
  o.credentials = *bearer;
  auto file = HttpFile::open(server_->url("/private/disc.iso"), o);
  ASSERT_TRUE(file.ok()) << file.status().message();
  std::vector<uint8_t> out(4096);
  ASSERT_TRUE((*file)->read_at(8192, out).ok());
  EXPECT_EQ(0, std::memcmp(out.data(), data_.data() + 8192, out.size()));

  ::setenv("UDISC_HTTP_AUTH", "basic nobody:wrong", 1);
  auto basic = load_credentials("");
  ::unsetenv("UDISC_HTTP_AUTH");
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ(basic->kind, Credentials::Kind::basic);
  EXPECT_EQ(basic->user, "nobody");

  std::ofstream(token_file) << "token-without-a-kind\n";
  auto bad = load_credentials(token_file.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1"), std::string::npos);
}

TEST_F(HttpFileTest, ReplacedObjectFailsReadsInsteadOfMixingVersions) {
  HttpOptions o = quick_options();
  o.cache.readahead_blocks = 0;
  auto file = HttpFile::open(server_->url("/disc.iso"), o);
  ASSERT_TRUE(file.ok());
  std::vector<uint8_t> out(2048);
  ASSERT_TRUE((*file)->read_at(0, out).ok());
  // Same size, other bytes, a new modification time: a new ETag.
  const auto other = pattern(data_.size(), 2);
  const fs::path tmp = server_->root() / "disc.iso.new";
  write_file(tmp, other);
  fs::last_write_time(tmp, fs::last_write_time(server_->root() / "disc.iso") + std::chrono::seconds(10));
  fs::rename(tmp, server_->root() / "disc.iso");
  Status s = (*file)->read_at(2 * 1024 * 1024, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("changed on the server"), std::string::npos) << s.message();
  EXPECT_TRUE((*file)->changed());
  // Even data cached before the change is refused now: one version or nothing.
  EXPECT_FALSE((*file)->read_at(0, out).ok());
}

TEST_F(HttpFileTest, ServerDownIsAnErrorAndServerBackRecovers) {
  HttpOptions o = quick_options();
  o.cache.readahead_blocks = 0;
  auto file = HttpFile::open(server_->url("/disc.iso"), o);
  ASSERT_TRUE(file.ok());
  server_->stop();
  std::vector<uint8_t> out(2048);
  Status s = (*file)->read_at(1024 * 1024, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gave up after 3 attempts"), std::string::npos) << s.message();
  ASSERT_TRUE(server_->start()) << server_->error();
  ASSERT_TRUE((*file)->read_at(1024 * 1024, out).ok());
  EXPECT_EQ(0, std::memcmp(out.data(), data_.data() + 1024 * 1024, out.size()));
  EXPECT_GE((*file)->stats().retries, 2u);
}

// Range requests the server answered (206), counted by connection; waits
// until there are at least `at_least` (nginx logs a request after its last byte).
std::map<std::string, int> ranges_served(const Nginx& server, size_t at_least) {
  std::map<std::string, int> by_connection;
  for (int i = 0; i < 40; ++i) {
    by_connection.clear();
    size_t total = 0;
    std::istringstream log(server.access_log());
    std::string connection, status, range, bytes;
    while (log >> connection >> status >> range >> bytes) {
      if (status == "206") {
        ++by_connection[connection];
        ++total;
      }
    }
    if (total >= at_least) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return by_connection;
}

size_t count(const std::map<std::string, int>& by_connection) {
  size_t n = 0;
  for (const auto& [connection, requests] : by_connection) n += static_cast<size_t>(requests);
  return n;
}

// Concurrent readers of different blocks are answered at the same time over
// several connections (the pool of handles), not one after another; and data
// already cached is never asked for again. The server's own access log counts.
TEST_F(HttpFileTest, ConcurrentReadersUseSeveralConnectionsAndCachedDataIsNotRequestedAgain) {
  HttpOptions o = quick_options();
  o.cache.readahead_blocks = 0;  // one block per read: the requests are the readers'
  auto file = HttpFile::open(server_->url("/slow/disc.iso"), o);  // 32 KiB/s: 1-2 s per 64 KiB block
  ASSERT_TRUE(file.ok()) << file.status().message();
  constexpr int kReaders = 8;  // the pool's default size
  auto read_all = [&] {
    std::vector<std::thread> readers;
    std::atomic<int> good{0};
    for (int r = 0; r < kReaders; ++r) {
      readers.emplace_back([&, r] {
        const uint64_t offset = static_cast<uint64_t>(r) * 5 * 65536 + 1000;  // blocks 0, 5, 10, ... 35
        std::vector<uint8_t> out(4000);
        if ((*file)->read_at(offset, out).ok() && std::memcmp(out.data(), data_.data() + offset, out.size()) == 0) {
          good.fetch_add(1);
        }
      });
    }
    for (auto& t : readers) t.join();
    return good.load();
  };
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(read_all(), kReaders);
  const auto took = std::chrono::steady_clock::now() - t0;
  // One after another they take 16 s (measured with a pool of one); at once about 2 s.
  EXPECT_LT(took, std::chrono::milliseconds(8000));
  const auto first = ranges_served(*server_, 1 + kReaders);
  EXPECT_EQ(count(first), 1u + kReaders);  // the probe and one request per block
  EXPECT_GE(first.size(), static_cast<size_t>(kReaders) - 1) << server_->access_log();  // the probe's connection is reused
  const uint64_t requests = (*file)->stats().requests;

  // Everything again, at once and one by one: all from the cache.
  EXPECT_EQ(read_all(), kReaders);
  for (int r = 0; r < kReaders; ++r) {
    std::vector<uint8_t> out(65536 - 1000);
    ASSERT_TRUE((*file)->read_at(static_cast<uint64_t>(r) * 5 * 65536 + 1000, out).ok());
  }
  EXPECT_EQ((*file)->stats().requests, requests);
  EXPECT_EQ(count(ranges_served(*server_, 1 + kReaders)), 1u + kReaders) << server_->access_log();
  EXPECT_EQ((*file)->stats().cache.hits, 2u * kReaders);
}

// Bytes the files open in this process under `dir` occupy on disk (an
// O_TMPFILE file has no name there, but /proc/self/fd shows its folder).
uint64_t allocated_under(const fs::path& dir) {
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(e.path(), ec);
    if (ec || target.string().rfind(dir.string() + "/", 0) != 0) continue;
    struct stat st {};
    if (::stat(e.path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

// The disk tier below a small memory cache: blocks read once come from disk
// the second time (no request), the file never holds more than its limit
// (older blocks give their space back), and the folder shows no file.
TEST_F(HttpFileTest, TheDiskCacheAnswersSecondReadsWithinItsLimit) {
  const fs::path dir = fs::temp_directory_path() / ("udisc-disk-cache-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  constexpr uint64_t kBlock = 65536;
  HttpOptions o = quick_options();
  o.cache.readahead_blocks = 0;
  o.cache.capacity_bytes = 0;  // one block per memory shard: 16 blocks
  o.disk_cache_dir = dir.string();
  o.disk_cache_bytes = 32 * kBlock;
  auto file = HttpFile::open(server_->url("/disc.iso"), o);
  ASSERT_TRUE(file.ok()) << file.status().message();
  auto read_blocks = [&](uint64_t first, uint64_t last) {
    std::vector<uint8_t> out(kBlock);
    for (uint64_t b = first; b <= last && b * kBlock < data_.size(); ++b) {
      std::span<uint8_t> part(out.data(), static_cast<size_t>(std::min<uint64_t>(kBlock, data_.size() - b * kBlock)));
      ASSERT_TRUE((*file)->read_at(b * kBlock, part).ok());
      ASSERT_EQ(0, std::memcmp(part.data(), data_.data() + b * kBlock, part.size())) << "block " << b;
    }
  };
  read_blocks(0, 31);  // memory keeps blocks 16-31, the disk 0-31
  const uint64_t requests = (*file)->stats().requests;
  read_blocks(0, 15);
  EXPECT_EQ((*file)->stats().requests, requests);
  EXPECT_EQ((*file)->stats().disk_hits, 16u);
  read_blocks(32, 48);  // 17 more: the disk's oldest blocks make room
  EXPECT_LE((*file)->stats().disk_stored, 32 * kBlock);
  EXPECT_GE((*file)->stats().disk_stored, 31 * kBlock);  // (the last block is short)
  EXPECT_LE(allocated_under(dir), 32 * kBlock + 4096);
  EXPECT_GE(allocated_under(dir), 16 * kBlock);  // it does hold data (the file is found)
  const uint64_t before = (*file)->stats().requests;
  read_blocks(0, 0);  // evicted from the disk, not in memory: fetched again
  EXPECT_EQ((*file)->stats().requests, before + 1);
  EXPECT_TRUE(fs::is_empty(dir));
  file = Status::IoError("closed");  // the cache file goes with it
  EXPECT_EQ(allocated_under(dir), 0u);
  fs::remove_all(dir);

  o.disk_cache_dir = (dir / "missing").string();
  auto refused = HttpFile::open(server_->url("/disc.iso"), o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--cache-dir"), std::string::npos) << refused.status().message();
}

// Reading 1% of a 1 GiB image at random transfers at most two blocks per
// read (a read may straddle a block boundary): 2 x 64 KiB x reads.
TEST_F(HttpFileTest, RandomReadsTransferOnlyTheBlocksTheyTouch) {
  const uint64_t size = 1ull << 30;
  {
    std::ofstream big(server_->root() / "big.iso", std::ios::binary);
    big.seekp(static_cast<std::streamoff>(size - 1));
    big.put('\0');
  }
  HttpOptions o = quick_options();
  auto file = HttpFile::open(server_->url("/big.iso"), o);
  ASSERT_TRUE(file.ok()) << file.status().message();
  const size_t read_size = 32 * 1024;
  const uint64_t reads = size / 100 / read_size;  // 1% of the image
  std::mt19937_64 rng(11);
  std::vector<uint8_t> out(read_size);
  for (uint64_t i = 0; i < reads; ++i) {
    const uint64_t offset = (rng() % ((size - read_size) / 2048)) * 2048;
    ASSERT_TRUE((*file)->read_at(offset, out).ok());
  }
  const HttpStats stats = (*file)->stats();
  const uint64_t bound = 2 * o.cache.block_size * reads;
  EXPECT_LE(stats.bytes_received, bound) << "read " << reads * read_size << " bytes";
  std::printf("1%% of 1 GiB in %llu random 32 KiB reads: %llu bytes received (%.1fx the bytes read), bound %llu\n",
              static_cast<unsigned long long>(reads), static_cast<unsigned long long>(stats.bytes_received),
              static_cast<double>(stats.bytes_received) / static_cast<double>(reads * read_size),
              static_cast<unsigned long long>(bound));
}

TEST(ResolveUrl, RelativeNamesAreEncoded) {
  auto u = resolve_url("http://127.0.0.1:8080/images/disc.cue", "disc (Track 1).bin");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(*u, "http://127.0.0.1:8080/images/disc%20(Track%201).bin");
  auto sub = resolve_url("https://h/a/b.cue", "sub\\x.bin");
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(*sub, "https://h/a/sub/x.bin");
  EXPECT_TRUE(is_url("HTTPS://x/y"));
  EXPECT_FALSE(is_url("/tmp/http://x"));
}

}  // namespace
}  // namespace udisc::remote
