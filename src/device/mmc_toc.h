// READ TOC/PMA/ATIP (43h) response rendering (MMC-6 6.26).
//
// render_toc builds the complete response (header + descriptors) for one
// format from the disc model; the caller truncates it to the allocation
// length (the data length field always counts the full response).
// CD-TEXT packs (format 0101b) are generated from the model's CD-TEXT
// strings (MMC-6 Annex J; Red Book CD-TEXT pack layout, CRC-16/CCITT).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "device/mmc_common.h"
#include "disc/disc.h"

namespace udisc::device::mmc {

enum class TocFormat : uint8_t {
  toc = 0x0,           // 0000b formatted TOC
  session_info = 0x1,  // 0001b multi-session information
  full_toc = 0x2,      // 0010b raw TOC (Q mode 1 / mode 5 points)
  pma = 0x3,           // 0011b PMA (recordable media only)
  atip = 0x4,          // 0100b ATIP (recordable media only)
  cd_text = 0x5,       // 0101b CD-TEXT from the lead-in
};

struct TocRequest {
  TocFormat format = TocFormat::toc;
  bool msf = false;
  uint8_t track_or_session = 0;  // byte 6
  uint16_t allocation_length = 0;
};

// Decodes a READ TOC CDB (byte1 bit1 MSF, byte2 bits 3-0 format, byte6
// track/session, bytes 7-8 allocation, byte9 control). With format 0000b,
// byte9 bits 7-6 select the SFF-8020i format (01b session info, 10b full
// TOC), as ATAPI-era drives honour and Linux sr_cd_check relies on.
// Formats above 0101b -> 05/24/00 pointing at byte 2.
Outcome<TocRequest> decode_read_toc(std::span<const uint8_t> cdb);

// The full response for `format` on `disc`. `msf` selects MSF addresses
// (ignored by full TOC, which is always MSF). Errors:
//   format 0: start track not on disc (and not AAh)       -> 05/24/00 byte 6
//   format 2/5: session beyond the last                    -> 05/24/00 byte 6
//   format 3/4 (PMA, ATIP) on a pressed CD                 -> 05/20/00 (as ROM drive firmware answers)
//   DVD/BD media: formats 2..5                             -> 05/24/00 byte 2
Outcome<Bytes> render_toc(const disc::Disc& disc, TocFormat format, bool msf, uint8_t track_or_session);

// CD-TEXT pack list (18-byte packs incl. CRC) for the disc; empty when the
// disc has no CD-TEXT. Pack types 80h title, 81h performer, 82h songwriter
// and the 8Fh size information packs; block 0, ISO 8859-1, language English.
Bytes cd_text_packs(const disc::Disc& disc);
// CRC of a CD-TEXT pack: CRC-16/CCITT (x^16+x^12+x^5+1, init 0) over the
// first 16 bytes, stored inverted, MSB first.
uint16_t cd_text_crc(std::span<const uint8_t> pack16);

}  // namespace udisc::device::mmc
