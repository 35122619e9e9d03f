// The MMC commands through a whole Drive (dispatch, unit attentions, medium
// checks, sense building, residuals), as a transport sends them.
#include <gtest/gtest.h>

#include "device/command.h"
#include "device/drive.h"
#include "device/testing/memory_image.h"
#include "device/testing/scsi_harness.h"

namespace udisc::device {
namespace {

using testing::MemoryImage;
using testing::ScsiHarness;

const std::vector<uint8_t> kTur = {0x00, 0, 0, 0, 0, 0};
const std::vector<uint8_t> kSubQ = {0x42, 0x00, 0x40, 0x01, 0, 0, 0, 0, 16, 0};

void settle(ScsiHarness& h) {
  for (int i = 0; i < 8 && !h.run(kTur, 0).good(); ++i) {
  }
}

TEST(MmcThroughDrive, NoMediumThenLoadedCd) {
  ScsiHarness h;
  settle(h);
  auto r = h.run({0x43, 0, 0, 0, 0, 0, 0, 0, 12, 0}, 12);
  EXPECT_EQ(r.key(), 0x02);
  EXPECT_EQ(r.asc().asc, 0x3A);
  // RPC state needs no medium.
  EXPECT_TRUE(h.run({0xA4, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0x08, 0}, 8).good());
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  r = h.run({0x43, 0, 0, 0, 0, 0, 1, 0, 12, 0}, 12);
  EXPECT_TRUE(r.is(SenseKey::unit_attention, asc::kNotReadyToReadyChange));
  settle(h);
  // cdrom_id: READ TOC format 0 from track 1, alloc 12: full data length, 12 bytes sent.
  r = h.run({0x43, 0, 0, 0, 0, 0, 1, 0, 12, 0}, 12);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data, (std::vector<uint8_t>{0x00, 0x1A, 0x01, 0x02, 0x00, 0x14, 0x01, 0x00, 0, 0, 0, 0}));
  EXPECT_EQ(r.response.residual, 0);
  EXPECT_TRUE(r.guard_intact);
}

TEST(MmcThroughDrive, ReadCdResidualsAndSense) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  settle(h);
  // 2 raw sectors into a 3000-byte buffer: 3000 transferred, overflow residual -1704.
  auto r = h.run({0xBE, 0, 0, 0, 0, 16, 0, 0, 2, 0xF8, 0, 0}, 3000);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 3000u);
  EXPECT_EQ(r.response.residual, 3000 - 2 * 2352);
  EXPECT_TRUE(r.guard_intact);
  // Underflow: the buffer is larger than the transfer.
  r = h.run({0xBE, 0, 0, 0, 0, 16, 0, 0, 1, 0x10, 0, 0}, 4096);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 2048u);
  EXPECT_EQ(r.response.residual, 4096 - 2048);
  // Mode 1 expected, running into the audio pregap at 19850: 2 sectors, then 05/64/00 with the LBA.
  r = h.run({0xBE, 0x08, 0, 0, 0x4D, 0x88, 0, 0, 4, 0x10, 0, 0}, 4 * 2048);
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kIllegalModeForThisTrack));
  EXPECT_TRUE(r.info_valid());
  EXPECT_EQ(r.info(), 19850u);
  EXPECT_EQ(r.response.data_in_length, 2u * 2048);
  // Reserved sub-channel selection: 05/24/00, field pointer byte 10 bit 2.
  r = h.run({0xBE, 0, 0, 0, 0, 0, 0, 0, 1, 0xF8, 0x03, 0}, 2352);
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_TRUE(r.sksv());
  EXPECT_TRUE(r.sks_in_cdb());
  EXPECT_EQ(r.sks_field(), 10);
  EXPECT_EQ(r.sks_bit(), std::optional<uint8_t>(2));
  // Past the lead-out.
  r = h.run({0xBE, 0, 0, 0, 0xC3, 0x50, 0, 0, 1, 0xF8, 0, 0}, 2352);
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kLbaOutOfRange));
  EXPECT_EQ(r.info(), 50000u);
}

TEST(MmcThroughDrive, EjectDuringPlayEndsItWithAnError) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  settle(h);
  ASSERT_TRUE(h.run({0x45, 0, 0, 0, 0x4E, 0x20, 0, 0x10, 0, 0}, 0).good());
  EXPECT_EQ(h.run(kSubQ, 16).data.at(1), 0x11);
  ASSERT_TRUE(h.drive().eject().ok());
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  settle(h);
  EXPECT_EQ(h.run(kSubQ, 16).data.at(1), 0x14);  // play stopped due to error, once
  EXPECT_EQ(h.run(kSubQ, 16).data.at(1), 0x15);
}

TEST(MmcThroughDrive, EveryMmcOpcodeIsDispatched) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::dvd(1000)).ok());
  settle(h);
  for (const CommandSpec& s : mmc_command_table()) {
    std::vector<uint8_t> cdb(s.cdb_length, 0);
    cdb[0] = s.opcode;
    auto r = h.run(cdb, 64);
    // Whatever the answer, never "invalid operation code".
    EXPECT_FALSE(r.is(SenseKey::illegal_request, asc::kInvalidCommandOperationCode)) << s.name;
    EXPECT_TRUE(r.guard_intact) << s.name;
  }
}

}  // namespace
}  // namespace udisc::device
