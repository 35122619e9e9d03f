// The disc model: what a drive would see on the medium.
//
// A Disc is a plain value: sessions -> tracks -> indices, lead-out, MCN,
// ISRCs, CD-TEXT and the disc class. It holds no file handles and no sector
// data; an Image (image.h) owns the storage and reads sectors by LBA.
// Addresses are LBAs (MSF = LBA + 150). Track pregaps belong to the track
// they precede (index 0), as on the disc: track.start_lba is index 1.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "disc/msf.h"
#include "util/status.h"

namespace udisc::disc {

// Sector mode of a track (ECMA-130 14.3 / ISO/IEC 10149 for XA / MMC-6 4.2.3.8).
enum class TrackMode : uint8_t {
  audio,        // 2352 bytes of CD-DA samples
  mode1,        // 2048 user bytes, EDC + ECC
  mode2,        // "formless" mode 2: 2336 user bytes, no EDC/ECC
  mode2_form1,  // CD-ROM XA mode 2 form 1: subheader + 2048 bytes + EDC + ECC
  mode2_form2,  // CD-ROM XA mode 2 form 2: subheader + 2324 bytes + EDC
};
const char* to_string(TrackMode m);
bool is_data(TrackMode m);
// Bytes of user data a READ(10) of one sector of this mode returns.
uint32_t user_data_size(TrackMode m);

// Q sub-channel control field bits (ECMA-130 22.3.1; MMC "CONTROL").
namespace control {
inline constexpr uint8_t kPreEmphasis = 0x01;   // PRE (audio)
inline constexpr uint8_t kCopyPermitted = 0x02; // DCP
inline constexpr uint8_t kDataTrack = 0x04;     // data track (not a flag in cue FLAGS)
inline constexpr uint8_t kFourChannel = 0x08;   // 4CH (audio)
}  // namespace control

// CD-TEXT pack types we model (MMC-6 Annex J / Red Book CD-TEXT).
struct CdText {
  std::string title;
  std::string performer;
  std::string songwriter;
  bool empty() const { return title.empty() && performer.empty() && songwriter.empty(); }
};

struct Index {
  uint8_t number = 1;  // 0..99
  int32_t lba = 0;     // absolute LBA where this index starts
};

struct Track {
  uint8_t number = 1;      // 1..99
  uint8_t session = 1;     // 1..99
  TrackMode mode = TrackMode::mode1;
  uint8_t control = 0;     // Q control nibble: 4CH / DCP / PRE, plus kDataTrack for data
  int32_t pregap_lba = 0;  // first sector of the track's pregap (== start_lba if no pregap)
  int32_t start_lba = 0;   // index 1
  int32_t end_lba = 0;     // one past the last sector (including postgap)
  int32_t postgap = 0;     // sectors of postgap at the end (included in [start, end))
  std::vector<Index> indices;  // sorted by number; index 0 only if pregap > 0
  std::string isrc;            // 12 characters or empty
  CdText cd_text;

  int32_t pregap() const { return start_lba - pregap_lba; }
  int32_t length() const { return end_lba - start_lba; }  // index 1 to end (as MMC/TOC counts)
  Msf start_msf() const { return lba_to_msf(start_lba); }
};

struct Session {
  uint8_t number = 1;
  uint8_t first_track = 1;
  uint8_t last_track = 1;
  int32_t leadout_lba = 0;  // lead-out start of this session (LBA after its last track)
};

// What kind of medium this is, as a drive would report it.
enum class DiscClass : uint8_t { cd_da, cd_rom, cd_rom_xa, dvd_rom_single_layer, dvd_rom_dual_layer, bd_rom };
const char* to_string(DiscClass c);
bool is_cd(DiscClass c);
bool is_dvd(DiscClass c);

struct Disc {
  DiscClass disc_class = DiscClass::cd_rom;
  std::vector<Session> sessions;
  std::vector<Track> tracks;  // in order, numbers consecutive
  std::string mcn;            // 13 digits or empty
  CdText cd_text;             // disc-level CD-TEXT

  int32_t leadout_lba() const { return sessions.empty() ? 0 : sessions.back().leadout_lba; }
  // Track containing lba (pregap counts as the following track). nullptr if none.
  const Track* track_at(int32_t lba) const;
  const Track* track(uint8_t number) const;
  const Session* session(uint8_t number) const;
  // Index number at lba within its track (0 in pregap).
  uint8_t index_at(int32_t lba) const;
};

// Disc class of a plain 2048-byte image by its size in sectors (see docs/formats/iso.md).
DiscClass classify_plain_image(uint64_t sectors);

// Structural checks: track numbering, LBA ordering, sessions. Used by every reader.
Status validate(const Disc& disc);

}  // namespace udisc::disc
