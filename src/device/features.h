// GET CONFIGURATION features of the drive (MMC-6 5.3, 6.6 GET CONFIGURATION).
//
// The drive reports the profile list and the features of a ROM drive of its
// DriveKind; the medium decides the current profile and which
// medium-dependent features are current. With no medium the current profile
// is 0000h and only the always-current features are current.
#pragma once

#include <cstdint>
#include <string>

#include "device/drive.h"
#include "device/wire.h"
#include "disc/image.h"

namespace udisc::device {

namespace feature {
inline constexpr uint16_t kProfileList = 0x0000;
inline constexpr uint16_t kCore = 0x0001;
inline constexpr uint16_t kMorphing = 0x0002;
inline constexpr uint16_t kRemovableMedium = 0x0003;
inline constexpr uint16_t kRandomReadable = 0x0010;
inline constexpr uint16_t kMultiRead = 0x001D;
inline constexpr uint16_t kCdRead = 0x001E;
inline constexpr uint16_t kDvdRead = 0x001F;
inline constexpr uint16_t kBdRead = 0x0040;
inline constexpr uint16_t kPowerManagement = 0x0100;
inline constexpr uint16_t kCdExternalAudioPlay = 0x0103;
inline constexpr uint16_t kTimeout = 0x0105;
inline constexpr uint16_t kDvdCss = 0x0106;
inline constexpr uint16_t kRealTimeStreaming = 0x0107;
inline constexpr uint16_t kDriveSerialNumber = 0x0108;
}  // namespace feature

// GET CONFIGURATION RT field.
enum class RequestType : uint8_t { all = 0, current = 1, one = 2 };

struct FeatureEnv {
  DriveKind kind = DriveKind::bd_rom;
  const disc::Image* medium = nullptr;  // loaded medium or null
  std::string serial;
};

// Writes the full GET CONFIGURATION response (header + descriptors).
void build_configuration(const FeatureEnv& env, RequestType rt, uint16_t starting_feature, wire::ByteWriter& w);

}  // namespace udisc::device
