// Cue sheet parser: text in, a plain description of files, tracks and indices out.
//
// parse_cue_sheet() reads the grammar found in the wild (see docs/formats/cue.md):
// FILE (BINARY / MOTOROLA / WAVE; also inside a track, which then continues
// in the new file), TRACK with every common mode, INDEX 00-99,
// PREGAP / POSTGAP, CATALOG, ISRC, FLAGS, TITLE / PERFORMER / SONGWRITER,
// CDTEXTFILE (ignored, with a warning), REM (including redump's
// "REM SESSION nn"), CRLF or LF, an optional UTF-8 BOM, keywords in any case.
//
// It does not touch the file system: positions are still relative to each FILE
// and sizes are unknown; cue_image.cc turns a CueSheet into a disc layout.
// Errors are Status values whose message reads "<name>: line N: what is wrong".
// Warnings (things ignored) are collected in CueSheet::warnings, never printed.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "disc/disc.h"
#include "util/status.h"

namespace udisc::formats::cue {

// FILE type keyword.
enum class FileType : uint8_t {
  binary,    // raw sectors, audio little-endian
  motorola,  // raw sectors, audio big-endian (byte-swapped)
  wave,      // audio container: RIFF/WAVE PCM or FLAC
};
const char* to_string(FileType t);

// TRACK mode keyword: how sectors are stored in the file.
enum class TrackType : uint8_t {
  audio,       // AUDIO       2352
  cdg,         // CDG         2448 = 2352 audio + 96 raw P-W subchannel
  mode1_2048,  // MODE1/2048  user data only
  mode1_2352,  // MODE1/2352  raw sector
  mode2_2336,  // MODE2/2336  subheader + user data + EDC/ECC area
  mode2_2352,  // MODE2/2352  raw sector
  cdi_2336,    // CDI/2336    as MODE2/2336
  cdi_2352,    // CDI/2352    as MODE2/2352
};
const char* to_string(TrackType t);         // the cue keyword, e.g. "MODE1/2352"
uint32_t stored_sector_size(TrackType t);   // bytes per sector in the file
bool is_audio(TrackType t);
bool is_mode2(TrackType t);                 // MODE2/* and CDI/*

struct CueFile {
  std::string name;  // as written in the sheet (quotes removed)
  FileType type = FileType::binary;
  int line = 0;
};

struct CueIndex {
  uint8_t number = 1;     // 0..99
  int32_t position = 0;   // sectors from the start of its FILE
  int line = 0;
  size_t file = 0;        // the FILE it points into (index into CueSheet::files)
};

struct CueTrack {
  uint8_t number = 1;     // 1..99
  TrackType type = TrackType::audio;
  uint8_t session = 1;    // from the last "REM SESSION nn" before the track
  size_t file = 0;        // FILE current at the TRACK command (index into CueSheet::files)
  int line = 0;           // line of the TRACK keyword
  // Sorted by number; positions increase within a FILE. A track may continue
  // into the next FILE (a FILE command inside the track). Has INDEX 01.
  std::vector<CueIndex> indices;
  int32_t pregap = 0;     // PREGAP: sectors before the track, not in the file
  int32_t postgap = 0;    // POSTGAP: sectors after the track, not in the file
  uint8_t flags = 0;      // disc::control bits from FLAGS (4CH, DCP, PRE)
  std::string isrc;       // 12 characters or empty
  disc::CdText cd_text;

  // Position and file of the first index (00 if present, else 01).
  int32_t first_position() const { return indices.front().position; }
  size_t first_file() const { return indices.front().file; }
  // Position of INDEX 01.
  int32_t index1_position() const;
};

struct CueSheet {
  std::string name;       // the sheet's name, used in error messages
  std::string catalog;    // 13 digits or empty
  disc::CdText cd_text;   // disc-level TITLE / PERFORMER / SONGWRITER
  std::vector<CueFile> files;
  std::vector<CueTrack> tracks;        // in order, numbers increasing
  std::vector<std::string> warnings;   // "<name>: line N: ..."
};

// Parses `text` (the content of the cue sheet called `name`).
Result<CueSheet> parse_cue_sheet(std::string_view text, const std::string& name);

}  // namespace udisc::formats::cue
