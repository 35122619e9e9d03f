// Every command with variable-length data-in, at every allocation length
// 0..N (and with larger and smaller expected transfer lengths): the data is
// the prefix of the full response, nothing is written past the allocation
// length or the buffer, and the SAM residual is right (SPC-5 4.2.5.6).
#include <gtest/gtest.h>

#include <string>

#include "device/drive.h"
#include "device/testing/memory_image.h"
#include "device/testing/scsi_harness.h"

namespace udisc::device {
namespace {

using testing::MemoryImage;
using testing::ScsiHarness;

struct Case {
  std::string name;
  std::vector<uint8_t> cdb;
  size_t alloc_at;  // offset of the allocation length field
  int alloc_bytes;  // 1, 2 or 4
};

std::vector<uint8_t> with_alloc(const Case& c, uint32_t alloc) {
  std::vector<uint8_t> cdb = c.cdb;
  for (int i = 0; i < c.alloc_bytes; ++i) {
    cdb[c.alloc_at + static_cast<size_t>(i)] = static_cast<uint8_t>(alloc >> (8 * (c.alloc_bytes - 1 - i)));
  }
  return cdb;
}

std::vector<Case> cases() {
  return {
      {"INQUIRY standard", {0x12, 0, 0, 0, 0, 0}, 3, 2},
      {"INQUIRY VPD 00h", {0x12, 1, 0x00, 0, 0, 0}, 3, 2},
      {"INQUIRY VPD 80h", {0x12, 1, 0x80, 0, 0, 0}, 3, 2},
      {"INQUIRY VPD 83h", {0x12, 1, 0x83, 0, 0, 0}, 3, 2},
      {"REQUEST SENSE fixed", {0x03, 0, 0, 0, 0, 0}, 4, 1},
      {"REQUEST SENSE descriptor", {0x03, 1, 0, 0, 0, 0}, 4, 1},
      {"MODE SENSE(6) 2Ah", {0x1A, 0, 0x2A, 0, 0, 0}, 4, 1},
      {"MODE SENSE(6) 3Fh", {0x1A, 0, 0x3F, 0, 0, 0}, 4, 1},
      {"MODE SENSE(10) 3Fh", {0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 0, 0}, 7, 2},
      {"MODE SENSE(10) 0Eh changeable", {0x5A, 0, 0x4E, 0, 0, 0, 0, 0, 0, 0}, 7, 2},
      {"GET CONFIGURATION all", {0x46, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 7, 2},
      {"GET CONFIGURATION current", {0x46, 1, 0, 0, 0, 0, 0, 0, 0, 0}, 7, 2},
      {"GET CONFIGURATION one", {0x46, 2, 0, 0x1E, 0, 0, 0, 0, 0, 0}, 7, 2},
      {"GESN media", {0x4A, 1, 0, 0, 0x10, 0, 0, 0, 0, 0}, 7, 2},
      {"GESN all classes", {0x4A, 1, 0, 0, 0x7E, 0, 0, 0, 0, 0}, 7, 2},
      {"REPORT LUNS", {0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 6, 4},
      {"REPORT SUPPORTED OPERATION CODES all", {0xA3, 0x0C, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 6, 4},
      {"REPORT SUPPORTED OPERATION CODES one", {0xA3, 0x0C, 1, 0x28, 0, 0, 0, 0, 0, 0, 0, 0}, 6, 4},
  };
}

class AllocationLength : public ::testing::TestWithParam<int> {};

void check_all_lengths(ScsiHarness& h, const Case& c) {
  auto full = h.run(with_alloc(c, 0xFFFF), 0xFFFF);
  ASSERT_TRUE(full.good()) << c.name;
  const size_t n = full.data.size();
  ASSERT_GT(n, 0u) << c.name;
  for (uint32_t alloc = 0; alloc <= n + 8; ++alloc) {
    // Expected transfer length equal to, larger than and smaller than the allocation length.
    for (uint32_t edtl : {alloc, alloc + 100, alloc / 2}) {
      auto r = h.run(with_alloc(c, alloc), edtl);
      ASSERT_TRUE(r.good()) << c.name << " alloc " << alloc;
      const size_t wanted = std::min<size_t>(alloc, n);
      const size_t got = std::min<size_t>(wanted, edtl);
      ASSERT_EQ(r.data.size(), got) << c.name << " alloc " << alloc << " edtl " << edtl;
      ASSERT_TRUE(std::equal(r.data.begin(), r.data.end(), full.data.begin())) << c.name << " alloc " << alloc;
      ASSERT_TRUE(r.guard_intact) << c.name << " alloc " << alloc << " edtl " << edtl;
      ASSERT_EQ(r.response.residual, static_cast<int64_t>(edtl) - static_cast<int64_t>(wanted))
          << c.name << " alloc " << alloc << " edtl " << edtl;
    }
  }
}

TEST(AllocationLength, EveryCommandEveryLengthWithCd) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::cd_mixed_mode()).ok());
  h.clear_unit_attentions();
  h.run({0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0}, 8);  // take the NewMedia event
  for (const Case& c : cases()) check_all_lengths(h, c);
}

TEST(AllocationLength, EveryCommandEveryLengthWithoutMedium) {
  Identity id;
  id.kind = DriveKind::dvd_rom;
  id.apple_vendor_page = true;
  ScsiHarness h(id);
  h.clear_unit_attentions();
  for (const Case& c : cases()) check_all_lengths(h, c);
}

TEST(AllocationLength, SplitBuffersNeverOverflow) {
  ScsiHarness h;
  ASSERT_TRUE(h.drive().insert(MemoryImage::bd(1 << 16)).ok());
  h.clear_unit_attentions();
  h.run({0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8, 0}, 8);  // take the NewMedia event
  for (const Case& c : cases()) {
    auto full = h.run(with_alloc(c, 0xFFFF), 0xFFFF);
    const uint32_t n = static_cast<uint32_t>(full.data.size());
    for (uint32_t first = 0; first <= n; first += 3) {
      auto r = h.run(with_alloc(c, 0xFFFF), n, 1, {}, {first, n - first});
      ASSERT_TRUE(r.good());
      ASSERT_EQ(r.data, full.data) << c.name << " split at " << first;
      ASSERT_TRUE(r.guard_intact);
    }
  }
}

}  // namespace
}  // namespace udisc::device
