// Dispatch, unit attentions, medium changes and media events of the Drive
// (SAM-5 5.14 unit attention, SPC-5 4.5, MMC-6 4.1.6 and 6.7 GET EVENT
// STATUS NOTIFICATION), against in-memory discs.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "device/drive.h"
#include "device/spc_handlers.h"
#include "device/testing/memory_image.h"
#include "device/testing/scsi_harness.h"

namespace udisc::device {
namespace {

using testing::MemoryImage;
using testing::ScsiHarness;

const std::vector<uint8_t> kTur = {0x00, 0, 0, 0, 0, 0};
const std::vector<uint8_t> kInquiry = {0x12, 0, 0, 0, 36, 0};
const std::vector<uint8_t> kGetConfigHeader = {0x46, 0, 0, 0, 0, 0, 0, 0, 8, 0};
const std::vector<uint8_t> kGesnMedia = {0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0};

struct MediaStatus {
  uint8_t event;
  uint8_t status;
};
MediaStatus poll_media(ScsiHarness& h, InitiatorId who = 1) {
  auto r = h.run(kGesnMedia, 8, who);
  EXPECT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 8u);
  if (r.data.size() < 8) return {0xFF, 0xFF};
  EXPECT_EQ(r.data[0], 0x00);
  EXPECT_EQ(r.data[1], 0x06);        // event data length 0006h
  EXPECT_EQ(r.data[2], 0x04);        // media class, NEA=0
  EXPECT_EQ(r.data[3], 0x56);        // supported: op change, power, media, busy
  return {static_cast<uint8_t>(r.data[4] & 0x0F), r.data[5]};
}

TEST(DriveUnitAttention, NewInitiatorSeesPowerOnOnceThenReady) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  auto r = h.run(kTur, 0, 7);
  EXPECT_TRUE(r.is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  r = h.run(kTur, 0, 7);
  EXPECT_TRUE(r.good());
  // Another initiator has its own.
  EXPECT_TRUE(h.run(kTur, 0, 8).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  EXPECT_TRUE(h.run(kTur, 0, 8).good());
}

TEST(DriveUnitAttention, ExemptCommandsDoNotConsume) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  EXPECT_TRUE(h.run(kInquiry, 36).good());
  EXPECT_TRUE(h.run(kGetConfigHeader, 8).good());
  EXPECT_TRUE(h.run(kGesnMedia, 8).good());
  EXPECT_TRUE(h.run({0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0}, 16).good());  // REPORT LUNS
  EXPECT_TRUE(h.drive().has_unit_attention(1));
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  EXPECT_FALSE(h.drive().has_unit_attention(1));
}

TEST(DriveUnitAttention, RequestSenseReportsAndClears) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  auto r = h.run({0x03, 0, 0, 0, 18, 0}, 18);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 18u);
  EXPECT_EQ(r.data[0], 0x70);
  EXPECT_EQ(r.data[2], 0x06);
  EXPECT_EQ(r.data[12], 0x29);
  EXPECT_TRUE(h.run(kTur, 0).good());
  r = h.run({0x03, 0, 0, 0, 18, 0}, 18);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[2], 0x00);  // NO SENSE
  EXPECT_EQ(r.data[12], 0x00);
}

TEST(DriveUnitAttention, OrderPowerOnThenMediumChangedThenNothing) {
  ScsiHarness h;
  ASSERT_TRUE(h.run(kInquiry, 36, 1).good());  // initiator 1 known, 29/00 pending
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::unit_attention, asc::kNotReadyToReadyChange));
  EXPECT_TRUE(h.run(kTur, 0).good());
  EXPECT_TRUE(h.run(kTur, 0).good());
}

