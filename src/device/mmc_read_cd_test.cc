// READ CD / READ CD MSF: field-combination table (MMC-6 6.19, Table 381
// "READ CD, Sector Type and Field Selection"), and every expected sector
// type x every track mode x every legal main-channel selection x C2 x
// sub-channel selection against the image's raw sectors.
#include "device/mmc_read_cd.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <map>

#include "device/mmc_test_util.h"
#include "device/testing/memory_image.h"
#include "disc/subchannel.h"

namespace udisc::device::mmc {
namespace {

using test::bytes;
using test::expect_error;
using test::Harness;
using testing::MemoryImage;

constexpr int X = -1;  // illegal combination

// Bytes of main channel per byte 9 (bits 7-3) for Mode 1, Mode 2 formless,
// Mode 2 Form 1 and Mode 2 Form 2: the MMC READ CD field-combination table as
// mamedev/mame t10mmc.cpp transcribes it (twelve selections illegal for every
// data sector, four more for XA forms; fields a sector type lacks are
// dropped). CD-DA returns its 2352 bytes for any selection but none.
struct Row {
  uint8_t flags;
  int mode1, formless, form1, form2;
};
constexpr Row kTable[] = {
    {0x00, 0, 0, 0, 0},           {0x08, 288, 0, 280, 0},           {0x10, 2048, 2336, 2048, 2328},
    {0x18, 2336, 2336, 2328, 2328}, {0x20, 4, 4, 4, 4},           {0x28, X, X, X, X},
    {0x30, 2052, 2340, X, X},     {0x38, 2340, 2340, X, X},     {0x40, 0, 0, 8, 8},
    {0x48, X, X, X, X},           {0x50, 2048, 2336, 2056, 2336}, {0x58, 2336, 2336, 2336, 2336},
    {0x60, 4, 4, 12, 12},         {0x68, X, X, X, X},           {0x70, 2052, 2340, 2060, 2340},
    {0x78, 2340, 2340, 2340, 2340}, {0x80, 12, 12, 12, 12},           {0x88, X, X, X, X},
    {0x90, X, X, X, X},           {0x98, X, X, X, X},           {0xA0, 16, 16, 16, 16},
    {0xA8, X, X, X, X},           {0xB0, 2064, 2352, X, X},     {0xB8, 2352, 2352, X, X},
    {0xC0, X, X, X, X},           {0xC8, X, X, X, X},           {0xD0, X, X, X, X},
    {0xD8, X, X, X, X},           {0xE0, 16, 16, 24, 24},       {0xE8, X, X, X, X},
    {0xF0, 2064, 2352, 2072, 2352}, {0xF8, 2352, 2352, 2352, 2352},
};

int table_size(const Row& r, SectorType t) {
  switch (t) {
    case SectorType::mode1: return r.mode1;
    case SectorType::mode2_formless: return r.formless;
    case SectorType::mode2_form1: return r.form1;
    case SectorType::mode2_form2: return r.form2;
    case SectorType::cd_da: return r.flags != 0 ? 2352 : 0;
  }
  return X;
}

constexpr SectorType kTypes[] = {SectorType::cd_da, SectorType::mode1, SectorType::mode2_formless,
                                 SectorType::mode2_form1, SectorType::mode2_form2};

TEST(ReadCdFields, MainChannelTable) {
  for (const Row& row : kTable) {
    Outcome<ReadCdFields> f = ReadCdFields::decode(row.flags, 0);
    for (SectorType t : kTypes) {
      const int want = table_size(row, t);
      std::optional<uint32_t> got;
      if (f.ok()) got = transfer_size(t, f.value());
      if (want == X) {
        EXPECT_FALSE(got.has_value()) << std::hex << int(row.flags) << " " << to_string(t);
      } else {
        ASSERT_TRUE(got.has_value()) << std::hex << int(row.flags) << " " << to_string(t);
        EXPECT_EQ(*got, uint32_t(want)) << std::hex << int(row.flags) << " " << to_string(t);
      }
    }
  }
}

TEST(ReadCdFields, C2AndSubchannelSizesAndReservedValues) {
  Outcome<ReadCdFields> f = ReadCdFields::decode(0xFA, 0x01);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*transfer_size(SectorType::mode1, f.value()), 2352u + 294 + 96);
  f = ReadCdFields::decode(0xFC, 0x02);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*transfer_size(SectorType::cd_da, f.value()), 2352u + 296 + 16);
  f = ReadCdFields::decode(0x10, 0x04);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*transfer_size(SectorType::mode2_form2, f.value()), 2328u + 96);
  // C2 11b reserved: byte 9; sub-channel 011b, 101b-111b reserved: byte 10.
  expect_error(ReadCdFields::decode(0xFE, 0), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 9);
  for (uint8_t s : {3, 5, 6, 7}) {
    expect_error(ReadCdFields::decode(0xF8, s), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 10);
  }
}

