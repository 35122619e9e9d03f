// READ DISC INFORMATION, READ TRACK INFORMATION, READ HEADER, READ
// SUB-CHANNEL, READ DVD STRUCTURE, REPORT KEY, MECHANISM STATUS and GET
// PERFORMANCE rendering. Expected bytes follow MMC-6 (section per test) and
// mmc-expectations §4.6/§4.7 and Appendix A.
#include "device/mmc_info.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "device/mmc_test_util.h"
#include "device/testing/memory_image.h"

namespace udisc::device::mmc {
namespace {

using test::bytes;
using test::expect_error;
using testing::MemoryImage;

Bytes ok(const Outcome<Bytes>& r) {
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : Bytes{};
}

Bytes be32(uint32_t v) {
  return bytes({int(v >> 24), int((v >> 16) & 0xFF), int((v >> 8) & 0xFF), int(v & 0xFF)});
}

// ---- 6.22 READ DISC INFORMATION (§4.6) ---------------------------------------------

TEST(ReadDiscInformation, PressedMixedModeCd) {
  const auto img = MemoryImage::cd_mixed_mode();
  EXPECT_EQ(ok(render_disc_information(img->disc(), 0)),
            bytes({0x00, 0x20, 0x0E, 0x01, 0x01, 0x01, 0x02, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                   0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                   0x00, 0x00}));
}

TEST(ReadDiscInformation, MultisessionXaAndDvdBd) {
  const Bytes ms = ok(render_disc_information(MemoryImage::cd_multisession()->disc(), 0));
  ASSERT_EQ(ms.size(), 34u);
  EXPECT_EQ(ms[2], 0x0E);
  EXPECT_EQ(ms[4], 2);     // sessions
  EXPECT_EQ(ms[5], 2);     // first track in last session
  EXPECT_EQ(ms[6], 2);     // last track in last session
  EXPECT_EQ(ms[8], 0x20);  // CD-ROM XA
  for (auto img : {MemoryImage::dvd(1000), MemoryImage::bd(1000)}) {
    const Bytes d = ok(render_disc_information(img->disc(), 0));
    EXPECT_EQ(Bytes(d.begin(), d.begin() + 9), bytes({0x00, 0x20, 0x0E, 0x01, 0x01, 0x01, 0x01, 0x20, 0x00}));
    // Lead-in / last possible lead-out addresses: zeros on DVD-ROM and BD-ROM.
    EXPECT_EQ(Bytes(d.begin() + 16, d.begin() + 24), Bytes(8, 0x00));
  }
  EXPECT_EQ(Bytes(ms.begin() + 16, ms.begin() + 24), Bytes(8, 0xFF));
  expect_error(render_disc_information(MemoryImage::dvd(1000)->disc(), 1), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 1);
}

// ---- 6.28 READ TRACK INFORMATION (§4.7) --------------------------------------------

Bytes track_info(uint8_t track, uint8_t session, uint8_t mode, uint8_t data_mode, uint32_t start, uint32_t size) {
  Bytes b(48, 0);
  b[1] = 0x2E;
  b[2] = track;
  b[3] = session;
  b[5] = mode;
  b[6] = data_mode;
  const Bytes s = be32(start), z = be32(size);
  std::copy(s.begin(), s.end(), b.begin() + 8);
  std::copy(z.begin(), z.end(), b.begin() + 24);
  return b;
}

TEST(ReadTrackInformation, MixedModeByTrackLbaAndSession) {
  const auto d_image = MemoryImage::cd_mixed_mode();
  const disc::Disc& d = d_image->disc();
  EXPECT_EQ(ok(render_track_information(d, 1, 1)), track_info(1, 1, 0x4, 0x1, 0, 19850));
  const Bytes t2 = track_info(2, 1, 0x0, 0xF, 19850, 30150);
  EXPECT_EQ(ok(render_track_information(d, 1, 2)), t2);
  // start + size of the last track == lead-out (UDF's last block, §4.7).
  EXPECT_EQ(19850 + 30150, d.leadout_lba());
  // By LBA: the pregap belongs to track 2; the last sector too.
  EXPECT_EQ(ok(render_track_information(d, 0, 19850)), t2);
  EXPECT_EQ(ok(render_track_information(d, 0, 49999)), t2);
  EXPECT_EQ(ok(render_track_information(d, 0, 19849)), track_info(1, 1, 0x4, 0x1, 0, 19850));
  EXPECT_EQ(ok(render_track_information(d, 2, 1)), track_info(1, 1, 0x4, 0x1, 0, 19850));
  expect_error(render_track_information(d, 0, 50000), SenseKey::illegal_request, asc::kLbaOutOfRange);
  expect_error(render_track_information(d, 1, 0), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 2);
  expect_error(render_track_information(d, 1, 3), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 2);
  expect_error(render_track_information(d, 1, 0xFF), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 2);
  expect_error(render_track_information(d, 2, 2), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 2);
  expect_error(render_track_information(d, 3, 1), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 1);
}

TEST(ReadTrackInformation, MultisessionAndDvd) {
  const auto ms_image = MemoryImage::cd_multisession();
  const disc::Disc& ms = ms_image->disc();
  EXPECT_EQ(ok(render_track_information(ms, 1, 1)), track_info(1, 1, 0x4, 0x1, 0, 3000));
  EXPECT_EQ(ok(render_track_information(ms, 2, 2)), track_info(2, 2, 0x4, 0x2, 14250, 5750));
  // Between the sessions there is no track.
  expect_error(render_track_information(ms, 0, 5000), SenseKey::illegal_request, asc::kLbaOutOfRange);
  const auto dvd_image = MemoryImage::dvd(123456);
  const disc::Disc& dvd = dvd_image->disc();
  EXPECT_EQ(ok(render_track_information(dvd, 1, 1)), track_info(1, 1, 0x4, 0x1, 0, 123456));
  EXPECT_EQ(ok(render_track_information(dvd, 0, 123455)), track_info(1, 1, 0x4, 0x1, 0, 123456));
}

// ---- 6.21 READ HEADER ----------------------------------------------------------------

TEST(ReadHeader, ModeAndAddress) {
  const auto img = MemoryImage::cd_mixed_mode();
  EXPECT_EQ(ok(render_header(*img, 100, false)), bytes({0x01, 0, 0, 0, 0x00, 0x00, 0x00, 0x64}));
  EXPECT_EQ(ok(render_header(*img, 100, true)), bytes({0x01, 0, 0, 0, 0x00, 0x00, 0x03, 0x19}));  // 00:03:25
  expect_error(render_header(*img, 20000, false), SenseKey::illegal_request, asc::kIllegalModeForThisTrack,
               std::nullopt, 20000);
  expect_error(render_header(*img, 50000, false), SenseKey::illegal_request, asc::kLbaOutOfRange);
  const auto ms = MemoryImage::cd_multisession();
  EXPECT_EQ(ok(render_header(*ms, 14400, false)), bytes({0x02, 0, 0, 0, 0x00, 0x00, 0x38, 0x40}));
  expect_error(render_header(*MemoryImage::dvd(100), 1, false), SenseKey::illegal_request,
               asc::kCannotReadMediumIncompatibleFormat);
  auto failing = MemoryImage::cd_mixed_mode();
  failing->fail_reads_at(7);
  expect_error(render_header(*failing, 7, false), SenseKey::medium_error, asc::kUnrecoveredReadError, std::nullopt, 7);
}

// ---- 6.27 READ SUB-CHANNEL (Appendix A) -----------------------------------------------

TEST(ReadSubChannel, CurrentPosition) {
  const auto d_image = MemoryImage::cd_mixed_mode();
  const disc::Disc& d = d_image->disc();
  SubChannelRequest r{.msf = false, .subq = true, .format = 1};
  // Track 2 index 1, one second in.
  EXPECT_EQ(ok(render_sub_channel(d, r, 0x11, 20075)),
            bytes({0x00, 0x11, 0x00, 0x0C, 0x01, 0x10, 0x02, 0x01, 0x00, 0x00, 0x4E, 0x6B, 0x00, 0x00, 0x00, 0x4B}));
  r.msf = true;
  EXPECT_EQ(ok(render_sub_channel(d, r, 0x12, 20075)),
            bytes({0x00, 0x12, 0x00, 0x0C, 0x01, 0x10, 0x02, 0x01, 0x00, 0x04, 0x1D, 0x32, 0x00, 0x00, 0x01, 0x00}));
  // Pregap: index 0, relative time counting down (LBA -100, MSF 00:01:25).
  r.msf = false;
  EXPECT_EQ(ok(render_sub_channel(d, r, 0x15, 19900)),
            bytes({0x00, 0x15, 0x00, 0x0C, 0x01, 0x10, 0x02, 0x00, 0x00, 0x00, 0x4D, 0xBC, 0xFF, 0xFF, 0xFF, 0x9C}));
  r.msf = true;
  const Bytes pre = ok(render_sub_channel(d, r, 0x15, 19900));
  EXPECT_EQ(Bytes(pre.begin() + 12, pre.end()), bytes({0x00, 0x00, 0x01, 0x19}));
  // Data track: CONTROL 4.
  r.msf = false;
  EXPECT_EQ(ok(render_sub_channel(d, r, 0x15, 5))[5], 0x14);
  // SubQ = 0: header only.
  EXPECT_EQ(ok(render_sub_channel(d, SubChannelRequest{.subq = false, .format = 1}, 0x15, 5)), bytes({0, 0x15, 0, 0}));
}

TEST(ReadSubChannel, McnAndIsrc) {
  const auto d_image = MemoryImage::cd_mixed_mode();
  const disc::Disc& d = d_image->disc();
  EXPECT_EQ(ok(render_sub_channel(d, SubChannelRequest{.subq = true, .format = 2}, 0x15, 0)),
            bytes({0x00, 0x15, 0x00, 0x14, 0x02, 0x00, 0x00, 0x00, 0x80, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
                   '0', '1', '2', 0x00, 0x00}));
  EXPECT_EQ(ok(render_sub_channel(d, SubChannelRequest{.subq = true, .format = 3, .track = 2}, 0x15, 0)),
            bytes({0x00, 0x15, 0x00, 0x14, 0x03, 0x30, 0x02, 0x00, 0x80, 'U', 'S', 'A', 'B', 'C', '9', '9', '0', '0',
                   '0', '0', '1', 0x00, 0x00, 0x00}));
  // Track 1 has no ISRC: TCVal 0.
  const Bytes t1 = ok(render_sub_channel(d, SubChannelRequest{.subq = true, .format = 3, .track = 1}, 0x15, 0));
  EXPECT_EQ(t1[5], 0x34);
  EXPECT_EQ(t1[8], 0x00);
  expect_error(render_sub_channel(d, SubChannelRequest{.subq = true, .format = 3, .track = 3}, 0x15, 0),
               SenseKey::illegal_request, asc::kInvalidFieldInCdb, 6);
  expect_error(render_sub_channel(d, SubChannelRequest{.subq = true, .format = 4}, 0x15, 0), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 3);
  // No MCN on this disc: MCVal 0.
  EXPECT_EQ(ok(render_sub_channel(MemoryImage::cd_audio()->disc(), SubChannelRequest{.subq = true, .format = 2}, 0x15, 0))[8],
            0x00);
}

// ---- 6.23 READ DVD STRUCTURE ------------------------------------------------------------

TEST(ReadDvdStructure, PhysicalFormatSingleLayer) {
  const auto d_image = MemoryImage::dvd(2295104);
  const disc::Disc& d = d_image->disc();
  const Bytes b = ok(render_dvd_structure(d, DvdStructureRequest{}));
  ASSERT_EQ(b.size(), 4u + 2048);
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 21),
            bytes({0x08, 0x02, 0x00, 0x00,                        // data length 2050
                   0x01, 0x02, 0x01, 0x00,                        // DVD-ROM v1, 120 mm, 1 layer, embossed
                   0x00, 0x03, 0x00, 0x00,                        // data area starts at 030000h
                   0x00, 0x26, 0x05, 0x3F,                        // 030000h + 2295104 - 1
                   0x00, 0x00, 0x00, 0x00, 0x00}));
  expect_error(render_dvd_structure(d, DvdStructureRequest{.layer = 1}), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 6);
}