TEST(DriveUnitAttention, MediumChangeOncePerInitiatorAndNoStrayOnes) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions(1);
  h.clear_unit_attentions(2);
  // Polling and reading never queue anything.
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(h.run(kGesnMedia, 8, 1).good());
    EXPECT_TRUE(h.run({0x28, 0, 0, 0, 0, 16, 0, 0, 1, 0}, 2048, 1).good());
  }
  EXPECT_FALSE(h.drive().has_unit_attention(1));
  ASSERT_TRUE(h.drive().insert(MemoryImage::dvd(4096)).ok());
  for (InitiatorId i : {1, 2}) {
    EXPECT_TRUE(h.run(kTur, 0, i).is(SenseKey::unit_attention, asc::kNotReadyToReadyChange)) << i;
    EXPECT_TRUE(h.run(kTur, 0, i).good()) << i;
  }
}

TEST(DriveUnitAttention, UnitAttentionBeatsNotReadyAndUnknownOpcode) {
  ScsiHarness h;
  EXPECT_TRUE(h.run({0xFF, 0, 0, 0, 0, 0}, 0).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  EXPECT_TRUE(h.run({0xFF, 0, 0, 0, 0, 0}, 0).is(SenseKey::illegal_request, asc::kInvalidCommandOperationCode));
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::not_ready, asc::kMediumNotPresentTrayClosed));
}

TEST(DriveUnitAttention, LogicalUnitResetReplacesPendingAndClearsPrevent) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions(1);
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 1, 0}, 0).good());
  EXPECT_TRUE(h.drive().status().locked);
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_audio()).ok());  // 28/00 pending
  h.drive().logical_unit_reset();
  EXPECT_FALSE(h.drive().status().locked);
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  EXPECT_TRUE(h.run(kTur, 0).good());
}

TEST(DriveUnitAttention, PendingUnitAttentionPeeksWithoutConsuming) {
  ScsiHarness h;
  // Never seen: power on is what its first command would get.
  ASSERT_EQ(h.drive().pending_unit_attention(1), asc::kPowerOnResetOrBusDeviceReset);
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions(1);
  EXPECT_EQ(h.drive().pending_unit_attention(1), std::nullopt);
  EXPECT_FALSE(h.drive().has_unit_attention(1));

  ASSERT_TRUE(h.drive().insert(MemoryImage::dvd(4096)).ok());
  EXPECT_EQ(h.drive().pending_unit_attention(1), asc::kNotReadyToReadyChange);
  EXPECT_EQ(h.drive().pending_unit_attention(1), asc::kNotReadyToReadyChange) << "peeking twice changes nothing";
  EXPECT_TRUE(h.drive().has_unit_attention(1));
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::unit_attention, asc::kNotReadyToReadyChange));
  EXPECT_EQ(h.drive().pending_unit_attention(1), std::nullopt);
  EXPECT_TRUE(h.run(kTur, 0).good());

  h.drive().logical_unit_reset();
  EXPECT_EQ(h.drive().pending_unit_attention(1), asc::kPowerOnResetOrBusDeviceReset);
  EXPECT_EQ(h.drive().pending_unit_attention(1), asc::kPowerOnResetOrBusDeviceReset);
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  EXPECT_EQ(h.drive().pending_unit_attention(1), std::nullopt);
  EXPECT_TRUE(h.run(kTur, 0).good());
}

TEST(DriveUnitAttention, InitiatorGoneDropsStateAndComesBackWithPowerOn) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions(3);
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 1, 0}, 0, 3).good());
  EXPECT_TRUE(h.drive().status().locked);
  h.drive().initiator_gone(3);
  EXPECT_FALSE(h.drive().status().locked);
  EXPECT_TRUE(h.drive().has_unit_attention(3));
  EXPECT_TRUE(h.run(kTur, 0, 3).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
}

TEST(DriveMedium, NoMediumTrayClosedThenOpen) {
  ScsiHarness h;
  h.clear_unit_attentions();
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::not_ready, asc::kMediumNotPresentTrayClosed));
  EXPECT_TRUE(h.run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8).is(SenseKey::not_ready, asc::kMediumNotPresentTrayClosed));
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x02, 0}, 0).good());  // open the tray
  EXPECT_EQ(h.drive().status().tray, TrayState::open);
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::not_ready, asc::kMediumNotPresentTrayOpen));
  EXPECT_TRUE(h.run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 2048).is(SenseKey::not_ready, asc::kMediumNotPresentTrayOpen));
  // REQUEST SENSE reports the condition with GOOD status.
  auto r = h.run({0x03, 0, 0, 0, 18, 0}, 18);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[2], 0x02);
  EXPECT_EQ(r.data[12], 0x3A);
  EXPECT_EQ(r.data[13], 0x02);
}

