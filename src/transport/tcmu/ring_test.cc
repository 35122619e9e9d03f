// Ring parsing and completion against an in-memory mailbox, ring and data
// area laid out as the kernel lays them out (no kernel needed).
#include "transport/tcmu/ring.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace udisc::tcmu {
namespace {

namespace L = ring_layout;

// A fake UIO map: mailbox at 0, ring at 128, data area after the ring.
class FakeRing {
 public:
  static constexpr uint32_t kCmdrOff = 128, kCmdrSize = 4096 - 128, kDataOff = 4096, kMapSize = 4096 + 65536;

  explicit FakeRing(uint16_t flags = L::kCapReadLen) : mem(kMapSize, 0xEE) {
    std::memset(mem.data(), 0, kDataOff);
    put16(L::kMbVersion, 2);
    put16(L::kMbFlags, flags);
    put32(L::kMbCmdrOff, kCmdrOff);
    put32(L::kMbCmdrSize, kCmdrSize);
  }

  void put16(size_t off, uint16_t v) { std::memcpy(&mem[off], &v, 2); }
  void put32(size_t off, uint32_t v) { std::memcpy(&mem[off], &v, 4); }
  void put64(size_t off, uint64_t v) { std::memcpy(&mem[off], &v, 8); }
  uint32_t get32(size_t off) const {
    uint32_t v;
    std::memcpy(&v, &mem[off], 4);
    return v;
  }
  uint32_t head() const { return get32(L::kMbCmdHead); }
  uint32_t tail() const { return get32(L::kMbCmdTail); }

  // Queues a PAD of `len` bytes at the head.
  void pad(uint32_t len) {
    put32(kCmdrOff + head(), len | L::kOpPad);
    put32(L::kMbCmdHead, (head() + len) % kCmdrSize);
  }
  // Queues a command; iovecs are (offset in map, length). Returns entry offset.
  uint32_t cmd(uint16_t id, std::vector<uint8_t> cdb, std::vector<std::pair<uint64_t, uint64_t>> iov) {
    const uint32_t off = head();
    const uint32_t cdb_at = static_cast<uint32_t>(L::kReqIov + iov.size() * L::kIovecSize);
    uint32_t len = cdb_at + static_cast<uint32_t>(cdb.size());
    len = std::max<uint32_t>(len, L::kEntrySize);
    len = (len + 7) & ~7u;
    const size_t e = kCmdrOff + off;
    put32(e + L::kEntLenOp, len | L::kOpCmd);
    put16(e + L::kEntCmdId, id);
    mem[e + L::kEntUflags] = 0;
    put32(e + L::kReqIovCnt, static_cast<uint32_t>(iov.size()));
    put64(e + L::kReqCdbOff, e + cdb_at);
    for (size_t i = 0; i < iov.size(); ++i) {
      put64(e + L::kReqIov + i * 16, iov[i].first);
      put64(e + L::kReqIov + i * 16 + 8, iov[i].second);
    }
    std::memcpy(&mem[e + cdb_at], cdb.data(), cdb.size());
    put32(L::kMbCmdHead, (off + len) % kCmdrSize);
    return off;
  }

