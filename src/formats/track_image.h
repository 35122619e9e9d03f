// TrackImage: the image of a disc whose layout a descriptor states outright.
//
// CloneCD, Alcohol, Nero, DiscJuggler and cdrdao images all describe a disc
// as tracks of stored sectors at known byte offsets of one or more files,
// with the sector size the dumping tool chose (2048, 2336 or 2352 main bytes,
// with or without 96 bytes of sub-channel inline or in a separate file).
// Each of those readers parses its own descriptor into a disc::Disc and a
// list of StoredRuns and hands them to make_track_image, which checks them
// against the files and serves reads: conversions between stored and
// requested forms, synthesis of raw sectors (disc/ecma130) and of
// sub-channel (disc/subchannel) where the image keeps less — exactly as the
// CUE/BIN reader does, so the same disc in either form reads the same.
// Reads are stateless and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "disc/disc.h"
#include "formats/file.h"
#include "formats/open.h"
#include "util/status.h"

namespace udisc::formats {

// How 96 bytes of stored sub-channel are arranged.
enum class SubchannelLayout : uint8_t {
  interleaved,  // raw P–W as on the disc: byte i holds bit i of each channel
  linear,       // deinterleaved: 12 bytes of P, then Q, ..., then W
};

// A run of consecutive LBAs of one track. file < 0: not stored (a pregap,
// postgap or gap the image omits; reads give well-formed empty sectors).
struct StoredRun {
  int32_t lba = 0;
  int32_t count = 0;
  size_t track = 0;          // index into disc.tracks
  int file = -1;             // index into the image's files
  uint64_t offset = 0;       // byte offset of the run's first sector
  uint32_t main_size = 2352; // 2048, 2336 or 2352 main bytes per sector
  uint32_t stride = 2352;    // bytes from one sector to the next (main + inline sub-channel)
  bool big_endian_audio = false;  // audio samples stored MSB first (cdrdao, Nero "Motorola")
  // Stored sub-channel (96 bytes per sector), if any: in `sub_file` (the main
  // file for inline sub-channel) at sub_offset + n * sub_stride.
  int sub_file = -1;
  uint64_t sub_offset = 0;
  uint32_t sub_stride = 96;
  SubchannelLayout sub_layout = SubchannelLayout::interleaved;
};

// Builds the image: checks the disc (disc::validate), that runs are sorted,
// do not overlap, cover every track from its pregap to its end, have a
// supported sector size, and lie inside their files. Errors name `name`.
Result<ImagePtr> make_track_image(std::string format, const std::string& name, disc::Disc disc,
                                  std::vector<std::shared_ptr<RandomAccessFile>> files, std::vector<StoredRun> runs);

// Mode of a data track from one stored sector (2352 raw, or 2336 bytes of
// mode 2 without sync and header): the mode byte, and for mode 2 whether the
// two subheader copies agree (XA; form from the submode) or not (formless).
// `fallback` when the sector cannot be read or says nothing (mode 0).
disc::TrackMode probe_data_mode(const RandomAccessFile& file, uint64_t offset, uint32_t main_size,
                                disc::TrackMode fallback);

// Where the descriptor has no field for them (Alcohol MDS v1), the MCN and
// the tracks' ISRCs are taken from stored sub-channel: the Q frames of ADR 2
// and 3 in the first 200 stored sectors of each track's INDEX 1 area (a disc
// repeats them at least once in every 100 frames). Leaves fields already set.
void codes_from_subchannel(const std::vector<std::shared_ptr<RandomAccessFile>>& files,
                           const std::vector<StoredRun>& runs, disc::Disc& disc);

// Sessions and disc class from the tracks (sessions end at their last
// track's end), the way every reader derives them.
void finish_disc(disc::Disc& disc);

}  // namespace udisc::formats
