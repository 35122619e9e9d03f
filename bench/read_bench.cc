// User-data read throughput through disc::Image (ISO reader) against plain
// pread of the same page-cached file, in the same run. Results: bench/RESULTS.md.
//
// The image is a 128 MiB file in $TMPDIR (or /tmp) written once and read once
// before measuring, so both paths read from the page cache; each iteration
// reads one 32-sector (64 KiB) chunk, walking through the file sequentially.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "formats/open.h"

namespace {

constexpr uint32_t kChunkSectors = 32;
constexpr uint32_t kSectorSize = 2048;
constexpr uint64_t kImageBytes = 128ull << 20;
constexpr int32_t kSectors = static_cast<int32_t>(kImageBytes / kSectorSize);

class CachedIso {
 public:
  static const CachedIso& get() {
    static CachedIso instance;
    return instance;
  }
  const std::string& path() const { return path_; }
  ~CachedIso() { ::unlink(path_.c_str()); }

 private:
  CachedIso() {
    const char* tmp = std::getenv("TMPDIR");
    path_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/udisc_read_bench_XXXXXX";
    int fd = ::mkstemp(path_.data());
    if (fd < 0) std::abort();
    std::vector<uint8_t> chunk(1 << 20);
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<uint8_t>(i * 131 + 7);
    for (uint64_t done = 0; done < kImageBytes; done += chunk.size()) {
      if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) std::abort();
    }
    // Read it once so both measurements start from a warm page cache.
    ::lseek(fd, 0, SEEK_SET);
    while (::read(fd, chunk.data(), chunk.size()) > 0) {
    }
    ::close(fd);
  }
  std::string path_;
};

void BM_PlainPread(benchmark::State& state) {
  const int fd = ::open(CachedIso::get().path().c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    state.SkipWithError("open failed");
    return;
  }
  std::vector<uint8_t> buffer(kChunkSectors * kSectorSize);
  int32_t lba = 0;
  for (auto _ : state) {
    const ssize_t n = ::pread(fd, buffer.data(), buffer.size(), static_cast<off_t>(lba) * kSectorSize);
    if (n != static_cast<ssize_t>(buffer.size())) {
      state.SkipWithError("short pread");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    lba = (lba + static_cast<int32_t>(kChunkSectors)) % kSectors;
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kChunkSectors * kSectorSize);
}
BENCHMARK(BM_PlainPread);

void BM_ImageReadUser(benchmark::State& state) {
  auto image = udisc::formats::open_image(CachedIso::get().path());
  if (!image.ok()) {
    state.SkipWithError(image.status().message().c_str());
    return;
  }
  std::vector<uint8_t> buffer(kChunkSectors * kSectorSize);
  int32_t lba = 0;
  for (auto _ : state) {
    if (!(*image)->read_user(lba, kChunkSectors, buffer).ok()) {
      state.SkipWithError("read_user failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    lba = (lba + static_cast<int32_t>(kChunkSectors)) % kSectors;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kChunkSectors * kSectorSize);
}
BENCHMARK(BM_ImageReadUser);

// Raw 2352-byte sectors synthesised from the same ISO (bytes counted as user data read).
void BM_ImageReadRawFromIso(benchmark::State& state) {
  auto image = udisc::formats::open_image(CachedIso::get().path());
  if (!image.ok()) {
    state.SkipWithError(image.status().message().c_str());
    return;
  }
  std::vector<uint8_t> buffer(kChunkSectors * 2352);
  int32_t lba = 0;
  for (auto _ : state) {
    if (!(*image)->read_raw(lba, kChunkSectors, buffer).ok()) {
      state.SkipWithError("read_raw failed");
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    lba = (lba + static_cast<int32_t>(kChunkSectors)) % kSectors;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * kChunkSectors * kSectorSize);
}
BENCHMARK(BM_ImageReadRawFromIso);

}  // namespace

BENCHMARK_MAIN();
