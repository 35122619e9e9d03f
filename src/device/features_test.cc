// GET CONFIGURATION (MMC-6 6.6) profiles and features for CD, DVD and BD
// media in CD-ROM, DVD-ROM and BD-ROM drives. Expected values from MMC-6:
// profile numbers Table 91 (0008h CD-ROM, 0010h DVD-ROM, 0040h BD-ROM);
// feature descriptor generic header 5.2.2 (byte 2 = version << 2 |
// persistent << 1 | current, byte 3 additional length, a multiple of 4);
// Profile List 5.3.1; Core 5.3.2; Morphing 5.3.3; Removable Medium 5.3.4;
// Random Readable 5.3.5 (blocking: 1 for CD, 16 for DVD, 32 for BD); Multi-
// Read 5.3.11; CD Read 5.3.12; DVD Read 5.3.13; BD Read 5.3.24; Power
// Management 5.3.27; CD External Audio Play 5.3.29; Timeout 5.3.31; DVD CSS
// 5.3.32; Real-Time Streaming 5.3.33; Drive Serial Number 5.3.34.
// mmc-expectations §2.3 tabulates the same per drive type.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "device/drive.h"
#include "device/features.h"
#include "device/testing/memory_image.h"
#include "device/testing/scsi_harness.h"
#include "device/wire.h"

