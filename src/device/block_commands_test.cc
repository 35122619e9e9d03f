// READ CAPACITY (MMC-6 6.23), READ(10) (6.19) and READ(12) (6.20) against
// in-memory discs: data, audio sectors, end of disc and beyond, multisession
// gaps, image I/O errors, segmented and short buffers.
#include <gtest/gtest.h>

#include "device/drive.h"
#include "device/testing/memory_image.h"
#include "device/testing/scsi_harness.h"
#include "device/wire.h"

namespace udisc::device {
namespace {

using testing::MemoryImage;
using testing::ScsiHarness;

std::vector<uint8_t> read10(uint32_t lba, uint16_t count) {
  return {0x28, 0, static_cast<uint8_t>(lba >> 24), static_cast<uint8_t>(lba >> 16), static_cast<uint8_t>(lba >> 8),
          static_cast<uint8_t>(lba), 0, static_cast<uint8_t>(count >> 8), static_cast<uint8_t>(count), 0};
}
std::vector<uint8_t> read12(uint32_t lba, uint32_t count) {
  return {0xA8, 0, static_cast<uint8_t>(lba >> 24), static_cast<uint8_t>(lba >> 16), static_cast<uint8_t>(lba >> 8),
          static_cast<uint8_t>(lba), static_cast<uint8_t>(count >> 24), static_cast<uint8_t>(count >> 16),
          static_cast<uint8_t>(count >> 8), static_cast<uint8_t>(count), 0, 0};
}

void expect_sector(const std::vector<uint8_t>& data, size_t index, int32_t lba) {
  ASSERT_GE(data.size(), (index + 1) * 2048);
  const uint8_t* s = data.data() + index * 2048;
  EXPECT_EQ(wire::get_u32(std::span<const uint8_t>(s, 4), 0), static_cast<uint32_t>(lba));
  for (uint32_t i = 4; i < 2048; i += 97) ASSERT_EQ(s[i], MemoryImage::user_byte(lba, i)) << "lba " << lba << " byte " << i;
}

ScsiHarness ready(std::shared_ptr<MemoryImage> image) {
  ScsiHarness h;
  EXPECT_TRUE(h.drive().insert(std::move(image)).ok());
  h.clear_unit_attentions();
  return h;
}

TEST(ReadCapacity, LastLbaIsLeadOutMinusOne) {
  auto h = ready(MemoryImage::cd_mixed_mode());
  auto r = h.run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data, (std::vector<uint8_t>{0x00, 0x00, 0xC3, 0x4F, 0x00, 0x00, 0x08, 0x00}));
  ASSERT_TRUE(h.drive().insert(MemoryImage::bd(12219392)).ok());
  h.clear_unit_attentions();
  r = h.run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8);
  EXPECT_EQ(wire::get_u32(r.data, 0), 12219391u);
  // Shorter buffer: truncated, overflow residual.
  r = h.run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 4);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 4u);
  EXPECT_EQ(r.response.residual, -4);
  EXPECT_TRUE(r.guard_intact);
}

TEST(Read10, DataSectorsGoStraightIntoTheBuffer) {
  auto h = ready(MemoryImage::cd_mixed_mode());
  auto r = h.run(read10(16, 32), 32 * 2048);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 32u * 2048);
  EXPECT_EQ(r.response.residual, 0);
  for (int i = 0; i < 32; ++i) expect_sector(r.data, i, 16 + i);
  EXPECT_TRUE(r.guard_intact);
}

TEST(Read10, SegmentedBuffersGiveTheSameBytes) {
  auto h = ready(MemoryImage::dvd(4096));
  auto whole = h.run(read10(100, 8), 8 * 2048);
  ASSERT_TRUE(whole.good());
  for (std::vector<uint32_t> segs : std::vector<std::vector<uint32_t>>{
           {4096, 4096, 8192}, {1, 16383}, {2047, 2, 2047, 12288}, {100, 200, 300, 15784}, {16384}}) {
    auto r = h.run(read10(100, 8), 16384, 1, {}, segs);
    ASSERT_TRUE(r.good());
    EXPECT_EQ(r.data, whole.data) << "segments " << segs.size();
    EXPECT_TRUE(r.guard_intact);
  }
}

TEST(Read10, ShortExpectedLengthTruncatesWithOverflowResidual) {
  auto h = ready(MemoryImage::dvd(4096));
  for (uint32_t edtl : {0u, 1u, 2047u, 2048u, 3000u, 8191u}) {
    auto r = h.run(read10(7, 4), edtl);
    ASSERT_TRUE(r.good()) << edtl;
    EXPECT_EQ(r.data.size(), edtl);
    EXPECT_EQ(r.response.residual, static_cast<int64_t>(edtl) - 8192);
    EXPECT_TRUE(r.guard_intact) << edtl;
    if (edtl >= 2048) expect_sector(r.data, 0, 7);
  }
  // Longer buffer: underflow residual.
  auto r = h.run(read10(7, 1), 4096);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 2048u);
  EXPECT_EQ(r.response.residual, 2048);
}

