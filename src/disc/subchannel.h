// Sub-channel generation and (de)interleaving (ECMA-130 22; Red Book).
//
// Each sector carries 96 bytes of sub-channel. In raw (interleaved) form,
// byte i holds bit i of every channel: bit 7 = P, bit 6 = Q, ..., bit 0 = W;
// the 96 bytes give each channel 96 bits = 12 bytes, most significant bit
// first (byte 0 of the raw form holds bit 7 of each channel's byte 0).
//
// Q channel (12 bytes): byte 0 = CONTROL (high nibble) | ADR (low nibble),
// bytes 1..9 = mode data, bytes 10..11 = CRC-16 (x^16+x^12+x^5+1, initial 0,
// result inverted, stored big-endian).
//   ADR 1 (position): TNO, INDEX, relative M S F, ZERO, absolute M S F (BCD)
//   ADR 2 (MCN):      13 BCD digits, 12 zero bits, AFRAME (byte 9, BCD)
//   ADR 3 (ISRC):     5 six-bit characters, 2 zero bits, 7 BCD digits,
//                     4 zero bits, AFRAME (byte 9, BCD)
//
// Placement rules of this generator (see docs/formats/ecma130.md):
//   - ADR 2 (MCN), if the disc has one: frames with (lba + 150) % 100 == 10.
//   - ADR 3 (ISRC), if the track has one: frames with (lba + 150) % 100 == 60,
//     only at index >= 1 (never in a pregap).
//   - Neither replaces the first or the last frame of a track's pregap or of
//     its index-1 area, nor the first frame of any index; position is used there.
//   - Relative time counts down through a pregap to 00:00:00 at index 1 and
//     up from there; in the lead-out it counts up from the lead-out start.
//   - P is 1 in pregaps (index 0) and in the lead-out alternates at 2 Hz
//     (1 for the first 19 frames of every 37.5); 0 elsewhere. R–W are zero.
//
// Pure functions of the Disc value; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "disc/disc.h"
#include "disc/msf.h"
#include "util/status.h"

namespace udisc::disc {

inline constexpr size_t kQSize = 12;
using QFrame = std::array<uint8_t, kQSize>;

// Q ADR values (ECMA-130 22.3.2).
namespace qadr {
inline constexpr uint8_t kPosition = 1;
inline constexpr uint8_t kMcn = 2;
inline constexpr uint8_t kIsrc = 3;
}  // namespace qadr

inline constexpr uint8_t kLeadoutTrack = 0xAA;

// CRC-16 of the Q channel: polynomial 0x1021, initial 0, MSB first, result
// inverted. Over bytes 0..9 of a Q frame it gives the value stored big-endian
// in bytes 10..11.
uint16_t crc16_q(std::span<const uint8_t> data);
bool q_crc_ok(std::span<const uint8_t, 12> q);
void set_q_crc(std::span<uint8_t, 12> q);

// The generated Q frame / P bit / 96-byte raw sub-channel for `lba`.
// Works for any lba >= -150 (pregap of the first track through lead-out).
QFrame build_q(const Disc& disc, int32_t lba);
bool build_p(const Disc& disc, int32_t lba);
void build_subchannel(const Disc& disc, int32_t lba, std::span<uint8_t, 96> out);

// Eight de-interleaved channels, index 0 = P ... 7 = W, 12 bytes each.
using SubchannelChannels = std::array<std::array<uint8_t, 12>, 8>;
void interleave(const SubchannelChannels& channels, std::span<uint8_t, 96> out);
SubchannelChannels deinterleave(std::span<const uint8_t, 96> raw);
QFrame extract_q(std::span<const uint8_t, 96> raw);

// ---- Encoding and decoding of the Q modes ----------------------------------

struct QPosition {
  uint8_t control = 0;
  uint8_t track = 1;   // binary; kLeadoutTrack in the lead-out
  uint8_t index = 1;   // binary
  Msf relative;
  Msf absolute;
};
// Fills bytes 0..9 of an ADR 1 frame and its CRC.
QFrame encode_position(const QPosition& p);
// MCN: exactly 13 digits. ISRC: 2 letters/digits country, 3 letters/digits
// owner, 7 digits (year + serial). `aframe` is the binary frame (0..74) of
// the absolute time, written in BCD. InvalidArgument otherwise.
Result<QFrame> encode_mcn(uint8_t control, std::string_view mcn, uint8_t aframe);
Result<QFrame> encode_isrc(uint8_t control, std::string_view isrc, uint8_t aframe);

uint8_t q_adr(std::span<const uint8_t, 12> q);
std::optional<QPosition> decode_position(std::span<const uint8_t, 12> q);
std::optional<std::string> decode_mcn(std::span<const uint8_t, 12> q);
std::optional<std::string> decode_isrc(std::span<const uint8_t, 12> q);

}  // namespace udisc::disc
