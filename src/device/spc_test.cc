// SPC commands: INQUIRY (SPC-5 6.7), VPD pages (7.7), MODE SENSE/SELECT
// (6.11-6.14 with MMC-6 7 pages), REPORT LUNS (6.33), REPORT SUPPORTED
// OPERATION CODES (6.35), sense formats (4.4).
#include <gtest/gtest.h>

#include <string>

#include "device/drive.h"
#include "device/mode_pages.h"
#include "device/sense.h"
#include "device/testing/memory_image.h"
#include "device/testing/scsi_harness.h"
#include "device/wire.h"

namespace udisc::device {
namespace {

using testing::MemoryImage;
using testing::ScsiHarness;

std::string text(const std::vector<uint8_t>& d, size_t at, size_t n) {
  return std::string(d.begin() + static_cast<long>(at), d.begin() + static_cast<long>(at + n));
}

ScsiHarness ready(Identity id = {}) {
  ScsiHarness h(std::move(id));
  EXPECT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions();
  return h;
}

TEST(Sense, FixedFormatWithFieldPointerAndInformation) {
  std::array<uint8_t, 32> buf{};
  ScsiError e = ScsiError::invalid_field(1, 0);
  ASSERT_EQ(build_fixed_sense(e, buf), 18u);
  const std::array<uint8_t, 18> expected = {0x70, 0, 0x05, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x24, 0x00, 0, 0xC8, 0x00, 0x01};
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), buf.begin()));
  e = ScsiError::illegal_mode(20000);
  ASSERT_EQ(build_fixed_sense(e, buf), 18u);
  EXPECT_EQ(buf[0], 0xF0);  // VALID
  EXPECT_EQ(wire::get_u32(buf, 3), 20000u);
  EXPECT_EQ(buf[12], 0x64);
  EXPECT_EQ(buf[15], 0x00);  // no SKS
  e = ScsiError::invalid_parameter(9);
  build_fixed_sense(e, buf);
  EXPECT_EQ(buf[15], 0x80);  // SKSV, C/D=0, no BPV
  EXPECT_EQ(build_fixed_sense(e, std::span<uint8_t>(buf.data(), 17)), 0u);
}

TEST(Sense, DescriptorFormat) {
  std::array<uint8_t, kDescriptorSenseMaxLength> buf{};
  ScsiError e = ScsiError::read_error(1234);
  ASSERT_EQ(build_descriptor_sense(e, buf), 20u);
  EXPECT_EQ(buf[0], 0x72);
  EXPECT_EQ(buf[1], 0x03);
  EXPECT_EQ(buf[2], 0x11);
  EXPECT_EQ(buf[7], 12);
  EXPECT_EQ(buf[8], 0x00);   // information descriptor
  EXPECT_EQ(buf[9], 0x0A);
  EXPECT_EQ(buf[10], 0x80);  // VALID
  EXPECT_EQ(wire::get_u64(buf, 12), 1234u);
  e = ScsiError::invalid_field(2, 5);
  ASSERT_EQ(build_descriptor_sense(e, buf), 16u);
  EXPECT_EQ(buf[8], 0x02);  // sense-key specific descriptor
  EXPECT_EQ(buf[9], 0x06);
  EXPECT_EQ(buf[12], 0xCD);  // SKSV | C/D | BPV | bit 5
  EXPECT_EQ(wire::get_u16(buf, 13), 2u);
}

TEST(Sense, RequestSenseDescriptorFormat) {
  ScsiHarness h;
  h.clear_unit_attentions();
  auto r = h.run({0x03, 0x01, 0, 0, 252, 0}, 252);  // no medium, DESC=1
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 8u);
  EXPECT_EQ(r.data[0], 0x72);
  EXPECT_EQ(r.data[1], 0x02);
  EXPECT_EQ(r.data[2], 0x3A);
  EXPECT_EQ(r.data[3], 0x01);
}