TEST(ReadDvdStructure, PhysicalFormatDualLayerOpposite) {
  disc::Disc d = MemoryImage::dvd(4000000)->disc();
  d.disc_class = disc::DiscClass::dvd_rom_dual_layer;
  const Bytes b = ok(render_dvd_structure(d, DvdStructureRequest{.layer = 1}));
  EXPECT_EQ(b[6], 0x31);  // 2 layers, opposite track path, embossed
  // Layer 0: 2000000 sectors from 030000h -> ends at 030000h + 1999999 = 0x21E47F;
  // layer 1 starts at ~0x21E47F = 0xDE1B80 and holds 2000000 sectors.
  EXPECT_EQ(Bytes(b.begin() + 16, b.begin() + 20), be32(0x030000 + 2000000 - 1));
  EXPECT_EQ(Bytes(b.begin() + 12, b.begin() + 16), be32((~uint32_t(0x030000 + 2000000 - 1) & 0xFFFFFF) + 2000000 - 1));
  expect_error(render_dvd_structure(d, DvdStructureRequest{.layer = 2}), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 6);
}

TEST(ReadDvdStructure, CopyrightManufacturingListAndErrors) {
  const auto d_image = MemoryImage::dvd(1000);
  const disc::Disc& d = d_image->disc();
  EXPECT_EQ(ok(render_dvd_structure(d, DvdStructureRequest{.format = 0x01})), bytes({0x00, 0x06, 0, 0, 0, 0, 0, 0}));
  const Bytes m = ok(render_dvd_structure(d, DvdStructureRequest{.format = 0x04}));
  EXPECT_EQ(m.size(), 2052u);
  EXPECT_EQ(m[0], 0x08);
  EXPECT_EQ(m[1], 0x02);
  EXPECT_EQ(ok(render_dvd_structure(d, DvdStructureRequest{.format = 0xFF})),
            bytes({0x00, 0x12, 0, 0, 0x00, 0x40, 0x08, 0x04, 0x01, 0x40, 0x00, 0x08, 0x04, 0x40, 0x08, 0x04, 0xFF, 0x40,
                   0x00, 0x14}));
  expect_error(render_dvd_structure(d, DvdStructureRequest{.format = 0x02}), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 7);
  expect_error(render_dvd_structure(d, DvdStructureRequest{.media_type = 2}), SenseKey::illegal_request,
               asc::kInvalidFieldInCdb, 1);
  // BD structures on a DVD and DVD structures on a CD: incompatible medium.
  expect_error(render_dvd_structure(d, DvdStructureRequest{.media_type = 1}), SenseKey::illegal_request,
               asc::kCannotReadMediumIncompatibleFormat);
  expect_error(render_dvd_structure(MemoryImage::cd_mixed_mode()->disc(), DvdStructureRequest{}),
               SenseKey::illegal_request, asc::kCannotReadMediumIncompatibleFormat);
}

