// Mode pages of the drive (SPC-5 7.5, MMC-6 7): what MODE SENSE reports and
// MODE SELECT may change.
//
// Stored pages (current values, changeable with MODE SELECT):
//   01h Read/Write Error Recovery (MMC-6 7.3)
//   0Ah Control (SPC-5 7.5.10; D_SENSE changeable)
//   0Dh CD Device Parameters (MMC-2 5.5.4; obsolete in later MMC, kept for old hosts)
//   0Eh CD Audio Control (MMC-6 7.4 / MMC-3 5.5.3)
//   1Ah Power Condition (SPC-5 7.5.13, MMC 0Ah-byte form)
//   1Dh Time-out and Protect (MMC-6 7.8)
// Generated pages (reflect drive state, nothing changeable):
//   2Ah CD/DVD Capabilities and Mechanical Status (MMC-3 5.5.10)
//   30h Apple vendor page (only with Identity::apple_vendor_page)
// Page 3Fh means all of them in ascending order. No saved values exist.
//
// Thread safety: none; the drive calls it with its state lock held.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "device/command.h"
#include "device/drive.h"
#include "device/wire.h"

namespace udisc::device {

namespace mode_page {
inline constexpr uint8_t kReadWriteErrorRecovery = 0x01;
inline constexpr uint8_t kControl = 0x0A;
inline constexpr uint8_t kCdDeviceParameters = 0x0D;
inline constexpr uint8_t kCdAudioControl = 0x0E;
inline constexpr uint8_t kPowerCondition = 0x1A;
inline constexpr uint8_t kTimeoutAndProtect = 0x1D;
inline constexpr uint8_t kCapabilities = 0x2A;
inline constexpr uint8_t kAppleVendor = 0x30;
inline constexpr uint8_t kAllPages = 0x3F;
inline constexpr uint8_t kAllSubpages = 0xFF;
// Page 2Ah is 32 bytes: page code, page length 1Eh, and bytes 2..31 up to
// the (zero) number of write speed descriptors.
inline constexpr uint8_t kCapabilitiesLength = 0x1E;
static_assert(2 + kCapabilitiesLength == 32, "page 2Ah ends with the write speed descriptor count at bytes 30-31");
}  // namespace mode_page

// SPC-5 6.13 MODE SENSE(10), PC field.
enum class PageControl : uint8_t { current = 0, changeable = 1, default_values = 2, saved = 3 };

// Drive state the generated pages reflect.
struct ModeEnv {
  DriveKind kind = DriveKind::bd_rom;
  bool locked = false;
  uint16_t read_speed_kbps = DriveSettings::kCdMaxReadSpeedKbps;  // selected (clamped by the caller)
  bool apple_vendor_page = false;
};

class ModePages {
 public:
  ModePages();
  // Back to default values (power on, logical unit reset).
  void reset();

  // Appends page `page` (or all pages for 3Fh) as `pc` values.
  // Unsupported page -> 05/24/00 pointing at CDB byte 2 bits 5-0.
  CommandResult append(uint8_t page, PageControl pc, const ModeEnv& env, wire::ByteWriter& w) const;

  // Applies the mode pages of a MODE SELECT parameter list (the bytes after
  // the header and block descriptors). `offset` is where `pages` starts in
  // the parameter list, for field pointers. All pages are checked before
  // any is applied. Errors: unknown page or wrong page length 05/26/00,
  // a non-changeable field changed 05/26/00 (pointing at it), a page cut
  // short 05/1A/00. `changed` tells whether any current value changed.
  CommandResult select(std::span<const uint8_t> pages, size_t offset, const ModeEnv& env, bool& changed);

  // Control page D_SENSE (SPC-5 7.5.10): CHECK CONDITION sense is reported
  // in descriptor format instead of fixed format.
  bool descriptor_sense() const;

  // Current bytes of a stored page (tests, audio volume).
  std::span<const uint8_t> current(uint8_t page) const;

 private:
  void append_one(uint8_t page, PageControl pc, const ModeEnv& env, wire::ByteWriter& w) const;
  std::map<uint8_t, std::vector<uint8_t>> current_;
};

// The page 2Ah bytes for `env` (current values).
std::array<uint8_t, 2 + mode_page::kCapabilitiesLength> capabilities_page(const ModeEnv& env);

}  // namespace udisc::device