namespace udisc::device {
namespace {

using testing::MemoryImage;
using testing::ScsiHarness;

struct Desc {
  uint8_t version;
  bool persistent;
  bool current;
  std::vector<uint8_t> data;
};
struct Config {
  uint32_t data_length = 0;
  uint16_t current_profile = 0;
  std::vector<uint16_t> order;
  std::map<uint16_t, Desc> features;
};

Config parse(const std::vector<uint8_t>& d) {
  Config c;
  EXPECT_GE(d.size(), 8u);
  c.data_length = wire::get_u32(d, 0);
  c.current_profile = wire::get_u16(d, 6);
  size_t at = 8;
  while (at + 4 <= d.size()) {
    const uint16_t code = wire::get_u16(d, at);
    const uint8_t len = d[at + 3];
    EXPECT_EQ(len % 4, 0) << "feature " << std::hex << code;
    Desc desc{static_cast<uint8_t>(d[at + 2] >> 2), (d[at + 2] & 2) != 0, (d[at + 2] & 1) != 0,
              std::vector<uint8_t>(d.begin() + static_cast<long>(at + 4), d.begin() + static_cast<long>(std::min(d.size(), at + 4 + len)))};
    c.order.push_back(code);
    c.features[code] = desc;
    at += 4 + len;
  }
  EXPECT_EQ(at, d.size());
  return c;
}

Config get_config(ScsiHarness& h, uint8_t rt = 0, uint16_t sfn = 0) {
  auto r = h.run({0x46, rt, static_cast<uint8_t>(sfn >> 8), static_cast<uint8_t>(sfn), 0, 0, 0, 0xFF, 0xFF, 0}, 65535);
  EXPECT_TRUE(r.good());
  EXPECT_EQ(r.data.size() % 4, 0u);
  EXPECT_EQ(wire::get_u32(r.data, 0) + 4, r.data.size());
  return parse(r.data);
}

std::vector<std::pair<uint16_t, bool>> profiles(const Config& c) {
  std::vector<std::pair<uint16_t, bool>> v;
  const auto& d = c.features.at(feature::kProfileList).data;
  for (size_t i = 0; i + 4 <= d.size(); i += 4) v.emplace_back(wire::get_u16(d, i), (d[i + 2] & 1) != 0);
  return v;
}

ScsiHarness drive_with(DriveKind kind, std::shared_ptr<MemoryImage> image) {
  Identity id;
  id.kind = kind;
  id.serial = "SN12345";
  ScsiHarness h(id);
  if (image) {
    EXPECT_TRUE(h.drive().insert(image).ok());
  }
  return h;
}

TEST(GetConfiguration, CdRomDriveWithCd) {
  auto h = drive_with(DriveKind::cd_rom, MemoryImage::cd_mixed_mode());
  Config c = get_config(h);
  EXPECT_EQ(c.current_profile, 0x0008);
  EXPECT_EQ(profiles(c), (std::vector<std::pair<uint16_t, bool>>{{0x0008, true}}));
  EXPECT_EQ(c.order, (std::vector<uint16_t>{0x0000, 0x0001, 0x0002, 0x0003, 0x0010, 0x001D, 0x001E, 0x0100, 0x0103,
                                            0x0105, 0x0107, 0x0108}));
  for (uint16_t f : {0x0000, 0x0001, 0x0002, 0x0003, 0x0100, 0x0105, 0x0108}) {
    EXPECT_TRUE(c.features[f].persistent) << f;
    EXPECT_TRUE(c.features[f].current) << f;
  }
  for (uint16_t f : {0x0010, 0x001D, 0x001E, 0x0103, 0x0107}) EXPECT_TRUE(c.features[f].current) << f;
  // Core: SCSI interface, DBE (GESN device busy class answered).
  EXPECT_EQ(c.features[0x0001].version, 2);
  EXPECT_EQ(wire::get_u32(c.features[0x0001].data, 0), 1u);
  EXPECT_EQ(c.features[0x0001].data[4] & 0x01, 1);
  // Removable Medium: tray, load, eject, lock.
  EXPECT_EQ(c.features[0x0003].data[0], 0x39);
  // Random Readable: 2048 bytes, blocking 1, PP.
  EXPECT_EQ(wire::get_u32(c.features[0x0010].data, 0), 2048u);
  EXPECT_EQ(wire::get_u16(c.features[0x0010].data, 4), 1);
  EXPECT_EQ(c.features[0x0010].data[6] & 1, 1);
  // Drive serial number.
  EXPECT_EQ(std::string(c.features[0x0108].data.begin(), c.features[0x0108].data.end()), "SN12345 ");
}

TEST(GetConfiguration, DvdRomDriveWithDvd) {
  auto h = drive_with(DriveKind::dvd_rom, MemoryImage::dvd(8192));
  Config c = get_config(h);
  EXPECT_EQ(c.current_profile, 0x0010);
  EXPECT_EQ(profiles(c), (std::vector<std::pair<uint16_t, bool>>{{0x0010, true}, {0x0008, false}}));
  EXPECT_TRUE(c.features[0x0010].current);
  EXPECT_EQ(wire::get_u16(c.features[0x0010].data, 4), 16);
  EXPECT_TRUE(c.features[0x001F].current);
  EXPECT_FALSE(c.features[0x001D].current);
  EXPECT_FALSE(c.features[0x001E].current);
  EXPECT_FALSE(c.features[0x0103].current);
  ASSERT_TRUE(c.features.count(0x0106));
  EXPECT_EQ(c.features[0x0106].data[3], 0x01);  // CSS version
  EXPECT_EQ(c.features.count(0x0040), 0u);
}

TEST(GetConfiguration, BdRomDriveWithBdDvdCdAndNothing) {
  auto h = drive_with(DriveKind::bd_rom, MemoryImage::bd(65536));
  Config c = get_config(h);
  EXPECT_EQ(c.current_profile, 0x0040);
  EXPECT_EQ(profiles(c), (std::vector<std::pair<uint16_t, bool>>{{0x0040, true}, {0x0010, false}, {0x0008, false}}));
  EXPECT_TRUE(c.features[0x0040].current);
  EXPECT_EQ(c.features[0x0040].data.size(), 0x1Cu);
  EXPECT_EQ(wire::get_u16(c.features[0x0040].data, 20), 0xFFFF);  // BD-ROM class 0 (descriptor bytes 24-25)
  EXPECT_EQ(wire::get_u16(c.features[0x0010].data, 4), 32);
  EXPECT_FALSE(c.features[0x001F].current);

  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  c = get_config(h);
  EXPECT_EQ(c.current_profile, 0x0008);
  EXPECT_EQ(profiles(c), (std::vector<std::pair<uint16_t, bool>>{{0x0040, false}, {0x0010, false}, {0x0008, true}}));
  EXPECT_TRUE(c.features[0x001E].current);
  EXPECT_FALSE(c.features[0x0040].current);

  ASSERT_TRUE(h.drive().insert(MemoryImage::dvd(8192)).ok());
  c = get_config(h);
  EXPECT_EQ(c.current_profile, 0x0010);

  ASSERT_TRUE(h.drive().eject().ok());
  c = get_config(h);
  EXPECT_EQ(c.current_profile, 0x0000);
  for (auto [p, cur] : profiles(c)) EXPECT_FALSE(cur) << p;
  for (uint16_t f : {0x0010, 0x001D, 0x001E, 0x001F, 0x0040, 0x0103, 0x0107}) EXPECT_FALSE(c.features[f].current) << f;
  EXPECT_TRUE(c.features[0x0001].current);
}

TEST(GetConfiguration, RequestTypesAndStartingFeature) {
  auto h = drive_with(DriveKind::bd_rom, MemoryImage::cd_mixed_mode());
  // RT=01b: current only.
  Config c = get_config(h, 1);
  for (const auto& [code, d] : c.features) EXPECT_TRUE(d.current) << code;
  EXPECT_EQ(c.features.count(0x0040), 0u);
  // RT=00b from 0100h.
  c = get_config(h, 0, 0x0100);
  EXPECT_EQ(c.order.front(), 0x0100);
  // RT=10b: exactly one.
  c = get_config(h, 2, 0x001E);
  EXPECT_EQ(c.order, (std::vector<uint16_t>{0x001E}));
  EXPECT_EQ(c.current_profile, 0x0008);
  // RT=10b of a feature the drive lacks (Random Writable 0020h): header only.
  auto r = h.run({0x46, 2, 0x00, 0x20, 0, 0, 0, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(r.data.size(), 8u);
  EXPECT_EQ(wire::get_u32(r.data, 0), 4u);
  // RT=11b: reserved.
  r = h.run({0x46, 3, 0, 0, 0, 0, 0, 0, 0xFF, 0}, 255);
  ASSERT_TRUE(r.is(SenseKey::illegal_request, asc::kInvalidFieldInCdb));
  EXPECT_EQ(r.sks_field(), 1);
  EXPECT_EQ(r.sks_bit(), 1);
}

TEST(GetConfiguration, EveryStartingFeatureAndRequestType) {
  for (auto image : {MemoryImage::cd_mixed_mode(), MemoryImage::dvd(4096), MemoryImage::bd(8192),
                     std::shared_ptr<MemoryImage>()}) {
    for (DriveKind kind : {DriveKind::cd_rom, DriveKind::dvd_rom, DriveKind::bd_rom}) {
      auto h = drive_with(kind, image);
      const Config all = get_config(h, 0);
      for (uint32_t sfn = 0; sfn <= 0x110; ++sfn) {
        for (uint8_t rt = 0; rt <= 2; ++rt) {
          Config c = get_config(h, rt, static_cast<uint16_t>(sfn));
          EXPECT_EQ(c.current_profile, all.current_profile);
          for (uint16_t code : c.order) {
            if (rt == 2) {
              EXPECT_EQ(code, sfn);
            } else {
              EXPECT_GE(code, sfn);
            }
            if (rt == 1) {
              EXPECT_TRUE(c.features[code].current);
            }
          }
          if (rt == 2) {
            EXPECT_EQ(c.order.size(), all.features.count(static_cast<uint16_t>(sfn)));
          }
          EXPECT_TRUE(std::is_sorted(c.order.begin(), c.order.end()));
        }
      }
    }
  }
}

TEST(GetConfiguration, HeaderOnlyProbeAsUdevAndWindowsDo) {
  auto h = drive_with(DriveKind::bd_rom, MemoryImage::dvd(8192));
  // Pending UA (power-on, new medium): GET CONFIGURATION still succeeds.
  ASSERT_TRUE(h.drive().has_unit_attention(1));
  auto r = h.run({0x46, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 8);
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 8u);
  EXPECT_EQ(wire::get_u16(r.data, 6), 0x0010);
  EXPECT_GT(wire::get_u32(r.data, 0), 4u);
  EXPECT_EQ(wire::get_u32(r.data, 0) % 4, 0u);
  EXPECT_TRUE(h.drive().has_unit_attention(1));
}

}  // namespace
}  // namespace udisc::device
