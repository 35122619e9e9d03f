// The CHD reader against chdman (MAME's own writer, Debian mame-tools):
// fixtures are made at test time from the project's generated BIN/CUE discs
// (tests/fixtures/make_mixed_cue), xorriso ISOs and a cdrdao TOC with stored
// sub-channel; each CHD must read back byte-identical to its source, with
// every codec and hunk size chdman can write. Corrupted files give clear
// errors, never a crash.
#include "formats/chd_image.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include <zlib.h>

#include "disc/ecma130.h"
#include "disc/subchannel.h"
#include "formats/chd_codecs.h"
#include "formats/cue_image.h"
#include "formats/cue_test_util.h"

#ifndef MAKE_MIXED_CUE
#error "MAKE_MIXED_CUE must name the generator executable"
#endif

namespace udisc::formats {
namespace {

using disc::TrackMode;
using testing::TempDir;

using testing::q;
using testing::run;

bool have_chdman() { return !run("command -v chdman").empty(); }

// Every external command is bounded in time, so a stuck tool fails the test.
void must_run(const std::string& cmd) {
  int rc = 0;
  const std::string out = run("timeout 120 " + cmd, &rc);
  ASSERT_EQ(rc, 0) << cmd << "\n" << out;
}

ImagePtr open_ok(Result<ImagePtr> r) {
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? r.value() : nullptr;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> raw(const disc::Image& img, int32_t from, int32_t to) {
  std::vector<uint8_t> out(static_cast<size_t>(to - from) * 2352);
  const Status s = img.read_raw(from, static_cast<uint32_t>(to - from), out);
  EXPECT_TRUE(s.ok()) << s.to_string();
  return out;
}

// The same disc: layout, modes and every sector in every form. CHD metadata
// keeps no MCN, ISRC, CD-TEXT, flags (PRE, DCP, 4CH), indices after 1 or sessions (chdman drops them), so the
// generated sub-channel is compared with the source's model stripped of them.
void expect_same_disc(const disc::Image& source, const disc::Image& chd) {
  const disc::Disc& a = source.disc();
  const disc::Disc& b = chd.disc();
  EXPECT_EQ(a.disc_class, b.disc_class);
  EXPECT_EQ(a.leadout_lba(), b.leadout_lba());
  ASSERT_EQ(a.tracks.size(), b.tracks.size());
  disc::Disc stripped = a;
  stripped.mcn.clear();
  for (auto& t : stripped.tracks) {
    t.isrc.clear();
    t.control &= disc::control::kDataTrack;
    std::erase_if(t.indices, [](const disc::Index& ix) { return ix.number > 1; });
  }
  for (size_t i = 0; i < a.tracks.size(); ++i) {
    const disc::Track& ta = a.tracks[i];
    const disc::Track& tb = b.tracks[i];
    SCOPED_TRACE("track " + std::to_string(ta.number));
    EXPECT_EQ(ta.mode, tb.mode);
    EXPECT_EQ(ta.pregap_lba, tb.pregap_lba);
    EXPECT_EQ(ta.start_lba, tb.start_lba);
    EXPECT_EQ(ta.end_lba, tb.end_lba);
    EXPECT_EQ(ta.postgap, tb.postgap);
    EXPECT_EQ(ta.control & disc::control::kDataTrack, tb.control & disc::control::kDataTrack);
    EXPECT_TRUE(raw(source, ta.pregap_lba, ta.end_lba) == raw(chd, tb.pregap_lba, tb.end_lba));
    const uint32_t user = disc::user_data_size(ta.mode);
    const auto n = static_cast<uint32_t>(ta.end_lba - ta.start_lba);
    std::vector<uint8_t> ua(size_t{n} * user), ub(size_t{n} * user);
    ASSERT_TRUE(source.read_user(ta.start_lba, n, ua).ok());
    ASSERT_TRUE(chd.read_user(tb.start_lba, n, ub).ok());
    EXPECT_TRUE(ua == ub);
    for (int32_t lba : {ta.pregap_lba, ta.start_lba, ta.end_lba - 1}) {
      std::array<uint8_t, 96> want{}, got{};
      disc::build_subchannel(stripped, lba, want);
      ASSERT_TRUE(chd.read_subchannel(lba, 1, got).ok());
      EXPECT_TRUE(want == got) << "sub-channel at LBA " << lba;
      EXPECT_EQ(source.stores_raw(lba), chd.stores_raw(lba)) << "LBA " << lba;
    }
  }
}

std::string generate(const TempDir& dir, const std::string& args) {
  must_run(q(MAKE_MIXED_CUE) + " " + q(dir.path()) + " " + args);
  return dir.file("mixed.cue");
}

TEST(ChdImage, CdFromCueReadsBackIdenticalWithEveryCodecAndHunkSize) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  const std::string cue = generate(dir, "--layout single --audio-tracks 2");
  ImagePtr source = open_ok(open_cue(cue));
  ASSERT_TRUE(source);
  // chdman's default codec set (cdlz, cdzl, cdfl), each alone, uncompressed,
  // and hunks of 1, 2 and 8 frames.
  for (const char* opts : {"", "-c cdzl", "-c cdlz", "-c cdfl", "-c none", "-hs 2448 -c cdzl", "-hs 4896"}) {
    SCOPED_TRACE(opts);
    const std::string chd = dir.file("x.chd");
    must_run("chdman createcd -f " + std::string(opts) + " -i " + q(cue) + " -o " + q(chd));
    ImagePtr img = open_ok(open_image(chd));
    ASSERT_TRUE(img);
    EXPECT_EQ(img->format_name(), "chd");
    expect_same_disc(*source, *img);
  }
}

TEST(ChdImage, SplitLayoutAndXaSecondSessionTrack) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  // Redump-style one BIN per track; a wave track. chdman keeps no sessions,
  // so the multisession variant is compared by content per track.
  const std::string cue = generate(dir, "--layout split --audio-tracks 2 --wave");
  ImagePtr source = open_ok(open_cue(cue));
  ASSERT_TRUE(source);
  must_run("chdman createcd -f -i " + q(cue) + " -o " + q(dir.file("x.chd")));
  ImagePtr img = open_ok(open_image(dir.file("x.chd")));
  ASSERT_TRUE(img);
  expect_same_disc(*source, *img);

