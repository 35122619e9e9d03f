// Image: the one interface every image format implements.
//
// An Image is opened by a reader in formats/ (which reads only metadata) and
// then answers stateless, thread-safe reads by LBA: any number of threads may
// read concurrently. Reads write straight into the caller's buffer.
//
// Three forms of a sector:
//   user  — the bytes a READ(10) returns: 2048 (mode 1, XA form 1),
//           2324 (XA form 2), 2336 (formless mode 2), 2352 (audio).
//   raw   — the full 2352-byte sector: sync, header, subheader, user data,
//           EDC/ECC exactly as on the disc (synthesised if not stored).
//   sub   — 96 bytes of raw P–W subchannel, interleaved as on the disc
//           (bit 7 = P, bit 6 = Q, ... bit 0 = W); generated (P, Q) where
//           the image stores none.
// Pregap and postgap sectors not stored in the file read as digital silence
// (audio) or well-formed zero sectors of the track's mode.
// Failure: Status::OutOfRange for LBAs outside [first pregap, lead-out),
// Status::IoError for a failing read of the backing file.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "disc/disc.h"
#include "util/status.h"

namespace udisc::disc {

inline constexpr uint32_t kRawSectorSize = 2352;
inline constexpr uint32_t kSubchannelSize = 96;

class Image {
 public:
  virtual ~Image() = default;

  virtual const Disc& disc() const = 0;
  // Human-readable format name ("iso", "cue", ...).
  virtual std::string format_name() const = 0;

  // User data of `count` sectors starting at `lba`. All sectors must have the
  // same user size (same track); out.size() == count * user_data_size.
  virtual Status read_user(int32_t lba, uint32_t count, std::span<uint8_t> out) const = 0;
  // Raw 2352-byte sectors; out.size() == count * 2352.
  virtual Status read_raw(int32_t lba, uint32_t count, std::span<uint8_t> out) const = 0;
  // 96-byte raw P–W subchannel; out.size() == count * 96.
  virtual Status read_subchannel(int32_t lba, uint32_t count, std::span<uint8_t> out) const = 0;

  // Whether raw sectors come from the image (true) or are synthesised (false);
  // `udisc verify` checks only stored raw sectors.
  virtual bool stores_raw(int32_t lba) const = 0;
};

}  // namespace udisc::disc
