// ECM and CSO files read as what they decode to; whole-file compressors
// without an index give an error that says how to decompress.
//
// The encoders are the project's test writer (tests/fixtures/write_image
// --ecm / --cso; Debian packages no ECM or CSO tool). The check that writer
// and reader do not share a misunderstanding: the decoded bytes must equal
// the original file byte for byte, which for ECM means every regenerated
// sync, header, EDC and ECC equals what disc/ecma130 produced for the source.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "formats/compressed_files.h"
#include "formats/cue_test_util.h"
#include "formats/open.h"

#ifndef MAKE_MIXED_CUE
#error "MAKE_MIXED_CUE must name the generator executable"
#endif
#ifndef WRITE_IMAGE
#error "WRITE_IMAGE must name the writer executable"
#endif

namespace udisc::formats {
namespace {

using testing::TempDir;
using testing::q;
using testing::run;
using testing::slurp;

class Compressed : public ::testing::Test {
 protected:
  void SetUp() override {
    int rc = 0;
    const std::string out = run(q(MAKE_MIXED_CUE) + " " + q(dir_.path()) + " --multisession", &rc);
    ASSERT_EQ(rc, 0) << out;
  }
  std::string encode(const std::string& how, const std::string& in, const std::string& out) {
    int rc = 0;
    const std::string msg = run(q(WRITE_IMAGE) + " --" + how + " " + q(dir_.file(in)) + " " + q(dir_.file(out)), &rc);
    EXPECT_EQ(rc, 0) << msg;
    return dir_.file(out);
  }
  // Track 1's user data as disc.iso, encoded `how` (cso, zso) by write_image:
  // the file starts with `magic`, is smaller (the pattern compresses, so
  // blocks are stored compressed), decodes byte for byte, and opens as the ISO.
  void expect_iso_round_trip(const std::string& how,
                             Result<std::shared_ptr<RandomAccessFile>> (*open)(std::shared_ptr<RandomAccessFile>),
                             const std::string& magic) {
    auto cue = open_image(dir_.file("mixed.cue"));
    ASSERT_TRUE(cue.ok());
    const auto& t1 = (*cue)->disc().tracks[0];
    std::vector<uint8_t> iso(static_cast<size_t>(t1.length()) * 2048);
    ASSERT_TRUE((*cue)->read_user(0, static_cast<uint32_t>(t1.length()), iso).ok());
    dir_.write("disc.iso", iso);
    const std::string path = encode(how, "disc.iso", "disc." + how);
    const std::vector<uint8_t> bytes = slurp(path);
    ASSERT_GE(bytes.size(), 4u);
    EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), magic);
    EXPECT_LT(bytes.size(), iso.size());
    auto file = open_file(path);
    ASSERT_TRUE(file.ok());
    auto decoded = open(*file);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    EXPECT_EQ((*decoded)->name(), dir_.file("disc.iso"));
    expect_decodes_to(**decoded, iso);
    auto img = open_image(path);
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    EXPECT_EQ((*img)->format_name(), "iso");
    std::vector<uint8_t> back(iso.size());
    ASSERT_TRUE((*img)->read_user(0, static_cast<uint32_t>(t1.length()), back).ok());
    EXPECT_EQ(back, iso);
  }
  // Track 1's first 64 sectors as small.iso, encoded `how` (cso, zso); the encoded bytes.
  std::vector<uint8_t> small_encoded(const std::string& how) {
    auto cue = open_image(dir_.file("mixed.cue"));
    EXPECT_TRUE(cue.ok());
    if (!cue.ok()) return {};
    std::vector<uint8_t> iso(2048 * 64);
    EXPECT_TRUE((*cue)->read_user(0, 64, iso).ok());
    dir_.write("small.iso", iso);
    return slurp(encode(how, "small.iso", "small." + how));
  }
  // The decoded file equals `original` in one read and in random small reads.
  void expect_decodes_to(const RandomAccessFile& f, const std::vector<uint8_t>& original) {
    ASSERT_EQ(f.size(), original.size());
    std::vector<uint8_t> all(original.size());
    ASSERT_TRUE(f.read_at(0, all).ok());
    EXPECT_TRUE(all == original) << "whole-file decode differs";
    std::mt19937_64 rng(7);
    for (int i = 0; i < 300; ++i) {
      const uint64_t at = rng() % original.size();
      const size_t n = static_cast<size_t>(std::min<uint64_t>(1 + rng() % 6000, original.size() - at));
      std::vector<uint8_t> part(n);
      ASSERT_TRUE(f.read_at(at, part).ok()) << at;
      ASSERT_TRUE(std::equal(part.begin(), part.end(), original.begin() + static_cast<std::ptrdiff_t>(at)))
          << "read of " << n << " bytes at " << at;
    }
    std::vector<uint8_t> past(2);
    EXPECT_FALSE(f.read_at(original.size() - 1, past).ok());
  }
  TempDir dir_;
};