TEST(ReadCdDecode, LbaAndMsfForms) {
  Outcome<ReadCdRequest> r = decode_read_cd(bytes({0xBE, 0x08, 0x00, 0x00, 0x4E, 0x20, 0x00, 0x00, 0x02, 0xF8, 0x01, 0}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->expected, ExpectedSectorType::mode1);
  EXPECT_EQ(r->lba, 20000);
  EXPECT_EQ(r->count, 2u);
  EXPECT_EQ(r->fields.subchannel, SubchannelSelect::raw);
  expect_error(decode_read_cd(bytes({0xBE, 0x18, 0, 0, 0, 0, 0, 0, 1, 0x10, 0, 0})), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 1);
  r = decode_read_cd_msf(bytes({0xB9, 0x04, 0, 0x00, 0x02, 0x00, 0x00, 0x02, 0x05, 0xF8, 0, 0}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->lba, 0);
  EXPECT_EQ(r->count, 5u);
  EXPECT_EQ(r->expected, ExpectedSectorType::cd_da);
  expect_error(decode_read_cd_msf(bytes({0xB9, 0, 0, 0x00, 0x02, 0x05, 0x00, 0x02, 0x00, 0xF8, 0, 0})),
               SenseKey::illegal_request, asc::kInvalidFieldInCdb, 3);
  expect_error(decode_read_cd_msf(bytes({0xB9, 0, 0, 0x00, 0x3C, 0x00, 0x00, 0x3C, 0x00, 0xF8, 0, 0})),
               SenseKey::illegal_request, asc::kInvalidFieldInCdb, 4);
}

// ---- execution ---------------------------------------------------------------------------

// R–W test pattern: symbol j of logical pack P (packs counted from LBA 0).
uint8_t rw_symbol(int64_t pack, size_t j) { return static_cast<uint8_t>((pack * 7 + int64_t(j) * 13 + 5) & 0x3F); }
size_t rw_partner(size_t j) {
  switch (j) {
    case 1: return 18;
    case 18: return 1;
    case 2: return 5;
    case 5: return 2;
    case 3: return 23;
    case 23: return 3;
    default: return j;
  }
}

// An image whose sub-channel carries R–W packs, interleaved as the Red Book
// encoder does it: symbol j of pack P goes to column c = partner(j) of pack
// P + (c mod 8). P and Q come from the wrapped image.
class RwImage : public disc::Image {
 public:
  explicit RwImage(std::shared_ptr<MemoryImage> base) : base_(std::move(base)) {}
  const disc::Disc& disc() const override { return base_->disc(); }
  std::string format_name() const override { return "rw"; }
  Status read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    return base_->read_user(lba, count, out);
  }
  Status read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    return base_->read_raw(lba, count, out);
  }
  bool stores_raw(int32_t lba) const override { return base_->stores_raw(lba); }
  Status read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const override {
    if (Status s = base_->read_subchannel(lba, count, out); !s.ok()) return s;
    for (uint32_t i = 0; i < count; ++i) {
      for (size_t k = 0; k < 96; ++k) {
        const int64_t interleaved_pack = int64_t(lba + int32_t(i)) * 4 + int64_t(k / 24);
        const size_t column = k % 24;
        const int64_t pack = interleaved_pack - int64_t(column & 7);
        const uint8_t value = pack < 0 ? 0 : rw_symbol(pack, rw_partner(column));
        uint8_t& b = out[i * 96 + k];
        b = static_cast<uint8_t>((b & 0xC0) | value);
      }
    }
    return Status::Ok();
  }

 private:
  std::shared_ptr<MemoryImage> base_;
};

