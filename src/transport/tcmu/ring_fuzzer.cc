// libFuzzer target: the TCMU command ring parser on arbitrary ring contents.
// Input: 4 bytes cmd_head, 4 bytes cmd_tail (taken modulo the ring size),
// 2 bytes mailbox flags, then the ring bytes. Every command returned is
// "executed" by writing its whole iovecs and completed, so ASan catches any
// iovec or response that escapes the map.
#include <cstdint>
#include <cstring>
#include <vector>

#include "transport/tcmu/ring.h"

namespace L = udisc::tcmu::ring_layout;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr uint32_t kCmdrOff = 128, kCmdrSize = 4096 - 128, kDataSize = 8192;
  if (size < 10) return 0;
  // Exactly sized heap map so ASan sees any access past its end.
  std::vector<uint8_t> map(kCmdrOff + kCmdrSize + kDataSize, 0);
  uint32_t head, tail;
  uint16_t flags;
  std::memcpy(&head, data, 4);
  std::memcpy(&tail, data + 4, 4);
  std::memcpy(&flags, data + 8, 2);
  const uint16_t version = 2;
  const uint32_t off = kCmdrOff, rsize = kCmdrSize;
  std::memcpy(&map[L::kMbVersion], &version, 2);
  std::memcpy(&map[L::kMbFlags], &flags, 2);
  std::memcpy(&map[L::kMbCmdrOff], &off, 4);
  std::memcpy(&map[L::kMbCmdrSize], &rsize, 4);
  head = (head % kCmdrSize) & ~7u;
  tail = (tail % kCmdrSize) & ~7u;
  std::memcpy(&map[L::kMbCmdHead], &head, 4);
  std::memcpy(&map[L::kMbCmdTail], &tail, 4);
  const size_t n = std::min<size_t>(size - 10, kCmdrSize);
  std::memcpy(&map[kCmdrOff], data + 10, n);

  udisc::tcmu::Ring ring(map.data(), map.size());
  if (!ring.attach().ok()) return 0;
  for (int i = 0; i < 64; ++i) {
    udisc::tcmu::RingCommand cmd;
    auto r = ring.next(cmd);
    if (!r.ok() || !r.value()) break;
    for (auto& seg : cmd.iov) std::memset(seg.data(), 0xA5, seg.size());
    udisc::device::Response rsp;
    rsp.data_in_length = cmd.data_length / 2;
    rsp.status = cmd.error.empty() ? udisc::device::ScsiStatus::good : udisc::device::ScsiStatus::check_condition;
    rsp.sense_length = 252;
    if (!ring.complete(cmd, rsp).ok()) break;
  }
  return 0;
}
