// Shared vocabulary of the MMC disc-content commands (src/device/mmc_*).
//
// The renderers in mmc_toc.h, mmc_info.h and mmc_read_cd.h are pure
// functions: a disc model (or image) and decoded CDB fields in, the full
// response bytes (before allocation-length truncation) or a ScsiError out.
// Command handlers (mmc_commands.cc) decode CDBs, call them and copy the
// result to the initiator's buffer, truncated to the allocation length.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <utility>
#include <variant>
#include <vector>

#include "device/sense.h"
#include "disc/disc.h"
#include "disc/msf.h"

namespace udisc::device::mmc {

using Bytes = std::vector<uint8_t>;

// ASC/ASCQ used only by the MMC commands (SPC-5 Annex F): COMMAND SEQUENCE ERROR.
inline constexpr Asc kCommandSequenceError{0x2C, 0x00};

// A value or the SCSI error that ends the command with CHECK CONDITION.
template <typename T>
class Outcome {
 public:
  Outcome(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Outcome(ScsiError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const ScsiError& error() const { return std::get<ScsiError>(v_); }
  const T* operator->() const { return &value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, ScsiError> v_;
};

// The ADR/CONTROL byte of TOC and sub-channel data: ADR in bits 7-4,
// CONTROL in bits 3-0 (MMC-6 6.26.3.2, Table 480 ADR/CONTROL). ADR 1 = Q
// mode 1 (current position). Data tracks carry CONTROL bit 2 (04h).
constexpr uint8_t adr_control(uint8_t adr, uint8_t control) {
  return static_cast<uint8_t>((adr << 4) | (control & 0x0F));
}
inline uint8_t track_control(const disc::Track& t) {
  uint8_t c = t.control & 0x0F;
  if (disc::is_data(t.mode)) c |= disc::control::kDataTrack;
  return c;
}

// An address as READ TOC / READ SUB-CHANNEL / READ HEADER return it: a
// 32-bit LBA, or with MSF=1 the bytes 00 MM SS FF (binary, MMC-6 4.2.3.6).
inline uint32_t address_field(int32_t lba, bool msf) {
  if (!msf) return static_cast<uint32_t>(lba);
  const disc::Msf m = disc::lba_to_msf(lba);
  return (uint32_t{m.minute} << 16) | (uint32_t{m.second} << 8) | m.frame;
}

// Media family of the mounted disc.
inline bool is_cd_media(const disc::Disc& d) { return disc::is_cd(d.disc_class); }
inline bool is_bd_media(const disc::Disc& d) { return d.disc_class == disc::DiscClass::bd_rom; }

// Disc type byte of the A0 point (full TOC PSEC) and READ DISC INFORMATION
// byte 8 (MMC-6 6.22.3.1.11): 00h CD-DA or CD-ROM, 10h CD-I, 20h CD-ROM XA.
inline uint8_t cd_disc_type(const disc::Disc& d) {
  return d.disc_class == disc::DiscClass::cd_rom_xa ? 0x20 : 0x00;
}

// Nominal read speed the drive reports (kB/s, 1 kB = 1000 bytes):
// CD 48x (48 x 176.4 = 8467), DVD 16x (16 x 1385 = 22160), BD 12x (12 x 4495.5 = 53946).
inline uint16_t nominal_read_speed_kbps(disc::DiscClass c) {
  if (disc::is_cd(c)) return 8467;
  if (disc::is_dvd(c)) return 22160;
  return 53946;
}

}  // namespace udisc::device::mmc