TEST(DriveEvents, InsertShowsNewMediaOnceThenNoChange) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  auto m = poll_media(h);
  EXPECT_EQ(m.event, 2);  // NewMedia
  EXPECT_EQ(m.status, 0x02);
  m = poll_media(h);
  EXPECT_EQ(m.event, 0);
  EXPECT_EQ(m.status, 0x02);
  // The UA is still pending for TUR (GESN is exempt).
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  EXPECT_TRUE(h.run(kTur, 0).good());
}

TEST(DriveEvents, SwapIsRemovalThenNewMediaPlusUnitAttention) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  poll_media(h);
  h.clear_unit_attentions();
  ASSERT_TRUE(h.drive().insert(MemoryImage::dvd(8192)).ok());
  auto m = poll_media(h);
  EXPECT_EQ(m.event, 3);  // MediaRemoval
  EXPECT_EQ(m.status, 0x01);
  m = poll_media(h);
  EXPECT_EQ(m.event, 2);  // NewMedia
  EXPECT_EQ(m.status, 0x02);
  EXPECT_EQ(poll_media(h).event, 0);
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::unit_attention, asc::kNotReadyToReadyChange));
  EXPECT_TRUE(h.run(kTur, 0).good());
}

TEST(DriveEvents, UnlockedEjectButton) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  poll_media(h);
  h.clear_unit_attentions();
  ASSERT_TRUE(h.drive().eject().ok());
  auto m = poll_media(h);
  EXPECT_EQ(m.event, 3);
  EXPECT_EQ(m.status, 0x01);
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::not_ready, asc::kMediumNotPresentTrayOpen));
  m = poll_media(h);
  EXPECT_EQ(m.event, 0);
  EXPECT_EQ(m.status, 0x01);
  EXPECT_FALSE(h.drive().has_unit_attention(1));  // removal queues no UA
  EXPECT_EQ(h.drive().image(), nullptr);
}

TEST(DriveEvents, LockedEjectButtonBecomesEjectRequestThenHostEjects) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  poll_media(h);
  h.clear_unit_attentions();
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 1, 0}, 0).good());  // PREVENT
  Status s = h.drive().eject();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("initiator 1"), std::string::npos);
  auto m = poll_media(h);
  EXPECT_EQ(m.event, 1);  // EjectRequest
  EXPECT_EQ(m.status, 0x02);
  EXPECT_TRUE(h.run(kTur, 0).good());  // tray stays shut
  // Host: START STOP eject while locked is refused.
  EXPECT_TRUE(h.run({0x1B, 0, 0, 0, 0x02, 0}, 0).is(SenseKey::illegal_request, asc::kMediumRemovalPrevented));
  EXPECT_TRUE(h.run(kTur, 0).good());
  // udev: ALLOW, then START STOP 02.
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 0, 0}, 0).good());
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x02, 0}, 0).good());
  m = poll_media(h);
  EXPECT_EQ(m.event, 3);
  EXPECT_EQ(m.status, 0x01);
  EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::not_ready, asc::kMediumNotPresentTrayOpen));
  // Closing the tray again (START STOP 03) reloads the same disc: NewMedia
  // in GESN; no 28/00 for the initiator that loaded it (see
  // LoadByStartStopUnitSparesTheLoadingInitiator).
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x03, 0}, 0).good());
  m = poll_media(h);
  EXPECT_EQ(m.event, 2);
  EXPECT_TRUE(h.run(kTur, 0).good());
}

TEST(DriveEvents, ForcedEjectIgnoresLock) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions();
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 1, 0}, 0).good());
  EXPECT_TRUE(h.drive().eject(true).ok());
  EXPECT_FALSE(h.drive().status().medium_present);
}

