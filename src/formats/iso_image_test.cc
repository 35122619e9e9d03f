#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "disc/ecma130.h"
#include "disc/subchannel.h"
#include "formats/open.h"

namespace udisc::formats {
namespace {

using disc::TrackMode;

// A distinct byte pattern per sector and offset.
std::vector<uint8_t> pattern(size_t sectors, size_t sector_size, uint8_t seed = 1) {
  std::vector<uint8_t> v(sectors * sector_size);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i / sector_size) * 31 + (i % 251) + seed);
  return v;
}

// Raw sectors built by the ECMA-130 generator from `user` data of `mode`.
std::vector<uint8_t> raw_image(TrackMode mode, const std::vector<uint8_t>& user) {
  const size_t size = disc::user_data_size(mode);
  const size_t sectors = user.size() / size;
  std::vector<uint8_t> raw(sectors * disc::kRawSectorSize);
  for (size_t i = 0; i < sectors; ++i) {
    std::span<uint8_t, 2352> out(raw.data() + i * 2352, 2352);
    Status s = disc::build_raw_sector(mode, static_cast<int32_t>(i), std::span(user).subspan(i * size, size), out);
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  return raw;
}

// A file of `size` zero bytes that occupies no memory; optionally failing.
class ZeroFile final : public RandomAccessFile {
 public:
  explicit ZeroFile(uint64_t size, bool fail = false) : size_(size), fail_(fail) {}
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  Status read_at(uint64_t offset, std::span<uint8_t> out) const override {
    if (fail_ && offset > 0) return Status::IoError("zero: failing read at " + std::to_string(offset));
    if (offset + out.size() > size_) return Status::IoError("zero: past end");
    std::memset(out.data(), 0, out.size());
    return Status::Ok();
  }

 private:
  uint64_t size_;
  bool fail_;
  std::string name_ = "zero.iso";
};

ImagePtr open_ok(std::vector<uint8_t> bytes, const std::string& name = "test.iso") {
  auto r = open_iso(memory_file(std::move(bytes), name));
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? r.value() : nullptr;
}

TEST(IsoImage, PlainImageIsOneMode1Track) {
  const auto user = pattern(20, 2048);
  ImagePtr image = open_ok(user);
  ASSERT_NE(image, nullptr);
  const disc::Disc& d = image->disc();
  EXPECT_EQ(image->format_name(), "iso");
  EXPECT_EQ(d.disc_class, disc::DiscClass::cd_rom);
  ASSERT_EQ(d.tracks.size(), 1u);
  ASSERT_EQ(d.sessions.size(), 1u);
  EXPECT_EQ(d.tracks[0].mode, TrackMode::mode1);
  EXPECT_EQ(d.tracks[0].start_lba, 0);
  EXPECT_EQ(d.tracks[0].length(), 20);
  EXPECT_EQ(d.tracks[0].pregap(), 0);
  EXPECT_EQ(d.tracks[0].control, disc::control::kDataTrack);
  EXPECT_EQ(d.leadout_lba(), 20);
  EXPECT_FALSE(image->stores_raw(0));

  std::vector<uint8_t> out(3 * 2048);
  ASSERT_TRUE(image->read_user(5, 3, out).ok());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), user.begin() + 5 * 2048));
}

TEST(IsoImage, ReadsOutsideTheDiscAreOutOfRange) {
  ImagePtr image = open_ok(pattern(4, 2048));
  ASSERT_NE(image, nullptr);
  std::vector<uint8_t> one(2048), two(4096), raw(2352), sub(96);
  EXPECT_EQ(image->read_user(4, 1, one).code(), Status::Code::out_of_range);
  EXPECT_EQ(image->read_user(3, 2, two).code(), Status::Code::out_of_range);
  EXPECT_EQ(image->read_user(-1, 1, one).code(), Status::Code::out_of_range);
  EXPECT_EQ(image->read_raw(4, 1, raw).code(), Status::Code::out_of_range);
  EXPECT_EQ(image->read_subchannel(4, 1, sub).code(), Status::Code::out_of_range);
  Status s = image->read_user(10, 1, one);
  EXPECT_NE(s.message().find("LBA 10"), std::string::npos) << s.message();
  // Buffer size must match count * sector size.
  EXPECT_EQ(image->read_user(0, 1, two).code(), Status::Code::invalid_argument);
  EXPECT_EQ(image->read_raw(0, 1, one).code(), Status::Code::invalid_argument);
}