// One track of every mode: mode 1, mode 2 formless, XA form 1, XA form 2, audio (with a pregap).
std::shared_ptr<MemoryImage> all_modes_disc() {
  disc::Disc d;
  d.disc_class = disc::DiscClass::cd_rom_xa;
  d.sessions.push_back(disc::Session{1, 1, 5, 6000});
  auto track = [](uint8_t n, disc::TrackMode m, int32_t pregap, int32_t start, int32_t end) {
    return testing::make_track(n, 1, m, pregap, start, end);
  };
  d.tracks.push_back(track(1, disc::TrackMode::mode1, 0, 0, 1000));
  d.tracks.push_back(track(2, disc::TrackMode::mode2, 1000, 1000, 2000));
  d.tracks.push_back(track(3, disc::TrackMode::mode2_form1, 2000, 2000, 3000));
  d.tracks.push_back(track(4, disc::TrackMode::mode2_form2, 3000, 3000, 4000));
  d.tracks.push_back(track(5, disc::TrackMode::audio, 4000, 4150, 6000));
  EXPECT_TRUE(disc::validate(d).ok());
  return std::make_shared<MemoryImage>(std::move(d), "all-modes");
}

std::vector<uint8_t> read_cd_cdb(uint8_t expected, int32_t lba, uint32_t count, uint8_t byte9, uint8_t byte10) {
  const auto u = static_cast<uint32_t>(lba);
  return bytes({0xBE, expected << 2, int(u >> 24), int((u >> 16) & 0xFF), int((u >> 8) & 0xFF), int(u & 0xFF),
                int(count >> 16), int((count >> 8) & 0xFF), int(count & 0xFF), byte9, byte10, 0});
}

// The expected transferred sector, built field by field from the raw sector
// (ECMA-130 layout), independently of the code under test.
Bytes expected_sector(const disc::Image& img, int32_t lba, SectorType t, uint8_t byte9, uint8_t byte10) {
  std::array<uint8_t, 2352> raw{};
  std::array<uint8_t, 96> sub{};
  EXPECT_TRUE(img.read_raw(lba, 1, raw).ok());
  EXPECT_TRUE(img.read_subchannel(lba, 1, sub).ok());
  Bytes out;
  auto add = [&](size_t b, size_t e) { out.insert(out.end(), raw.begin() + b, raw.begin() + e); };
  const uint8_t hc = (byte9 >> 5) & 3;
  if (t == SectorType::cd_da) {
    if (byte9 & 0xF8) add(0, 2352);
  } else {
    const bool xa = t == SectorType::mode2_form1 || t == SectorType::mode2_form2;
    if (byte9 & 0x80) add(0, 12);
    if (hc == 1 || hc == 3) add(12, 16);
    if (xa && (hc == 2 || hc == 3)) add(16, 24);
    size_t user_begin = xa ? 24 : 16, user_end = 2352, edc_end = 2352;
    if (t == SectorType::mode1) user_end = 2064;
    if (t == SectorType::mode2_form1) user_end = 2072;
    if (byte9 & 0x10) add(user_begin, user_end);
    if (byte9 & 0x08) add(user_end, edc_end);
  }
  const uint8_t c2 = (byte9 >> 1) & 3;
  if (c2 == 1) out.insert(out.end(), 294, 0);
  if (c2 == 2) out.insert(out.end(), 296, 0);
  if (byte10 == 1) out.insert(out.end(), sub.begin(), sub.end());
  if (byte10 == 2) {
    const disc::QFrame q = disc::extract_q(sub);
    out.insert(out.end(), q.begin(), q.end());
    out.insert(out.end(), 4, 0);
  }
  if (byte10 == 4) {
    // The packs that started two sectors earlier.
    for (size_t k = 0; k < 96; ++k) out.push_back(rw_symbol(int64_t(lba - 2) * 4 + int64_t(k / 24), k % 24));
  }
  return out;
}

SectorType actual_type(const disc::Image& img, int32_t lba) {
  const disc::Track* t = img.disc().track_at(lba);
  std::array<uint8_t, 2352> raw{};
  EXPECT_TRUE(img.read_raw(lba, 1, raw).ok());
  return sector_type(*t, raw);
}

