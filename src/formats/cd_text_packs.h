// CD-TEXT packs as dumping tools store them: the raw 18-byte packs of the
// lead-in (MMC-6 Annex J; the same packs READ TOC format 5 returns). CloneCD
// writes them as [CDText] entries, Nero as a CDTX chunk, DiscJuggler in its
// disc block. decode_cd_text_packs turns them into the disc model's CD-TEXT
// (title, performer, songwriter of the disc and of each track).
#pragma once

#include <cstdint>
#include <span>

#include "disc/disc.h"
#include "util/status.h"

namespace udisc::formats {

// Reads the packs of block 0 with single-byte characters (DBCC 0): types
// 80h (title), 81h (performer) and 82h (songwriter); other types and blocks
// are skipped. Each type's text is the packs' 12-byte payloads in order,
// NUL-separated strings for the disc (track 0) and then each track; a string
// of one TAB repeats the previous track's. The pack CRC is not checked (tools
// write zero CRCs). Fields already set in `disc` are left as they are.
// Error: `packs` is not a whole number of 18-byte packs, or a pack names a
// track the disc does not have.
Status decode_cd_text_packs(std::span<const uint8_t> packs, disc::Disc& disc);

}  // namespace udisc::formats
