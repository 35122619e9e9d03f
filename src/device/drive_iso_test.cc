// The engine over a real file-backed image (formats::open_image on a plain
// 2048-byte ISO): READ CAPACITY, READ(10) to the last sector and beyond, and
// GET CONFIGURATION's profile for the image's size class.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "device/drive.h"
#include "device/testing/scsi_harness.h"
#include "device/wire.h"
#include "formats/open.h"

namespace udisc::device {
namespace {

using testing::ScsiHarness;

class TempIso {
 public:
  explicit TempIso(uint32_t sectors) {
    char tmpl[] = "/tmp/udisc-drive-iso-XXXXXX";
    const int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    path_ = tmpl;
    std::vector<uint8_t> sector(2048);
    for (uint32_t s = 0; s < sectors; ++s) {
      for (size_t i = 0; i < sector.size(); ++i) sector[i] = static_cast<uint8_t>(s + i);
      EXPECT_EQ(pwrite(fd, sector.data(), sector.size(), off_t{s} * 2048), 2048);
    }
    close(fd);
  }
  ~TempIso() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(DriveOnIso, CapacityReadsAndEndOfDisc) {
  constexpr uint32_t kSectors = 600;
  TempIso iso(kSectors);
  auto image = formats::open_image(iso.path());
  ASSERT_TRUE(image.ok()) << image.status().message();
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(image.value()).ok());
  h.clear_unit_attentions();
  auto r = h.run({0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(wire::get_u32(r.data, 0), kSectors - 1);
  EXPECT_EQ(wire::get_u32(r.data, 4), 2048u);
  r = h.run({0x28, 0, 0, 0, 0x02, 0x56, 0, 0, 2, 0}, 4096);  // LBA 598, 2 sectors: the last two
  ASSERT_TRUE(r.good());
  ASSERT_EQ(r.data.size(), 4096u);
  EXPECT_EQ(r.data[0], static_cast<uint8_t>(598));
  EXPECT_EQ(r.data[2048 + 5], static_cast<uint8_t>(599 + 5));
  r = h.run({0x28, 0, 0, 0, 0x02, 0x57, 0, 0, 2, 0}, 4096);  // 599 + 1 past the end
  EXPECT_TRUE(r.is(SenseKey::illegal_request, asc::kLbaOutOfRange));
  r = h.run({0x46, 0, 0, 0, 0, 0, 0, 0, 8, 0}, 8);
  ASSERT_TRUE(r.good());
  EXPECT_EQ(wire::get_u16(r.data, 6), 0x0008);  // a small plain image is a CD-ROM
}

}  // namespace
}  // namespace udisc::device