TEST_F(Compressed, EcmOfMode1AudioAndXaTracksDecodesByteForByte) {
  for (const char* bin : {"mixed (Track 01).bin", "mixed (Track 03).bin", "mixed (Track 06).bin"}) {
    const std::string ecm = encode("ecm", bin, std::string(bin) + ".ecm");
    auto file = open_file(ecm);
    ASSERT_TRUE(file.ok());
    auto decoded = open_ecm(*file);
    ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
    EXPECT_EQ((*decoded)->name(), dir_.file(bin));
    expect_decodes_to(**decoded, slurp(dir_.file(bin)));
    // Sector records carry only what cannot be regenerated: 2051 of 2352 bytes plus
    // a record header for each of track 1's 600 mode 1 sectors (the rest is audio).
    if (std::string(bin).find("01") != std::string::npos) {
      EXPECT_LT((*file)->size(), slurp(dir_.file(bin)).size() - 600 * 290);
    }
  }
}

TEST_F(Compressed, CueSheetNamingEcmFilesIsTheSameDisc) {
  for (const char* bin : {"mixed (Track 01).bin", "mixed (Track 06).bin"}) encode("ecm", bin, std::string(bin) + ".ecm");
  std::string cue;
  {
    auto b = slurp(dir_.file("mixed.cue"));
    cue.assign(b.begin(), b.end());
  }
  for (const char* bin : {"mixed (Track 01).bin", "mixed (Track 06).bin"}) {
    const std::string from = std::string("\"") + bin + "\"";
    cue.replace(cue.find(from), from.size(), std::string("\"") + bin + ".ecm\"");
  }
  dir_.write_text("ecm.cue", cue);
  auto a = open_image(dir_.file("mixed.cue"));
  auto b = open_image(dir_.file("ecm.cue"));
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  std::vector<uint8_t> ra(2352), rb(2352);
  for (const auto& t : (*a)->disc().tracks) {
    for (int32_t lba = t.pregap_lba; lba < t.end_lba; lba += 7) {
      ASSERT_TRUE((*a)->read_raw(lba, 1, ra).ok());
      ASSERT_TRUE((*b)->read_raw(lba, 1, rb).ok()) << lba;
      ASSERT_EQ(ra, rb) << "LBA " << lba;
    }
  }
}

TEST_F(Compressed, EcmAloneOpensAsTheImageItEncodes) {
  const std::string ecm = encode("ecm", "mixed (Track 01).bin", "track1.bin.ecm");
  auto direct = open_image(dir_.file("mixed (Track 01).bin"));
  auto via = open_image(ecm);
  ASSERT_TRUE(direct.ok()) << direct.status().to_string();
  ASSERT_TRUE(via.ok()) << via.status().to_string();
  EXPECT_EQ((*via)->disc().leadout_lba(), (*direct)->disc().leadout_lba());
  std::vector<uint8_t> a(2048 * 16), b(2048 * 16);
  ASSERT_TRUE((*direct)->read_user(100, 16, a).ok());
  ASSERT_TRUE((*via)->read_user(100, 16, b).ok());
  EXPECT_EQ(a, b);
}

TEST_F(Compressed, CsoDecodesByteForByteAndOpensAsItsIso) { expect_iso_round_trip("cso", open_cso, "CISO"); }

TEST_F(Compressed, ZsoDecodesByteForByteAndOpensAsItsIso) {
  // ZSO: the CSO container with LZ4 raw blocks (liblz4 on both sides).
  expect_iso_round_trip("zso", open_zso, "ZISO");
}

void expect_error(const Result<std::shared_ptr<RandomAccessFile>>& r, const std::string& needle) {
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().to_string().find(needle), std::string::npos) << r.status().to_string();
}

// The file opens (only the index is read at open) and its first read fails, naming the block.
void expect_first_read_fails(const Result<std::shared_ptr<RandomAccessFile>>& opened, const std::string& needle) {
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  std::vector<uint8_t> out(2048);
  const Status s = opened.value()->read_at(0, out);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.to_string().find(needle), std::string::npos) << s.to_string();
}