TEST(DriveEvents, StartStopWithoutLoejNeverMovesTheTray) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  poll_media(h);
  h.clear_unit_attentions();
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x00, 0}, 0).good());  // stop (Apple)
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x01, 0}, 0).good());  // start
  EXPECT_EQ(h.drive().status().tray, TrayState::closed);
  EXPECT_TRUE(h.drive().status().medium_present);
  EXPECT_EQ(poll_media(h).event, 0);
  EXPECT_TRUE(h.run(kTur, 0).good());
}

TEST(DriveEvents, StartStopErrors) {
  ScsiHarness h;
  h.clear_unit_attentions();
  auto r = h.run({0x1B, 0, 0, 0, 0x01, 0}, 0);  // spin up without a disc
  EXPECT_TRUE(r.is(SenseKey::not_ready, asc::kMediumNotPresentTrayClosed));
  // Power conditions (defined or reserved) need no disc and move nothing.
  for (uint8_t pc = 1; pc < 16; ++pc) {
    EXPECT_TRUE(h.run({0x1B, 0, 0, 0, static_cast<uint8_t>(pc << 4), 0}, 0).good()) << int(pc);
  }
  EXPECT_EQ(h.drive().status().tray, TrayState::closed);
}

// libiscsi SCSI.StartStopUnit.PwrCnd: POWER CONDITION 1h-Fh with LoEj=1
// Start=0 (an eject if the power condition were ignored) answers GOOD and
// leaves the disc loaded; each defined condition changes the power state.
TEST(DriveEvents, StartStopPowerConditionIgnoresLoej) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  poll_media(h);
  h.clear_unit_attentions();
  for (uint8_t pc = 1; pc < 16; ++pc) {
    for (uint8_t immed : {0, 1}) {
      EXPECT_TRUE(h.run({0x1B, immed, 0, 0, static_cast<uint8_t>((pc << 4) | 0x02), 0}, 0).good()) << int(pc);
      EXPECT_TRUE(h.run(kTur, 0).good()) << int(pc);
    }
  }
  EXPECT_EQ(h.drive().status().tray, TrayState::closed);
  EXPECT_EQ(poll_media(h).event, 0);
  const std::vector<uint8_t> gesn_power = {0x4A, 0x01, 0, 0, 0x04, 0, 0, 0, 8, 0};
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x50, 0}, 0).good());  // 5h SLEEP
  auto r = h.run(gesn_power, 8);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[4], 0x01);  // PwrChg-Successful
  EXPECT_EQ(r.data[5], 0x04);  // sleep
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x12, 0}, 0).good());  // 1h ACTIVE (LoEj ignored)
  r = h.run(gesn_power, 8);
  EXPECT_EQ(r.data[5], 0x01);
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x42, 0}, 0).good());  // 4h reserved: no transition
  r = h.run(gesn_power, 8);
  EXPECT_EQ(r.data[4], 0x00);
  EXPECT_EQ(r.data[5], 0x01);
}

// libiscsi SCSI.StartStopUnit.NoLoej: every IMMED / FL (SBC NO_FLUSH) / START
// combination with LoEj=0 succeeds and never moves the tray.
TEST(DriveEvents, StartStopNoLoejAnyFlagsKeepsTheDisc) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  poll_media(h);
  h.clear_unit_attentions();
  for (uint8_t immed : {0, 1}) {
    for (uint8_t fl : {0x00, 0x04}) {
      for (uint8_t start : {0, 1}) {
        EXPECT_TRUE(h.run({0x1B, immed, 0, 0, static_cast<uint8_t>(fl | start), 0}, 0).good())
            << int(immed) << int(fl) << int(start);
        EXPECT_TRUE(h.run(kTur, 0).good());
      }
    }
  }
  EXPECT_EQ(h.drive().status().tray, TrayState::closed);
  EXPECT_EQ(poll_media(h).event, 0);
  // FL with LoEj=1 Start=1 (format-layer select) is a plain load.
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x02, 0}, 0).good());
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x07, 0}, 0).good());
  EXPECT_EQ(h.drive().status().tray, TrayState::closed);
  EXPECT_TRUE(h.run(kTur, 0).good());
}

