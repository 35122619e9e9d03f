// Response rendering of the MMC information commands: READ DISC
// INFORMATION, READ TRACK INFORMATION, READ HEADER, READ SUB-CHANNEL, READ
// DVD STRUCTURE, REPORT KEY, MECHANISM STATUS and GET PERFORMANCE.
//
// Each function returns the complete response (length fields for the full
// size) or the ScsiError of the command; the handler truncates to the
// allocation length. Sections cited are MMC-6 (T10/1836-D).
//
// Thread safety: pure functions (render_header reads the image only).
#pragma once

#include <cstdint>

#include "device/mmc_common.h"
#include "disc/disc.h"
#include "disc/image.h"

namespace udisc::device::mmc {

// 6.22 READ DISC INFORMATION, Data Type (byte 1 bits 2-0) 000b: standard
// disc information; other types -> 05/24/00 (a ROM medium has no track or
// POW resources).
Outcome<Bytes> render_disc_information(const disc::Disc& disc, uint8_t data_type);

// 6.28 READ TRACK INFORMATION: Address/Number Type (byte 1 bits 1-0)
// 00b LBA, 01b track number, 10b session number (its first track).
// Track start = start of the track's pregap (clamped to LBA 0), size up to
// the next track's pregap, so the last track's start + size is the lead-out.
Outcome<Bytes> render_track_information(const disc::Disc& disc, uint8_t address_type, uint32_t value);

// 6.21 READ HEADER: the CD data mode and address of the sector's header.
Outcome<Bytes> render_header(const disc::Image& image, uint32_t lba, bool msf);

// 6.27 READ SUB-CHANNEL. `position` is the current sector, `audio_status`
// the byte from AudioPlayer::take_audio_status().
struct SubChannelRequest {
  bool msf = false;
  bool subq = false;
  uint8_t format = 0;  // 01h current position, 02h MCN, 03h ISRC
  uint8_t track = 0;   // ISRC track
};
Outcome<Bytes> render_sub_channel(const disc::Disc& disc, const SubChannelRequest& req, uint8_t audio_status,
                                  int32_t position);

// 6.23 READ DVD STRUCTURE. media_type 0 (DVD/HD DVD) formats 00h, 01h, 04h,
// FFh; media_type 1 (BD) formats 00h, FFh. CD media -> 05/30/02.
struct DvdStructureRequest {
  uint8_t media_type = 0;
  uint32_t address = 0;
  uint8_t layer = 0;
  uint8_t format = 0;
  uint8_t agid = 0;
};
Outcome<Bytes> render_dvd_structure(const disc::Disc& disc, const DvdStructureRequest& req);

// 6.31 REPORT KEY. Key class 00h format 08h: RPC state of a region-free
// drive (no medium needed). The medium never carries CSS/CPPM or AACS, so
// the other formats answer as real drive firmware does for such media:
// DVD: AGID requests 05/6F/01, challenge/KEY1/title key (no AGID granted)
// 05/24/00 byte 10, ASF 0, invalidate AGID succeeds; BD: 05/6F/01; CD:
// 05/20/00; key class 02h (AACS): 05/6F/01. `disc` may be null (no medium):
// callers report NOT READY for formats other than 08h.
Outcome<Bytes> render_report_key(const disc::Disc* disc, uint8_t key_class, uint8_t key_format, uint8_t agid);
bool report_key_needs_medium(uint8_t key_format);

// 6.14 MECHANISM STATUS: 8-byte header, no slot table (not a changer).
Bytes render_mechanism_status(bool door_open, bool playing, int32_t current_lba);

// 6.8 GET PERFORMANCE, Type 00h (performance data). `byte1` carries Data
// Type (Tolerance 4-3, Write 2, Except 1-0).
Outcome<Bytes> render_performance(const disc::Disc& disc, uint8_t byte1, uint8_t type, uint16_t max_descriptors,
                                  uint32_t start_lba, uint16_t speed_kbps);

}  // namespace udisc::device::mmc