TEST(ReadDvdStructure, BdDiscInformation) {
  const auto d_image = MemoryImage::bd(12219392);  // 25 GB single-layer BD-ROM
  const disc::Disc& d = d_image->disc();
  const Bytes b = ok(render_dvd_structure(d, DvdStructureRequest{.media_type = 1}));
  ASSERT_EQ(b.size(), 4100u);
  // Header and the first 32 bytes of the DI unit, laid out as in a PIC dumped
  // from a pressed BD-ROM (10020000 4449 0108 0000 2000 42444F 01 11 01 01 ...).
  const uint32_t last_psn = 0x100000 + 12219392 - 1;  // 0x00CA73FF
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 36),
            bytes({0x10, 0x02, 0x00, 0x00,                          // data length 4098
                   'D', 'I', 0x01, 0x08, 0x00, 0x00, 0x20, 0x00,    // DI, format 1, 1 unit/block, layer 0
                   'B', 'D', 'O', 0x01, 0x11, 0x01, 0x01, 0x00,     // BD-ROM, 120 mm v1, 1 layer, 74.5 nm
                   0x00, 0x00, 0x00, 0x00,                          // no BCA, rate unspecified
                   0x00, 0xCA, 0x73, 0xFF,                          // last user-data PSN
                   0x00, 0x10, 0x00, 0x00,                          // first AUN
                   0x00, 0xCA, 0x73, 0xFE}));                       // last AUN
  EXPECT_EQ(last_psn, 0x00CA73FFu);
  EXPECT_TRUE(std::all_of(b.begin() + 36, b.end(), [](uint8_t v) { return v == 0; }));
  // redumper's size rule for a single-layer disc: (last PSN - 1) - first AUN + 2 = capacity.
  EXPECT_EQ((last_psn - 1) - 0x100000 + 2, uint32_t(d.leadout_lba()));
  EXPECT_TRUE(render_dvd_structure(d, DvdStructureRequest{.media_type = 1, .format = 0xFF}).ok());
  expect_error(render_dvd_structure(d, DvdStructureRequest{}), SenseKey::illegal_request,
               asc::kCannotReadMediumIncompatibleFormat);
}