TEST(Inquiry, StandardDataLooksLikeAnMmcDrive) {
  Identity id;
  id.vendor = "UDISC";
  id.product = "Virtual BD-ROM";
  id.revision = "1.23";
  id.serial = "SER0001";
  ScsiHarness h(id);
  auto r = h.run({0x12, 0, 0, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 96u);
  EXPECT_EQ(r.data[0], 0x05);  // PDT CD/DVD, PQ 0
  EXPECT_EQ(r.data[1], 0x80);  // RMB
  EXPECT_EQ(r.data[2], 0x05);  // SPC-3: Linux asks for VPD pages
  EXPECT_EQ(r.data[3] & 0x0F, 0x02);
  EXPECT_EQ(r.data[4] + 5, 96);  // additional length = bytes sent
  EXPECT_EQ(text(r.data, 8, 8), "UDISC   ");
  EXPECT_EQ(text(r.data, 16, 16), "Virtual BD-ROM  ");
  EXPECT_EQ(text(r.data, 32, 4), "1.23");
  EXPECT_EQ(wire::get_u16(r.data, 58), 0x04E0);  // MMC-6
  EXPECT_EQ(wire::get_u16(r.data, 60), 0x0300);  // SPC-3
  EXPECT_EQ(r.response.residual, 255 - 96);
}

TEST(Inquiry, VpdPages) {
  Identity id;
  id.serial = "SER0001";
  ScsiHarness h(id);
  auto r = h.run({0x12, 0x01, 0x00, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 7u);
  EXPECT_EQ(r.data[0], 0x05);
  EXPECT_EQ(r.data[1], 0x00);
  EXPECT_EQ(wire::get_u16(r.data, 2), 3);
  EXPECT_EQ(r.data[4], 0x00);
  EXPECT_EQ(r.data[5], 0x80);
  EXPECT_EQ(r.data[6], 0x83);
  r = h.run({0x12, 0x01, 0x80, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[1], 0x80);
  EXPECT_EQ(wire::get_u16(r.data, 2), 7);
  EXPECT_EQ(text(r.data, 4, 7), "SER0001");
  r = h.run({0x12, 0x01, 0x83, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[1], 0x83);
  EXPECT_EQ(wire::get_u16(r.data, 2) + 4u, r.data.size());
  // First designator: NAA, binary, logical unit, 8 bytes, NAA 3 (locally assigned).
  EXPECT_EQ(r.data[4], 0x01);
  EXPECT_EQ(r.data[5], 0x03);
  EXPECT_EQ(r.data[7], 8);
  EXPECT_EQ(r.data[8] >> 4, 0x3);
  // Second: T10 vendor ID, ASCII.
  EXPECT_EQ(r.data[16], 0x02);
  EXPECT_EQ(r.data[17], 0x01);
  EXPECT_EQ(text(r.data, 20, 8), "UDISC   ");
  // Stable across drives with the same serial.
  ScsiHarness h2(id);
  auto r2 = h2.run({0x12, 0x01, 0x83, 0, 0xFF, 0}, 255);
  EXPECT_EQ(r.data, r2.data);
  // Explicit NAA.
  id.naa_id = 0x6001405123456789ull;
  ScsiHarness h3(id);
  r = h3.run({0x12, 0x01, 0x83, 0, 0xFF, 0}, 255);
  EXPECT_EQ(wire::get_u64(r.data, 8), 0x6001405123456789ull);
}

TEST(Inquiry, Errors) {
  ScsiHarness h;
  auto r = h.run({0x12, 0x01, 0xB0, 0, 0xFF, 0}, 255);  // unsupported VPD page
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 2);
  r = h.run({0x12, 0x00, 0x80, 0, 0xFF, 0}, 255);  // page code without EVPD
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 2);
  r = h.run({0x12, 0x02, 0x00, 0, 0xFF, 0}, 255);  // CMDDT
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 1);
  EXPECT_EQ(r.sks_bit(), 1);
  r = h.run({0x12, 0, 0, 0, 0, 0}, 0);  // allocation length 0: GOOD, nothing sent
  EXPECT_TRUE(r.good());
  EXPECT_TRUE(r.data.empty());
}

// Page 2Ah as Linux sr asks for it: MODE SENSE(6), DBD=0, alloc 128.
TEST(ModeSense, LinuxCapabilitiesProbe) {
  auto h = ready();
  auto r = h.run({0x1A, 0x00, 0x2A, 0x00, 0x80, 0x00}, 128);
  ASSERT_TRUE(r.good());
  ASSERT_GE(r.data.size(), 4u);
  EXPECT_LE(r.data.size(), 128u);
  EXPECT_EQ(r.data[0] + 1u, r.data.size());  // mode data length
  EXPECT_EQ(r.data[3], 0);                   // no block descriptors
  const size_t n = 4;
  EXPECT_EQ(r.data[n] & 0x3F, 0x2A);
  EXPECT_EQ(r.data[n + 1] + 2u, r.data.size() - n);
  EXPECT_EQ(r.data[n + 2], 0x3F);      // BD drive: DVD-ROM read (bit 3) and friends
  EXPECT_EQ(r.data[n + 3], 0x00);      // no write capability
  EXPECT_EQ(r.data[n + 5] & 0x01, 1);  // CD-DA commands supported
  EXPECT_EQ(r.data[n + 6], 0x29);      // tray, eject, lock; not locked
  EXPECT_EQ(wire::get_u16(r.data, n + 8), 8467);
  EXPECT_EQ(wire::get_u16(r.data, n + 14), 8467);
  ASSERT_TRUE(h.run({0x1E, 0, 0, 0, 1, 0}, 0).good());
  r = h.run({0x5A, 0x08, 0x2A, 0x00, 0, 0, 0, 0, 0x80, 0}, 128);  // MODE SENSE(10), DBD=1 (Windows)
  ASSERT_TRUE(r.good());
  EXPECT_EQ(wire::get_u16(r.data, 0) + 2u, r.data.size());
  EXPECT_EQ(wire::get_u16(r.data, 6), 0);
  EXPECT_EQ(r.data[8 + 6], 0x2B);  // lock state
}

TEST(ModeSense, CdRomDriveHasNoDvdBits) {
  Identity id;
  id.kind = DriveKind::cd_rom;
  auto h = ready(id);
  auto r = h.run({0x1A, 0x00, 0x2A, 0x00, 0x80, 0x00}, 128);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[4 + 2], 0x07);
  EXPECT_EQ(wire::get_u16(r.data, 4 + 22), 0);  // no CSS copy management
}

