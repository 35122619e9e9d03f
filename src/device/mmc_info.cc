// MMC information commands (MMC-6 6.8, 6.14, 6.21, 6.22, 6.23, 6.27, 6.28, 6.31).
#include "device/mmc_info.h"

#include <algorithm>
#include <array>
#include <string>

#include "device/wire.h"
#include "disc/ecma130.h"

namespace udisc::device::mmc {
namespace {

constexpr uint8_t kAdrPosition = 1;
constexpr uint8_t kAdrIsrc = 3;

ScsiError incompatible_medium() {
  return ScsiError{SenseKey::illegal_request, asc::kCannotReadMediumIncompatibleFormat, std::nullopt, std::nullopt};
}

// A track as the information commands report it: real tracks on CD, one
// track covering the whole medium on DVD/BD.
struct InfoTrack {
  uint8_t number = 1;
  uint8_t session = 1;
  uint8_t control = disc::control::kDataTrack;
  disc::TrackMode mode = disc::TrackMode::mode1;
  int32_t start = 0;  // pregap start, clamped to 0
  int32_t size = 0;
  int32_t index1 = 0;
};

std::vector<InfoTrack> info_tracks(const disc::Disc& d) {
  std::vector<InfoTrack> out;
  if (!is_cd_media(d) || d.tracks.empty()) {
    out.push_back(InfoTrack{1, 1, disc::control::kDataTrack, disc::TrackMode::mode1, 0, d.leadout_lba(), 0});
    return out;
  }
  for (size_t i = 0; i < d.tracks.size(); ++i) {
    const disc::Track& t = d.tracks[i];
    InfoTrack it;
    it.number = t.number;
    it.session = t.session;
    it.control = track_control(t);
    it.mode = t.mode;
    it.start = std::max(t.pregap_lba, 0);
    it.index1 = t.start_lba;
    // The track runs to the next track's pregap within its session, or to
    // the session's lead-out for its last track.
    int32_t end = t.end_lba;
    const disc::Session* s = d.session(t.session);
    if (s != nullptr && s->last_track == t.number) end = s->leadout_lba;
    else if (i + 1 < d.tracks.size()) end = std::max(d.tracks[i + 1].pregap_lba, t.end_lba);
    it.size = end - it.start;
    out.push_back(it);
  }
  return out;
}

uint8_t session_count(const disc::Disc& d) {
  return d.sessions.empty() ? 1 : static_cast<uint8_t>(d.sessions.size());
}

}  // namespace

// ---- 6.22 READ DISC INFORMATION ------------------------------------------------

Outcome<Bytes> render_disc_information(const disc::Disc& d, uint8_t data_type) {
  if (data_type != 0) return ScsiError::invalid_field(1, 2);
  const std::vector<InfoTrack> tracks = info_tracks(d);
  uint8_t first_in_last = tracks.front().number;
  uint8_t last_in_last = tracks.back().number;
  if (is_cd_media(d) && !d.sessions.empty()) {
    first_in_last = d.sessions.back().first_track;
    last_in_last = d.sessions.back().last_track;
  }
  Bytes out(34);
  wire::ByteWriter w(out);
  w.u16(32);  // Disc Information Length
  // Byte 2: Disc Information Data Type 000b, Erasable 0, State of Last
  // Session 11b (complete), Disc Status 10b (finalized / complete).
  w.u8(0x0E);
  w.u8(tracks.front().number);  // Number of First Track on Disc
  w.u8(session_count(d));       // Number of Sessions (LSB)
  w.u8(first_in_last);          // First Track Number in Last Session (LSB)
  w.u8(last_in_last);           // Last Track Number in Last Session (LSB)
  // Byte 7: DID_V 0, DBC_V 0, URU 1 (unrestricted use), DAC_V 0, Dbit 0, BG format 00b.
  w.u8(0x20);
  w.u8(is_cd_media(d) ? cd_disc_type(d) : 0x00);  // Disc Type
  w.u8(0).u8(0).u8(0);                          // MSBs of sessions / first / last track
  w.u32(0);                                     // Disc Identification
  // Last Session Lead-in Start Address and Last Possible Lead-out Start
  // Address. A finalized CD reports FFFFFFFFh in both; DVD-ROM and BD-ROM
  // report zeros (real drive firmware: Sunext CDReadDiscInfoCommand,
  // DVDReadDiscInfoCommand "for other media types this field shall be filled
  // with zeros", BDReadDiscInfoCommand "MMC: BD = 0x00").
  const uint32_t no_address = is_cd_media(d) ? 0xFFFFFFFF : 0x00000000;
  w.u32(no_address);
  w.u32(no_address);
  w.zeros(8);         // Disc Bar Code
  w.u8(0);            // Disc Application Code
  w.u8(0);            // Number of OPC Tables
  return out;
}

// ---- 6.28 READ TRACK INFORMATION -----------------------------------------------

Outcome<Bytes> render_track_information(const disc::Disc& d, uint8_t address_type, uint32_t value) {
  const std::vector<InfoTrack> tracks = info_tracks(d);
  const InfoTrack* found = nullptr;
  switch (address_type) {
    case 0: {  // LBA: the track containing it
      if (value >= static_cast<uint32_t>(d.leadout_lba())) return ScsiError::lba_out_of_range(value);
      for (const InfoTrack& t : tracks) {
        if (static_cast<int64_t>(value) >= t.start && static_cast<int64_t>(value) < int64_t{t.start} + t.size) found = &t;
      }
      if (found == nullptr) return ScsiError::lba_out_of_range(value);
      break;
    }
    case 1:  // track number (0 = lead-in and FFh = invisible track do not exist on ROM media)
      for (const InfoTrack& t : tracks) {
        if (t.number == value) found = &t;
      }
      if (found == nullptr) return ScsiError::invalid_field(2);
      break;
    case 2:  // session number: its first track
      for (const InfoTrack& t : tracks) {
        if (t.session == value && found == nullptr) found = &t;
      }
      if (found == nullptr) return ScsiError::invalid_field(2);
      break;
    default: return ScsiError::invalid_field(1, 1);
  }
  const InfoTrack& t = *found;
  Bytes out(48);
  wire::ByteWriter w(out);
  w.u16(46);            // Data Length
  w.u8(t.number);       // Logical Track Number (LSB)
  w.u8(t.session);      // Session Number (LSB)
  w.u8(0);
  // Byte 5: Damage 0, Copy 0, Track Mode = the TOC CONTROL nibble.
  w.u8(t.control & 0x0F);
  // Byte 6: RT 0, Blank 0, Packet/Inc 0, FP 0, Data Mode: 1 mode 1,
  // 2 mode 2 (formless or XA), Fh for audio tracks (no data block type).
  // Checked against real drive firmware (Sunext gp_rdtrk/CDReadTrackInfoCommand
  // with CDCheckTrackDataMode): a data track's Data Mode is the mode byte of
  // its sector header (1, or 2 for XA form 1/2 and formless); an audio track
  // keeps the initial Fh. Byte 5 Track Mode is the Q CONTROL nibble with the
  // Copy bit cleared. (CDEmu reports 1 for audio tracks; real drives do not.)
  uint8_t data_mode = 0x1;
  if (t.mode == disc::TrackMode::audio) data_mode = 0xF;
  else if (t.mode != disc::TrackMode::mode1) data_mode = 0x2;
  w.u8(data_mode);
  w.u8(0);                                  // LRA_V 0, NWA_V 0
  w.u32(static_cast<uint32_t>(t.start));    // Logical Track Start Address
  w.u32(0);                                 // Next Writable Address
  w.u32(0);                                 // Free Blocks
  w.u32(0);                                 // Fixed Packet Size / Blocking Factor
  w.u32(static_cast<uint32_t>(t.size));     // Logical Track Size
  w.u32(0);                                 // Last Recorded Address
  w.u8(0).u8(0);                            // track / session number MSB
  w.u8(0).u8(0);
  w.u32(0);  // Read Compatibility LBA
  w.u32(0);  // Next Layer Jump Address
  w.u32(0);  // Last Layer Jump Address
  return out;
}

// ---- 6.21 READ HEADER ----------------------------------------------------------

Outcome<Bytes> render_header(const disc::Image& image, uint32_t lba, bool msf) {
  const disc::Disc& d = image.disc();
  if (!is_cd_media(d)) return incompatible_medium();
  const auto slba = static_cast<int32_t>(lba);
  const disc::Track* track = d.track_at(slba);
  if (track == nullptr || slba >= d.leadout_lba()) return ScsiError::lba_out_of_range(lba);
  // CD-DA sectors have no header (MMC-6 6.21.2: ILLEGAL MODE FOR THIS TRACK).
  if (track->mode == disc::TrackMode::audio) return ScsiError::illegal_mode(lba);
  std::array<uint8_t, disc::kRawSectorSize> raw{};
  if (Status s = image.read_raw(slba, 1, raw); !s.ok()) {
    if (s.code() == Status::Code::out_of_range) return ScsiError::lba_out_of_range(lba);
    return ScsiError::read_error(lba);
  }
  Bytes out(8);
  wire::ByteWriter w(out);
  w.u8(raw[disc::ecma130::kModeOffset]);  // CD Data Mode (0, 1 or 2)
  w.zeros(3);
  w.u32(address_field(slba, msf));        // Absolute CD Address
  return out;
}

// ---- 6.27 READ SUB-CHANNEL -----------------------------------------------------

Outcome<Bytes> render_sub_channel(const disc::Disc& d, const SubChannelRequest& req, uint8_t audio_status,
                                  int32_t position) {
  if (!req.subq) {
    // SubQ = 0: the header alone, Sub-channel Data Length 0.
    Bytes out(4);
    wire::ByteWriter(out).u8(0).u8(audio_status).u16(0);
    return out;
  }
  switch (req.format) {
    case 0x01: {  // CD current position (Table 518)
      Bytes out(16);
      wire::ByteWriter w(out);
      w.u8(0).u8(audio_status).u16(12);
      uint8_t control = disc::control::kDataTrack;
      uint8_t number = 1;
      uint8_t index = 1;
      int32_t relative = position;
      if (is_cd_media(d)) {
        const disc::Track* t = d.track_at(position);
        if (t == nullptr && position >= d.leadout_lba() && !d.tracks.empty()) {
          control = track_control(d.tracks.back());
          number = 0xAA;  // lead-out
          relative = position - d.leadout_lba();
        } else {
          if (t == nullptr && !d.tracks.empty()) t = &d.tracks.front();
          if (t != nullptr) {
            control = track_control(*t);
            number = t->number;
            index = d.index_at(position);
            relative = position - t->start_lba;
          }
        }
      }
      w.u8(0x01);                                // Sub-channel Data Format Code
      w.u8(adr_control(kAdrPosition, control));  // ADR / CONTROL
      w.u8(number);                              // Track Number
      w.u8(index);                               // Index Number
      w.u32(address_field(position, req.msf));   // Absolute CD Address
      if (req.msf) {
        // Relative MSF: time from index 1 (counting down in the pregap).
        const disc::Msf m = disc::frames_to_msf(relative < 0 ? -relative : relative);
        w.u8(0).u8(m.minute).u8(m.second).u8(m.frame);
      } else {
        w.u32(static_cast<uint32_t>(relative));  // Track Relative CD Address
      }
      return out;
    }
    case 0x02: {  // Media Catalog Number (Table 519)
      Bytes out(24);
      wire::ByteWriter w(out);
      w.u8(0).u8(audio_status).u16(20);
      w.u8(0x02).zeros(3);
      const bool valid = is_cd_media(d) && d.mcn.size() == 13;
      w.u8(valid ? 0x80 : 0x00);  // MCVal
      if (valid) w.ascii(d.mcn, 13, '\0');
      else w.zeros(13);
      w.zeros(2);  // zero, AFRAME
      return out;
    }
    case 0x03: {  // Track ISRC (Table 520)
      const disc::Track* t = is_cd_media(d) ? d.track(req.track) : nullptr;
      if (is_cd_media(d) && t == nullptr) return ScsiError::invalid_field(6);
      if (!is_cd_media(d) && req.track != 1) return ScsiError::invalid_field(6);
      Bytes out(24);
      wire::ByteWriter w(out);
      w.u8(0).u8(audio_status).u16(20);
      w.u8(0x03);
      w.u8(adr_control(kAdrIsrc, t != nullptr ? track_control(*t) : disc::control::kDataTrack));
      w.u8(req.track).u8(0);
      const bool valid = t != nullptr && t->isrc.size() == 12;
      w.u8(valid ? 0x80 : 0x00);  // TCVal
      if (valid) w.ascii(t->isrc, 12, '\0');
      else w.zeros(12);
      w.zeros(3);  // zero, AFRAME, reserved
      return out;
    }
    default: return ScsiError::invalid_field(3);
  }
}

// ---- 6.23 READ DVD STRUCTURE ---------------------------------------------------

namespace {

constexpr uint32_t kDvdDataStart = 0x030000;   // first PSN of the DVD data area
constexpr uint32_t kBdDataStart = 0x100000;    // first PSN of the BD-ROM data zone

bool is_dual_layer(const disc::Disc& d) { return d.disc_class == disc::DiscClass::dvd_rom_dual_layer; }

// Format 00h: Physical Format Information (DVD-ROM layer descriptor, 2048 bytes).
Bytes dvd_physical(const disc::Disc& d) {
  const auto capacity = static_cast<uint32_t>(d.leadout_lba());
  const bool dual = is_dual_layer(d);
  Bytes out(4 + 2048);
  wire::ByteWriter w(out);
  w.u16(2050).u8(0).u8(0);
  w.u8(0x01);  // Disk Category 0000b (DVD-ROM), Part Version 1
  w.u8(0x02);  // Disc Size 0000b (120 mm), Maximum Rate 0010b (10.08 Mbps)
  // Number of Layers (bits 6-5, layers - 1), Track Path (bit 4: 1 = opposite),
  // Layer Type (bits 3-0: 0001b embossed / read-only).
  w.u8(dual ? 0x31 : 0x01);
  // Linear Density (7-4: 0000b 0.267 um/bit, 0001b 0.293 um/bit), Track Density (0000b 0.74 um).
  w.u8(dual ? 0x10 : 0x00);
  w.u32(kDvdDataStart);  // Starting Physical Sector Number of Data Area
  if (!dual) {
    w.u32(kDvdDataStart + capacity - 1);  // End Physical Sector Number of Data Area
    w.u32(0);                             // End Sector Number in Layer 0 (PTP/single: 0)
  } else {
    // Opposite track path: layer 1 sector numbers are the bitwise inverse of
    // layer 0's; the layer break is at half the capacity (rounded up).
    const uint32_t layer0 = (capacity + 1) / 2;
    const uint32_t layer0_end = kDvdDataStart + layer0 - 1;
    const uint32_t layer1_start = ~layer0_end & 0xFFFFFF;
    w.u32(layer1_start + (capacity - layer0) - 1);
    w.u32(layer0_end);
  }
  w.u8(0x00);  // BCA flag 0
  return out;
}

// Format 01h: Copyright Information — no protection, all regions.
Bytes dvd_copyright() {
  Bytes out(8);
  wire::ByteWriter w(out);
  w.u16(6).u8(0).u8(0);
  w.u8(0x00);  // Copyright Protection System Type: none
  w.u8(0x00);  // Region Management Information: playable in all regions
  w.u8(0).u8(0);
  return out;
}

// Format 04h: Disc Manufacturing Information (2048 bytes, none recorded).
Bytes dvd_manufacturing() {
  Bytes out(4 + 2048);
  wire::ByteWriter(out).u16(2050);
  return out;
}

// Format 00h for BD (media type 1): Disc Information, the DI units of the
// PIC zone; 4096 bytes after the header (data length 1002h). Layout of a
// BD-ROM DI unit, as redumper (superg/redumper dump_dvd.ixx
// get_bluray_layer_lengths / print_di_units_structure) and Aaru
// (Aaru.Decoders/Bluray/DI.cs) decode it, byte for byte checked against PICs
// dumped from pressed BD-ROMs ("10020000 4449 0108 0000 2000 42444F 01 11 01
// 01 00 01 000000 004F947F 00100000 004F947E", a PS3 disc):
//   0-1 "DI"; 2 DI format (1); 3 bits 7-3 DI units per DI block, bits 2-0
//   layer of this unit; 4 reserved; 5 unit sequence number; 6 bit 7
//   continuation, bits 6-0 DI bytes in use (20h); 7 reserved; 8-10 disc type
//   "BDO"; 11 disc size (7-6) / class (5-4) / version (3-0); 12 number of
//   layers (7-4) / layer type (3-0, 1 = read-only); 13 DVD layer (7-6), CD
//   layer (5-4), channel bit length (3-0: 1 = 74.5 nm, 25 GB per layer);
//   14 push-pull polarity; 15 recorded polarity; 16 bits 3-0 BCA present;
//   17 maximum transfer rate; 18-19 reserved; 20-23 last user-data PSN of
//   the disc; 24-27 first AUN of the data zone of this layer; 28-31 last AUN
//   of the data zone of this layer; 32-63 format-dependent (zero on BD-ROM).
// PSNs count 2 KiB sectors from 100000h (LBA 0), so last PSN = 100000h +
// capacity - 1; the last AUN is that of the last 2-sector address unit.
constexpr uint8_t kDiUnitBytesInUse = 0x20;
Bytes bd_disc_information(const disc::Disc& d) {
  const auto capacity = static_cast<uint32_t>(d.leadout_lba());
  const uint32_t last_psn = kBdDataStart + std::max<uint32_t>(capacity, 1) - 1;
  Bytes out(4 + 4096);
  wire::ByteWriter w(out);
  w.u16(4098).u8(0).u8(0);
  w.u8('D').u8('I');          // 0-1: Disc Information identifier
  w.u8(0x01);                 // 2: DI format 1
  w.u8(0x08);                 // 3: one DI unit per DI block (7-3), layer 0 (2-0)
  w.u8(0x00);                 // 4: reserved
  w.u8(0x00);                 // 5: DI unit sequence number
  w.u8(kDiUnitBytesInUse);    // 6: continuation 0, DI bytes in use
  w.u8(0x00);                 // 7: reserved
  w.u8('B').u8('D').u8('O');  // 8-10: disc type identifier: BD-ROM
  w.u8(0x01);                 // 11: 120 mm, class 0, version 1
  w.u8(0x11);                 // 12: 1 layer, layer type 1 (read-only)
  w.u8(0x01);                 // 13: no DVD/CD layer, channel bit length 74.5 nm
  w.u8(0x01);                 // 14: push-pull polarity, as pressed BD-ROMs report
  w.u8(0x00);                 // 15: recorded polarity (recordable media only)
  // 16: BCA present = 0. Pressed discs report 01h, but the BCA structure
  // (format 03h) is not served for an image, so none is announced.
  w.u8(0x00);
  w.u8(0x00);                 // 17: maximum transfer rate not specified
  w.zeros(2);                 // 18-19: reserved
  w.u32(last_psn);            // 20-23: last user-data PSN of the disc
  w.u32(kBdDataStart);        // 24-27: first AUN of the data zone (layer 0)
  w.u32(last_psn & ~1u);      // 28-31: last AUN of the data zone (layer 0)
  return out;
}

// Format FFh: the list of structures this medium answers (Table 437).
Bytes structure_list(std::initializer_list<std::pair<uint8_t, uint16_t>> formats) {
  Bytes out(4 + 4 * formats.size());
  wire::ByteWriter w(out);
  w.u16(static_cast<uint16_t>(out.size() - 2)).u8(0).u8(0);
  for (const auto& [code, length] : formats) {
    w.u8(code);
    w.u8(0x40);  // SDS 0 (not writable), RDS 1 (readable by READ DVD STRUCTURE)
    w.u16(length);
  }
  return out;
}

}  // namespace

Outcome<Bytes> render_dvd_structure(const disc::Disc& d, const DvdStructureRequest& req) {
  if (req.media_type > 1) return ScsiError::invalid_field(1, 3);
  if (req.media_type == 0) {
    if (!disc::is_dvd(d.disc_class)) return incompatible_medium();
    const uint8_t layers = is_dual_layer(d) ? 2 : 1;
    switch (req.format) {
      case 0x00:
        if (req.layer >= layers) return ScsiError::invalid_field(6);
        return dvd_physical(d);
      case 0x01:
        if (req.layer >= layers) return ScsiError::invalid_field(6);
        return dvd_copyright();
      case 0x04: return dvd_manufacturing();
      case 0xFF: return structure_list({{0x00, 2052}, {0x01, 8}, {0x04, 2052}, {0xFF, 20}});
      default: return ScsiError::invalid_field(7);
    }
  }
  if (!is_bd_media(d)) return incompatible_medium();
  switch (req.format) {
    case 0x00: return bd_disc_information(d);
    case 0xFF: return structure_list({{0x00, 4100}, {0xFF, 12}});
    default: return ScsiError::invalid_field(7);
  }
}

// ---- 6.31 REPORT KEY -------------------------------------------------------------

// Only the RPC state is reported without a medium (dvRptKey.c answers it for
// any disc state); every other key format depends on the mounted medium.
bool report_key_needs_medium(uint8_t key_format) { return key_format != 0x08; }

Outcome<Bytes> render_report_key(const disc::Disc* d, uint8_t key_class, uint8_t key_format, uint8_t /*agid*/) {
  // What a drive answers when the medium carries no CSS/CPPM or AACS, taken
  // from real DVD/BD drive firmware (Sunext: DVD/dvRptKey.c
  // ReportKeyCommand, Crypt/AACS.c AACSReportKey, BD/BDReportKeyCommand):
  //   - key class 02h (AACS) on a medium that is not AACS-compliant, and
  //     every key format but RPC state on a BD: 05/6F/01 COPY PROTECTION KEY
  //     EXCHANGE FAILURE - KEY NOT PRESENT;
  //   - key class 00h on a medium that is not a DVD (a CD), any format but
  //     08h: 05/20/00 INVALID COMMAND OPERATION CODE;
  //   - DVD without CSS: AGID request (00h) 05/6F/01, and no AGID is granted,
  //     so formats naming one (01h challenge, 02h KEY1, 04h title key) have
  //     an invalid AGID field: 05/24/00 at byte 10; the ASF (05h) is reported
  //     as 0; invalidating an AGID (3Fh) succeeds.
  const bool bd = d != nullptr && is_bd_media(*d);
  const bool dvd = d != nullptr && disc::is_dvd(d->disc_class);
  if (key_class == 0x02) {
    if (key_format == 0x08) return ScsiError::invalid_field(10, 5);  // BD region (CE products only)
    return ScsiError{SenseKey::illegal_request, asc::kCopyProtectionKeyExchangeFailureKeyNotPresent, std::nullopt,
                     std::nullopt};
  }
  if (key_class != 0x00) return ScsiError::invalid_field(7);
  if (key_format == 0x08) {
    // RPC State (Table 560): Type Code 00b (no drive region setting), # of
    // Vendor Resets 4, # of User Controlled Changes 5, Region Mask FFh (no
    // region set), RPC Scheme 00h: the drive does not enforce region
    // playback control (a region-free RPC-1 drive; RPC-2 drives report 01h).
    Bytes out(8);
    wire::ByteWriter w(out);
    w.u16(6).u8(0).u8(0);
    w.u8((0 << 6) | (4 << 3) | 5);
    w.u8(0xFF);
    w.u8(0x00);
    w.u8(0);
    return out;
  }
  if (d == nullptr) return ScsiError{SenseKey::not_ready, asc::kMediumNotPresent, std::nullopt, std::nullopt};
  const ScsiError key_not_present{SenseKey::illegal_request, asc::kCopyProtectionKeyExchangeFailureKeyNotPresent,
                                  std::nullopt, std::nullopt};
  if (bd) return key_not_present;
  if (!dvd) return ScsiError{SenseKey::illegal_request, asc::kInvalidCommandOperationCode, std::nullopt, std::nullopt};
  switch (key_format) {
    case 0x00:  // AGID for CSS/CPPM: the medium is not CSS-protected
    case 0x11:  // AGID for CPRM: a ROM medium carries no CPRM either
      return key_not_present;
    case 0x01:  // Challenge Key
    case 0x02:  // KEY1
    case 0x04:  // Title Key
      return ScsiError::invalid_field(10, 7);  // no AGID was granted
    case 0x05: {  // Authentication Success Flag: not authenticated
      Bytes out(8);
      wire::ByteWriter(out).u16(6).zeros(5).u8(0x00);
      return out;
    }
    case 0x3F:  // Invalidate AGID: succeeds on a DVD
      return Bytes{};
    default: return ScsiError::invalid_field(10, 5);
  }
}

// ---- 6.14 MECHANISM STATUS -------------------------------------------------------

Bytes render_mechanism_status(bool door_open, bool playing, int32_t current_lba) {
  Bytes out(8);
  wire::ByteWriter w(out);
  w.u8(0x00);  // Fault 0, Changer State 00b (ready), Current Slot 0
  // Mechanism State (7-5): 000b idle, 001b playing audio; Door Open (bit 4).
  w.u8(static_cast<uint8_t>((playing ? 0x20 : 0x00) | (door_open ? 0x10 : 0x00)));
  w.u24(static_cast<uint32_t>(std::max(current_lba, 0)) & 0xFFFFFF);  // Current LBA
  w.u8(0);   // Number of Slots Available
  w.u16(0);  // Length of Slot Tables
  return out;
}

// ---- 6.8 GET PERFORMANCE -----------------------------------------------------------

Outcome<Bytes> render_performance(const disc::Disc& d, uint8_t byte1, uint8_t type, uint16_t max_descriptors,
                                  uint32_t start_lba, uint16_t speed_kbps) {
  if (type != 0x00) return ScsiError::invalid_field(10);
  const bool write = (byte1 & 0x04) != 0;
  const uint8_t except = byte1 & 0x03;
  if (write) return ScsiError::invalid_field(1, 2);  // a ROM drive has no write performance
  if (except == 0x03) return ScsiError::invalid_field(1, 1);
  const uint32_t leadout = static_cast<uint32_t>(d.leadout_lba());
  if (start_lba >= leadout && except != 0x02) return ScsiError::lba_out_of_range(start_lba);
  // Except 10b (exceptions only): the drive has none — header only.
  const bool nominal = except != 0x02;
  const size_t descriptors = nominal ? std::min<size_t>(1, max_descriptors) : 0;
  Bytes out(8 + 16 * descriptors);
  wire::ByteWriter w(out);
  w.u32(static_cast<uint32_t>(out.size() - 4));  // Performance Data Length
  w.u8(except == 0x02 ? 0x01 : 0x00);            // Write 0, Except
  w.zeros(3);
  if (descriptors == 1) {
    w.u32(start_lba);     // Start LBA
    w.u32(speed_kbps);    // Start Performance (kB/s)
    w.u32(leadout - 1);   // End LBA
    w.u32(speed_kbps);    // End Performance
  }
  return out;
}

}  // namespace udisc::device::mmc