  TempDir ms;
  const std::string ms_cue = generate(ms, "--layout split --audio-tracks 2 --multisession");
  ImagePtr ms_source = open_ok(open_cue(ms_cue));
  must_run("chdman createcd -f -i " + q(ms_cue) + " -o " + q(ms.file("x.chd")));
  ImagePtr ms_chd = open_ok(open_image(ms.file("x.chd")));
  ASSERT_TRUE(ms_source && ms_chd);
  ASSERT_EQ(ms_chd->disc().tracks.size(), ms_source->disc().tracks.size());
  const disc::Track& xa = ms_chd->disc().tracks.back();
  EXPECT_EQ(xa.mode, TrackMode::mode2_form1);  // MODE2_RAW, subheader says form 1
  EXPECT_EQ(ms_chd->disc().disc_class, disc::DiscClass::cd_rom_xa);
  const disc::Track& xs = ms_source->disc().tracks.back();
  // The sectors carry the headers of the second session's LBAs; the CHD has
  // them byte for byte, at the single-session position.
  EXPECT_TRUE(raw(*ms_source, xs.start_lba, xs.end_lba) == raw(*ms_chd, xa.start_lba, xa.end_lba));
}

TEST(ChdImage, ChdmanExtractcdGivesTheSectorsWeRead) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  const std::string cue = generate(dir, "--layout single --audio-tracks 2");
  must_run("chdman createcd -f -i " + q(cue) + " -o " + q(dir.file("x.chd")));
  must_run("chdman extractcd -f -i " + q(dir.file("x.chd")) + " -o " + q(dir.file("back.cue")) + " -ob " +
           q(dir.file("back.bin")));
  ImagePtr ours = open_ok(open_image(dir.file("x.chd")));
  ImagePtr theirs = open_ok(open_cue(dir.file("back.cue")));
  ASSERT_TRUE(ours && theirs);
  expect_same_disc(*theirs, *ours);
}