TEST(ModeSense, AllPagesInOrderAndPageControl) {
  auto h = ready();
  auto r = h.run({0x5A, 0x00, 0x3F, 0x00, 0, 0, 0, 0x10, 0x00, 0}, 4096);
  ASSERT_TRUE(r.good());
  std::vector<uint8_t> codes;
  for (size_t at = 8; at + 1 < r.data.size(); at += 2 + r.data[at + 1]) codes.push_back(r.data[at] & 0x3F);
  EXPECT_EQ(codes, (std::vector<uint8_t>{0x01, 0x0A, 0x0D, 0x0E, 0x1A, 0x1D, 0x2A}));
  // Page 0Eh defaults (MMC-3 5.5.3).
  r = h.run({0x5A, 0x00, 0x0E, 0x00, 0, 0, 0, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  const std::vector<uint8_t> audio = {0x0E, 0x0E, 0x04, 0, 0, 0, 0, 0, 0x01, 0xFF, 0x02, 0xFF, 0, 0, 0, 0};
  EXPECT_EQ(std::vector<uint8_t>(r.data.begin() + 8, r.data.end()), audio);
  // Changeable mask of 0Eh: volumes.
  r = h.run({0x5A, 0x00, 0x4E, 0x00, 0, 0, 0, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[8 + 9], 0xFF);
  EXPECT_EQ(r.data[8 + 2], 0x02);
  // Defaults equal current here.
  auto d = h.run({0x5A, 0x00, 0x8E, 0x00, 0, 0, 0, 0, 0xFF, 0}, 255);
  EXPECT_EQ(std::vector<uint8_t>(d.data.begin() + 8, d.data.end()), audio);
  // Saved values: not supported.
  r = h.run({0x5A, 0x00, 0xCE, 0x00, 0, 0, 0, 0, 0xFF, 0}, 255);
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kSavingParametersNotSupported));
}

TEST(ModeSense, Errors) {
  auto h = ready();
  auto r = h.run({0x1A, 0x00, 0x05, 0x00, 0xFF, 0x00}, 255);  // write parameters page: not on a ROM drive
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 2);
  EXPECT_EQ(r.sks_bit(), 5);
  r = h.run({0x1A, 0x00, 0x2A, 0x01, 0xFF, 0x00}, 255);  // subpage
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 3);
  EXPECT_TRUE(h.run({0x1A, 0x00, 0x3F, 0xFF, 0xFF, 0x00}, 255).good());
  r = h.run({0x1A, 0x00, 0x30, 0x00, 0xFF, 0x00}, 255);  // Apple page off by default
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
}

