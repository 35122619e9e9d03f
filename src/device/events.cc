// GET EVENT STATUS NOTIFICATION event state (MMC-6 6.6, polled operation).
#include "device/events.h"

namespace udisc::device {

void EventState::media(MediaEvent event, bool present, bool tray_open) {
  const uint8_t status = static_cast<uint8_t>((present ? gesn::kMediaPresent : 0) | (tray_open ? gesn::kDoorOrTrayOpen : 0));
  media_.push_back({event, status});
}

void EventState::power(PowerState state) {
  if (state == power_) return;
  power_ = state;
  power_event_ = true;
}

void EventState::clear() {
  media_.clear();
  power_event_ = false;
}

void EventState::build(uint8_t request, bool present, bool tray_open, wire::ByteWriter& w, bool consume) {
  const uint8_t classes = request & gesn::kSupportedClasses;
  // MMC-6 6.6.2.2: event descriptor length counts the bytes after the field.
  constexpr uint16_t kLengthWithDescriptor = 2 + gesn::kDescriptorLength;
  constexpr uint16_t kLengthHeaderOnly = 2;
  if (classes == 0) {
    w.u16(kLengthHeaderOnly).u8(gesn::kNea).u8(gesn::kSupportedClasses);
    return;
  }
  auto requested = [&](uint8_t cls) { return (classes & (1u << cls)) != 0; };
  uint8_t chosen = 0;
  if (requested(gesn::kPowerManagementClass) && power_event_) {
    chosen = gesn::kPowerManagementClass;
  } else if (requested(gesn::kMediaClass) && !media_.empty()) {
    chosen = gesn::kMediaClass;
  } else {
    for (uint8_t cls = 0; cls < 8; ++cls) {
      if (requested(cls)) {
        chosen = cls;
        break;
      }
    }
  }
  w.u16(kLengthWithDescriptor).u8(chosen).u8(gesn::kSupportedClasses);
  switch (chosen) {
    case gesn::kOperationalChangeClass:
      // Event 0 NoChg; status 0 available; report 0 (MMC-6 Table 140-142).
      w.u8(0).u8(0).u16(0);
      break;
    case gesn::kPowerManagementClass:
      // Event 1 PwrChg-Successful or 0 NoChg; current power status.
      w.u8(power_event_ ? 1 : 0).u8(static_cast<uint8_t>(power_)).u16(0);
      if (consume) power_event_ = false;
      break;
    case gesn::kMediaClass:
      if (!media_.empty()) {
        const Pending p = media_.front();
        w.u8(static_cast<uint8_t>(p.event)).u8(p.status).u8(0).u8(0);  // start / end slot 0
        if (consume) media_.pop_front();
      } else {
        const uint8_t status =
            static_cast<uint8_t>((present ? gesn::kMediaPresent : 0) | (tray_open ? gesn::kDoorOrTrayOpen : 0));
        w.u8(static_cast<uint8_t>(MediaEvent::no_change)).u8(status).u8(0).u8(0);
      }
      break;
    case gesn::kDeviceBusyClass:
    default:
      // Event 0 NoChg, status 0 not busy, time 0.
      w.u8(0).u8(0).u16(0);
      break;
  }
}

}  // namespace udisc::device