// chd_stored_hunk hands out each hunk's bytes as chdman stored them: decoded
// by its codec and checked against the frames read through the image, every
// hunk of a disc with data and audio tracks (cdlz/cdzl and cdfl hunks).
TEST(ChdImage, StoredHunksDecodeToTheFramesRead) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  const std::string cue = generate(dir, "--layout single --audio-tracks 2");
  must_run("chdman createcd -f -i " + q(cue) + " -o " + q(dir.file("x.chd")));
  ImagePtr img = open_ok(open_image(dir.file("x.chd")));
  ASSERT_TRUE(img);
  const auto stats = chd_cache_stats(*img);
  ASSERT_TRUE(stats.has_value());
  const uint32_t frames_per_hunk = stats->hunk_bytes / chd::kCdFrameBytes;
  // Track 1 (data) is stored first: its frames are its sectors in order, from
  // its pregap's first LBA when chdman stored the pregap, else from index 1.
  const disc::Track& first = img->disc().tracks.front();
  ASSERT_NE(first.mode, TrackMode::audio);
  const std::vector<uint8_t> track1 = raw(*img, first.pregap_lba, first.end_lba);
  std::set<uint32_t> codecs;
  std::vector<uint8_t> stored_track1;  // the frames' sectors up to the first copied hunk
  bool copies = false;
  uint64_t h = 0;
  for (;; ++h) {
    auto stored = chd_stored_hunk(*img, h);
    ASSERT_TRUE(stored.has_value());
    if (!stored->ok() && stored->status().code() == Status::Code::not_supported) {
      copies = true;  // a copy of another hunk (chdman stores repeated hunks once)
      continue;
    }
    if (!stored->ok()) {
      EXPECT_EQ(stored->status().code(), Status::Code::out_of_range) << stored->status().to_string();
      break;
    }
    codecs.insert((*stored)->codec);
    std::vector<uint8_t> frames(stats->hunk_bytes);
    ASSERT_TRUE(chd::decompress_hunk((*stored)->codec, (*stored)->bytes, frames).ok()) << "hunk " << h;
    for (uint32_t f = 0; f < frames_per_hunk && !copies; ++f) {
      const auto* sector = frames.data() + size_t{f} * chd::kCdFrameBytes;
      stored_track1.insert(stored_track1.end(), sector, sector + 2352);
    }
  }
  const size_t skip = static_cast<size_t>(first.start_lba - first.pregap_lba) * 2352;
  const size_t n = std::min(stored_track1.size(), track1.size() - skip);
  ASSERT_GE(n, size_t{100} * 2352);
  auto same = [&](size_t from) {
    return std::equal(stored_track1.begin(), stored_track1.begin() + static_cast<std::ptrdiff_t>(n),
                      track1.begin() + static_cast<std::ptrdiff_t>(from));
  };
  const bool from_pregap = same(0);
  const bool from_index1 = same(skip);
  EXPECT_TRUE(from_pregap || from_index1) << "track 1's sectors are not the stored hunks' first frames";
  EXPECT_GT(h, 1u);
  EXPECT_TRUE(codecs.count(chd::kCodecCdFlac)) << "no cdfl hunk: the audio track was not covered";
  // Another image kind has no stored hunks.
  EXPECT_FALSE(chd_stored_hunk(*open_ok(open_cue(cue)), 0).has_value());
}

// A cdrdao TOC whose data file stores 96 bytes of raw sub-channel after each
// sector: chdman keeps them (SUBTYPE:RW_RAW) and we must return them as stored.
TEST(ChdImage, StoredSubchannelIsPassedThrough) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  constexpr int kFrames = 300;
  std::vector<uint8_t> data;
  std::vector<uint8_t> sectors, subs;
  for (int i = 0; i < kFrames; ++i) {
    std::array<uint8_t, 2352> s{};
    std::vector<uint8_t> user(2048);
    for (size_t k = 0; k < user.size(); ++k) user[k] = static_cast<uint8_t>(i * 7 + k);
    ASSERT_TRUE(disc::build_raw_sector(TrackMode::mode1, i, user, s).ok());
    std::array<uint8_t, 96> sub{};
    for (size_t k = 0; k < sub.size(); ++k) sub[k] = static_cast<uint8_t>(i ^ (k * 13));
    data.insert(data.end(), s.begin(), s.end());
    data.insert(data.end(), sub.begin(), sub.end());
    sectors.insert(sectors.end(), s.begin(), s.end());
    subs.insert(subs.end(), sub.begin(), sub.end());
  }
  write_file(dir.file("data.bin"), data);
  // cdrdao's DATAFILE length is MSF; chdman needs it (without it, it loops).
  dir.write_text("disc.toc", "CD_ROM\nTRACK MODE1_RAW RW_RAW\nDATAFILE \"data.bin\" 00:04:00\n");
  must_run("chdman createcd -f -i " + q(dir.file("disc.toc")) + " -o " + q(dir.file("x.chd")));
  ImagePtr img = open_ok(open_image(dir.file("x.chd")));
  ASSERT_TRUE(img);
  ASSERT_EQ(img->disc().leadout_lba(), kFrames);
  std::vector<uint8_t> got_sub(size_t{kFrames} * 96);
  ASSERT_TRUE(img->read_subchannel(0, kFrames, got_sub).ok());
  EXPECT_TRUE(got_sub == subs);
  EXPECT_TRUE(raw(*img, 0, kFrames) == sectors);
}