TEST(ModeSense, AppleVendorPage) {
  Identity id;
  id.apple_vendor_page = true;
  auto h = ready(id);
  auto r = h.run({0x1A, 0x00, 0x30, 0x00, 0xFF, 0x00}, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[4], 0x30);
  EXPECT_EQ(text(r.data, 6, 19), "APPLE COMPUTER, INC");
}

TEST(ModeSense, WorksWithoutMedium) {
  ScsiHarness h;
  h.clear_unit_attentions();
  EXPECT_TRUE(h.run({0x1A, 0x00, 0x2A, 0x00, 0x80, 0x00}, 128).good());
}

std::vector<uint8_t> mode_select10_params(std::vector<uint8_t> page) {
  std::vector<uint8_t> p(8, 0);
  p.insert(p.end(), page.begin(), page.end());
  return p;
}

TEST(ModeSelect, VolumeChangeAsLinuxCdromVolctrl) {
  auto h = ready();
  h.clear_unit_attentions(2);
  std::vector<uint8_t> page = {0x0E, 0x0E, 0x04, 0, 0, 0, 0, 0, 0x01, 0x80, 0x02, 0x40, 0, 0, 0, 0};
  auto params = mode_select10_params(page);
  auto r = h.run({0x55, 0x10, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(params.size()), 0}, 0, 1, params);
  ASSERT_TRUE(r.good()) << std::hex << int(r.asc().asc);
  EXPECT_EQ(r.response.residual, 0);
  r = h.run({0x5A, 0x00, 0x0E, 0x00, 0, 0, 0, 0, 0xFF, 0}, 255);
  EXPECT_EQ(r.data[8 + 9], 0x80);
  EXPECT_EQ(r.data[8 + 11], 0x40);
  // The other initiator hears about it, the one that changed it does not.
  EXPECT_FALSE(h.drive().has_unit_attention(1));
  EXPECT_TRUE(h.run({0x00, 0, 0, 0, 0, 0}, 0, 2).is(SenseKey::unit_attention, asc::kModeParametersChanged));
  // Same values again: no change, no UA.
  ASSERT_TRUE(h.run({0x55, 0x10, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(params.size()), 0}, 0, 1, params).good());
  EXPECT_FALSE(h.drive().has_unit_attention(2));
  // A logical unit reset restores defaults.
  h.drive().logical_unit_reset();
  h.clear_unit_attentions();
  r = h.run({0x5A, 0x00, 0x0E, 0x00, 0, 0, 0, 0, 0xFF, 0}, 255);
  EXPECT_EQ(r.data[8 + 9], 0xFF);
}