// ---- 6.31 REPORT KEY ----------------------------------------------------------------------

TEST(ReportKey, RpcStateOfARegionFreeDrive) {
  const Bytes expected = bytes({0x00, 0x06, 0x00, 0x00, 0x25, 0xFF, 0x00, 0x00});
  EXPECT_EQ(ok(render_report_key(nullptr, 0, 0x08, 0)), expected);
  EXPECT_EQ(ok(render_report_key(&MemoryImage::cd_mixed_mode()->disc(), 0, 0x08, 0)), expected);
  EXPECT_FALSE(report_key_needs_medium(0x08));
}

TEST(ReportKey, KeyFormatsWithoutProtectedMedium) {
  const auto dvd_image = MemoryImage::dvd(100);
  const disc::Disc& dvd = dvd_image->disc();
  const auto bd_image = MemoryImage::bd(1000);
  const disc::Disc& bd = bd_image->disc();
  const auto cd_image = MemoryImage::cd_mixed_mode();
  const disc::Disc& cd = cd_image->disc();
  // DVD without CSS: no AGID, so the key exchange formats name an invalid AGID.
  for (uint8_t f : {0x00, 0x11}) {
    expect_error(render_report_key(&dvd, 0, f, 0), SenseKey::illegal_request,
                 asc::kCopyProtectionKeyExchangeFailureKeyNotPresent);
  }
  for (uint8_t f : {0x01, 0x02, 0x04}) {
    expect_error(render_report_key(&dvd, 0, f, 0), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 10);
  }
  EXPECT_EQ(ok(render_report_key(&dvd, 0, 0x05, 0)), bytes({0x00, 0x06, 0, 0, 0, 0, 0, 0x00}));  // ASF 0
  EXPECT_EQ(ok(render_report_key(&dvd, 0, 0x3F, 1)), Bytes{});  // invalidate AGID
  // BD without AACS and CD: every format but the RPC state.
  for (uint8_t f : {0x00, 0x01, 0x02, 0x04, 0x05, 0x11, 0x3F}) {
    expect_error(render_report_key(&bd, 0, f, 0), SenseKey::illegal_request,
                 asc::kCopyProtectionKeyExchangeFailureKeyNotPresent);
    expect_error(render_report_key(&cd, 0, f, 0), SenseKey::illegal_request, asc::kInvalidCommandOperationCode);
    EXPECT_TRUE(report_key_needs_medium(f));
  }
  // AACS key class on media that are not AACS-compliant.
  for (const disc::Disc* d : {&dvd, &bd, &cd}) {
    expect_error(render_report_key(d, 2, 0x00, 0), SenseKey::illegal_request,
                 asc::kCopyProtectionKeyExchangeFailureKeyNotPresent);
  }
  EXPECT_EQ(ok(render_report_key(&bd, 0, 0x08, 0)).size(), 8u);
  expect_error(render_report_key(&dvd, 1, 0x08, 0), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 7);
  expect_error(render_report_key(&dvd, 0, 0x20, 0), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 10);
}