  std::vector<uint8_t> mem;
};

const std::vector<uint8_t> kRead10{0x28, 0, 0, 0, 0, 16, 0, 0, 2, 0};
const std::vector<uint8_t> kTur{0x00, 0, 0, 0, 0, 0};

TEST(CdbLength, ByGroup) {
  const uint8_t inq[] = {0x12}, r10[] = {0x28}, r12[] = {0xA8}, r16[] = {0x88}, grp3[] = {0x60};
  EXPECT_EQ(cdb_length(inq), 6u);
  EXPECT_EQ(cdb_length(r10), 10u);
  EXPECT_EQ(cdb_length(r12), 12u);
  EXPECT_EQ(cdb_length(r16), 16u);
  EXPECT_EQ(cdb_length(grp3), 0u);
  std::vector<uint8_t> var(8, 0);
  var[0] = 0x7F;
  var[7] = 24;
  EXPECT_EQ(cdb_length(var), 32u);
  EXPECT_EQ(cdb_length(std::span<const uint8_t>(var).first(5)), 0u);
}

TEST(DataDirection, ByOpcode) {
  EXPECT_EQ(data_direction(0x28, 4096), device::DataDirection::from_device);
  EXPECT_EQ(data_direction(0x55, 24), device::DataDirection::to_device);
  EXPECT_EQ(data_direction(0x00, 0), device::DataDirection::none);
  EXPECT_EQ(data_direction(0x42, 16), device::DataDirection::from_device);  // READ SUB-CHANNEL in MMC
}

TEST(Ring, AttachRejectsBadMailbox) {
  FakeRing f;
  f.put16(L::kMbVersion, 1);
  Ring r1(f.mem.data(), f.mem.size());
  EXPECT_FALSE(r1.attach().ok());
  FakeRing g;
  g.put32(L::kMbCmdrSize, FakeRing::kMapSize);  // ring beyond the map
  Ring r2(g.mem.data(), g.mem.size());
  EXPECT_EQ(r2.attach().code(), Status::Code::corruption);
  FakeRing h;
  Ring r3(h.mem.data(), 64);
  EXPECT_FALSE(r3.attach().ok());
  FakeRing k;
  k.put32(L::kMbCmdTail, 5);
  Ring r4(k.mem.data(), k.mem.size());
  EXPECT_FALSE(r4.attach().ok());
}

TEST(Ring, EmptyRingHasNothing) {
  FakeRing f;
  Ring r(f.mem.data(), f.mem.size());
  ASSERT_TRUE(r.attach().ok());
  RingCommand c;
  auto n = r.next(c);
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(*n);
}

TEST(Ring, ParsesCommandAndCompletesWithReadLen) {
  FakeRing f;
  f.cmd(7, kRead10, {{FakeRing::kDataOff, 2048}, {FakeRing::kDataOff + 8192, 2048}});
  Ring r(f.mem.data(), f.mem.size());
  ASSERT_TRUE(r.attach().ok());
  RingCommand c;
  auto n = r.next(c);
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(*n);
  EXPECT_TRUE(c.error.empty()) << c.error;
  EXPECT_EQ(c.cmd_id, 7);
  EXPECT_EQ(c.cdb, kRead10);
  ASSERT_EQ(c.iov.size(), 2u);
  EXPECT_EQ(c.iov[0].data(), f.mem.data() + FakeRing::kDataOff);
  EXPECT_EQ(c.iov[1].data(), f.mem.data() + FakeRing::kDataOff + 8192);
  EXPECT_EQ(c.data_length, 4096u);
  EXPECT_EQ(r.in_flight(), 1u);
  RingCommand none;
  ASSERT_FALSE(r.next(none).value());

  device::Response rsp;
  rsp.data_in_length = 3000;
  ASSERT_TRUE(r.complete(c, rsp).ok());
  EXPECT_EQ(f.tail(), f.head());
  const size_t e = FakeRing::kCmdrOff;
  EXPECT_EQ(f.mem[e + L::kRspScsiStatus], 0);
  EXPECT_EQ(f.mem[e + L::kEntUflags] & L::kUflagReadLen, L::kUflagReadLen);
  EXPECT_EQ(f.get32(e + L::kRspReadLen), 3000u);
  EXPECT_EQ(r.in_flight(), 0u);
}

TEST(Ring, ZeroFillsUnwrittenTailWithoutReadLen) {
  FakeRing f(0);
  f.cmd(1, {0x12, 0, 0, 0, 96, 0}, {{FakeRing::kDataOff, 64}, {FakeRing::kDataOff + 4096, 32}});
  Ring r(f.mem.data(), f.mem.size());
  ASSERT_TRUE(r.attach().ok());
  RingCommand c;
  ASSERT_TRUE(r.next(c).value());
  device::Response rsp;
  rsp.data_in_length = 36;
  ASSERT_TRUE(r.complete(c, rsp).ok());
  for (size_t i = 0; i < 36; ++i) EXPECT_EQ(f.mem[FakeRing::kDataOff + i], 0xEE) << i;
  for (size_t i = 36; i < 64; ++i) EXPECT_EQ(f.mem[FakeRing::kDataOff + i], 0) << i;
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(f.mem[FakeRing::kDataOff + 4096 + i], 0) << i;
  EXPECT_EQ(f.mem[FakeRing::kDataOff + 64], 0xEE);  // past the iovec: untouched
  EXPECT_EQ(f.mem[FakeRing::kCmdrOff + L::kEntUflags] & L::kUflagReadLen, 0);
}

TEST(Ring, CheckConditionCarriesSense) {
  FakeRing f;
  f.cmd(3, kTur, {});
  Ring r(f.mem.data(), f.mem.size());
  ASSERT_TRUE(r.attach().ok());
  RingCommand c;
  ASSERT_TRUE(r.next(c).value());
  device::Response rsp;
  rsp.status = device::ScsiStatus::check_condition;
  rsp.sense_length = 200;  // longer than the ring's 96-byte buffer: truncated
  for (size_t i = 0; i < rsp.sense.size(); ++i) rsp.sense[i] = static_cast<uint8_t>(i + 1);
  ASSERT_TRUE(r.complete(c, rsp).ok());
  const size_t e = FakeRing::kCmdrOff;
  EXPECT_EQ(f.mem[e + L::kRspScsiStatus], 0x02);
  EXPECT_EQ(f.mem[e + L::kRspSense], 1);
  EXPECT_EQ(f.mem[e + L::kRspSense + 95], 96);
  EXPECT_EQ(f.mem[e + L::kEntrySize], 0);  // nothing written past the entry
}

TEST(Ring, SkipsPadsAndWrapsAround) {
  FakeRing f;
  Ring r(f.mem.data(), f.mem.size());
  // Move head and tail near the end of the ring, as after many commands.
  const uint32_t start = FakeRing::kCmdrSize - 120;
  f.put32(L::kMbCmdHead, start);
  f.put32(L::kMbCmdTail, start);
  ASSERT_TRUE(r.attach().ok());
  f.pad(120);  // the kernel pads when a command does not fit before the end
  EXPECT_EQ(f.head(), 0u);
  f.cmd(9, kRead10, {{FakeRing::kDataOff, 4096}});
  f.cmd(10, kTur, {});
  RingCommand a, b;
  ASSERT_TRUE(r.next(a).value());
  ASSERT_TRUE(r.next(b).value());
  EXPECT_EQ(a.cmd_id, 9);
  EXPECT_EQ(b.cmd_id, 10);
  EXPECT_EQ(a.entry_offset, 0u);
  device::Response ok;
  ok.data_in_length = 4096;
  ASSERT_TRUE(r.complete(a, ok).ok());
  EXPECT_EQ(f.tail(), b.entry_offset);
  ASSERT_TRUE(r.complete(b, device::Response{}).ok());
  EXPECT_EQ(f.tail(), f.head());
  // The cmd_id of each completed entry is the one we completed.
  uint16_t id;
  std::memcpy(&id, &f.mem[FakeRing::kCmdrOff + b.entry_offset + L::kEntCmdId], 2);
  EXPECT_EQ(id, 10);
}

TEST(Ring, MalformedCommandEntriesAreReportedNotExecuted) {
  FakeRing f;
  Ring r(f.mem.data(), f.mem.size());
  ASSERT_TRUE(r.attach().ok());
  // iovec outside the data area (points into the ring)
  f.cmd(1, kRead10, {{FakeRing::kCmdrOff, 16}});
  // iovec running past the end of the map
  f.cmd(2, kRead10, {{FakeRing::kMapSize - 8, 16}});
  // overflowing iovec length
  f.cmd(3, kRead10, {{FakeRing::kDataOff, ~0ull}});
  // cdb_off pointing outside the entry
  const uint32_t e4 = f.cmd(4, kTur, {});
  f.put64(FakeRing::kCmdrOff + e4 + L::kReqCdbOff, 0);
  // iov_cnt larger than the entry holds
  const uint32_t e5 = f.cmd(5, kTur, {});
  f.put32(FakeRing::kCmdrOff + e5 + L::kReqIovCnt, 1000000);
  // reserved opcode group: unknown CDB length
  f.cmd(6, {0x60, 0, 0, 0, 0, 0}, {});
  for (uint16_t id = 1; id <= 6; ++id) {
    RingCommand c;
    auto n = r.next(c);
    ASSERT_TRUE(n.ok()) << n.status().message();
    ASSERT_TRUE(*n);
    EXPECT_EQ(c.cmd_id, id);
    EXPECT_FALSE(c.error.empty()) << "cmd " << id;
    EXPECT_TRUE(c.iov.empty());
    device::Response rsp;
    rsp.status = device::ScsiStatus::check_condition;
    ASSERT_TRUE(r.complete(c, rsp).ok());
  }
  EXPECT_EQ(f.tail(), f.head());
}

TEST(Ring, CorruptEntryLengthStopsParsing) {
  for (uint32_t bad : {0u, FakeRing::kCmdrSize + 8, 16u | L::kOpCmd}) {
    FakeRing f;
    Ring r(f.mem.data(), f.mem.size());
    ASSERT_TRUE(r.attach().ok());
    f.put32(FakeRing::kCmdrOff, bad);
    f.put32(L::kMbCmdHead, 256);
    RingCommand c;
    auto n = r.next(c);
    EXPECT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().code(), Status::Code::corruption);
  }
  FakeRing g;
  Ring r(g.mem.data(), g.mem.size());
  ASSERT_TRUE(r.attach().ok());
  g.put32(L::kMbCmdHead, 13);  // head not 8-aligned
  RingCommand c;
  EXPECT_FALSE(r.next(c).ok());
}