TEST_F(Compressed, MalformedEcmAndCsoGiveClearErrors) {
  const std::vector<uint8_t> ecm = slurp(encode("ecm", "mixed (Track 01).bin", "t.ecm"));
  auto ecm_of = [&](std::vector<uint8_t> b) { return open_ecm(memory_file(std::move(b), "bad.bin.ecm")); };
  expect_error(ecm_of(std::vector<uint8_t>(ecm.begin(), ecm.begin() + 1000)), "runs past the end");
  expect_error(ecm_of(std::vector<uint8_t>(ecm.begin(), ecm.end() - 9)), "without its end marker");
  expect_error(ecm_of({'E', 'C', 'M', 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), "offset 4");
  expect_error(ecm_of({'E', 'C', 'M', 1}), "not an ECM file");

  const std::vector<uint8_t> cso = small_encoded("cso");
  auto cso_of = [&](std::vector<uint8_t> b) { return open_cso(memory_file(std::move(b), "bad.cso")); };
  auto v2 = cso;
  v2[20] = 2;
  expect_error(cso_of(v2), "CSO version 2");
  auto block = cso;
  block[16] = 0x33;
  expect_error(cso_of(block), "block size");
  expect_error(cso_of(std::vector<uint8_t>(cso.begin(), cso.begin() + 40)), "block index");
  // Damaged deflate data: open succeeds (index only), the read of that block fails and names it.
  auto damaged = cso;
  for (size_t i = 24 + 65 * 4; i < damaged.size(); ++i) damaged[i] ^= 0x5A;
  expect_first_read_fails(cso_of(damaged), "block 0");
}

TEST_F(Compressed, MalformedZsoGivesClearErrors) {
  const std::vector<uint8_t> zso = small_encoded("zso");
  auto zso_of = [&](std::vector<uint8_t> b) { return open_zso(memory_file(std::move(b), "bad.zso")); };
  auto v2 = zso;
  v2[20] = 2;
  expect_error(zso_of(v2), "ZSO version 2");
  expect_error(zso_of(std::vector<uint8_t>(zso.begin(), zso.begin() + 40)), "block index");
  auto cso = zso;
  std::memcpy(cso.data(), "CISO", 4);
  expect_error(zso_of(cso), "not a ZSO file");
  // A damaged LZ4 block: open succeeds (index only), the read of that block fails and names it.
  auto damaged = zso;
  for (size_t i = 24 + 65 * 4; i < damaged.size(); ++i) damaged[i] = 0xF0;
  expect_first_read_fails(zso_of(damaged), "block 0: LZ4 data does not decode");
}

TEST_F(Compressed, XzWithBlocksIsReadByBlockAndOneHugeBlockIsRefused) {
  auto cue = open_image(dir_.file("mixed.cue"));
  ASSERT_TRUE(cue.ok());
  std::vector<uint8_t> iso(2048 * 600);
  ASSERT_TRUE((*cue)->read_user(0, 600, iso).ok());
  dir_.write("b.iso", iso);
  int rc = 0;
  std::string out = run("xz -k -T1 --block-size=65536 " + q(dir_.file("b.iso")), &rc);
  ASSERT_EQ(rc, 0) << out;
  auto file = open_file(dir_.file("b.iso.xz"));
  ASSERT_TRUE(file.ok());
  auto decoded = open_xz(*file);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ((*decoded)->name(), dir_.file("b.iso"));
  expect_decodes_to(**decoded, iso);
  auto img = open_image(dir_.file("b.iso.xz"));
  ASSERT_TRUE(img.ok()) << img.status().to_string();
  std::vector<uint8_t> back(iso.size());
  ASSERT_TRUE((*img)->read_user(0, 600, back).ok());
  EXPECT_EQ(back, iso);
  // One block of 17 MiB (plain xz): no random access, and the error says what to do.
  std::vector<uint8_t> big(17 << 20, 0);
  dir_.write("big.iso", big);
  out = run("xz -k -0 " + q(dir_.file("big.iso")), &rc);
  ASSERT_EQ(rc, 0) << out;
  auto r = open_image(dir_.file("big.iso.xz"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::not_supported);
  EXPECT_NE(r.status().to_string().find("unxz -k"), std::string::npos) << r.status().to_string();
  // A damaged block fails the read that touches it, naming the block.
  std::vector<uint8_t> bytes = slurp(dir_.file("b.iso.xz"));
  bytes[200] ^= 0xFF;
  auto damaged = open_xz(memory_file(bytes, "d.iso.xz"));
  ASSERT_TRUE(damaged.ok()) << damaged.status().to_string();
  std::vector<uint8_t> one(2048);
  const Status s = (*damaged)->read_at(0, one);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.to_string().find("xz block 0"), std::string::npos) << s.to_string();
}

TEST_F(Compressed, GzipAndZstdSayHowToDecompress) {
  auto cue = open_image(dir_.file("mixed.cue"));
  ASSERT_TRUE(cue.ok());
  std::vector<uint8_t> iso(2048 * 32);
  ASSERT_TRUE((*cue)->read_user(0, 32, iso).ok());
  dir_.write("z.iso", iso);
  struct Case {
    const char* command;
    const char* file;
    const char* hint;
  };
  for (const Case& c : {Case{"gzip -k", "z.iso.gz", "gunzip -k"}, Case{"zstd -q -k", "z.iso.zst", "zstd -d"}}) {
    int rc = 0;
    const std::string out = run(std::string(c.command) + " " + q(dir_.file("z.iso")), &rc);
    ASSERT_EQ(rc, 0) << out;
    auto r = open_image(dir_.file(c.file));
    ASSERT_FALSE(r.ok()) << c.file;
    EXPECT_EQ(r.status().code(), Status::Code::not_supported);
    EXPECT_NE(r.status().to_string().find(c.hint), std::string::npos) << r.status().to_string();
  }
}

}  // namespace
}  // namespace udisc::formats
