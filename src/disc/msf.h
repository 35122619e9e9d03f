// MSF / LBA / BCD conversions (ECMA-130 14.2, MMC-6 4.2.3).
// Absolute time MSF = LBA + 150 (the 2-second lead-in offset of track 1's pregap).
#pragma once

#include <cstdint>

namespace udisc::disc {

inline constexpr int kFramesPerSecond = 75;
inline constexpr int kSecondsPerMinute = 60;
inline constexpr int kMsfLbaShift = 150;  // LBA 0 == MSF 00:02:00

struct Msf {
  uint8_t minute = 0;
  uint8_t second = 0;
  uint8_t frame = 0;
  friend constexpr bool operator==(const Msf&, const Msf&) = default;
};

// Frames counted from MSF 00:00:00 (no LBA shift).
constexpr Msf frames_to_msf(int32_t frames) {
  return Msf{static_cast<uint8_t>(frames / (kFramesPerSecond * kSecondsPerMinute)),
             static_cast<uint8_t>((frames / kFramesPerSecond) % kSecondsPerMinute),
             static_cast<uint8_t>(frames % kFramesPerSecond)};
}
constexpr int32_t msf_to_frames(Msf m) {
  return (m.minute * kSecondsPerMinute + m.second) * kFramesPerSecond + m.frame;
}
// Absolute disc address of an LBA (valid for LBA >= -150).
constexpr Msf lba_to_msf(int32_t lba) { return frames_to_msf(lba + kMsfLbaShift); }
constexpr int32_t msf_to_lba(Msf m) { return msf_to_frames(m) - kMsfLbaShift; }

constexpr uint8_t to_bcd(uint8_t v) { return static_cast<uint8_t>(((v / 10) << 4) | (v % 10)); }
constexpr uint8_t from_bcd(uint8_t b) { return static_cast<uint8_t>((b >> 4) * 10 + (b & 0x0F)); }

static_assert(lba_to_msf(0) == Msf{0, 2, 0});
static_assert(msf_to_lba(Msf{0, 2, 0}) == 0);
static_assert(to_bcd(59) == 0x59);

}  // namespace udisc::disc