// Entries that run past cmd_head (here two PADs that cycle around the ring
// without reaching it) are corrupt, never walked forever.
TEST(Ring, EntriesBeyondHeadAreCorrupt) {
  FakeRing f;
  Ring r(f.mem.data(), f.mem.size());
  ASSERT_TRUE(r.attach().ok());
  f.put32(FakeRing::kCmdrOff, 1024 | L::kOpPad);
  f.put32(FakeRing::kCmdrOff + 1024, (FakeRing::kCmdrSize - 1024) | L::kOpPad);
  f.put32(L::kMbCmdHead, 512);
  RingCommand c;
  auto n = r.next(c);
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Status::Code::corruption);
}

TEST(Ring, CompletionWithoutCommandIsRejected) {
  FakeRing f;
  Ring r(f.mem.data(), f.mem.size());
  ASSERT_TRUE(r.attach().ok());
  RingCommand c;
  EXPECT_FALSE(r.complete(c, device::Response{}).ok());
}

// Every byte pattern in an entry's header and request fields: parsing never
// reads or returns anything outside the map.
TEST(Ring, RandomEntriesStayInBounds) {
  uint32_t seed = 12345;
  auto rnd = [&] { return seed = seed * 1103515245u + 12345u; };
  for (int round = 0; round < 2000; ++round) {
    FakeRing f;
    Ring r(f.mem.data(), f.mem.size());
    ASSERT_TRUE(r.attach().ok());
    for (size_t i = 0; i < 256; ++i) f.mem[FakeRing::kCmdrOff + i] = static_cast<uint8_t>(rnd() >> 16);
    if (round % 2) f.put32(FakeRing::kCmdrOff, ((rnd() % 256) & ~7u) | L::kOpCmd);
    f.put32(L::kMbCmdHead, 256);
    RingCommand c;
    for (int k = 0; k < 8; ++k) {
      auto n = r.next(c);
      if (!n.ok() || !*n) break;
      for (auto& s : c.iov) {
        EXPECT_GE(s.data(), f.mem.data() + FakeRing::kDataOff);
        EXPECT_LE(s.data() + s.size(), f.mem.data() + f.mem.size());
      }
    }
  }
}

}  // namespace
}  // namespace udisc::tcmu