// libiscsi SCSI.ModeSense6.Control-D_SENSE: control mode page 0Ah (SPC-5
// 7.5.10) through MODE SENSE(6) with every page control, D_SENSE the only
// changeable field; with D_SENSE=1 CHECK CONDITION carries descriptor sense
// (SPC-5 4.4.2, 72h) for every initiator, REQUEST SENSE still follows DESC.
TEST(ModeSelect, ControlPageDescriptorSense) {
  auto h = ready();
  h.clear_unit_attentions(2);
  const std::vector<uint8_t> control = {0x0A, 0x0A, 0x02, 0x10, 0, 0, 0, 0, 0, 0, 0, 0};
  auto r = h.run({0x1A, 0x08, 0x0A, 0, 0xFF, 0}, 255);  // current values, DBD=1
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 4 + control.size());
  EXPECT_EQ(r.data[0], 3 + control.size());  // MODE DATA LENGTH
  EXPECT_EQ(r.data[3], 0);                   // no block descriptors
  EXPECT_EQ(std::vector<uint8_t>(r.data.begin() + 4, r.data.end()), control);
  r = h.run({0x1A, 0x00, 0x4A, 0, 0xFF, 0}, 255);  // changeable
  ASSERT_TRUE(r.good());
  EXPECT_EQ(std::vector<uint8_t>(r.data.begin() + 4, r.data.end()),
            (std::vector<uint8_t>{0x0A, 0x0A, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  r = h.run({0x1A, 0x00, 0x8A, 0, 0xFF, 0}, 255);  // default
  EXPECT_EQ(std::vector<uint8_t>(r.data.begin() + 4, r.data.end()), control);
  // Linux's page 2Ah probe is unaffected (MODE SENSE(6), no block descriptors).
  r = h.run({0x1A, 0x00, 0x2A, 0, 128, 0}, 128);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[3], 0);
  EXPECT_EQ(r.data[4], 0x2A);
  // Fixed sense before.
  const std::vector<uint8_t> read_past_end = {0x28, 0, 0, 0, 0xC3, 0x50, 0, 0, 1, 0};  // LBA 50000
  r = h.run(read_past_end, 2048);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kLbaOutOfRange));
  // SWP (byte 4 bit 3) is not changeable: 26/00 at parameter byte 4+4, bit 3.
  std::vector<uint8_t> p6 = {0, 0, 0, 0};
  p6.insert(p6.end(), control.begin(), control.end());
  p6[4 + 4] = 0x08;
  r = h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(p6.size()), 0}, 0, 1, p6);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
  EXPECT_EQ(r.sks_field(), 8);
  EXPECT_EQ(r.sks_bit(), 3);
  // D_SENSE=1 through MODE SELECT(6).
  p6[4 + 4] = 0;
  p6[4 + 2] |= 0x04;
  ASSERT_TRUE(h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(p6.size()), 0}, 0, 1, p6).good());
  r = h.run({0x1A, 0x00, 0x0A, 0, 0xFF, 0}, 255);
  EXPECT_EQ(r.data[4 + 2], 0x06);
  for (InitiatorId who : {InitiatorId{1}, InitiatorId{2}}) {
    if (who == 2) {  // the other initiator first hears MODE PARAMETERS CHANGED, in descriptor format
      r = h.run(read_past_end, 2048, who);
      ASSERT_TRUE(r.check());
      ASSERT_EQ(r.response.sense[0], 0x72);
      EXPECT_EQ(r.response.sense[1], 0x06);
      EXPECT_EQ(r.response.sense[2], 0x2A);
      EXPECT_EQ(r.response.sense[3], 0x01);
    }
    r = h.run(read_past_end, 2048, who);
    ASSERT_TRUE(r.check());
    ASSERT_EQ(r.response.sense_length, 8 + 12);
    EXPECT_EQ(r.response.sense[0], 0x72);  // current, descriptor format
    EXPECT_EQ(r.response.sense[1], 0x05);
    EXPECT_EQ(r.response.sense[2], 0x21);
    EXPECT_EQ(r.response.sense[3], 0x00);
    EXPECT_EQ(r.response.sense[7], 12);    // ADDITIONAL SENSE LENGTH
    EXPECT_EQ(r.response.sense[8], 0x00);  // information descriptor
    EXPECT_EQ(r.response.sense[10], 0x80);  // VALID
    EXPECT_EQ(wire::get_u32(std::span<const uint8_t>(r.response.sense).subspan(16, 4), 0), 50000u);
  }
  // Field pointers travel in the sense-key specific descriptor.
  r = h.run({0x12, 0x02, 0, 0, 36, 0}, 36);  // INQUIRY CMDDT
  ASSERT_TRUE(r.check());
  ASSERT_EQ(r.response.sense_length, 8 + 8);
  EXPECT_EQ(r.response.sense[8], 0x02);
  EXPECT_EQ(r.response.sense[12], 0xC8 | 1);  // SKSV, C/D, BPV, bit 1
  EXPECT_EQ(r.response.sense[14], 1);         // CDB byte 1
  // REQUEST SENSE with DESC=0 still answers in fixed format.
  r = h.run({0x03, 0, 0, 0, 18, 0}, 18);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[0], 0x70);
  // A logical unit reset restores fixed-format sense.
  h.drive().logical_unit_reset();
  h.clear_unit_attentions();
  r = h.run(read_past_end, 2048);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kLbaOutOfRange));
  EXPECT_EQ(r.response.sense[0] & 0x7F, 0x70);
}