// libiscsi SCSI.StartStopUnit.Simple: eject then load by the same initiator;
// its TEST UNIT READY is GOOD at once (it caused the change), the other
// initiators get 06/28/00 once, and GESN shows the new medium to everyone.
TEST(DriveUnitAttention, LoadByStartStopUnitSparesTheLoadingInitiator) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions(1);
  h.clear_unit_attentions(2);
  for (uint8_t immed : {1, 0}) {
    ASSERT_TRUE(h.run({0x1B, immed, 0, 0, 0x02, 0}, 0).good());  // eject
    EXPECT_TRUE(h.run(kTur, 0).is(SenseKey::not_ready, asc::kMediumNotPresentTrayOpen));
    ASSERT_TRUE(h.run({0x1B, immed, 0, 0, 0x03, 0}, 0).good());  // load
    EXPECT_TRUE(h.run(kTur, 0).good());
  }
  EXPECT_TRUE(h.run(kTur, 0, 2).is(SenseKey::unit_attention, asc::kNotReadyToReadyChange));
  EXPECT_TRUE(h.run(kTur, 0, 2).good());
  // A user insert (Drive::insert) still shows 28/00 to every initiator.
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_audio()).ok());
  EXPECT_TRUE(h.run(kTur, 0, 1).is(SenseKey::unit_attention, asc::kNotReadyToReadyChange));
  EXPECT_TRUE(h.run(kTur, 0, 2).is(SenseKey::unit_attention, asc::kNotReadyToReadyChange));
  EXPECT_TRUE(h.run(kTur, 0, 1).good());
}

TEST(DriveEvents, PowerClassReportsStandbyOnce) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions();
  ASSERT_TRUE(h.run({0x1B, 0, 0, 0, 0x30, 0}, 0).good());  // standby
  auto r = h.run({0x4A, 0x01, 0, 0, 0x04, 0, 0, 0, 8, 0}, 8);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[2], 0x02);
  EXPECT_EQ(r.data[4], 0x01);  // PwrChg-Successful
  EXPECT_EQ(r.data[5], 0x03);  // standby
  r = h.run({0x4A, 0x01, 0, 0, 0x04, 0, 0, 0, 8, 0}, 8);
  EXPECT_EQ(r.data[4], 0x00);
  EXPECT_EQ(r.data[5], 0x03);
}

TEST(DriveEvents, GesnClassesAndErrors) {
  ScsiHarness h;
  auto r = h.run({0x4A, 0x00, 0, 0, 0x10, 0, 0, 0, 8, 0}, 8);  // Polled=0
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_TRUE(r.sksv());
  EXPECT_TRUE(r.sks_in_cdb());
  EXPECT_EQ(r.sks_field(), 1);
  EXPECT_EQ(r.sks_bit(), 0);
  EXPECT_EQ(r.response.sense[15], 0xC8);
  r = h.run({0x4A, 0x01, 0, 0, 0x08, 0, 0, 0, 8, 0}, 8);  // external request class only: unsupported
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 4u);
  EXPECT_EQ(r.data[1], 0x02);
  EXPECT_EQ(r.data[2], 0x80);  // NEA
  r = h.run({0x4A, 0x01, 0, 0, 0x52, 0, 0, 0, 8, 0}, 8);  // op change + media + busy: op change first
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[2], 0x01);
  r = h.run({0x4A, 0x01, 0, 0, 0x40, 0, 0, 0, 8, 0}, 8);  // device busy
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[2], 0x06);
  EXPECT_EQ(r.data[5], 0x00);
  // Tray open, empty: GESN still works.
  ASSERT_TRUE(h.drive().eject().ok());
  auto m = poll_media(h);
  EXPECT_EQ(m.status, 0x01);
}

