// CDB-level tests of the MMC command handlers through mmc_command_table():
// every allocation length 0..N for each variable-length response, the
// error paths, and audio play reported by READ SUB-CHANNEL.
#include <gtest/gtest.h>

#include <set>

#include "device/mmc_test_util.h"
#include "device/testing/memory_image.h"

namespace udisc::device::mmc {
namespace {

using namespace std::chrono_literals;
using test::bytes;
using test::expect_error;
using test::Harness;
using testing::MemoryImage;

TEST(MmcCommandTable, EntriesAreUniqueAndComplete) {
  std::set<uint8_t> seen;
  for (const CommandSpec& s : mmc_command_table()) {
    EXPECT_TRUE(seen.insert(s.opcode).second) << std::hex << int(s.opcode);
    EXPECT_NE(s.handler, nullptr);
    EXPECT_TRUE(s.cdb_length == 10 || s.cdb_length == 12) << s.name;
    EXPECT_FALSE(s.allowed_during_unit_attention) << s.name;
    EXPECT_FALSE(s.runs_locked) << s.name;
  }
  for (uint8_t op : {0x2B, 0x42, 0x43, 0x44, 0x45, 0x47, 0x4B, 0x4E, 0x51, 0x52, 0xA4, 0xA5, 0xAC, 0xAD, 0xB9, 0xBB,
                     0xBD, 0xBE}) {
    EXPECT_TRUE(seen.count(op)) << std::hex << int(op);
  }
}

// Runs `cdb` with allocation length 0..max (written at `alloc_at`, 2 bytes)
// and checks the response is the full one cut at the allocation length,
// with nothing written past it.
void allocation_loop(Harness& h, std::vector<uint8_t> cdb, size_t alloc_at, uint16_t max) {
  cdb[alloc_at] = static_cast<uint8_t>(max >> 8);
  cdb[alloc_at + 1] = static_cast<uint8_t>(max);
  const test::Run full = h.run(cdb);
  ASSERT_FALSE(full.error.has_value()) << std::hex << int(cdb[0]);
  ASSERT_LT(full.data.size(), max) << "raise max for opcode " << std::hex << int(cdb[0]);
  for (uint16_t alloc = 0; alloc <= max; ++alloc) {
    cdb[alloc_at] = static_cast<uint8_t>(alloc >> 8);
    cdb[alloc_at + 1] = static_cast<uint8_t>(alloc);
    const test::Run r = h.run(cdb, max + 16u);
    ASSERT_FALSE(r.error.has_value());
    const size_t n = std::min<size_t>(alloc, full.data.size());
    ASSERT_EQ(r.data.size(), n) << std::hex << int(cdb[0]) << std::dec << " alloc " << alloc;
    ASSERT_TRUE(std::equal(r.data.begin(), r.data.end(), full.data.begin()));
    ASSERT_TRUE(r.guard_intact);
    ASSERT_EQ(r.transfer_length, n);
  }
}

TEST(MmcAllocationLength, EveryVariableLengthResponse) {
  Harness cd(MemoryImage::cd_mixed_mode());
  Harness audio(MemoryImage::cd_audio());
  Harness ms(MemoryImage::cd_multisession());
  Harness dvd(MemoryImage::dvd(5000));
  Harness bd(MemoryImage::bd(5000));
  for (Harness* h : {&cd, &ms}) {
    allocation_loop(*h, bytes({0x43, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0x00}), 7, 64);   // TOC LBA
    allocation_loop(*h, bytes({0x43, 0x02, 0x00, 0, 0, 0, 2, 0, 0, 0x00}), 7, 64);   // TOC MSF from track 2
    allocation_loop(*h, bytes({0x43, 0x00, 0x00, 0, 0, 0, 0xAA, 0, 0, 0x00}), 7, 32);
    allocation_loop(*h, bytes({0x43, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x00}), 7, 32);   // session info
    allocation_loop(*h, bytes({0x43, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0x40}), 7, 32);   // SFF-8020 session info
    allocation_loop(*h, bytes({0x43, 0x02, 0x02, 0, 0, 0, 1, 0, 0, 0x00}), 7, 160);  // full TOC
    allocation_loop(*h, bytes({0x51, 0x00, 0, 0, 0, 0, 0, 0, 0, 0}), 7, 40);
    allocation_loop(*h, bytes({0x52, 0x01, 0, 0, 0, 1, 0, 0, 0, 0}), 7, 56);
    allocation_loop(*h, bytes({0x42, 0x02, 0x40, 0x01, 0, 0, 0, 0, 0, 0}), 7, 24);
    allocation_loop(*h, bytes({0x42, 0x00, 0x40, 0x02, 0, 0, 0, 0, 0, 0}), 7, 32);
    allocation_loop(*h, bytes({0x42, 0x00, 0x40, 0x03, 0, 0, 1, 0, 0, 0}), 7, 32);
    allocation_loop(*h, bytes({0x44, 0x00, 0, 0, 0, 10, 0, 0, 0, 0}), 7, 16);
  }
  allocation_loop(audio, bytes({0x43, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0}), 7, 160);  // CD-TEXT
  allocation_loop(cd, bytes({0x43, 0x00, 0x05, 0, 0, 0, 0, 0, 0, 0}), 7, 16);     // no CD-TEXT
  for (Harness* h : {&cd, &dvd, &bd}) {
    allocation_loop(*h, bytes({0xBD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 8, 16);
    allocation_loop(*h, bytes({0xA4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0}), 8, 16);
  }
  allocation_loop(dvd, bytes({0xAD, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0}), 8, 16);
  allocation_loop(dvd, bytes({0xAD, 0, 0, 0, 0, 0, 0, 0xFF, 0, 0, 0, 0}), 8, 32);
  allocation_loop(dvd, bytes({0xAD, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 0}), 8, 2100);
  allocation_loop(bd, bytes({0xAD, 0x01, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 0}), 8, 64 /* cut */ + 4100 - 64 + 1);
}

TEST(MmcCommands, ReadTocCdbAsLinuxSendsIt) {
  Harness h(MemoryImage::cd_multisession());
  // sr_cd_check: 43 00 00 00 00 00 00 00 0C 40 -> session info, ms_offset = 14400.
  test::Run r = h.run(bytes({0x43, 0, 0, 0, 0, 0, 0, 0, 0x0C, 0x40}));
  ASSERT_FALSE(r.error.has_value());
  EXPECT_EQ(r.data, bytes({0x00, 0x0A, 0x01, 0x02, 0x00, 0x14, 0x02, 0x00, 0x00, 0x00, 0x38, 0x40}));
  // cdrom_id: 43 00 00 00 00 00 01 00 0C 00 -> data length of the full TOC, cut at 12.
  r = h.run(bytes({0x43, 0, 0, 0, 0, 0, 1, 0, 0x0C, 0}));
  EXPECT_EQ(r.data.size(), 12u);
  EXPECT_EQ(r.data[1], 0x1A);
  // ATIP of a pressed CD: a ROM drive rejects the format as an invalid command.
  expect_error(h.run(bytes({0x43, 0, 0x04, 0, 0, 0, 0, 0, 0x0C, 0})).error, SenseKey::illegal_request,
               asc::kInvalidCommandOperationCode);
  // Formats above CD-TEXT do not exist.
  expect_error(h.run(bytes({0x43, 0, 0x06, 0, 0, 0, 0, 0, 0x0C, 0})).error, SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 2);
}

TEST(MmcCommands, NoMediumAndTrayState) {
  Harness h;  // no medium
  expect_error(h.run(bytes({0x43, 0, 0, 0, 0, 0, 0, 0, 0x0C, 0})).error, SenseKey::not_ready,
               asc::kMediumNotPresentTrayClosed);
  h.tray = TrayState::open;
  expect_error(h.run(bytes({0xA4, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0x00, 0})).error, SenseKey::not_ready,
               asc::kMediumNotPresentTrayOpen);
  // RPC state, MECHANISM STATUS and SET CD SPEED work without a medium.
  EXPECT_FALSE(h.run(bytes({0xA4, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0x08, 0})).error.has_value());
  test::Run m = h.run(bytes({0xBD, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}));
  ASSERT_FALSE(m.error.has_value());
  EXPECT_EQ(m.data, bytes({0, 0x10, 0, 0, 0, 0, 0, 0}));  // door open
  EXPECT_FALSE(h.run(bytes({0xBB, 0, 0x02, 0xC2, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0})).error.has_value());
  EXPECT_EQ(h.settings.read_speed_kbps.load(), 0x02C2);
}

TEST(MmcCommands, SetCdSpeedAndGetPerformance) {
  Harness h(MemoryImage::cd_mixed_mode());
  test::Run r = h.run(bytes({0xAC, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0}));
  ASSERT_FALSE(r.error.has_value());
  ASSERT_EQ(r.data.size(), 24u);
  EXPECT_EQ(r.data[14], 0x21);  // 8467 kB/s = 48x
  EXPECT_EQ(r.data[15], 0x13);
  ASSERT_FALSE(h.run(bytes({0xBB, 0, 0x02, 0xC2, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0})).error.has_value());  // 706 kB/s = 4x
  r = h.run(bytes({0xAC, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0}));
  EXPECT_EQ(r.data[14], 0x02);
  EXPECT_EQ(r.data[15], 0xC2);
  ASSERT_FALSE(h.run(bytes({0xBB, 0, 0x00, 0x00, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0})).error.has_value());  // 0: slowest, 1x
  EXPECT_EQ(h.settings.read_speed_kbps.load(), 176);
  expect_error(h.run(bytes({0xBB, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0})).error, SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 1);
  expect_error(h.run(bytes({0xAC, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0x03, 0})).error, SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 10);
}

TEST(MmcCommands, SeekMovesTheReportedPosition) {
  Harness h(MemoryImage::cd_mixed_mode());
  ASSERT_FALSE(h.run(bytes({0x2B, 0, 0x00, 0x00, 0x4E, 0x20, 0, 0, 0, 0})).error.has_value());
  test::Run r = h.run(bytes({0x42, 0x00, 0x40, 0x01, 0, 0, 0, 0, 16, 0}));
  EXPECT_EQ(r.data, bytes({0, 0x15, 0, 12, 0x01, 0x10, 0x02, 0x01, 0, 0, 0x4E, 0x20, 0, 0, 0, 0}));
  expect_error(h.run(bytes({0x2B, 0, 0x00, 0x00, 0xC3, 0x50, 0, 0, 0, 0})).error, SenseKey::illegal_request,
               asc::kLbaOutOfRange, std::nullopt, 50000);
  // READ CD moves the head too.
  ASSERT_FALSE(h.run(bytes({0xBE, 0, 0, 0, 0, 100, 0, 0, 2, 0x10, 0, 0})).error.has_value());
  r = h.run(bytes({0x42, 0x00, 0x40, 0x01, 0, 0, 0, 0, 16, 0}));
  EXPECT_EQ(r.data[11], 101);
  EXPECT_EQ(r.data[5], 0x14);
}

TEST(MmcCommands, PlayAudioReportedByReadSubChannel) {
  Harness h(MemoryImage::cd_mixed_mode());
  auto t = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::seconds(5000));
  h.player.set_clock([t] { return *t; });
  const auto subq = bytes({0x42, 0x00, 0x40, 0x01, 0, 0, 0, 0, 16, 0});
  // PLAY AUDIO(10) of 150 sectors from LBA 20000.
  ASSERT_FALSE(h.run(bytes({0x45, 0, 0x00, 0x00, 0x4E, 0x20, 0, 0x00, 0x96, 0})).error.has_value());
  test::Run r = h.run(subq);
  EXPECT_EQ(r.data[1], 0x11);
  EXPECT_EQ(r.data[11], 0x20);
  *t += 1s;
  r = h.run(subq);
  EXPECT_EQ(r.data[1], 0x11);
  EXPECT_EQ(r.data[10], 0x4E);
  EXPECT_EQ(r.data[11], 0x6B);  // 20075
  test::Run mech = h.run(bytes({0xBD, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0}));
  EXPECT_EQ(mech.data, bytes({0, 0x20, 0x00, 0x4E, 0x6B, 0, 0, 0}));
  // PAUSE, time passes, position holds.
  ASSERT_FALSE(h.run(bytes({0x4B, 0, 0, 0, 0, 0, 0, 0, 0x00, 0})).error.has_value());
  *t += 5s;
  r = h.run(subq);
  EXPECT_EQ(r.data[1], 0x12);
  EXPECT_EQ(r.data[11], 0x6B);
  // RESUME, play to the end: completed once, then no status.
  ASSERT_FALSE(h.run(bytes({0x4B, 0, 0, 0, 0, 0, 0, 0, 0x01, 0})).error.has_value());
  *t += 2s;
  r = h.run(subq);
  EXPECT_EQ(r.data[1], 0x13);
  EXPECT_EQ(r.data[11], 0xB5);  // 20149, the last sector played
  EXPECT_EQ(h.run(subq).data[1], 0x15);
  // PAUSE/RESUME with no play: COMMAND SEQUENCE ERROR.
  expect_error(h.run(bytes({0x4B, 0, 0, 0, 0, 0, 0, 0, 0x01, 0})).error, SenseKey::illegal_request,
               kCommandSequenceError);
  // PLAY AUDIO MSF 04:28:50 .. 04:30:00, then STOP.
  ASSERT_FALSE(h.run(bytes({0x47, 0, 0, 0x04, 0x1C, 0x32, 0x04, 0x1E, 0x00, 0})).error.has_value());
  EXPECT_EQ(h.run(subq).data[1], 0x11);
  ASSERT_FALSE(h.run(bytes({0x4E, 0, 0, 0, 0, 0, 0, 0, 0, 0})).error.has_value());
  EXPECT_EQ(h.run(subq).data[1], 0x15);
  // PLAY AUDIO(12) from the current position (FFFFFFFFh).
  ASSERT_FALSE(h.run(bytes({0xA5, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 75, 0, 0})).error.has_value());
  EXPECT_EQ(h.run(subq).data[1], 0x11);
}

TEST(MmcCommands, PlayAudioErrors) {
  Harness h(MemoryImage::cd_mixed_mode());
  // Data track: ILLEGAL MODE FOR THIS TRACK with the LBA.
  expect_error(h.run(bytes({0x45, 0, 0, 0, 0, 10, 0, 0, 10, 0})).error, SenseKey::illegal_request,
               asc::kIllegalModeForThisTrack, std::nullopt, 10);
  expect_error(h.run(bytes({0x47, 0, 0, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00, 0})).error, SenseKey::illegal_request,
               asc::kIllegalModeForThisTrack, std::nullopt, 0);
  // Past the lead-out.
  expect_error(h.run(bytes({0x45, 0, 0, 0, 0xC3, 0x4F, 0, 0, 2, 0})).error, SenseKey::illegal_request,
               asc::kLbaOutOfRange);
  // Start after end.
  expect_error(h.run(bytes({0x47, 0, 0, 0x04, 0x1E, 0x00, 0x04, 0x1C, 0x32, 0})).error, SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 3);
  // Length 0: no play, not an error.
  EXPECT_FALSE(h.run(bytes({0x45, 0, 0, 0, 0x4E, 0x20, 0, 0, 0, 0})).error.has_value());
  EXPECT_EQ(h.player.snapshot().state, AudioPlayer::State::idle);
  Harness dvd(MemoryImage::dvd(100));
  expect_error(dvd.run(bytes({0x45, 0, 0, 0, 0, 0, 0, 0, 1, 0})).error, SenseKey::illegal_request,
               asc::kCannotReadMediumIncompatibleFormat);
}

TEST(MmcCommands, ReadDvdStructureAndReportKeyCdbs) {
  Harness dvd(MemoryImage::dvd(2295104));
  test::Run r = dvd.run(bytes({0xAD, 0, 0, 0, 0, 0, 0, 0x00, 0x08, 0x04, 0, 0}));
  ASSERT_FALSE(r.error.has_value());
  ASSERT_EQ(r.data.size(), 2052u);
  EXPECT_EQ(r.data[9], 0x03);  // 030000h
  expect_error(dvd.run(bytes({0xA4, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0x00, 0})).error, SenseKey::illegal_request,
               asc::kCopyProtectionKeyExchangeFailureKeyNotPresent);
  Harness cd(MemoryImage::cd_mixed_mode());
  expect_error(cd.run(bytes({0xAD, 0, 0, 0, 0, 0, 0, 0x00, 0x08, 0x04, 0, 0})).error, SenseKey::illegal_request,
               asc::kCannotReadMediumIncompatibleFormat);
}

}  // namespace
}  // namespace udisc::device::mmc