// Data discs: createraw of an ISO (no metadata: a plain data disc) with
// every general-purpose codec, and the same with "DVD " metadata added.
TEST(ChdImage, RawAndDvdChdsReadBackTheIso) {
  if (!have_chdman() || run("command -v xorriso").empty()) GTEST_SKIP() << "chdman or xorriso not installed";
  TempDir dir;
  std::filesystem::create_directories(dir.file("root"));
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i * 37 % 1001) + " of the CHD test file\n";
  dir.write_text("root/a.txt", text);
  must_run("xorriso -as mkisofs -quiet -V UDISC_CHD -o " + q(dir.file("in.iso")) + " " + q(dir.file("root")));
  const std::vector<uint8_t> iso = read_file(dir.file("in.iso"));
  ASSERT_EQ(iso.size() % 2048, 0u);
  const auto sectors = static_cast<uint32_t>(iso.size() / 2048);
  for (const char* opts : {"-hs 8192 -c zlib", "-hs 8192 -c lzma", "-hs 4096 -c huff", "-hs 16384 -c flac",
                           "-hs 8192 -c none", "-hs 8192"}) {
    SCOPED_TRACE(opts);
    const std::string chd = dir.file("x.chd");
    must_run("chdman createraw -f " + std::string(opts) + " -us 2048 -i " + q(dir.file("in.iso")) + " -o " + q(chd));
    ImagePtr img = open_ok(open_image(chd));
    ASSERT_TRUE(img);
    EXPECT_EQ(img->disc().disc_class, disc::DiscClass::cd_rom);
    EXPECT_EQ(img->disc().leadout_lba(), static_cast<int32_t>(sectors));
    std::vector<uint8_t> user(iso.size());
    ASSERT_TRUE(img->read_user(0, sectors, user).ok());
    EXPECT_TRUE(user == iso);
    auto verified = chd_verify_data(*img);
    ASSERT_TRUE(verified.has_value());
    ASSERT_TRUE(verified->ok()) << verified->status().to_string();
    // chdman records no data SHA-1 in an uncompressed CHD.
    EXPECT_EQ(verified->value(), std::string(opts).find("none") == std::string::npos);
  }
  // chdman adds metadata only to an uncompressed (writeable) CHD.
  must_run("chdman createraw -f -hs 8192 -c none -us 2048 -i " + q(dir.file("in.iso")) + " -o " + q(dir.file("dvd.chd")));
  must_run("chdman addmeta -i " + q(dir.file("dvd.chd")) + " -t 'DVD ' -vt ''");
  ImagePtr dvd = open_ok(open_image(dir.file("dvd.chd")));
  ASSERT_TRUE(dvd);
  EXPECT_EQ(dvd->disc().disc_class, disc::DiscClass::dvd_rom_single_layer);
  std::vector<uint8_t> first(2048);
  ASSERT_TRUE(dvd->read_user(16, 1, first).ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(first.data()) + 1, 5), "CD001");
  std::vector<uint8_t> raw_sector(2352);
  EXPECT_EQ(dvd->read_raw(0, 1, raw_sector).code(), Status::Code::not_supported);
}