TEST(ModeSelect, SixByteFormAndErrors) {
  auto h = ready();
  std::vector<uint8_t> p6 = {0, 0, 0, 0, 0x0E, 0x0E, 0x04, 0, 0, 0, 0, 0, 0x01, 0x10, 0x02, 0x10, 0, 0, 0, 0};
  EXPECT_TRUE(h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(p6.size()), 0}, 0, 1, p6).good());
  // PF=0 / SP=1.
  auto r = h.run({0x15, 0x00, 0, 0, static_cast<uint8_t>(p6.size()), 0}, 0, 1, p6);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_bit(), 4);
  r = h.run({0x15, 0x11, 0, 0, static_cast<uint8_t>(p6.size()), 0}, 0, 1, p6);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_bit(), 0);
  // IMMED is not changeable: 26/00 pointing at parameter byte 6, bit 2.
  auto bad = p6;
  bad[6] = 0x00;
  r = h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(bad.size()), 0}, 0, 1, bad);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
  EXPECT_FALSE(r.sks_in_cdb());
  EXPECT_EQ(r.sks_field(), 6);
  EXPECT_EQ(r.sks_bit(), 2);
  // Wrong page length.
  bad = p6;
  bad[5] = 0x0A;
  r = h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(bad.size()), 0}, 0, 1, bad);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
  EXPECT_EQ(r.sks_field(), 5);
  // Unsupported page 05h.
  bad = p6;
  bad[4] = 0x05;
  r = h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(bad.size()), 0}, 0, 1, bad);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
  EXPECT_EQ(r.sks_field(), 4);
  // Page cut short by the parameter list length.
  std::vector<uint8_t> cut(p6.begin(), p6.begin() + 10);
  r = h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(cut.size()), 0}, 0, 1, cut);
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kParameterListLengthError));
  // Changing page 2Ah's fixed bits is refused; echoing it back is accepted.
  auto cur = h.run({0x1A, 0x08, 0x2A, 0x00, 0xFF, 0x00}, 255);
  std::vector<uint8_t> echo = cur.data;
  echo[0] = 0;
  EXPECT_TRUE(h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(echo.size()), 0}, 0, 1, echo).good());
  echo[4 + 3] = 0x01;  // CD-R write
  r = h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(echo.size()), 0}, 0, 1, echo);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
  EXPECT_EQ(r.sks_field(), 7);
  // Zero length: nothing to do.
  EXPECT_TRUE(h.run({0x15, 0x10, 0, 0, 0, 0}, 0).good());
  // Block descriptor with 2048-byte blocks is accepted, others refused.
  std::vector<uint8_t> bd = {0, 0, 0, 8, 0, 0, 0, 0, 0, 0x00, 0x08, 0x00};
  EXPECT_TRUE(h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(bd.size()), 0}, 0, 1, bd).good());
  bd[10] = 0x09;
  bd[11] = 0x30;  // 2352
  EXPECT_TRUE(h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(bd.size()), 0}, 0, 1, bd)
                  .is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
}

