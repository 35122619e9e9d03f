// make_drive_unit: a new I_T nexus meets no power-on unit attention (Linux's
// sr would drop a mounted disc after a re-login); later unit attentions are
// reported as the engine queues them.
#include <gtest/gtest.h>

#include "device/drive.h"
#include "device/testing/memory_image.h"
#include "transport/iscsi/logical_unit.h"

namespace udisc::iscsi {
namespace {

using device::testing::MemoryImage;

device::Response test_unit_ready(LogicalUnit& unit, device::InitiatorId initiator) {
  const uint8_t cdb[6] = {0x00, 0, 0, 0, 0, 0};
  device::Request r;
  r.cdb = cdb;
  r.initiator = initiator;
  return unit.execute(r);
}

bool unit_attention(const std::optional<device::Asc>& a, uint8_t asc, uint8_t ascq) {
  return a && a->asc == asc && a->ascq == ascq;
}

TEST(DriveUnit, NewNexusMeetsNoPowerOnUnitAttention) {
  auto drive = std::make_shared<device::Drive>();
  ASSERT_TRUE(drive->insert(MemoryImage::cd_mixed_mode()).ok());
  auto unit = make_drive_unit(drive);
  EXPECT_FALSE(unit->pending_unit_attention(7).has_value());
  EXPECT_EQ(test_unit_ready(*unit, 7).status, device::ScsiStatus::good);
  // A first command (not a unit-attention query) from another nexus: GOOD too.
  EXPECT_EQ(test_unit_ready(*unit, 8).status, device::ScsiStatus::good);
}

TEST(DriveUnit, LaterUnitAttentionsAreReported) {
  auto drive = std::make_shared<device::Drive>();
  ASSERT_TRUE(drive->insert(MemoryImage::cd_mixed_mode()).ok());
  auto unit = make_drive_unit(drive);
  ASSERT_EQ(test_unit_ready(*unit, 7).status, device::ScsiStatus::good);
  unit->logical_unit_reset();
  EXPECT_TRUE(unit_attention(unit->pending_unit_attention(7), 0x29, 0x00));
  EXPECT_EQ(test_unit_ready(*unit, 7).status, device::ScsiStatus::check_condition);
  EXPECT_EQ(test_unit_ready(*unit, 7).status, device::ScsiStatus::good);
  ASSERT_TRUE(drive->eject(true).ok());
  ASSERT_TRUE(drive->insert(MemoryImage::cd_audio()).ok());
  EXPECT_TRUE(unit_attention(unit->pending_unit_attention(7), 0x28, 0x00));
}

TEST(DriveUnit, ReturningNexusMeetsNoPowerOnUnitAttention) {
  auto drive = std::make_shared<device::Drive>();
  ASSERT_TRUE(drive->insert(MemoryImage::cd_mixed_mode()).ok());
  auto unit = make_drive_unit(drive);
  ASSERT_EQ(test_unit_ready(*unit, 7).status, device::ScsiStatus::good);
  unit->initiator_gone(7);  // connection dropped; the initiator logs in again
  EXPECT_FALSE(unit->pending_unit_attention(7).has_value());
  EXPECT_EQ(test_unit_ready(*unit, 7).status, device::ScsiStatus::good);
}

}  // namespace
}  // namespace udisc::iscsi