TEST(IsoImage, SynthesisedRawSectorsAreCompleteAndCheckClean) {
  const auto user = pattern(40, 2048, 7);
  ImagePtr image = open_ok(user);
  ASSERT_NE(image, nullptr);
  std::vector<uint8_t> raw(40 * 2352);
  ASSERT_TRUE(image->read_raw(0, 40, raw).ok());
  for (int32_t lba = 0; lba < 40; ++lba) {
    const uint8_t* s = raw.data() + lba * 2352;
    EXPECT_TRUE(std::equal(disc::ecma130::kSync.begin(), disc::ecma130::kSync.end(), s)) << lba;
    const disc::Msf msf = disc::lba_to_msf(lba);
    EXPECT_EQ(s[12], disc::to_bcd(msf.minute));
    EXPECT_EQ(s[13], disc::to_bcd(msf.second));
    EXPECT_EQ(s[14], disc::to_bcd(msf.frame));
    EXPECT_EQ(s[15], 1);
    EXPECT_TRUE(std::equal(s + 16, s + 16 + 2048, user.begin() + lba * 2048)) << lba;
    const auto check = disc::check_raw_sector(std::span<const uint8_t, 2352>(s, 2352), lba, TrackMode::mode1);
    EXPECT_TRUE(check.ok()) << "LBA " << lba << ": " << disc::to_string(check.first_bad());
  }
  // One sector at a time gives the same bytes as a batch.
  std::vector<uint8_t> single(2352);
  ASSERT_TRUE(image->read_raw(17, 1, single).ok());
  EXPECT_TRUE(std::equal(single.begin(), single.end(), raw.begin() + 17 * 2352));
  // The independent checker notices a changed user byte in a synthesised sector.
  raw[3 * 2352 + 100] ^= 0x01;
  EXPECT_FALSE(disc::check_raw_sector(std::span<const uint8_t, 2352>(raw.data() + 3 * 2352, 2352), 3).ok());
}

TEST(IsoImage, SubchannelCarriesPositionQWithGoodCrc) {
  ImagePtr image = open_ok(pattern(10, 2048));
  ASSERT_NE(image, nullptr);
  std::vector<uint8_t> sub(10 * 96);
  ASSERT_TRUE(image->read_subchannel(0, 10, sub).ok());
  for (int i = 0; i < 10; ++i) {
    const disc::QFrame q = disc::extract_q(std::span<const uint8_t, 96>(sub.data() + i * 96, 96));
    EXPECT_TRUE(disc::q_crc_ok(q)) << i;
    EXPECT_EQ(q[0], 0x41) << "CONTROL data track, ADR 1";  // ECMA-130 22.3
    EXPECT_EQ(q[1], 0x01) << "track 1";
    const disc::Msf abs = disc::lba_to_msf(i);
    EXPECT_EQ(q[7], disc::to_bcd(abs.minute));
    EXPECT_EQ(q[8], disc::to_bcd(abs.second));
    EXPECT_EQ(q[9], disc::to_bcd(abs.frame));
  }
}