TEST(ModeSelect, HeaderAndBlockDescriptorErrors) {
  auto h = ready();
  // Parameter list shorter than the MODE SELECT(10) header.
  std::vector<uint8_t> p = {0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(h.run({0x55, 0x10, 0, 0, 0, 0, 0, 0, 6, 0}, 0, 1, p).is(SenseKey::illegal_request, asc::kParameterListLengthError));
  // Fewer bytes sent than the parameter list length says.
  p = {0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_TRUE(h.run({0x55, 0x10, 0, 0, 0, 0, 0, 0, 24, 0}, 0, 1, p).is(SenseKey::illegal_request, asc::kParameterListLengthError));
  // Block descriptor length 4: neither 0 nor 8.
  p = {0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0};
  auto r = h.run({0x55, 0x10, 0, 0, 0, 0, 0, 0, 12, 0}, 0, 1, p);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
  EXPECT_EQ(r.sks_field(), 6);
  // SPF (sub-page format) set on a page.
  std::vector<uint8_t> spf = {0, 0, 0, 0, 0x4E, 0x0E, 0x04, 0, 0, 0, 0, 0, 0x01, 0xFF, 0x02, 0xFF, 0, 0, 0, 0};
  r = h.run({0x15, 0x10, 0, 0, static_cast<uint8_t>(spf.size()), 0}, 0, 1, spf);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
  EXPECT_EQ(r.sks_field(), 4);
  EXPECT_EQ(r.sks_bit(), 6);
  // A lone page code byte with no page length.
  std::vector<uint8_t> lone = {0, 0, 0, 0, 0x0E};
  EXPECT_TRUE(h.run({0x15, 0x10, 0, 0, 5, 0}, 0, 1, lone).is(SenseKey::illegal_request, asc::kParameterListLengthError));
}

TEST(ReportLuns, OneLun) {
  ScsiHarness h;
  auto r = h.run({0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 16u);
  EXPECT_EQ(wire::get_u32(r.data, 0), 8u);
  EXPECT_EQ(wire::get_u64(r.data, 8), 0u);
  r = h.run({0xA0, 0, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(wire::get_u32(r.data, 0), 0u);
  r = h.run({0xA0, 0, 0x07, 0, 0, 0, 0, 0, 1, 0, 0, 0}, 256);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 2);
}

TEST(ReportSupportedOperationCodes, AllAndOne) {
  auto h = ready();
  auto r = h.run({0xA3, 0x0C, 0x00, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, 4096);
  ASSERT_TRUE(r.good());
  const uint32_t len = wire::get_u32(r.data, 0);
  ASSERT_EQ(len + 4, r.data.size());
  ASSERT_EQ(len % 8, 0u);
  std::vector<uint8_t> ops;
  for (size_t at = 4; at < r.data.size(); at += 8) ops.push_back(r.data[at]);
  for (uint8_t op : {0x00, 0x03, 0x12, 0x1A, 0x25, 0x28, 0x46, 0x4A, 0x5A, 0xA8}) {
    EXPECT_NE(std::find(ops.begin(), ops.end(), op), ops.end()) << std::hex << int(op);
  }
  EXPECT_EQ(std::find(ops.begin(), ops.end(), 0x2A), ops.end());  // no WRITE(10)
  // One command: READ(10).
  r = h.run({0xA3, 0x0C, 0x01, 0x28, 0, 0, 0, 0, 0x01, 0, 0, 0}, 256);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[1] & 0x07, 0x03);
  EXPECT_EQ(wire::get_u16(r.data, 2), 10);
  ASSERT_EQ(r.data.size(), 14u);
  EXPECT_EQ(r.data[4], 0x28);
  // Not supported: WRITE(10).
  r = h.run({0xA3, 0x0C, 0x01, 0x2A, 0, 0, 0, 0, 0x01, 0, 0, 0}, 256);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[1] & 0x07, 0x01);
  // With timeouts descriptors.
  r = h.run({0xA3, 0x0C, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0}, 4096);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(wire::get_u32(r.data, 0) % 20, 0u);
  EXPECT_EQ(r.data[4 + 5] & 0x02, 0x02);  // CTDP
  // Reporting option 1 on MAINTENANCE IN itself (it has service actions): 24/00.
  EXPECT_TRUE(h.run({0xA3, 0x0C, 0x01, 0xA3, 0, 0, 0, 0, 0x01, 0, 0, 0}, 256)
                  .is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  // Reporting option 2 (opcode + service action) on a command without service actions.
  EXPECT_TRUE(h.run({0xA3, 0x0C, 0x02, 0x28, 0, 0, 0, 0, 0x01, 0, 0, 0}, 256)
                  .is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  // Option 2 on MAINTENANCE IN with another service action: not supported.
  r = h.run({0xA3, 0x0C, 0x02, 0xA3, 0x00, 0x05, 0, 0, 0x01, 0, 0, 0}, 256);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data[1] & 0x07, 0x01);
  // Reserved reporting options.
  r = h.run({0xA3, 0x0C, 0x05, 0, 0, 0, 0, 0, 0x01, 0, 0, 0}, 256);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 2);
  // Other service actions of A3h (SEND KEY with byte 1 reserved): 24/00 at byte 1.
  r = h.run({0xA3, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 1);
}

TEST(SetStreaming, AcceptsPerformanceDescriptor) {
  auto h = ready();
  std::vector<uint8_t> d(28, 0);
  d[8] = 0x01;  // END LBA
  EXPECT_TRUE(h.run({0xB6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 28, 0}, 0, 1, d).good());
  d[4] = 0x02;  // START LBA > END LBA
  EXPECT_TRUE(h.run({0xB6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 28, 0}, 0, 1, d)
                  .is(SenseKey::illegal_request, asc::kInvalidFieldInParameterList));
  EXPECT_TRUE(h.run({0xB6, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 28, 0}, 0, 1, d)
                  .is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  std::vector<uint8_t> short_list(12, 0);
  EXPECT_TRUE(h.run({0xB6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0}, 0, 1, short_list)
                  .is(SenseKey::illegal_request, asc::kParameterListLengthError));
}

TEST(SynchronizeCache, Good) {
  auto h = ready();
  EXPECT_TRUE(h.run({0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0).good());
}

}  // namespace
}  // namespace udisc::device
