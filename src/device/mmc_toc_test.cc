// READ TOC/PMA/ATIP rendering against the worked examples of
// docs/shared mmc-expectations §4.3-4.5 (MMC-6 6.26) for the 2-track
// mixed-mode disc of §4.2, plus multisession, CD-TEXT and DVD cases.
#include "device/mmc_toc.h"

#include <gtest/gtest.h>

#include "device/mmc_test_util.h"
#include "device/testing/memory_image.h"

namespace udisc::device::mmc {
namespace {

using test::bytes;
using test::expect_error;
using testing::MemoryImage;

const disc::Disc& mixed() {
  static const auto img = MemoryImage::cd_mixed_mode();
  return img->disc();
}
const disc::Disc& multisession() {
  static const auto img = MemoryImage::cd_multisession();
  return img->disc();
}

Bytes toc(const disc::Disc& d, TocFormat f, bool msf, uint8_t n) {
  Outcome<Bytes> r = render_toc(d, f, msf, n);
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : Bytes{};
}

// §4.3: 43 00 00 00 00 00 00 00 1C 00
TEST(ReadTocFormat0, MixedModeLba) {
  EXPECT_EQ(toc(mixed(), TocFormat::toc, false, 0),
            bytes({0x00, 0x1A, 0x01, 0x02,                           //
                   0x00, 0x14, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,   // track 1, data (CTL 4), LBA 0
                   0x00, 0x10, 0x02, 0x00, 0x00, 0x00, 0x4E, 0x20,   // track 2, audio, LBA 20000 (index 1)
                   0x00, 0x10, 0xAA, 0x00, 0x00, 0x00, 0xC3, 0x50}));  // lead-out 50000
}

TEST(ReadTocFormat0, MixedModeMsf) {
  EXPECT_EQ(toc(mixed(), TocFormat::toc, true, 0),
            bytes({0x00, 0x1A, 0x01, 0x02,                          //
                   0x00, 0x14, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00,  // 00:02:00
                   0x00, 0x10, 0x02, 0x00, 0x00, 0x04, 0x1C, 0x32,  // 04:28:50
                   0x00, 0x10, 0xAA, 0x00, 0x00, 0x0B, 0x08, 0x32}));  // 11:08:50
}

TEST(ReadTocFormat0, StartingTrackAndLeadoutOnly) {
  // Start track 2: data length 0012h counts both remaining descriptors.
  EXPECT_EQ(toc(mixed(), TocFormat::toc, true, 2),
            bytes({0x00, 0x12, 0x01, 0x02, 0x00, 0x10, 0x02, 0x00, 0x00, 0x04, 0x1C, 0x32, 0x00, 0x10, 0xAA, 0x00,
                   0x00, 0x0B, 0x08, 0x32}));
  // AAh: the lead-out alone.
  EXPECT_EQ(toc(mixed(), TocFormat::toc, false, 0xAA),
            bytes({0x00, 0x0A, 0x01, 0x02, 0x00, 0x10, 0xAA, 0x00, 0x00, 0x00, 0xC3, 0x50}));
  // Track 1 explicitly == track 0.
  EXPECT_EQ(toc(mixed(), TocFormat::toc, false, 1), toc(mixed(), TocFormat::toc, false, 0));
  // Beyond the last track (and not AAh): invalid field, byte 6.
  expect_error(render_toc(mixed(), TocFormat::toc, false, 3), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 6);
  expect_error(render_toc(mixed(), TocFormat::toc, false, 0xA9), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 6);
}

TEST(ReadTocFormat0, MultisessionListsAllTracksAndLastLeadout) {
  EXPECT_EQ(toc(multisession(), TocFormat::toc, false, 0),
            bytes({0x00, 0x1A, 0x01, 0x02, 0x00, 0x14, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,  //
                   0x00, 0x14, 0x02, 0x00, 0x00, 0x00, 0x38, 0x40,                          // track 2 at 14400
                   0x00, 0x14, 0xAA, 0x00, 0x00, 0x00, 0x4E, 0x20}));                       // lead-out 20000
}

// §4.4
TEST(ReadTocFormat1, SessionInfo) {
  EXPECT_EQ(toc(mixed(), TocFormat::session_info, false, 0),
            bytes({0x00, 0x0A, 0x01, 0x01, 0x00, 0x14, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}));
  // Multisession: first track of the last session (Linux ms_offset = 14400).
  EXPECT_EQ(toc(multisession(), TocFormat::session_info, false, 0),
            bytes({0x00, 0x0A, 0x01, 0x02, 0x00, 0x14, 0x02, 0x00, 0x00, 0x00, 0x38, 0x40}));
  EXPECT_EQ(toc(multisession(), TocFormat::session_info, true, 0),
            bytes({0x00, 0x0A, 0x01, 0x02, 0x00, 0x14, 0x02, 0x00, 0x00, 0x03, 0x0E, 0x00}));
}

// §4.5: 43 02 02 00 00 00 01 00 FF 00
TEST(ReadTocFormat2, FullTocSingleSession) {
  EXPECT_EQ(toc(mixed(), TocFormat::full_toc, true, 1),
            bytes({0x00, 0x39, 0x01, 0x01,                                          //
                   0x01, 0x14, 0x00, 0xA0, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,  // A0: first track 1, CD-ROM
                   0x01, 0x10, 0x00, 0xA1, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,  // A1: last track 2
                   0x01, 0x10, 0x00, 0xA2, 0x00, 0x00, 0x00, 0x00, 0x0B, 0x08, 0x32,  // A2: 11:08:50
                   0x01, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,  // track 1
                   0x01, 0x10, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x04, 0x1C, 0x32}));  // track 2
  // MSF bit is ignored; session 0 means from the first.
  EXPECT_EQ(toc(mixed(), TocFormat::full_toc, false, 0), toc(mixed(), TocFormat::full_toc, true, 1));
  expect_error(render_toc(mixed(), TocFormat::full_toc, false, 2), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 6);
}

TEST(ReadTocFormat2, FullTocMultisessionHasB0AndC0InSessionOne) {
  const Bytes t = toc(multisession(), TocFormat::full_toc, false, 1);
  const Bytes expected = bytes({
      0x00, 0x70, 0x01, 0x02,                                            // 2 + 10 x 11 = 112
      0x01, 0x14, 0x00, 0xA0, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x00,  // A0: track 1, CD-ROM XA (20h)
      0x01, 0x14, 0x00, 0xA1, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,  // A1
      0x01, 0x14, 0x00, 0xA2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A, 0x00,  // A2: LBA 3000 = 00:42:00
      0x01, 0x14, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,  // track 1
      // B0, CONTROL 0: next program area 14250 = 03:12:00, 2 mode-5 pointers,
      // outermost lead-out = the disc's final lead-out 20000 = 04:28:50.
      0x01, 0x50, 0x00, 0xB0, 0x03, 0x0C, 0x00, 0x02, 0x04, 0x1C, 0x32,
      // C0, CONTROL 0: no ATIP values (00 00 00), first lead-in 95:00:00.
      0x01, 0x50, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x5F, 0x00, 0x00,
      0x02, 0x14, 0x00, 0xA0, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x00,  // session 2: A0
      0x02, 0x14, 0x00, 0xA1, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,  // A1
      0x02, 0x14, 0x00, 0xA2, 0x00, 0x00, 0x00, 0x00, 0x04, 0x1C, 0x32,  // A2: 20000 = 04:28:50
      0x02, 0x14, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x03, 0x0E, 0x00,  // track 2: 14400 = 03:14:00
  });
  EXPECT_EQ(t, expected);
  // Starting at session 2: only its points.
  const Bytes s2 = toc(multisession(), TocFormat::full_toc, false, 2);
  ASSERT_EQ(s2.size(), 4u + 4 * 11);
  EXPECT_EQ(s2[1], 2 + 4 * 11);
  EXPECT_EQ(s2[4], 2);
}

TEST(ReadToc, PmaAndAtipAbsentOnPressedMedia) {
  // A ROM drive answers both formats on a CD with INVALID COMMAND OPERATION CODE.
  for (TocFormat f : {TocFormat::pma, TocFormat::atip}) {
    for (const auto& img : {MemoryImage::cd_mixed_mode(), MemoryImage::cd_multisession()}) {
      const Outcome<Bytes> r = render_toc(img->disc(), f, false, 0);
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.error().key, SenseKey::illegal_request);
      EXPECT_EQ(r.error().code, asc::kInvalidCommandOperationCode);
    }
  }
}

TEST(ReadToc, DvdAndBdAnswerAsOneTrackDisc) {
  for (auto img : {MemoryImage::dvd(1000), MemoryImage::bd(5000)}) {
    const disc::Disc& d = img->disc();
    const auto lo = static_cast<uint8_t>(d.leadout_lba() >> 8);
    const auto lo2 = static_cast<uint8_t>(d.leadout_lba());
    EXPECT_EQ(toc(d, TocFormat::toc, false, 0),
              bytes({0x00, 0x12, 0x01, 0x01, 0x00, 0x14, 0x01, 0x00, 0, 0, 0, 0, 0x00, 0x14, 0xAA, 0x00, 0, 0, lo, lo2}));
    EXPECT_EQ(toc(d, TocFormat::session_info, false, 0),
              bytes({0x00, 0x0A, 0x01, 0x01, 0x00, 0x14, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00}));
    for (TocFormat f : {TocFormat::full_toc, TocFormat::pma, TocFormat::atip, TocFormat::cd_text}) {
      expect_error(render_toc(d, f, false, 0), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 2);
    }
  }
}

TEST(ReadTocDecode, ControlByteSelectsSffFormats) {
  Outcome<TocRequest> r = decode_read_toc(bytes({0x43, 0x00, 0x00, 0, 0, 0, 0, 0x00, 0x0C, 0x40}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->format, TocFormat::session_info);
  EXPECT_EQ(r->allocation_length, 12);
  r = decode_read_toc(bytes({0x43, 0x02, 0x00, 0, 0, 0, 1, 0x01, 0x00, 0x80}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->format, TocFormat::full_toc);
  EXPECT_TRUE(r->msf);
  EXPECT_EQ(r->track_or_session, 1);
  EXPECT_EQ(r->allocation_length, 256);
  // The byte-2 format wins when it is not 0 (ZuluSCSI #583: only format 0 is remapped).
  r = decode_read_toc(bytes({0x43, 0x00, 0x01, 0, 0, 0, 0, 0, 0x0C, 0x80}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->format, TocFormat::session_info);
  expect_error(decode_read_toc(bytes({0x43, 0, 0, 0, 0, 0, 0, 0, 0x0C, 0xC0})), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 9);
  expect_error(decode_read_toc(bytes({0x43, 0, 0x06, 0, 0, 0, 0, 0, 0x0C, 0})), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 2);
}

// ---- CD-TEXT ------------------------------------------------------------------

// Bitwise CRC-16/CCITT, init 0, inverted (Red Book CD-TEXT) — independent of the code under test.
uint16_t reference_crc(const uint8_t* p, size_t n) {
  uint16_t crc = 0;
  for (size_t i = 0; i < n; ++i) {
    for (int b = 7; b >= 0; --b) {
      const bool bit = ((p[i] >> b) & 1) != ((crc >> 15) & 1);
      crc = static_cast<uint16_t>(crc << 1);
      if (bit) crc ^= 0x1021;
    }
  }
  return static_cast<uint16_t>(~crc);
}

TEST(CdText, CrcKnownVector) {
  const std::string s = "123456789";  // CRC-16/XMODEM check value 31C3h, inverted CE3Ch
  EXPECT_EQ(cd_text_crc(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())), 0xCE3C);
}

TEST(CdText, NoCdTextIsHeaderOnly) {
  EXPECT_EQ(toc(mixed(), TocFormat::cd_text, false, 0), bytes({0x00, 0x02, 0x00, 0x00}));
  EXPECT_TRUE(cd_text_packs(mixed()).empty());
}

TEST(CdText, LongTextIsCappedAtOneBlock) {
  disc::Disc d = MemoryImage::cd_audio()->disc();
  d.cd_text.title = std::string(5000, 'x');
  const Bytes packs = cd_text_packs(d);
  ASSERT_EQ(packs.size(), 256u * 18);
  EXPECT_EQ(packs[255 * 18 + 2], 255);  // last sequence number
  EXPECT_EQ(packs[255 * 18], 0x8F);
}

TEST(CdText, PacksFromTheDiscModel) {
  const auto img = MemoryImage::cd_audio();  // title "Memory Album", performer "uDisc", track 2 title "Second"
  const Bytes t = toc(img->disc(), TocFormat::cd_text, false, 0);
  // Title: "Memory Album\0" + "\0" + "Second\0" + "\0" = 22 bytes -> 2 packs;
  // performer: "uDisc\0\0\0\0" -> 1 pack; size information: 3 packs.
  ASSERT_EQ(t.size(), 4u + 6 * 18);
  EXPECT_EQ(t[0], 0x00);
  EXPECT_EQ(t[1], 6 * 18 + 2);
  const uint8_t* p = t.data() + 4;
  // Pack 0: title, track 0, sequence 0, position 0, "Memory Album".
  EXPECT_EQ(Bytes(p, p + 16), bytes({0x80, 0x00, 0x00, 0x00, 'M', 'e', 'm', 'o', 'r', 'y', ' ', 'A', 'l', 'b', 'u', 'm'}));
  // Pack 1: starts with the terminator of the album title (track 0, position 12),
  // then track 1 (empty) and "Second" of track 2, then track 3's terminator.
  EXPECT_EQ(Bytes(p + 18, p + 34),
            bytes({0x80, 0x00, 0x01, 0x0C, 0, 0, 'S', 'e', 'c', 'o', 'n', 'd', 0, 0, 0, 0}));
  // Pack 2: performer.
  EXPECT_EQ(Bytes(p + 36, p + 52), bytes({0x81, 0x00, 0x02, 0x00, 'u', 'D', 'i', 's', 'c', 0, 0, 0, 0, 0, 0, 0}));
  // Size information: pack type 8Fh, "track" 0..2, sequences 3..5.
  const uint8_t* si = p + 54;
  EXPECT_EQ(si[0], 0x8F);
  EXPECT_EQ(si[1], 0);
  EXPECT_EQ(si[2], 3);
  EXPECT_EQ(si[4], 0x00);   // character code ISO 8859-1
  EXPECT_EQ(si[5], 1);      // first track
  EXPECT_EQ(si[6], 3);      // last track
  EXPECT_EQ(si[8], 2);      // packs of type 80h
  EXPECT_EQ(si[9], 1);      // packs of type 81h
  EXPECT_EQ(si[10], 0);     // packs of type 82h
  const uint8_t* si2 = p + 72;  // second size pack carries info bytes 12..23
  EXPECT_EQ(si2[1], 1);
  EXPECT_EQ(si2[4 + 7], 3);  // info[19]: packs of type 8Fh
  EXPECT_EQ(si2[4 + 8], 5);  // info[20]: last sequence number of block 0
  const uint8_t* si3 = p + 90;
  EXPECT_EQ(si3[4 + 4], 0x09);  // info[28]: language of block 0, English
  // Every pack's CRC.
  for (int i = 0; i < 6; ++i) {
    const uint8_t* pk = p + 18 * i;
    const uint16_t crc = reference_crc(pk, 16);
    EXPECT_EQ(pk[16], crc >> 8) << "pack " << i;
    EXPECT_EQ(pk[17], crc & 0xFF) << "pack " << i;
  }
}

}  // namespace
}  // namespace udisc::device::mmc
