// Medium handling: START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL,
// SYNCHRONIZE CACHE, GET EVENT STATUS NOTIFICATION, SET STREAMING.
#include "device/drive_core.h"
#include "device/spc_handlers.h"
#include "device/wire.h"

namespace udisc::device {

// MMC-6 6.40 START STOP UNIT: IMMED (byte 1 bit 0), POWER CONDITION MODIFIER
// (byte 3 bits 3-0), POWER CONDITION (byte 4 bits 7-4), FL (byte 4 bit 2),
// LOEJ (bit 1), START (bit 0).
//
// - POWER CONDITION not 0h: the power condition changes and LOEJ/START are
//   ignored (MMC-6 6.40.2.1, SBC-3 5.20), so the tray never moves. Values
//   MMC/SBC define: 1h ACTIVE, 2h IDLE, 3h STANDBY, 5h SLEEP, 7h LU_CONTROL,
//   Ah FORCE_IDLE_0, Bh FORCE_STANDBY_0. The remaining codes are reserved;
//   they are accepted as "no change" (GOOD, no power transition, no
//   movement) rather than 05/24/00, because hosts and libiscsi's
//   StartStopUnit.PwrCnd test send every value 1h-Fh with LoEj=1 and expect
//   the drive to stay loaded and answer GOOD.
// - FL (format layer, for hybrid discs with LoEj=1 Start=1) has nothing to
//   select on our single-format media: it is ignored. SBC calls the same bit
//   NO_FLUSH, which hosts send with LoEj=0 (nothing is cached: no effect).
// - LoEj=0 never moves the tray (Apple hosts send Start=0 LoEj=0 to spin
//   down; libiscsi's StartStopUnit.NoLoej checks every IMMED/NO_FLUSH/START
//   combination): Start=1 spins up (needs a disc), Start=0 spins down.
// - LoEj=1 Start=0 ejects (refused while any initiator prevents removal);
//   LoEj=1 Start=1 loads: the other initiators get 06/28/00, the loading
//   initiator does not (it caused the change, SPC-5 4.5; libiscsi's
//   StartStopUnit.Simple expects TEST UNIT READY to be GOOD right after its
//   own load). Every initiator still sees the NewMedia event in GESN.
CommandResult spc_start_stop_unit(CommandContext& ctx) {
  DriveCore& core = core_of(ctx);
  const auto cdb = ctx.cdb();
  const uint8_t power_condition = wire::get_bits(cdb, 4, 4, 4);
  const bool loej = wire::get_bit(cdb, 4, 1);
  const bool start = wire::get_bit(cdb, 4, 0);
  // MMC-6 Table 666 / SBC-3 Table 106 power conditions.
  constexpr uint8_t kStartValid = 0x0, kActive = 0x1, kIdle = 0x2, kStandby = 0x3, kSleep = 0x5, kLuControl = 0x7,
                    kForceIdle0 = 0xA, kForceStandby0 = 0xB;
  switch (power_condition) {
    case kStartValid:
      break;
    case kActive:
      core.events.power(PowerState::active);
      return kGood;
    case kIdle:
    case kForceIdle0:
      core.events.power(PowerState::idle);
      return kGood;
    case kStandby:
    case kForceStandby0:
      core.events.power(PowerState::standby);
      return kGood;
    case kSleep:
      core.events.power(PowerState::sleep);
      return kGood;
    case kLuControl:
    default:  // reserved: no transition (see above)
      return kGood;
  }
  if (!loej) {
    // Spin up / stop the disc. Spinning up needs a disc.
    if (start) {
      if (core.loaded() == nullptr) return core.not_ready();
      core.events.power(PowerState::active);
    } else {
      core.events.power(PowerState::standby);
    }
    return kGood;
  }
  if (!start) {
    // Eject: refused while any initiator prevents removal (MMC-6 6.40.2.2).
    if (core.locked()) {
      return ScsiError{SenseKey::illegal_request, asc::kMediumRemovalPrevented, std::nullopt, std::nullopt};
    }
    core.open_tray();
    return kGood;
  }
  core.close_tray(ctx.initiator());
  core.events.power(PowerState::active);
  return kGood;
}

// MMC-6 6.13 PREVENT ALLOW MEDIUM REMOVAL: PREVENT field (byte 4 bits 1-0):
// bit 0 prevents removal by this initiator, bit 1 is persistent prevention
// (accepted; it only affects how eject requests are reported).
CommandResult spc_prevent_allow_medium_removal(CommandContext& ctx) {
  DriveCore& core = core_of(ctx);
  const bool prevent = wire::get_bit(ctx.cdb(), 4, 0);
  core.initiator(ctx.initiator()).prevent = prevent;
  return kGood;
}

// MMC-6 6.41 SYNCHRONIZE CACHE(10): nothing is ever cached for writing.
CommandResult spc_synchronize_cache(CommandContext& /*ctx*/) { return kGood; }

// MMC-6 6.7 GET EVENT STATUS NOTIFICATION: POLLED (byte 1 bit 0),
// NOTIFICATION CLASS REQUEST (byte 4), ALLOCATION LENGTH (bytes 7-8).
// Works in every state, with no unit attention and no NOT READY. The
// reported event is consumed only if the initiator received all of it.
CommandResult mmc_get_event_status_notification(CommandContext& ctx) {
  DriveCore& core = core_of(ctx);
  const auto cdb = ctx.cdb();
  if (!wire::get_bit(cdb, 1, 0)) return ScsiError::invalid_field(1, 0);  // asynchronous operation not supported
  const uint8_t request = wire::get_u8(cdb, 4);
  const uint16_t alloc = wire::get_u16(cdb, 7);
  const bool consume =
      alloc >= gesn::kHeaderLength + gesn::kDescriptorLength && ctx.request().expected_transfer_length >= alloc;
  wire::ResponseBuffer<gesn::kHeaderLength + gesn::kDescriptorLength> buf;
  core.events.build(request, core.loaded() != nullptr, core.tray == TrayState::open, buf.w, consume);
  ctx.send(buf.bytes(), alloc);
  return kGood;
}

// MMC-6 6.47 SET STREAMING: TYPE (byte 8), PARAMETER LIST LENGTH (bytes 9-10).
// Type 00h performance descriptors (28 bytes) are accepted and leave reading
// at full speed, as a ROM drive with Real-Time Streaming SCS=1 may do.
CommandResult mmc_set_streaming(CommandContext& ctx) {
  constexpr uint8_t kPerformanceDescriptor = 0x00;
  constexpr uint32_t kPerformanceDescriptorLength = 28;
  const auto cdb = ctx.cdb();
  const uint8_t type = wire::get_u8(cdb, 8);
  const uint16_t length = wire::get_u16(cdb, 9);
  if (type != kPerformanceDescriptor) return ScsiError::invalid_field(8);
  const auto params = ctx.receive(length);
  if (length == 0) return kGood;
  if (length < kPerformanceDescriptorLength || params.size() < kPerformanceDescriptorLength) {
    return ScsiError{SenseKey::illegal_request, asc::kParameterListLengthError, std::nullopt, std::nullopt};
  }
  // START LBA (bytes 4-7) must not exceed END LBA (bytes 8-11).
  if (wire::get_u32(params, 4) > wire::get_u32(params, 8)) return ScsiError::invalid_parameter(4);
  return kGood;
}

}  // namespace udisc::device