TEST(ChdImage, ConcurrentReadersThroughASmallCacheSeeTheSameBytes) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  const std::string cue = generate(dir, "--layout single --audio-tracks 2");
  must_run("chdman createcd -f -i " + q(cue) + " -o " + q(dir.file("x.chd")));
  ImagePtr source = open_ok(open_cue(cue));
  auto file = open_file(dir.file("x.chd"));
  ASSERT_TRUE(file.ok());
  // A cache of one hunk per shard, so readers evict one another constantly.
  ImagePtr img = open_ok(open_chd(*file, ChdOptions{.cache_bytes = 0}));
  ASSERT_TRUE(source && img);
  const int32_t first = img->disc().tracks.front().pregap_lba, end = img->disc().leadout_lba();
  const std::vector<uint8_t> want = raw(*source, first, end);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<uint8_t> got(4 * 2352);
      for (int i = 0; i < 400; ++i) {
        const int32_t lba = first + static_cast<int32_t>(rng() % static_cast<unsigned>(end - first - 4));
        if (!img->read_raw(lba, 4, got).ok() ||
            std::memcmp(got.data(), want.data() + static_cast<size_t>(lba - first) * 2352, got.size()) != 0) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  const auto stats = chd_cache_stats(*img);
  ASSERT_TRUE(stats.has_value());
  EXPECT_GT(stats->misses, 0u);
  EXPECT_EQ(stats->bound_bytes, kChdCacheShards * stats->hunk_bytes);

  // Sequential readers with a deep read-ahead into the same tiny cache:
  // hunks decompressed ahead, taken back, waited for and evicted before use
  // all give the same bytes.
  ImagePtr ahead = open_ok(open_chd(*file, ChdOptions{.cache_bytes = 0, .readahead_hunks = 16}));
  ASSERT_TRUE(ahead);
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<uint8_t> got(16 * 2352);
      for (int32_t lba = first + t * 37; lba + 16 <= end; lba += 16) {
        if (!ahead->read_raw(lba, 16, got).ok() ||
            std::memcmp(got.data(), want.data() + static_cast<size_t>(lba - first) * 2352, got.size()) != 0) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// chdman 0.251 writes only v5, so a v4 CHD is made here from a v5 one by the
// v4 layout (docs/formats/chd.md): 108-byte header, 16-byte map entries right
// after it (even hunks stored with zlib, odd ones uncompressed, each with its
// CRC-32), the hunks, then the metadata chain. It must read as the v5 does.
std::vector<uint8_t> v5_to_v4(const std::vector<uint8_t>& v5) {
  auto be = [&](size_t at, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | v5[at + i];
    return v;
  };
  auto put = [](std::vector<uint8_t>& out, size_t at, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; ++i) out[at + i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
  };
  const uint64_t logical = be(32, 8), map = be(40, 8), meta = be(48, 8);
  const auto hunk_bytes = static_cast<uint32_t>(be(56, 4));
  const uint64_t hunks = (logical + hunk_bytes - 1) / hunk_bytes;
  std::vector<uint8_t> out(108 + hunks * 16);
  std::memcpy(out.data(), "MComprHD", 8);
  put(out, 8, 108, 4);
  put(out, 12, 4, 4);
  put(out, 20, 1, 4);  // zlib
  put(out, 24, hunks, 4);
  put(out, 28, logical, 8);
  put(out, 44, hunk_bytes, 4);
  for (uint64_t h = 0; h < hunks; ++h) {
    std::vector<uint8_t> data(hunk_bytes, 0);
    const uint64_t block = be(map + h * 4, 4);
    if (block != 0) std::memcpy(data.data(), v5.data() + block * hunk_bytes, hunk_bytes);
    const uint32_t crc = static_cast<uint32_t>(crc32(0, data.data(), hunk_bytes));
    std::vector<uint8_t> stored = data;
    uint8_t type = 2;
    if (h % 2 == 0) {
      z_stream z{};
      deflateInit2(&z, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      stored.resize(deflateBound(&z, hunk_bytes));
      z.next_in = data.data();
      z.avail_in = hunk_bytes;
      z.next_out = stored.data();
      z.avail_out = static_cast<uInt>(stored.size());
      deflate(&z, Z_FINISH);
      stored.resize(z.total_out);
      deflateEnd(&z);
      type = 1;
    }
    const size_t e = 108 + h * 16;
    put(out, e, out.size(), 8);
    put(out, e + 8, crc, 4);
    put(out, e + 12, stored.size() & 0xFFFF, 2);
    out[e + 14] = static_cast<uint8_t>(stored.size() >> 16);
    out[e + 15] = type;
    out.insert(out.end(), stored.begin(), stored.end());
  }
  put(out, 36, out.size(), 8);  // metadata offset
  for (uint64_t at = meta; at != 0; at = be(at + 8, 8)) {
    const uint64_t length = be(at + 5, 3);
    const size_t here = out.size();
    out.insert(out.end(), v5.begin() + static_cast<std::ptrdiff_t>(at),
               v5.begin() + static_cast<std::ptrdiff_t>(at + 16 + length));
    put(out, here + 8, be(at + 8, 8) != 0 ? out.size() : 0, 8);
  }
  return out;
}

TEST(ChdImage, Version4ReadsAsTheVersion5ItWasMadeFrom) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  const std::string cue = generate(dir, "--layout single --audio-tracks 2");
  must_run("chdman createcd -f -c none -i " + q(cue) + " -o " + q(dir.file("v5.chd")));
  write_file(dir.file("v4.chd"), v5_to_v4(read_file(dir.file("v5.chd"))));
  ImagePtr v5 = open_ok(open_image(dir.file("v5.chd")));
  ImagePtr v4 = open_ok(open_image(dir.file("v4.chd")));
  ASSERT_TRUE(v5 && v4);
  expect_same_disc(*v5, *v4);
}

// ---- Corruption ------------------------------------------------------------

class ChdCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
    const std::string cue = generate(dir_, "--layout single --audio-tracks 2");
    must_run("chdman createcd -f -c cdzl -i " + q(cue) + " -o " + q(dir_.file("x.chd")));
    good_ = read_file(dir_.file("x.chd"));
    ASSERT_GT(good_.size(), 1000u);
  }
  Result<ImagePtr> open_bytes(std::vector<uint8_t> bytes) {
    return open_image(memory_file(std::move(bytes), "bad.chd"), [](const std::string& n) -> Result<std::shared_ptr<RandomAccessFile>> {
      return Status::NotFound(n);
    });
  }
  static uint64_t be64(const std::vector<uint8_t>& b, size_t at) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | b[at + i];
    return v;
  }
  TempDir dir_;
  std::vector<uint8_t> good_;
};