// ---- 6.14 MECHANISM STATUS, 6.8 GET PERFORMANCE ----------------------------------------------

TEST(MechanismStatus, Header) {
  EXPECT_EQ(render_mechanism_status(false, false, 1234), bytes({0, 0x00, 0x00, 0x04, 0xD2, 0, 0, 0}));
  EXPECT_EQ(render_mechanism_status(true, false, 0), bytes({0, 0x10, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(render_mechanism_status(false, true, 20000), bytes({0, 0x20, 0x00, 0x4E, 0x20, 0, 0, 0}));
}

TEST(GetPerformance, NominalAndExceptions) {
  const auto d_image = MemoryImage::cd_mixed_mode();
  const disc::Disc& d = d_image->disc();
  EXPECT_EQ(ok(render_performance(d, 0x10, 0x00, 1, 0, 8467)),
            bytes({0x00, 0x00, 0x00, 0x14, 0x00, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x21, 0x13, 0x00, 0x00, 0xC3, 0x4F,
                   0x00, 0x00, 0x21, 0x13}));
  EXPECT_EQ(ok(render_performance(d, 0x10, 0x00, 0, 0, 8467)), bytes({0, 0, 0, 4, 0, 0, 0, 0}));
  EXPECT_EQ(ok(render_performance(d, 0x12, 0x00, 10, 0, 8467)), bytes({0, 0, 0, 4, 1, 0, 0, 0}));
  expect_error(render_performance(d, 0x14, 0x00, 1, 0, 8467), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 1);
  expect_error(render_performance(d, 0x10, 0x03, 1, 0, 8467), SenseKey::illegal_request, asc::kInvalidFieldInCdb, 10);
  expect_error(render_performance(d, 0x10, 0x00, 1, 50000, 8467), SenseKey::illegal_request, asc::kLbaOutOfRange);
}

}  // namespace
}  // namespace udisc::device::mmc
