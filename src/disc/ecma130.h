// Raw CD sector synthesis and checking (ECMA-130 14 and Annex A-C; CD-ROM XA
// / ISO/IEC 10149 for mode 2 forms). See docs/formats/ecma130.md.
//
// A raw sector is 2352 bytes:
//   0..11    sync (00 FF*10 00)
//   12..15   header: minute, second, frame (BCD, LBA + 150), mode (0, 1, 2)
//   mode 1:  16..2063 user data, 2064..2067 EDC, 2068..2075 zero,
//            2076..2247 ECC P, 2248..2351 ECC Q
//   mode 2 formless: 16..2351 user data (2336 bytes)
//   XA form 1: 16..23 subheader (4 bytes twice), 24..2071 user data,
//            2072..2075 EDC, 2076..2247 ECC P, 2248..2351 ECC Q
//            (ECC computed as if the header bytes 12..15 were zero)
//   XA form 2: 16..23 subheader, 24..2347 user data, 2348..2351 EDC
//   audio:   2352 bytes of samples, no structure.
//
// Generation (build_*) writes a complete, well-formed sector. Checking
// (check_raw_sector) is independent of generation: it verifies the EDC by
// its CRC residue and the ECC by evaluating P and Q syndromes, never by
// regenerating and comparing.
//
// All functions are pure and thread-safe; tables are built at compile time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "disc/disc.h"
#include "util/status.h"