TEST_F(ChdCorruption, TruncatedFiles) {
  for (size_t size : {size_t{20}, size_t{100}, size_t{130}, good_.size() / 2, good_.size() - 1}) {
    SCOPED_TRACE(size);
    auto r = open_bytes(std::vector<uint8_t>(good_.begin(), good_.begin() + static_cast<std::ptrdiff_t>(size)));
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("bad.chd"), std::string::npos) << r.status().message();
      continue;
    }
    // Opened (the metadata and map survived): reading the lost hunks fails cleanly.
    const disc::Disc& d = (*r)->disc();
    std::vector<uint8_t> buf(2352);
    bool failed = false;
    for (int32_t lba = d.tracks.front().pregap_lba; lba < d.leadout_lba(); ++lba) {
      const Status s = (*r)->read_raw(lba, 1, buf);
      if (!s.ok()) {
        EXPECT_EQ(s.code(), Status::Code::io_error) << s.to_string();
        EXPECT_NE(s.message().find("hunk"), std::string::npos) << s.message();
        failed = true;
        break;
      }
    }
    EXPECT_TRUE(failed);
  }
}

TEST_F(ChdCorruption, BadHeaderFields) {
  auto version = good_;
  version[15] = 7;
  auto r = open_bytes(version);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("CHD version 7"), std::string::npos) << r.status().message();

  auto length = good_;
  length[11] = 99;
  r = open_bytes(length);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("length field"), std::string::npos) << r.status().message();

  auto hunk = good_;
  hunk[56] = hunk[57] = hunk[58] = hunk[59] = 0;  // hunk bytes 0
  r = open_bytes(hunk);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("hunk size 0"), std::string::npos) << r.status().message();

  auto codec = good_;
  std::memcpy(codec.data() + 16, "avhu", 4);
  r = open_bytes(codec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::not_supported);
  EXPECT_NE(r.status().message().find("avhu"), std::string::npos) << r.status().message();

  auto meta = good_;
  const uint64_t bogus = good_.size() + 100;
  for (int i = 0; i < 8; ++i) meta[48 + i] = static_cast<uint8_t>(bogus >> (56 - 8 * i));
  r = open_bytes(meta);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("metadata"), std::string::npos) << r.status().message();
}

TEST_F(ChdCorruption, BadMapIsCaughtByItsCrc) {
  auto bad = good_;
  const uint64_t map = be64(bad, 40);
  bad[map + 16 + 5] ^= 0x5A;  // inside the Huffman-coded map
  // Opening reads no map; the first hunk read walks it and finds it broken.
  auto r = open_bytes(bad);
  if (!r.ok()) {  // unless opening read a sector (the mode of a mode 2 track)
    EXPECT_NE(r.status().message().find("CHD map"), std::string::npos) << r.status().message();
    return;
  }
  std::vector<uint8_t> buf(2352);
  const Status s = (*r)->read_raw(0, 1, buf);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::io_error);
  EXPECT_NE(s.message().find("CHD map"), std::string::npos) << s.message();
}