TEST(Read10, ZeroBlocksSucceeds) {
  auto h = ready(MemoryImage::cd_mixed_mode());
  auto r = h.run(read10(0, 0), 0);
  EXPECT_TRUE(r.good());
  EXPECT_TRUE(r.data.empty());
  EXPECT_TRUE(h.run(read10(49999, 0), 0).good());
  EXPECT_TRUE(h.run(read10(60000, 0), 0).is(SenseKey::illegal_request, asc::kLbaOutOfRange));
}

TEST(Read10, AudioSectorIsIllegalModeWithTheLba) {
  auto h = ready(MemoryImage::cd_mixed_mode());
  auto r = h.run(read10(20000, 1), 2048);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kIllegalModeForThisTrack));
  EXPECT_TRUE(r.info_valid());
  EXPECT_EQ(r.info(), 20000u);
  // Pregap of the audio track too.
  r = h.run(read10(19850, 1), 2048);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kIllegalModeForThisTrack));
  EXPECT_EQ(r.info(), 19850u);
  // A read that runs from data into audio transfers the data sectors first.
  r = h.run(read10(19840, 20), 20 * 2048);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kIllegalModeForThisTrack));
  EXPECT_EQ(r.info(), 19850u);
  EXPECT_EQ(r.response.data_in_length, 10u * 2048);
  expect_sector(r.data, 9, 19849);
}

TEST(Read10, EndOfDiscAndBeyond) {
  auto h = ready(MemoryImage::dvd(4096));
  auto r = h.run(read10(4095, 1), 2048);
  ASSERT_TRUE(r.good());
  expect_sector(r.data, 0, 4095);
  r = h.run(read10(4090, 6), 6 * 2048);
  ASSERT_TRUE(r.good());
  for (uint32_t lba : {4096u, 4097u, 100000u, 0xFFFFFFFFu}) {
    r = h.run(read10(lba, 1), 2048);
    EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kLbaOutOfRange)) << lba;
    EXPECT_TRUE(r.data.empty());
  }
  r = h.run(read10(4095, 2), 4096);  // straddles the lead-out: nothing transferred
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kLbaOutOfRange));
  EXPECT_TRUE(r.data.empty());
  r = h.run(read12(0, 0xFFFFFFFF), 2048);
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kLbaOutOfRange));
}

TEST(Read10, MultisessionGapIsOutOfRangeAndSecondSessionReads) {
  auto h = ready(MemoryImage::cd_multisession());
  auto r = h.run(read10(14400, 4), 4 * 2048);  // XA form 1: 2048-byte user data
  ASSERT_TRUE(r.good());
  expect_sector(r.data, 0, 14400);
  r = h.run(read10(14250, 1), 2048);  // form 1 track pregap
  EXPECT_TRUE(r.good());
  r = h.run(read10(2999, 2), 4096);  // last sector of session 1, then the gap
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kLbaOutOfRange));
  EXPECT_EQ(r.info(), 3000u);
  EXPECT_EQ(r.response.data_in_length, 2048u);
}

TEST(Read10, ImageIoErrorIsMediumErrorForThatCommandOnly) {
  auto image = MemoryImage::dvd(4096);
  image->fail_reads_at(205);
  auto h = ready(image);
  auto r = h.run(read10(200, 10), 10 * 2048);
  ASSERT_TRUE(r.is(SenseKey::medium_error, asc::kUnrecoveredReadError));
  EXPECT_TRUE(r.info_valid());
  EXPECT_EQ(r.info(), 205u);
  // The next command is unaffected.
  r = h.run(read10(100, 10), 10 * 2048);
  EXPECT_TRUE(r.good());
  EXPECT_TRUE(h.run({0x00, 0, 0, 0, 0, 0}, 0).good());
  r = h.run(read10(205, 1), 2048);
  EXPECT_TRUE(r.is(SenseKey::medium_error, asc::kUnrecoveredReadError));
}

TEST(Read12, SameAsRead10) {
  auto h = ready(MemoryImage::bd(1 << 20));
  auto a = h.run(read10(123456, 3), 3 * 2048);
  auto b = h.run(read12(123456, 3), 3 * 2048);
  ASSERT_TRUE(a.good());
  ASSERT_TRUE(b.good());
  EXPECT_EQ(a.data, b.data);
  EXPECT_TRUE(h.run(read12(20000, 1), 2048).good());
}

TEST(Read10, NeedsMedium) {
  ScsiHarness h;
  h.clear_unit_attentions();
  EXPECT_TRUE(h.run(read10(0, 1), 2048).is(SenseKey::not_ready, asc::kMediumNotPresentTrayClosed));
}

}  // namespace
}  // namespace udisc::device
