// Drive events reported by GET EVENT STATUS NOTIFICATION (MMC-6 6.6), polled
// mode only: operational change (class 1), power management (2), media (4)
// and device busy (6).
//
// Media events queue in the order they happen (an image swap is
// MediaRemoval then NewMedia) and each is reported once, with the
// media-status byte as it was when the event happened. Power events record
// the new power state.
//
// Thread safety: none; used under the drive's state lock.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "device/wire.h"

namespace udisc::device {

// MMC-6 Table 149 media event codes.
enum class MediaEvent : uint8_t { no_change = 0, eject_request = 1, new_media = 2, media_removal = 3, media_changed = 4 };
// MMC-6 Table 144 power status.
enum class PowerState : uint8_t { active = 1, idle = 2, standby = 3, sleep = 4 };

namespace gesn {
// Notification class numbers and their bits in the class request / supported masks.
inline constexpr uint8_t kOperationalChangeClass = 1;
inline constexpr uint8_t kPowerManagementClass = 2;
inline constexpr uint8_t kMediaClass = 4;
inline constexpr uint8_t kDeviceBusyClass = 6;
inline constexpr uint8_t kSupportedClasses =
    (1u << kOperationalChangeClass) | (1u << kPowerManagementClass) | (1u << kMediaClass) | (1u << kDeviceBusyClass);
static_assert(kSupportedClasses == 0x56, "op change, power, media, device busy");
inline constexpr uint8_t kNea = 0x80;               // header byte 2: no event available
inline constexpr size_t kHeaderLength = 4;
inline constexpr size_t kDescriptorLength = 4;
// Media status byte (media descriptor byte 1).
inline constexpr uint8_t kMediaPresent = 0x02;
inline constexpr uint8_t kDoorOrTrayOpen = 0x01;
}  // namespace gesn

class EventState {
 public:
  // A media event happened; `present` / `tray_open` describe the drive just after it.
  void media(MediaEvent event, bool present, bool tray_open);
  // The power state changed to `state` (no event if it is already that state).
  void power(PowerState state);
  void clear();

  // Builds the GESN response for the class request mask `request` (CDB byte
  // 4), reporting the lowest-numbered requested class with a pending event,
  // or else the lowest requested supported class with "no change". If
  // `consume`, the reported event is removed from the queue.
  void build(uint8_t request, bool present, bool tray_open, wire::ByteWriter& w, bool consume);

  PowerState power_state() const { return power_; }
  size_t pending_media_events() const { return media_.size(); }

 private:
  struct Pending {
    MediaEvent event;
    uint8_t status;
  };
  std::deque<Pending> media_;
  PowerState power_ = PowerState::active;
  bool power_event_ = false;
};

}  // namespace udisc::device