TEST(IsoImage, SizeNotAMultipleOf2048IsNamedInTheError) {
  auto r = open_iso(memory_file(std::vector<uint8_t>(2049), "odd.iso"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::corruption);
  EXPECT_NE(r.status().message().find("odd.iso"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("2049"), std::string::npos) << r.status().message();

  auto empty = open_iso(memory_file({}, "empty.iso"));
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("empty.iso"), std::string::npos);
  EXPECT_FALSE(open_iso(nullptr).ok());
}

TEST(IsoImage, DiscClassFollowsSizeWithoutReadingTheImage) {
  struct Case {
    uint64_t sectors;
    disc::DiscClass cls;
  };
  const Case cases[] = {{1, disc::DiscClass::cd_rom},
                        {405000, disc::DiscClass::cd_rom},
                        {405001, disc::DiscClass::dvd_rom_single_layer},
                        {2295104, disc::DiscClass::dvd_rom_single_layer},
                        {2295105, disc::DiscClass::dvd_rom_dual_layer},
                        {4173824, disc::DiscClass::dvd_rom_dual_layer},
                        {4173825, disc::DiscClass::bd_rom},
                        {12219392, disc::DiscClass::bd_rom}};
  for (const Case& c : cases) {
    auto r = open_iso(std::make_shared<ZeroFile>(c.sectors * 2048));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)->disc().disc_class, c.cls) << c.sectors;
    EXPECT_EQ((*r)->disc().leadout_lba(), static_cast<int32_t>(c.sectors));
  }
  // A DVD has no raw CD sectors.
  auto dvd = open_iso(std::make_shared<ZeroFile>(405001ull * 2048));
  ASSERT_TRUE(dvd.ok());
  std::vector<uint8_t> raw(2352);
  EXPECT_EQ((*dvd)->read_raw(0, 1, raw).code(), Status::Code::not_supported);
}

TEST(IsoImage, ReadErrorsPropagateAsIoError) {
  auto r = open_iso(std::make_shared<ZeroFile>(100 * 2048, /*fail=*/true));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  std::vector<uint8_t> out(2048);
  EXPECT_EQ((*r)->read_user(50, 1, out).code(), Status::Code::io_error);
  std::vector<uint8_t> raw(2352);
  EXPECT_EQ((*r)->read_raw(50, 1, raw).code(), Status::Code::io_error);
}

TEST(IsoImage, RawMode1SectorsAreRecognisedAndPassedThrough) {
  const auto user = pattern(30, 2048, 3);
  auto raw = raw_image(TrackMode::mode1, user);
  // Damage one ECC byte: stored sectors must come back exactly as stored.
  raw[7 * 2352 + 2300] ^= 0xFF;
  ImagePtr image = open_ok(raw, "raw.bin");
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->format_name(), "iso-raw");
  const disc::Disc& d = image->disc();
  EXPECT_EQ(d.tracks[0].mode, TrackMode::mode1);
  EXPECT_EQ(d.disc_class, disc::DiscClass::cd_rom);
  EXPECT_EQ(d.leadout_lba(), 30);
  EXPECT_TRUE(image->stores_raw(0));
  EXPECT_TRUE(image->stores_raw(29));
  EXPECT_FALSE(image->stores_raw(30));

  std::vector<uint8_t> out(30 * 2352);
  ASSERT_TRUE(image->read_raw(0, 30, out).ok());
  EXPECT_EQ(out, raw);
  std::vector<uint8_t> u(30 * 2048);
  ASSERT_TRUE(image->read_user(0, 30, u).ok());
  EXPECT_EQ(u, user);
}