TEST(DriveEvents, ShortAllocationDoesNotLoseAnEvent) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  auto r = h.run({0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 4, 0}, 4);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 4u);
  EXPECT_EQ(poll_media(h).event, 2);
}

TEST(DrivePrevent, PerInitiatorLock) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions(1);
  h.clear_unit_attentions(2);
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 1, 0}, 0, 1).good());
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 0, 0}, 0, 2).good());  // 2's ALLOW does not undo 1's PREVENT
  EXPECT_TRUE(h.drive().status().locked);
  EXPECT_TRUE(h.run({0x1B, 0, 0, 0, 0x02, 0}, 0, 2).is(SenseKey::illegal_request, asc::kMediumRemovalPrevented));
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 0, 0}, 0, 1).good());
  EXPECT_FALSE(h.drive().status().locked);
  EXPECT_TRUE(h.run({0x1B, 0, 0, 0, 0x02, 0}, 0, 2).good());
}

TEST(DriveDispatch, RomDriveRejectsWriterCommands) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions();
  for (const auto& [op, name] : rom_drive_lacks()) {
    EXPECT_EQ(find_command(op), nullptr) << name;
    std::vector<uint8_t> cdb(16, 0);
    cdb[0] = op;
    auto r = h.run(cdb, 0);
    EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidCommandOperationCode)) << name;
  }
}

TEST(DriveDispatch, ControlByteAndShortCdb) {
  ScsiHarness h;
  h.clear_unit_attentions();
  auto r = h.run({0x12, 0, 0, 0, 36, 0x04}, 36);  // NACA
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 5);
  EXPECT_EQ(r.sks_bit(), 2);
  r = h.run({0x00, 0, 0, 0, 0, 0x01}, 0);  // LINK
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_bit(), 0);
  Request req;
  const uint8_t cdb[3] = {0x28, 0, 0};
  req.cdb = cdb;
  Response resp = h.drive().execute(req);
  EXPECT_EQ(resp.status, ScsiStatus::check_condition);
  Request empty;
  EXPECT_EQ(h.drive().execute(empty).status, ScsiStatus::check_condition);
}

TEST(DriveDispatch, TableHasNoDuplicatesAndEveryEntryIsComplete) {
  std::array<int, 256> seen{};
  for (const CommandSpec& c : command_table()) {
    EXPECT_EQ(seen[c.opcode]++, 0) << c.name;
    EXPECT_NE(c.handler, nullptr) << c.name;
    EXPECT_TRUE(c.cdb_length == 6 || c.cdb_length == 10 || c.cdb_length == 12 || c.cdb_length == 16) << c.name;
    EXPECT_EQ(find_command(c.opcode), &c);
  }
  EXPECT_NE(find_command(0x28), nullptr);
}

TEST(DriveStatusCounters, CountCommandsBytesAndErrors) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.run(kTur, 0);                                            // UA: error
  h.run(kInquiry, 36);                                       // not medium data
  h.run({0x28, 0, 0, 0, 0, 0, 0, 0, 2, 0}, 4096);            // 4096 bytes
  h.run({0x28, 0, 0, 0, 0x4E, 0x20, 0, 0, 1, 0}, 2048);      // audio: error
  DriveStatus s = h.drive().status();
  EXPECT_EQ(s.commands, 4u);
  EXPECT_EQ(s.errors, 2u);
  EXPECT_EQ(s.bytes_read, 4096u);
  EXPECT_TRUE(s.medium_present);
  EXPECT_EQ(s.tray, TrayState::closed);
}

