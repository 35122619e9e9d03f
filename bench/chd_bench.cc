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
// of hunk look-ups the CHD cache served without the reader decompressing.
//   BM_ChdNoReadAhead_Seq64K  the same CHD opened with readahead_hunks = 0
//                             (no hunks decompressed ahead on the pool)
//   BM_ChdStage_*             one stage of a hunk's decoding alone (below)
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "disc/ecma130.h"
#include "formats/chd_codecs.h"
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
enum class Kind { cue, chd, chd_no_readahead };
const ImagePtr& image(Kind kind) {
  static const ImagePtr cue_image = udisc::formats::open_image(Fixture::get().cue).value();
  static const ImagePtr chd_image = udisc::formats::open_image(Fixture::get().chd).value();
  static const ImagePtr chd_plain = udisc::formats::open_chd(udisc::formats::open_file(Fixture::get().chd).value(),
                                                             udisc::formats::ChdOptions{.readahead_hunks = 0})
                                        .value();
  return kind == Kind::cue ? cue_image : kind == Kind::chd ? chd_image : chd_plain;
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

void sequential(benchmark::State& state, Kind kind) {
  const udisc::disc::Image& img = *image(kind);
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

void random_2k(benchmark::State& state, Kind kind) {
  const udisc::disc::Image& img = *image(kind);
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

// ---- Opening a 50 GB CHD ----------------------------------------------------
//
// A v5 CHD of 50 GB in 4 KiB hunks (12.2 million hunks, as `chdman
// createdvd` writes them), made here as a sparse file: the header, a
// compressed map in which every hunk is stored uncompressed (type 4, one
// CRC-16 field each: a 24 MB map, as large as a real 50 GB map), and a hole
// where the data would be (reads as zeros, which the CRCs describe).
class BitWriter {
 public:
  void put(uint32_t value, int bits) {
    for (int i = bits - 1; i >= 0; --i) {
      if (used_ % 8 == 0) bytes.push_back(0);
      if ((value >> i) & 1) bytes.back() |= static_cast<uint8_t>(0x80 >> (used_ % 8));
      ++used_;
    }
  }
  std::vector<uint8_t> bytes;

 private:
  uint64_t used_ = 0;
};

void put_be(std::vector<uint8_t>& out, size_t at, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[at + static_cast<size_t>(i)] = static_cast<uint8_t>(value >> (8 * (bytes - 1 - i)));
}

std::string make_50gb_chd() {
  constexpr uint32_t kHunk = 4096;
  constexpr uint64_t kHunks = 50'000'000'000 / kHunk + 1;
  constexpr uint64_t kMapOffset = 124;
  const uint16_t zeros_crc = udisc::formats::chd::crc16(std::vector<uint8_t>(kHunk, 0));
  BitWriter bits;
  for (int code = 0; code < 16; ++code) bits.put(4, 4);  // RLE tree: 16 codes of 4 bits; code = type
  for (uint64_t left = kHunks; left > 0;) {
    if (left >= 20) {  // type 4 (uncompressed), then "repeat 18 + 16a + b more"
      const uint64_t more = std::min<uint64_t>(left - 20, 255);
      bits.put(4, 4);
      bits.put(8, 4);
      bits.put(static_cast<uint32_t>(more >> 4), 4);
      bits.put(static_cast<uint32_t>(more & 15), 4);
      left -= 2 + 18 + more;  // the type-4 hunk, the RLE code's own hunk, the repeats
    } else {
      bits.put(4, 4);
      --left;
    }
  }
  for (uint64_t i = 0; i < kHunks; ++i) bits.put(zeros_crc, 16);
  const uint64_t first_offset = (kMapOffset + 16 + bits.bytes.size() + kHunk - 1) / kHunk * kHunk;
  uint16_t map_crc = 0xFFFF;
  for (uint64_t i = 0; i < kHunks; ++i) {
    std::vector<uint8_t> v(12);
    put_be(v, 1, kHunk, 3);
    put_be(v, 4, first_offset + i * kHunk, 6);
    put_be(v, 10, zeros_crc, 2);
    v[0] = 4;
    map_crc = udisc::formats::chd::crc16(v, map_crc);
  }
  std::vector<uint8_t> head(kMapOffset + 16);
  std::memcpy(head.data(), "MComprHD", 8);
  put_be(head, 8, 124, 4);
  put_be(head, 12, 5, 4);
  put_be(head, 16, udisc::formats::chd::kCodecZlib, 4);
  put_be(head, 32, kHunks * kHunk, 8);
  put_be(head, 40, kMapOffset, 8);
  put_be(head, 56, kHunk, 4);
  put_be(head, 60, 2048, 4);
  put_be(head, kMapOffset, bits.bytes.size(), 4);
  put_be(head, kMapOffset + 4, first_offset, 6);
  put_be(head, kMapOffset + 10, map_crc, 2);
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/udisc_chd_bench_50gb_XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) std::abort();
  if (::pwrite(fd, head.data(), head.size(), 0) != static_cast<ssize_t>(head.size()) ||
      ::pwrite(fd, bits.bytes.data(), bits.bytes.size(), static_cast<off_t>(head.size())) !=
          static_cast<ssize_t>(bits.bytes.size()) ||
      ::ftruncate(fd, static_cast<off_t>(first_offset + kHunks * kHunk)) != 0) {
    std::abort();
  }
  ::close(fd);
  return path;
}

const std::string& chd_50gb() {
  static const struct Holder {
    std::string path = make_50gb_chd();
    ~Holder() { std::remove(path.c_str()); }
  } holder;
  return holder.path;
}

// open_image only: header and metadata; the map is not read.
void BM_OpenChd50GB(benchmark::State& state) {
  const std::string& path = chd_50gb();
  for (auto _ : state) {
    auto image = udisc::formats::open_image(path);
    if (!image.ok()) {
      state.SkipWithError(image.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(image);
  }
}
BENCHMARK(BM_OpenChd50GB)->Unit(benchmark::kMillisecond);

// Open, then the first read (walks and checks the whole 24 MB map once,
// decodes the one piece of 1024 entries it needs), then a read of a hunk
// elsewhere (another piece).
void BM_OpenAndFirstReadsChd50GB(benchmark::State& state) {
  const std::string& path = chd_50gb();
  std::vector<uint8_t> sector(2048);
  for (auto _ : state) {
    auto image = udisc::formats::open_image(path);
    if (!image.ok() || !(*image)->read_user(12'000'000, 1, sector).ok() ||
        !(*image)->read_user(24'000'000, 1, sector).ok()) {
      state.SkipWithError("open or read failed");
      break;
    }
  }
}
BENCHMARK(BM_OpenAndFirstReadsChd50GB)->Unit(benchmark::kMillisecond);

// ---- Where one reader's time goes: each stage over the CHD's own hunks -------
// Every hunk of the CHD as stored (chd_stored_hunk), decoded once more per
// iteration, one hunk per iteration in disc order. bytes_per_second counts
// the user data the hunks hold (2048 bytes per frame), the unit of the
// Seq64K figures, so each stage's rate is a ceiling for one reader:
//   BM_ChdStage_LzmaOnly    liblzma alone: the sector data of the cdlz hunks
//                           (cdlz_share of all hunks), nothing else
//   BM_ChdStage_Decompress  decompress_hunk: base codec, sub-channel,
//                           frame assembly, ECC P/Q regenerated
//   BM_ChdStage_Crc16       the CRC-16 of each decompressed hunk
// CHD_BENCH_STAGE_CHD=FILE runs the stages over another CD CHD's hunks (e.g.
// the disc bench/chd/run.sh serves).
struct StoredHunks {
  std::vector<udisc::formats::ChdStoredHunk> hunks;
  std::vector<std::vector<uint8_t>> decoded;
  uint32_t hunk_bytes = 0;
  size_t cdlz = 0;
};

const StoredHunks& stored_hunks() {
  static const StoredHunks stored = [] {
    StoredHunks out;
    const char* other = std::getenv("CHD_BENCH_STAGE_CHD");
    const ImagePtr img_ptr = other && *other ? udisc::formats::open_image(other).value() : image(Kind::chd);
    const udisc::disc::Image& img = *img_ptr;
    out.hunk_bytes = stats_of(img).hunk_bytes;
    for (uint64_t h = 0;; ++h) {
      auto hunk = udisc::formats::chd_stored_hunk(img, h);
      if (!hunk) break;
      if (!hunk->ok() && hunk->status().code() == udisc::Status::Code::not_supported) continue;  // a copy
      if (!hunk->ok()) break;
      out.cdlz += (*hunk)->codec == udisc::formats::chd::kCodecCdLzma;
      std::vector<uint8_t> frames(out.hunk_bytes);
      if (!udisc::formats::chd::decompress_hunk((*hunk)->codec, (*hunk)->bytes, frames).ok()) std::abort();
      out.hunks.push_back(std::move(hunk->value()));
      out.decoded.push_back(std::move(frames));
    }
    if (out.hunks.empty()) std::abort();
    return out;
  }();
  return stored;
}

void stage(benchmark::State& state, const std::function<void(size_t)>& run) {
  const StoredHunks& stored = stored_hunks();
  size_t next = 0;
  for (auto _ : state) {
    run(next);
    next = (next + 1) % stored.hunks.size();
  }
  const uint64_t frames = stored.hunk_bytes / udisc::formats::chd::kCdFrameBytes;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frames * 2048));
  state.counters["cdlz_share"] = static_cast<double>(stored.cdlz) / static_cast<double>(stored.hunks.size());
}

void BM_ChdStage_LzmaOnly(benchmark::State& state) {
  const StoredHunks& stored = stored_hunks();
  const uint32_t frames = stored.hunk_bytes / udisc::formats::chd::kCdFrameBytes;
  std::vector<uint8_t> sectors(static_cast<size_t>(frames) * udisc::formats::chd::kCdSectorBytes);
  // A cdlz hunk: ECC bitmap (a bit per frame), 2-byte length of the LZMA
  // data (hunks under 64 KiB), the LZMA data, the sub-channel's deflate data.
  const size_t header = (frames + 7) / 8 + 2;
  std::vector<size_t> cdlz;
  for (size_t i = 0; i < stored.hunks.size(); ++i) {
    if (stored.hunks[i].codec == udisc::formats::chd::kCodecCdLzma) cdlz.push_back(i);
  }
  if (cdlz.empty()) {
    state.SkipWithError("no cdlz hunks");
    return;
  }
  stage(state, [&](size_t n) {
    const std::vector<uint8_t>& bytes = stored.hunks[cdlz[n % cdlz.size()]].bytes;
    const size_t length = (size_t{bytes[header - 2]} << 8) | bytes[header - 1];
    const auto base = std::span<const uint8_t>(bytes).subspan(header, length);
    if (!udisc::formats::chd::decompress_hunk(udisc::formats::chd::kCodecLzma, base, sectors).ok()) std::abort();
    benchmark::DoNotOptimize(sectors.data());
  });
}

void BM_ChdStage_Decompress(benchmark::State& state) {
  const StoredHunks& stored = stored_hunks();
  std::vector<uint8_t> frames(stored.hunk_bytes);
  stage(state, [&](size_t n) {
    if (!udisc::formats::chd::decompress_hunk(stored.hunks[n].codec, stored.hunks[n].bytes, frames).ok()) std::abort();
    benchmark::DoNotOptimize(frames.data());
  });
}

void BM_ChdStage_Crc16(benchmark::State& state) {
  const StoredHunks& stored = stored_hunks();
  stage(state, [&](size_t n) { benchmark::DoNotOptimize(udisc::formats::chd::crc16(stored.decoded[n])); });
}
BENCHMARK(BM_ChdStage_LzmaOnly);
BENCHMARK(BM_ChdStage_Decompress);
BENCHMARK(BM_ChdStage_Crc16);

void BM_Cue_Seq64K(benchmark::State& s) { sequential(s, Kind::cue); }
void BM_Chd_Seq64K(benchmark::State& s) { sequential(s, Kind::chd); }
void BM_ChdNoReadAhead_Seq64K(benchmark::State& s) { sequential(s, Kind::chd_no_readahead); }
void BM_Cue_Rand2K(benchmark::State& s) { random_2k(s, Kind::cue); }
void BM_Chd_Rand2K(benchmark::State& s) { random_2k(s, Kind::chd); }
BENCHMARK(BM_Cue_Seq64K)->Threads(1)->Threads(32)->UseRealTime();
BENCHMARK(BM_Chd_Seq64K)->Threads(1)->Threads(32)->UseRealTime();
BENCHMARK(BM_ChdNoReadAhead_Seq64K)->Threads(1)->Threads(32)->UseRealTime();
BENCHMARK(BM_Cue_Rand2K)->Threads(1)->Threads(32)->UseRealTime();
BENCHMARK(BM_Chd_Rand2K)->Threads(1)->Threads(32)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