namespace udisc::disc {

namespace ecma130 {
inline constexpr size_t kSectorSize = 2352;
inline constexpr size_t kSyncOffset = 0;
inline constexpr size_t kSyncSize = 12;
inline constexpr size_t kHeaderOffset = 12;
inline constexpr size_t kHeaderSize = 4;
inline constexpr size_t kModeOffset = 15;
inline constexpr size_t kUserOffset = 16;           // mode 1 / formless mode 2 user data
inline constexpr size_t kSubheaderOffset = 16;      // XA: 4 bytes, repeated at 20
inline constexpr size_t kSubheaderSize = 8;
inline constexpr size_t kXaUserOffset = 24;         // XA form 1 / form 2 user data
inline constexpr size_t kMode1EdcOffset = 2064;
inline constexpr size_t kMode1ZeroOffset = 2068;    // 8 reserved zero bytes
inline constexpr size_t kForm1EdcOffset = 2072;
inline constexpr size_t kForm2EdcOffset = 2348;
inline constexpr size_t kEccPOffset = 2076;         // 172 bytes
inline constexpr size_t kEccPSize = 172;
inline constexpr size_t kEccQOffset = 2248;         // 104 bytes
inline constexpr size_t kEccQSize = 104;
inline constexpr size_t kMode2UserSize = 2336;
inline constexpr size_t kForm1UserSize = 2048;
inline constexpr size_t kForm2UserSize = 2324;

// The 12-byte sync field.
inline constexpr std::array<uint8_t, 12> kSync = {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                                  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};

// Subheader submode bits (CD-ROM XA / ISO/IEC 10149 / Green Book).
namespace submode {
inline constexpr uint8_t kEndOfRecord = 0x01;
inline constexpr uint8_t kVideo = 0x02;
inline constexpr uint8_t kAudio = 0x04;
inline constexpr uint8_t kData = 0x08;
inline constexpr uint8_t kTrigger = 0x10;
inline constexpr uint8_t kForm2 = 0x20;
inline constexpr uint8_t kRealTime = 0x40;
inline constexpr uint8_t kEndOfFile = 0x80;
}  // namespace submode
}  // namespace ecma130

// The 4-byte XA subheader (written twice in the sector).
struct XaSubheader {
  uint8_t file_number = 0;
  uint8_t channel = 0;
  uint8_t submode = 0;  // ecma130::submode bits; kForm2 selects form 2
  uint8_t coding = 0;
};

// EDC: CRC-32 over `data`, polynomial (x^16+x^15+x^2+1)(x^16+x^2+x+1),
// processed LSB first (reversed form 0xD8018001), initial value 0, no final
// inversion. Stored little-endian. `edc_update` continues a running value.
uint32_t edc(std::span<const uint8_t> data);
uint32_t edc_update(uint32_t crc, std::span<const uint8_t> data);

// Writes sync and header (BCD MSF of lba + 150, mode byte) into `out`.
// lba must be in [-150, 449849]; outside it the MSF wraps as MSF arithmetic does.
void write_sync_and_header(int32_t lba, uint8_t mode, std::span<uint8_t, 2352> out);

// Computes ECC P (bytes 2076..2247) then ECC Q (2248..2351) over bytes
// 12..2247 of `sector` as they stand (the caller zeroes the header for XA
// form 1 beforehand and restores it afterwards; build_* do this).
void compute_ecc(std::span<uint8_t, 2352> sector);

// Fills the EDC/ECC fields of a sector whose sync, header, subheader and user
// data are already in place, according to its mode byte and (mode 2) the
// subheader's form bit. Mode 2 sectors whose subheader copies differ are
// treated as formless and left untouched; mode 0 and unknown modes likewise.
void complete_sector(std::span<uint8_t, 2352> sector);

// Builds the raw sector for `lba` of a track in `mode` from its user data.
// user.size() must be user_data_size(mode) (2048 / 2336 / 2048 / 2324 / 2352),
// or, for the two XA modes, 2336: bytes 16..2351 as MODE2/2336 images store
// them (subheader, data and the stored EDC/ECC), placed after sync and header
// unchanged (call complete_sector afterwards to regenerate EDC/ECC).
// `sub` sets the XA subheader for 2048 / 2324-byte input; by default form 1
// uses {0,0,kData,0} and form 2 {0,0,kForm2,0}; the form bit is forced to
// match `mode`.
// Returns InvalidArgument for a wrong user size.
Status build_raw_sector(TrackMode mode, int32_t lba, std::span<const uint8_t> user,
                        std::span<uint8_t, 2352> out, const XaSubheader* sub = nullptr);

// A well-formed empty sector for pregap / postgap areas not stored in an image:
//   audio        -> 2352 zero bytes (digital silence)
//   mode1        -> sync, header, 2048 zero bytes, EDC, ECC
//   mode2        -> sync, header (mode 2), 2336 zero bytes
//   mode2_form1,
//   mode2_form2  -> XA form 2 sector, subheader {0,0,kForm2,0}, 2324 zero
//                   bytes and its EDC, as pressed discs carry in XA pregaps.
void build_empty_sector(TrackMode mode, int32_t lba, std::span<uint8_t, 2352> out);

// ---- Independent checking -------------------------------------------------

// What a sector turned out to be.
enum class SectorKind : uint8_t { unknown, mode0, mode1, mode2_formless, mode2_form1, mode2_form2 };
const char* to_string(SectorKind k);

// Part of a sector found bad (first failure in sector order).
enum class SectorPart : uint8_t { none, sync, header, mode, subheader, zero_fill, edc, ecc_p, ecc_q };
const char* to_string(SectorPart p);

struct SectorCheck {
  SectorKind kind = SectorKind::unknown;
  bool sync_ok = false;
  bool header_ok = false;     // BCD MSF valid and equal to the expected address
  bool mode_ok = false;       // mode byte is 0, 1 or 2
  bool subheader_ok = true;   // XA: both copies equal (false only when XA expected)
  bool zero_fill_ok = true;   // mode 1 bytes 2068..2075 / mode 0 data are zero
  bool edc_present = false;   // an EDC field exists (XA form 2 may carry 0: absent)
  bool edc_ok = true;         // CRC residue is zero (true when no EDC to check)
  bool ecc_p_ok = true;       // all 86 P codewords have zero syndromes
  bool ecc_q_ok = true;       // all 52 Q codewords have zero syndromes
  int32_t header_lba = 0;     // address found in the header (if its BCD is valid)

  bool ok() const {
    return sync_ok && header_ok && mode_ok && subheader_ok && zero_fill_ok && edc_ok && ecc_p_ok && ecc_q_ok;
  }
  SectorPart first_bad() const;
};

// Checks a raw data sector that should be at `expected_lba`. With
// `expected_mode` unset the sector is classified from its own header and
// subheader (mode 2 with equal subheader copies is XA, else formless); with it
// set (a data TrackMode) a mode or form mismatch is reported. XA tracks mix
// forms, so for mode2_form1 / mode2_form2 the form is always read from the
// subheader. An XA form 2 sector with EDC 0 passes (EDC absent, edc_present
// false). Audio sectors have nothing to check: pass TrackMode::audio and the
// result is ok with kind unknown.
SectorCheck check_raw_sector(std::span<const uint8_t, 2352> sector, int32_t expected_lba,
                             std::optional<TrackMode> expected_mode = std::nullopt);

}  // namespace udisc::disc
