// CHD reads against the same disc as BIN/CUE, in one run (issue 10). Results:
// bench/RESULTS.md.
//
// The disc: one MODE1/2352 data track of kSectors sectors whose user data is
// text-like (compressible, as file systems are), written as BIN/CUE in
// $TMPDIR (or /tmp) and converted once by `chdman createcd` with its default
// codecs (cdlz, cdzl, cdfl; 8-frame hunks). Both files are read once first,
// so both readers start from a warm page cache; each image is opened once
// and shared by all benchmarks; the CHD's hunk cache keeps its default bound.
//   *_Seq64K    read_user of 32 sectors (64 KiB), walking the track in order
//   *_Rand2K    read_user of one sector at a random LBA
// Each runs with 1 and 32 threads sharing one image. "hit_rate" is the share
// of hunk look-ups the CHD cache served without decompressing.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "disc/ecma130.h"
#include "formats/chd_image.h"
#include "formats/open.h"

namespace {

using udisc::formats::ImagePtr;

constexpr int32_t kSectors = 20000;  // 47 MB as BIN; 49 MB of CHD frames: more than the 32 MiB cache
constexpr uint32_t kChunk = 32;

class Fixture {
 public:
  static const Fixture& get() {
    static Fixture f;
    return f;
  }
  std::string cue, chd;
  ~Fixture() {
    std::remove(cue.c_str());
    std::remove(bin_.c_str());
    std::remove(chd.c_str());
    ::rmdir(dir_.c_str());
  }

 private:
  Fixture() {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/udisc_chd_bench_XXXXXX";
    if (::mkdtemp(dir_.data()) == nullptr) std::abort();
    bin_ = dir_ + "/disc.bin";
    cue = dir_ + "/disc.cue";
    chd = dir_ + "/disc.chd";
    std::ofstream out(bin_, std::ios::binary);
    std::vector<uint8_t> user(2048);
    std::array<uint8_t, 2352> raw{};
    for (int32_t lba = 0; lba < kSectors; ++lba) {
      std::string text;
      while (text.size() < user.size()) {
        text += "file " + std::to_string(lba / 64) + " line " + std::to_string(text.size() * 7 % 997) + " data\n";
      }
      std::copy_n(text.begin(), user.size(), user.begin());
      if (!udisc::disc::build_raw_sector(udisc::disc::TrackMode::mode1, lba, user, raw).ok()) std::abort();
      out.write(reinterpret_cast<const char*>(raw.data()), raw.size());
    }
    out.close();
    std::ofstream(cue) << "FILE \"disc.bin\" BINARY\n  TRACK 01 MODE1/2352\n    INDEX 01 00:00:00\n";
    const std::string cmd = "timeout 600 chdman createcd -f -i '" + cue + "' -o '" + chd + "' > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) std::abort();
    for (const std::string& p : {bin_, chd}) {  // warm the page cache
      std::ifstream in(p, std::ios::binary);
      std::vector<char> buf(1 << 20);
      while (in.read(buf.data(), static_cast<std::streamsize>(buf.size()))) {
      }
    }
  }
  std::string dir_, bin_;
};

// Images opened once (thread-safe static) and shared by every thread; the
// hit rate is the change of the cache counters over one benchmark run.
const ImagePtr& image(bool chd) {
  static const ImagePtr cue_image = udisc::formats::open_image(Fixture::get().cue).value();
  static const ImagePtr chd_image = udisc::formats::open_image(Fixture::get().chd).value();
  return chd ? chd_image : cue_image;
}

udisc::formats::ChdCacheStats stats_of(const udisc::disc::Image& image) {
  return udisc::formats::chd_cache_stats(image).value_or(udisc::formats::ChdCacheStats{});
}

void report(benchmark::State& state, const udisc::disc::Image& image, uint64_t bytes,
            const udisc::formats::ChdCacheStats& before) {
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  if (state.thread_index() != 0 || !udisc::formats::chd_cache_stats(image)) return;
  const auto after = stats_of(image);
  const double hits = static_cast<double>(after.hits - before.hits);
  const double total = hits + static_cast<double>(after.misses - before.misses);
  state.counters["hit_rate"] = total > 0 ? hits / total : 0.0;
  state.counters["cache_MiB"] = static_cast<double>(after.bound_bytes) / (1 << 20);
}

void sequential(benchmark::State& state, bool chd) {
  const udisc::disc::Image& img = *image(chd);
  const auto before = stats_of(img);
  std::vector<uint8_t> buffer(kChunk * 2048);
  // Threads start at different places, as independent readers would.
  int32_t lba = static_cast<int32_t>((state.thread_index() * 7919) % (kSectors - kChunk));
  uint64_t bytes = 0;
  for (auto _ : state) {
    if (!img.read_user(lba, kChunk, buffer).ok()) {
      state.SkipWithError("read failed");
      break;
    }
    bytes += buffer.size();
    lba += kChunk;
    if (lba + static_cast<int32_t>(kChunk) > kSectors) lba = 0;
  }
  report(state, img, bytes, before);
}

void random_2k(benchmark::State& state, bool chd) {
  const udisc::disc::Image& img = *image(chd);
  const auto before = stats_of(img);
  std::vector<uint8_t> buffer(2048);
  std::mt19937 rng(static_cast<unsigned>(state.thread_index() + 1));
  uint64_t bytes = 0;
  for (auto _ : state) {
    const auto lba = static_cast<int32_t>(rng() % kSectors);
    if (!img.read_user(lba, 1, buffer).ok()) {
      state.SkipWithError("read failed");
      break;
    }
    bytes += buffer.size();
  }
  report(state, img, bytes, before);
}

void BM_Cue_Seq64K(benchmark::State& s) { sequential(s, false); }
void BM_Chd_Seq64K(benchmark::State& s) { sequential(s, true); }
void BM_Cue_Rand2K(benchmark::State& s) { random_2k(s, false); }
void BM_Chd_Rand2K(benchmark::State& s) { random_2k(s, true); }
BENCHMARK(BM_Cue_Seq64K)->Threads(1)->Threads(32)->UseRealTime();
BENCHMARK(BM_Chd_Seq64K)->Threads(1)->Threads(32)->UseRealTime();
BENCHMARK(BM_Cue_Rand2K)->Threads(1)->Threads(32)->UseRealTime();
BENCHMARK(BM_Chd_Rand2K)->Threads(1)->Threads(32)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