// A map of several pieces (1024 hunks each): every hunk read back, in order,
// backwards (pieces decoded again after leaving the LRU) and from threads.
TEST(ChdImage, LargeMapIsDecodedInPieces) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  constexpr uint32_t kSectors = 2600;  // 2600 hunks: three pieces
  std::vector<uint8_t> iso(size_t{2048} * kSectors);
  std::mt19937 rng(7);
  for (uint32_t sector = 0; sector < kSectors; ++sector) {
    uint8_t* p = iso.data() + size_t{sector} * 2048;
    if (sector % 97 == 0) continue;                                     // zeros
    if (sector % 13 == 0) { std::memcpy(p, iso.data() + 2048, 2048); continue; }  // a copy of sector 1
    for (size_t i = 0; i < 2048; ++i) p[i] = static_cast<uint8_t>("abcdefgh \n"[rng() % 10]);
  }
  dir.write("in.iso", iso);
  must_run("chdman createraw -f -hs 2048 -us 2048 -c zlib -i " + q(dir.file("in.iso")) + " -o " + q(dir.file("x.chd")));
  ImagePtr img = open_ok(open_image(dir.file("x.chd")));
  ASSERT_TRUE(img);
  std::vector<uint8_t> all(iso.size());
  ASSERT_TRUE(img->read_user(0, kSectors, all).ok());
  EXPECT_TRUE(all == iso);
  std::vector<uint8_t> one(2048);
  for (int32_t lba = kSectors - 1; lba >= 0; lba -= 3) {
    ASSERT_TRUE(img->read_user(lba, 1, one).ok()) << lba;
    ASSERT_EQ(std::memcmp(one.data(), iso.data() + size_t(lba) * 2048, 2048), 0) << lba;
  }
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 r(static_cast<unsigned>(t));
      std::vector<uint8_t> b(2048);
      for (int i = 0; i < 500; ++i) {
        const auto lba = static_cast<int32_t>(r() % kSectors);
        if (!img->read_user(lba, 1, b).ok() || std::memcmp(b.data(), iso.data() + size_t(lba) * 2048, 2048) != 0) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  auto verified = chd_verify_data(*img);
  ASSERT_TRUE(verified && verified->ok());
}

TEST_F(ChdCorruption, CorruptHunkNamesTheHunkAndTheLba) {
  auto bad = good_;
  // The first hunk's data starts at the map's "first block offset".
  const uint64_t map = be64(bad, 40);
  uint64_t first = 0;
  for (int i = 0; i < 6; ++i) first = (first << 8) | bad[map + 4 + i];
  ASSERT_LT(first + 40, bad.size());
  for (int i = 10; i < 40; ++i) bad[first + i] ^= 0xFF;
  auto r = open_bytes(bad);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  std::vector<uint8_t> buf(2352);
  const Status s = (*r)->read_raw(0, 1, buf);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::io_error);
  EXPECT_NE(s.message().find("CHD hunk 0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("LBA 0"), std::string::npos) << s.message();
}

// The SHA-1 `chdman info` prints for a CHD (what a child names its parent by).
std::string chdman_sha1(const std::string& chd) {
  const std::string info = run("chdman info -i " + q(chd));
  const size_t at = info.find("SHA1:");
  if (at == std::string::npos) return "";
  const std::string rest = info.substr(at + 5);
  const size_t from = rest.find_first_not_of(' ');
  return from == std::string::npos ? "" : rest.substr(from, 40);
}

// A child made by chdman from a changed copy of the parent's disc: most hunks
// come from the parent, the changed ones from the child.
TEST(ChdImage, ChildCdChdReadsBackItsSourceThroughItsParent) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir, changed;
  const std::string cue = generate(dir, "--layout single --audio-tracks 2");
  must_run("chdman createcd -f -i " + q(cue) + " -o " + q(dir.file("parent.chd")));
  std::filesystem::copy_file(cue, changed.file("mixed.cue"));
  std::vector<uint8_t> bin = read_file(dir.file("mixed (Track 01).bin"));
  ASSERT_GT(bin.size(), size_t{2352} * 1200);
  for (size_t at : {size_t{2352} * 100 + 16, size_t{2352} * 1100 + 300}) std::fill_n(bin.begin() + at, 64, 0x5A);
  changed.write("mixed (Track 01).bin", bin);
  must_run("chdman createcd -f -i " + q(changed.file("mixed.cue")) + " -o " + q(dir.file("child.chd")) + " -op " +
           q(dir.file("parent.chd")));
  // Only the changed hunks are stored in the child.
  EXPECT_LT(read_file(dir.file("child.chd")).size() * 4, read_file(dir.file("parent.chd")).size());

  ImagePtr source = open_ok(open_cue(changed.file("mixed.cue")));
  ImagePtr child = open_ok(open_image(dir.file("child.chd")));  // the parent found beside it by SHA-1
  ASSERT_TRUE(source && child);
  expect_same_disc(*source, *child);
  auto verified = chd_verify_data(*child);
  ASSERT_TRUE(verified.has_value());
  ASSERT_TRUE(verified->ok()) << verified->status().to_string();
  EXPECT_TRUE(verified->value());

  // The daemon is sent the parent as a companion under the ref the child asks for.
  auto main = open_file(dir.file("child.chd"));
  ASSERT_TRUE(main.ok());
  auto names = companion_names(**main);
  ASSERT_TRUE(names.ok()) << names.status().to_string();
  EXPECT_EQ(*names, std::vector<std::string>{chd_parent_ref(chdman_sha1(dir.file("parent.chd")))});
  EXPECT_EQ(companion_path(dir.path(), names->front()), dir.file("parent.chd"));
}