TEST(DriveIdentity, SerialIsGeneratedAndStable) {
  Drive a;
  Drive b;
  EXPECT_FALSE(a.identity().serial.empty());
  EXPECT_NE(a.identity().serial, b.identity().serial);
  Identity id;
  id.serial = "ABC123";
  Drive c(id);
  EXPECT_EQ(c.identity().serial, "ABC123");
  EXPECT_FALSE(c.insert(nullptr).ok());
  id.serial = std::string(300, 'S');
  ScsiHarness h(id);
  auto r = h.run({0x12, 0x01, 0x80, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 4u + 64u);
  r = h.run({0x12, 0x01, 0x83, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[2] * 256u + r.data[3] + 4u, r.data.size());
}

// The MMC table is merged into the drive's: its entries get the same common
// checks (unit attention, medium) as the engine's own.
TEST(DriveDispatch, MmcCommandsGetTheCommonChecks) {
  ScsiHarness h;
  const std::vector<uint8_t> read_toc = {0x43, 0, 0, 0, 0, 0, 0, 0x03, 0x24, 0};
  EXPECT_TRUE(h.run(read_toc, 0x324).is(SenseKey::unit_attention, asc::kPowerOnResetOrBusDeviceReset));
  EXPECT_TRUE(h.run(read_toc, 0x324).is(SenseKey::not_ready, asc::kMediumNotPresentTrayClosed));
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  EXPECT_TRUE(h.run(read_toc, 0x324).is(SenseKey::unit_attention, asc::kNotReadyToReadyChange));
  auto r = h.run(read_toc, 0x324);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 28u);  // mmc-expectations §4.3: 2 tracks + lead-out
  EXPECT_EQ(r.data[5], 0x14);     // data track, ADR 1 / CTL 4
  EXPECT_NE(find_command(0xBE), nullptr);  // READ CD
}

// MMC-6 6.16 PLAY AUDIO(10) then SPC-5 6.39 REQUEST SENSE with nothing else
// pending: 00/00/11 AUDIO PLAY OPERATION IN PROGRESS.
TEST(DriveAudio, RequestSenseReportsPlayInProgress) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_audio()).ok());
  h.clear_unit_attentions();
  ASSERT_TRUE(h.run({0x45, 0, 0, 0, 0, 0, 0, 0x10, 0x00, 0}, 0).good());  // play LBA 0, 4096 sectors
  auto r = h.run({0x03, 0, 0, 0, 18, 0}, 18);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[2] & 0x0F, 0x00);
  EXPECT_EQ(r.data[12], 0x00);
  EXPECT_EQ(r.data[13], 0x11);
  // Ejecting stops the play.
  ASSERT_TRUE(h.drive().eject().ok());
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_audio()).ok());
  h.clear_unit_attentions();
  r = h.run({0x03, 0, 0, 0, 18, 0}, 18);
  EXPECT_NE(r.data[13], 0x11);
}

// Many initiators reading while the medium is swapped and ejected: every
// response is well formed and no command sees a half-changed drive.
TEST(DriveConcurrency, ReadersAndMediumChanges) {
  ScsiHarness h;
  Drive& drive = h.drive();
  ASSERT_TRUE(drive.insert(MemoryImage::dvd(4096)).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      std::vector<uint8_t> buf(8 * 2048);
      std::span<uint8_t> seg(buf);
      const uint8_t cdb[10] = {0x28, 0, 0, 0, 0, static_cast<uint8_t>(t * 8), 0, 0, 8, 0};
      Request req;
      req.cdb = cdb;
      req.direction = DataDirection::from_device;
      req.expected_transfer_length = static_cast<uint32_t>(buf.size());
      req.data_in = std::span<const std::span<uint8_t>>(&seg, 1);
      req.initiator = static_cast<InitiatorId>(10 + t);
      while (!stop.load()) {
        Response r = drive.execute(req);
        if (r.status == ScsiStatus::good) {
          if (r.data_in_length != buf.size() || buf[3] != t * 8) ++bad;
        } else {
          const uint8_t key = r.sense[2] & 0x0F;
          if (r.sense_length != 18 || (key != 0x6 && key != 0x2)) ++bad;
        }
      }
    });
  }
  for (int i = 0; i < 200; ++i) {
    if (i % 3 == 2) {
      ASSERT_TRUE(drive.eject().ok());
    } else {
      ASSERT_TRUE(drive.insert(i % 2 ? MemoryImage::dvd(4096) : MemoryImage::bd(8192)).ok());
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace udisc::device