TEST(IsoImage, RawMode2XaFormsAreDecidedFromTheSubheader) {
  {
    const auto user = pattern(20, 2048, 5);
    ImagePtr image = open_ok(raw_image(TrackMode::mode2_form1, user));
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(image->disc().tracks[0].mode, TrackMode::mode2_form1);
    EXPECT_EQ(image->disc().disc_class, disc::DiscClass::cd_rom_xa);
    std::vector<uint8_t> u(20 * 2048);
    ASSERT_TRUE(image->read_user(0, 20, u).ok());
    EXPECT_EQ(u, user);
  }
  {
    const auto user = pattern(20, 2324, 9);
    ImagePtr image = open_ok(raw_image(TrackMode::mode2_form2, user));
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(image->disc().tracks[0].mode, TrackMode::mode2_form2);
    std::vector<uint8_t> u(20 * 2324);
    ASSERT_TRUE(image->read_user(0, 20, u).ok());
    EXPECT_EQ(u, user);
  }
  {
    // Formless mode 2: subheader copies differ (it is user data).
    auto user = pattern(3, 2336, 11);
    for (size_t i = 0; i < 3; ++i) {
      user[i * 2336 + 0] = 1;
      user[i * 2336 + 4] = 2;
    }
    ImagePtr image = open_ok(raw_image(TrackMode::mode2, user));
    ASSERT_NE(image, nullptr);
    EXPECT_EQ(image->disc().tracks[0].mode, TrackMode::mode2);
    std::vector<uint8_t> u(3 * 2336);
    ASSERT_TRUE(image->read_user(0, 3, u).ok());
    EXPECT_EQ(u, user);
  }
}

TEST(IsoImage, BadRawImagesGiveClearErrors) {
  auto raw = raw_image(TrackMode::mode1, pattern(4, 2048));
  auto truncated = raw;
  truncated.resize(truncated.size() - 100);
  auto r = open_iso(memory_file(truncated, "short.bin"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("2352"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("short.bin"), std::string::npos) << r.status().message();

  auto mode3 = raw;
  mode3[15] = 3;
  auto m = open_iso(memory_file(mode3, "mode3.bin"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("mode byte 3"), std::string::npos) << m.status().message();

  // A single sync at byte 0 of an otherwise plain image does not make it raw.
  std::vector<uint8_t> plain(4 * 2048, 0x20);
  std::copy(disc::ecma130::kSync.begin(), disc::ecma130::kSync.end(), plain.begin());
  ImagePtr image = open_ok(plain);
  ASSERT_NE(image, nullptr);
  EXPECT_EQ(image->format_name(), "iso");
}

// A temporary file removed when the test ends.
struct TempFile {
  std::string path;
  int fd = -1;
  TempFile() {
    const char* dir = std::getenv("TMPDIR");
    path = std::string(dir && *dir ? dir : "/tmp") + "/udisc_iso_test_XXXXXX";
    fd = ::mkstemp(path.data());
  }
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
  }
};

TEST(IsoImage, FiftyGigabyteSparseFileOpensInMilliseconds) {
  TempFile tmp;
  ASSERT_GE(tmp.fd, 0);
  const uint64_t size = 50ull * 1024 * 1024 * 1024;
  ASSERT_EQ(::ftruncate(tmp.fd, static_cast<off_t>(size)), 0);
  // A marker beyond 4 GiB checks 64-bit offsets end to end.
  const uint64_t marker_lba = (5ull << 30) / 2048 + 3;
  const char marker[] = "beyond 4 GiB";
  ASSERT_EQ(::pwrite(tmp.fd, marker, sizeof marker, static_cast<off_t>(marker_lba * 2048)),
            static_cast<ssize_t>(sizeof marker));

  const auto start = std::chrono::steady_clock::now();
  auto r = open_image(tmp.path);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 50);
  EXPECT_EQ((*r)->disc().leadout_lba(), static_cast<int32_t>(size / 2048));
  EXPECT_EQ((*r)->disc().disc_class, disc::DiscClass::bd_rom);

  std::vector<uint8_t> out(2048);
  ASSERT_TRUE((*r)->read_user(static_cast<int32_t>(marker_lba), 1, out).ok());
  EXPECT_EQ(std::memcmp(out.data(), marker, sizeof marker), 0);
  ASSERT_TRUE((*r)->read_user(static_cast<int32_t>(size / 2048 - 1), 1, out).ok());
}

}  // namespace
}  // namespace udisc::formats