TEST(ChdImage, ChildRawChdReadsBackItsIso) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir;
  std::vector<uint8_t> iso(size_t{2048} * 3000);
  for (size_t i = 0; i < iso.size(); ++i) iso[i] = static_cast<uint8_t>((i / 2048) * 7 + i % 251);
  dir.write("parent.iso", iso);
  for (size_t sector : {size_t{5}, size_t{1500}, size_t{2999}}) std::fill_n(iso.begin() + sector * 2048, 100, 0xEE);
  dir.write("child.iso", iso);
  for (const char* opts : {"-hs 4096 -c zlib", "-hs 8192 -c none"}) {
    SCOPED_TRACE(opts);
    must_run("chdman createraw -f " + std::string(opts) + " -us 2048 -i " + q(dir.file("parent.iso")) + " -o " +
             q(dir.file("parent.chd")));
    must_run("chdman createraw -f " + std::string(opts) + " -us 2048 -i " + q(dir.file("child.iso")) + " -o " +
             q(dir.file("child.chd")) + " -op " + q(dir.file("parent.chd")));
    ImagePtr child = open_ok(open_image(dir.file("child.chd")));
    ASSERT_TRUE(child);
    std::vector<uint8_t> user(iso.size());
    ASSERT_TRUE(child->read_user(0, static_cast<uint32_t>(iso.size() / 2048), user).ok());
    EXPECT_TRUE(user == iso);
  }
}

TEST(ChdImage, MissingOrWrongParentIsNamedAndAnExplicitParentIsUsed) {
  if (!have_chdman()) GTEST_SKIP() << "chdman (mame-tools) not installed";
  TempDir dir, elsewhere;
  std::vector<uint8_t> iso(size_t{2048} * 600);
  for (size_t i = 0; i < iso.size(); ++i) iso[i] = static_cast<uint8_t>(i % 253);
  dir.write("a.iso", iso);
  iso[2048 * 300] ^= 1;
  dir.write("b.iso", iso);
  const std::string parent = elsewhere.file("parent.chd");
  must_run("chdman createraw -f -hs 4096 -us 2048 -i " + q(dir.file("a.iso")) + " -o " + q(parent));
  must_run("chdman createraw -f -hs 4096 -us 2048 -i " + q(dir.file("b.iso")) + " -o " + q(dir.file("child.chd")) +
           " -op " + q(parent));
  must_run("chdman createraw -f -hs 4096 -us 2048 -i " + q(dir.file("b.iso")) + " -o " + q(dir.file("other.chd")));
  const std::string wanted = chdman_sha1(parent);
  ASSERT_EQ(wanted.size(), 40u);

  // Not beside the child (other.chd is, with another SHA-1).
  auto missing = open_image(dir.file("child.chd"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::not_found);
  EXPECT_NE(missing.status().message().find(wanted), std::string::npos) << missing.status().message();
  EXPECT_NE(missing.status().message().find("--parent"), std::string::npos) << missing.status().message();

  // Named explicitly.
  ImagePtr child = open_ok(open_image(dir.file("child.chd"), {.chd_parent = parent}));
  ASSERT_TRUE(child);
  std::vector<uint8_t> user(iso.size());
  ASSERT_TRUE(child->read_user(0, 600, user).ok());
  EXPECT_TRUE(user == iso);

  // The wrong parent: both SHA-1s named.
  auto wrong = open_image(dir.file("child.chd"), {.chd_parent = dir.file("other.chd")});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Status::Code::invalid_argument);
  EXPECT_NE(wrong.status().message().find(wanted), std::string::npos) << wrong.status().message();
  EXPECT_NE(wrong.status().message().find(chdman_sha1(dir.file("other.chd"))), std::string::npos)
      << wrong.status().message();

  // Without a resolver (open_chd alone) a child is refused naming its parent.
  auto file = open_file(dir.file("child.chd"));
  ASSERT_TRUE(file.ok());
  auto alone = open_chd(std::move(file).value());
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.status().message().find(wanted), std::string::npos) << alone.status().message();
}

}  // namespace
}  // namespace udisc::formats