TEST(ReadCdExecute, EveryExpectedTypeTrackModeAndFieldSelection) {
  const auto img = std::make_shared<RwImage>(all_modes_disc());
  Harness h(img);
  // Two sectors inside each track (audio: in the pregap and after index 1).
  const int32_t starts[] = {10, 1010, 2010, 3010, 4100, 5000};
  int checked = 0;
  for (uint8_t expected = 0; expected <= 5; ++expected) {
    for (int32_t lba : starts) {
      const SectorType type = actual_type(*img, lba);
      for (const Row& row : kTable) {
        if (table_size(row, type) == X) {
          test::Run r = h.run(read_cd_cdb(expected, lba, 2, row.flags, 0));
          if (matches(static_cast<ExpectedSectorType>(expected), type)) {
            expect_error(r.error, SenseKey::illegal_request, asc::kInvalidFieldInCdb, 9);
          } else {
            expect_error(r.error, SenseKey::illegal_request, asc::kIllegalModeForThisTrack);
          }
          EXPECT_TRUE(r.data.empty());
          continue;
        }
        for (uint8_t c2 : {0, 2, 4}) {
          for (uint8_t sub : {0, 1, 2, 4}) {
            const uint8_t byte9 = row.flags | c2;
            test::Run r = h.run(read_cd_cdb(expected, lba, 2, byte9, sub));
            EXPECT_TRUE(r.guard_intact);
            if (!matches(static_cast<ExpectedSectorType>(expected), type)) {
              expect_error(r.error, SenseKey::illegal_request, asc::kIllegalModeForThisTrack, std::nullopt,
                           uint32_t(lba));
              EXPECT_TRUE(r.data.empty());
              continue;
            }
            ASSERT_FALSE(r.error.has_value()) << int(expected) << " " << lba << " " << std::hex << int(byte9);
            Bytes want = expected_sector(*img, lba, type, byte9, sub);
            const Bytes second = expected_sector(*img, lba + 1, type, byte9, sub);
            want.insert(want.end(), second.begin(), second.end());
            ASSERT_EQ(r.data, want) << int(expected) << " " << lba << " " << std::hex << int(byte9) << " " << int(sub);
            EXPECT_EQ(r.transfer_length, want.size());
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 1000);
}

TEST(ReadCdExecute, RwIsThePacksThatStartedTwoSectorsEarlier) {
  Harness h(std::make_shared<RwImage>(all_modes_disc()));
  // Last sectors of the disc: the whole history exists.
  test::Run r = h.run(read_cd_cdb(0, 5997, 3, 0x00, 0x04));
  ASSERT_FALSE(r.error.has_value());
  ASSERT_EQ(r.data.size(), 3u * 96);
  for (uint32_t s = 0; s < 3; ++s) {
    for (size_t k = 0; k < 96; ++k) {
      EXPECT_EQ(r.data[s * 96 + k], rw_symbol(int64_t(5995 + s) * 4 + int64_t(k / 24), k % 24)) << s << " " << k;
    }
  }
  // First sectors: LBA 0 and 1 return the packs of sectors -2 and -1, not on
  // the image (zeros); LBA 2 returns the packs that start at LBA 0, whole.
  r = h.run(read_cd_cdb(0, 0, 3, 0x00, 0x04));
  ASSERT_FALSE(r.error.has_value());
  ASSERT_EQ(r.data.size(), 3u * 96);
  EXPECT_TRUE(std::all_of(r.data.begin(), r.data.begin() + 2 * 96, [](uint8_t v) { return v == 0; }));
  for (size_t k = 0; k < 96; ++k) EXPECT_EQ(r.data[2 * 96 + k], rw_symbol(int64_t(k / 24), k % 24)) << k;
  // The same sector read alone (history from a separate read) and inside a
  // long transfer (history from the chunk before) agree.
  const Bytes alone = h.run(read_cd_cdb(0, 1009, 1, 0x00, 0x04)).data;
  const Bytes run = h.run(read_cd_cdb(0, 1000, 12, 0x00, 0x04)).data;
  ASSERT_EQ(run.size(), 12u * 96);
  EXPECT_EQ(alone, Bytes(run.begin() + 9 * 96, run.begin() + 10 * 96));
}

TEST(ReadCdExecute, IllegalCombinationForTheSectorType) {
  Harness h(all_modes_disc());
  // Header + user data without the sub-header of an XA sector.
  expect_error(h.run(read_cd_cdb(0, 2010, 1, 0x30, 0)).error, SenseKey::illegal_request, asc::kInvalidFieldInCdb, 9);
  EXPECT_FALSE(h.run(read_cd_cdb(0, 10, 1, 0x30, 0)).error.has_value());  // legal for mode 1
  expect_error(h.run(read_cd_cdb(0, 10, 1, 0x88, 0)).error, SenseKey::illegal_request, asc::kInvalidFieldInCdb, 9);
  // Sync only and EDC/ECC only are legal on a mode 1 sector.
  test::Run r = h.run(read_cd_cdb(0, 10, 1, 0x80, 0));
  ASSERT_FALSE(r.error.has_value());
  EXPECT_EQ(r.data, bytes({0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00}));
  EXPECT_EQ(h.run(read_cd_cdb(0, 10, 1, 0x08, 0)).data.size(), 288u);
  // On CD-DA every selection returns the whole sector, even one illegal for data.
  std::vector<uint8_t> audio(2352);
  ASSERT_TRUE(h.image->read_raw(5000, 1, audio).ok());
  for (uint8_t byte9 : {0x88, 0x20, 0x08, 0xC0}) {
    r = h.run(read_cd_cdb(1, 5000, 1, byte9, 0));
    ASSERT_FALSE(r.error.has_value()) << std::hex << int(byte9);
    EXPECT_EQ(r.data, audio);
  }
}

TEST(ReadCdExecute, MismatchMidRangeTransfersTheGoodSectors) {
  Harness h(all_modes_disc());
  // Mode 1 expected, range runs into the formless track at 1000.
  test::Run r = h.run(read_cd_cdb(2, 998, 4, 0x10, 0));
  expect_error(r.error, SenseKey::illegal_request, asc::kIllegalModeForThisTrack, std::nullopt, 1000);
  EXPECT_EQ(r.data.size(), 2u * 2048);
  EXPECT_TRUE(r.guard_intact);
  // "Any" stops where data turns into CD-DA even when the sizes agree (F8h: 2352 both).
  r = h.run(read_cd_cdb(0, 3998, 4, 0xF8, 0));
  expect_error(r.error, SenseKey::illegal_request, asc::kIllegalModeForThisTrack, std::nullopt, 4000);
  EXPECT_EQ(r.data.size(), 2u * 2352);
  // "Any" with user data only: formless (2336) then XA form 1 (2048): the size changes, the transfer stops.
  r = h.run(read_cd_cdb(0, 1998, 4, 0x10, 0));
  expect_error(r.error, SenseKey::illegal_request, asc::kIllegalModeForThisTrack, std::nullopt, 2000);
  EXPECT_EQ(r.data.size(), 2u * 2336);
}

TEST(ReadCdExecute, XaFormsAreTakenFromEachSector) {
  // Multisession disc: track 2 is XA form 1 whose pregap holds form 2 sectors.
  Harness h(MemoryImage::cd_multisession());
  test::Run r = h.run(read_cd_cdb(4, 14398, 4, 0x10, 0));  // expect form 1
  expect_error(r.error, SenseKey::illegal_request, asc::kIllegalModeForThisTrack, std::nullopt, 14398);
  EXPECT_TRUE(r.data.empty());
  r = h.run(read_cd_cdb(5, 14398, 4, 0x10, 0));  // expect form 2
  expect_error(r.error, SenseKey::illegal_request, asc::kIllegalModeForThisTrack, std::nullopt, 14400);
  EXPECT_EQ(r.data.size(), 2u * 2328);
  r = h.run(read_cd_cdb(4, 14400, 3, 0x10, 0));
  ASSERT_FALSE(r.error.has_value());
  EXPECT_EQ(r.data.size(), 3u * 2048);
  // User data of form 1 = the image's user data.
  std::vector<uint8_t> user(3 * 2048);
  ASSERT_TRUE(MemoryImage::cd_multisession()->read_user(14400, 3, user).ok());
  EXPECT_EQ(r.data, user);
  // Between the sessions there are no sectors: the one before the gap is transferred.
  r = h.run(read_cd_cdb(0, 2999, 2, 0x10, 0));
  expect_error(r.error, SenseKey::illegal_request, asc::kLbaOutOfRange, std::nullopt, 3000);
  EXPECT_EQ(r.data.size(), 2048u);
  expect_error(h.run(read_cd_cdb(0, 3000, 2, 0x10, 0)).error, SenseKey::illegal_request, asc::kLbaOutOfRange,
               std::nullopt, 3000);
}

TEST(ReadCdExecute, RangeChecksAndZeroLength) {
  Harness h(all_modes_disc());
  expect_error(h.run(read_cd_cdb(0, 6000, 1, 0xF8, 0)).error, SenseKey::illegal_request, asc::kLbaOutOfRange,
               std::nullopt, 6000);
  expect_error(h.run(read_cd_cdb(0, 5999, 2, 0xF8, 0)).error, SenseKey::illegal_request, asc::kLbaOutOfRange,
               std::nullopt, 6000);
  expect_error(h.run(read_cd_cdb(0, -1, 1, 0xF8, 0)).error, SenseKey::illegal_request, asc::kLbaOutOfRange);
  test::Run r = h.run(read_cd_cdb(0, 5999, 1, 0xF8, 0));
  EXPECT_FALSE(r.error.has_value());
  EXPECT_EQ(r.data.size(), 2352u);
  r = h.run(read_cd_cdb(0, 100, 0, 0xF8, 0));
  EXPECT_FALSE(r.error.has_value());
  EXPECT_TRUE(r.data.empty());
  EXPECT_EQ(r.transfer_length, 0u);
}

TEST(ReadCdExecute, ExpectedTransferLengthAndSegmentsNeverOverflow) {
  const auto img = all_modes_disc();
  Harness h(img);
  const Bytes full = h.run(read_cd_cdb(0, 4200, 5, 0xF8, 0x01)).data;
  ASSERT_EQ(full.size(), 5u * 2448);
  for (uint32_t expected : {0u, 1u, 100u, 2447u, 2448u, 2449u, 5000u, 12239u, 12240u}) {
    for (int segments : {1, 3, 7}) {
      test::Run r = h.run(read_cd_cdb(0, 4200, 5, 0xF8, 0x01), expected, segments);
      EXPECT_FALSE(r.error.has_value());
      EXPECT_TRUE(r.guard_intact) << expected << " " << segments;
      const size_t n = std::min<size_t>(expected, full.size());
      ASSERT_EQ(r.data.size(), n);
      EXPECT_TRUE(std::equal(r.data.begin(), r.data.end(), full.begin()));
      EXPECT_EQ(r.transfer_length, full.size());
    }
  }
}

TEST(ReadCdExecute, ReadErrorIsMediumErrorForThatLba) {
  auto img = all_modes_disc();
  img->fail_reads_at(505);
  Harness h(img);
  test::Run r = h.run(read_cd_cdb(0, 500, 10, 0x10, 0));
  expect_error(r.error, SenseKey::medium_error, asc::kUnrecoveredReadError);
  EXPECT_TRUE(r.guard_intact);
  EXPECT_LT(r.data.size(), 10u * 2048);
}

TEST(ReadCdExecute, MsfFormAndDvdMedium) {
  Harness h(all_modes_disc());
  // 00:02:10 .. 00:02:12 = LBA 10, 11.
  test::Run r = h.run(bytes({0xB9, 0x00, 0, 0x00, 0x02, 0x0A, 0x00, 0x02, 0x0C, 0x10, 0, 0}));
  ASSERT_FALSE(r.error.has_value());
  std::vector<uint8_t> user(2 * 2048);
  ASSERT_TRUE(h.image->read_user(10, 2, user).ok());
  EXPECT_EQ(r.data, user);
  r = h.run(bytes({0xB9, 0x00, 0, 0x00, 0x02, 0x0A, 0x00, 0x02, 0x0A, 0x10, 0, 0}));
  EXPECT_FALSE(r.error.has_value());
  EXPECT_TRUE(r.data.empty());
  Harness dvd(MemoryImage::dvd(1000));
  expect_error(dvd.run(read_cd_cdb(0, 0, 1, 0x10, 0)).error, SenseKey::illegal_request, asc::kInvalidFieldInCdb);
}

}  // namespace
}  // namespace udisc::device::mmc
