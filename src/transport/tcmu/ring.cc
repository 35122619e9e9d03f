#include "transport/tcmu/ring.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>

namespace udisc::tcmu {

namespace L = ring_layout;

namespace {

// The ring is native-endian (shared with the running kernel).
template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void store(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

size_t cdb_length(std::span<const uint8_t> cdb) {
  if (cdb.empty()) return 0;
  const uint8_t opcode = cdb[0];
  switch (opcode >> 5) {
    case 0:
      return 6;
    case 1:
    case 2:
      return 10;
    case 3:
      if (opcode == 0x7F) {
        // SPC-5 4.2.4: ADDITIONAL CDB LENGTH in byte 7.
        if (cdb.size() < 8) return 0;
        return 8u + cdb[7];
      }
      return 0;  // reserved group
    case 4:
      return 16;
    case 5:
      return 12;
    default:
      return 10;  // vendor specific groups 6 and 7: assume 10
  }
}

device::DataDirection data_direction(uint8_t opcode, uint32_t data_length) {
  if (data_length == 0) return device::DataDirection::none;
  switch (opcode) {
    case 0x04:  // FORMAT UNIT
    case 0x07:  // REASSIGN BLOCKS
    case 0x0A:  // WRITE(6)
    case 0x15:  // MODE SELECT(6)
    case 0x1D:  // SEND DIAGNOSTIC
    case 0x2A:  // WRITE(10)
    case 0x2E:  // WRITE AND VERIFY(10)
    case 0x3B:  // WRITE BUFFER
    case 0x3F:  // WRITE LONG(10)
    case 0x4C:  // LOG SELECT
    case 0x54:  // SEND OPC INFORMATION
    case 0x55:  // MODE SELECT(10)
    case 0x56:  // RESERVE(10)
    case 0x57:  // RELEASE(10)
    case 0x5D:  // SEND CUE SHEET
    case 0x5F:  // PERSISTENT RESERVE OUT
    case 0x8A:  // WRITE(16)
    case 0x8E:  // WRITE AND VERIFY(16)
    case 0x93:  // WRITE SAME(16)
    case 0xA3:  // SEND KEY
    case 0xAA:  // WRITE(12)
    case 0xAE:  // WRITE AND VERIFY(12)
    case 0xB5:  // SECURITY PROTOCOL OUT
    case 0xB6:  // SET STREAMING
    case 0xBF:  // SEND DVD STRUCTURE / SEND DISC STRUCTURE
      return device::DataDirection::to_device;
    default:
      return device::DataDirection::from_device;
  }
}

uint32_t Ring::load_head() const {
  // Acquire: the entry bytes the kernel wrote before moving cmd_head are visible.
  std::atomic_ref<uint32_t> head(*reinterpret_cast<uint32_t*>(base_ + L::kMbCmdHead));
  return head.load(std::memory_order_acquire);
}

uint32_t Ring::load_tail() const {
  std::atomic_ref<uint32_t> tail(*reinterpret_cast<uint32_t*>(base_ + L::kMbCmdTail));
  return tail.load(std::memory_order_relaxed);
}

void Ring::store_tail(uint32_t tail) {
  // Release: the response bytes are written before the kernel sees the new tail.
  std::atomic_ref<uint32_t> t(*reinterpret_cast<uint32_t*>(base_ + L::kMbCmdTail));
  t.store(tail, std::memory_order_release);
}

Status Ring::attach() {
  if (base_ == nullptr || size_ < L::kMailboxSize)
    return Status::Corruption("tcmu ring: map of " + std::to_string(size_) + " bytes is smaller than the mailbox");
  const uint16_t version = load<uint16_t>(base_ + L::kMbVersion);
  if (version != L::kMailboxVersion)
    return Status::NotSupported("tcmu ring: mailbox version " + std::to_string(version) + " (expected 2)");
  flags_ = load<uint16_t>(base_ + L::kMbFlags);
  cmdr_off_ = load<uint32_t>(base_ + L::kMbCmdrOff);
  cmdr_size_ = load<uint32_t>(base_ + L::kMbCmdrSize);
  if (cmdr_off_ < L::kMailboxSize || cmdr_off_ % 8 != 0)
    return Status::Corruption("tcmu ring: mailbox cmdr_off " + std::to_string(cmdr_off_) + " is invalid");
  if (cmdr_size_ < 2 * L::kEntrySize || cmdr_size_ % 8 != 0 || static_cast<uint64_t>(cmdr_off_) + cmdr_size_ > size_)
    return Status::Corruption("tcmu ring: mailbox cmdr_size " + std::to_string(cmdr_size_) + " at cmdr_off " +
                              std::to_string(cmdr_off_) + " exceeds the map of " + std::to_string(size_) + " bytes");
  const uint32_t tail = load_tail();
  const uint32_t head = load_head();
  if (tail >= cmdr_size_ || tail % 8 != 0)
    return Status::Corruption("tcmu ring: mailbox cmd_tail " + std::to_string(tail) + " is outside the ring");
  if (head >= cmdr_size_ || head % 8 != 0)
    return Status::Corruption("tcmu ring: mailbox cmd_head " + std::to_string(head) + " is outside the ring");
  pos_ = tail;
  in_flight_ = 0;
  return Status::Ok();
}

Status Ring::entry_at(uint32_t off, uint32_t& len, uint32_t& op) const {
  if (off >= cmdr_size_ || off % 8 != 0 || cmdr_size_ - off < 8)
    return Status::Corruption("tcmu ring: entry offset " + std::to_string(off) + " is outside the ring");
  const uint32_t len_op = load<uint32_t>(ring() + off + L::kEntLenOp);
  len = len_op & ~L::kOpMask;
  op = len_op & L::kOpMask;
  if (len == 0 || len > cmdr_size_ - off)
    return Status::Corruption("tcmu ring: entry at offset " + std::to_string(off) + " has length " +
                              std::to_string(len) + " (ring size " + std::to_string(cmdr_size_) + ")");
  if (op == L::kOpCmd && len < L::kEntrySize)
    return Status::Corruption("tcmu ring: command entry at offset " + std::to_string(off) + " has length " +
                              std::to_string(len) + " < " + std::to_string(L::kEntrySize));
  return Status::Ok();
}

Result<bool> Ring::next(RingCommand& out) {
  const uint32_t head = load_head();
  if (head >= cmdr_size_ || head % 8 != 0)
    return Status::Corruption("tcmu ring: mailbox cmd_head " + std::to_string(head) + " is outside the ring");
  while (pos_ != head) {
    uint32_t len = 0, op = 0;
    Status st = entry_at(pos_, len, op);
    if (!st.ok()) return st;
    // Entries lie between our position and cmd_head: one that runs past
    // cmd_head is corrupt (and would otherwise let a cycle of entries loop).
    const uint32_t pending = (head + cmdr_size_ - pos_) % cmdr_size_;
    if (len > pending)
      return Status::Corruption("tcmu ring: entry at offset " + std::to_string(pos_) + " has length " +
                                std::to_string(len) + " beyond cmd_head " + std::to_string(head));
    if (op != L::kOpCmd) {  // PAD, TMR (informational) and unknown ops are skipped
      pos_ = (pos_ + len) % cmdr_size_;
      continue;
    }
    const uint8_t* ent = ring() + pos_;
    out = RingCommand{};
    out.cmd_id = load<uint16_t>(ent + L::kEntCmdId);
    out.entry_offset = pos_;
    const uint32_t iov_cnt = load<uint32_t>(ent + L::kReqIovCnt);
    const uint64_t cdb_off = load<uint64_t>(ent + L::kReqCdbOff);
    pos_ = (pos_ + len) % cmdr_size_;
    ++in_flight_;

    // CDB: inside this entry, after the iovecs.
    const uint64_t ent_abs = static_cast<uint64_t>(cmdr_off_) + out.entry_offset;
    const uint64_t ent_end = ent_abs + len;
    if (cdb_off < ent_abs + L::kReqIov || cdb_off >= ent_end) {
      out.error = "cdb_off " + hex(cdb_off) + " outside its entry [" + hex(ent_abs) + ", " + hex(ent_end) + ")";
      return true;
    }
    const std::span<const uint8_t> cdb_room(base_ + cdb_off, ent_end - cdb_off);
    const size_t clen = cdb_length(cdb_room);
    if (clen == 0 || clen > cdb_room.size()) {
      out.error = "CDB at " + hex(cdb_off) + " (opcode " + hex(cdb_room[0]) + ") does not fit its entry";
      out.cdb.assign(cdb_room.begin(), cdb_room.begin() + 1);
      return true;
    }
    out.cdb.assign(cdb_room.begin(), cdb_room.begin() + static_cast<ptrdiff_t>(clen));

    // iovecs: inside the entry, before the CDB; each inside the data area.
    if (iov_cnt > (cdb_off - ent_abs - L::kReqIov) / L::kIovecSize) {
      out.error = "iov_cnt " + std::to_string(iov_cnt) + " overruns the entry";
      return true;
    }
    const uint64_t data_lo = data_offset();
    uint64_t total = 0;
    out.iov.reserve(iov_cnt);
    for (uint32_t i = 0; i < iov_cnt; ++i) {
      const uint8_t* v = ent + L::kReqIov + static_cast<size_t>(i) * L::kIovecSize;
      const uint64_t iov_base = load<uint64_t>(v);
      const uint64_t iov_len = load<uint64_t>(v + 8);
      if (iov_base < data_lo || iov_base > size_ || iov_len > size_ - iov_base) {
        out.error = "iovec " + std::to_string(i) + " [" + hex(iov_base) + ", +" + hex(iov_len) +
                    ") outside the data area [" + hex(data_lo) + ", " + hex(size_) + ")";
        out.iov.clear();
        return true;
      }
      total += iov_len;
      if (iov_len) out.iov.emplace_back(base_ + iov_base, static_cast<size_t>(iov_len));
    }
    if (total > UINT32_MAX) {
      out.error = "data length " + std::to_string(total) + " too large";
      out.iov.clear();
      return true;
    }
    out.data_length = static_cast<uint32_t>(total);
    return true;
  }
  return false;
}

Status Ring::complete(const RingCommand& cmd, const device::Response& rsp) {
  if (in_flight_ == 0) return Status::InvalidArgument("tcmu ring: completion with no command in flight");
  uint32_t tail = load_tail();
  uint32_t len = 0, op = 0;
  for (;;) {
    Status st = entry_at(tail, len, op);
    if (!st.ok()) return st.with_context("completing cmd_id " + std::to_string(cmd.cmd_id));
    // Entries to complete lie between cmd_tail and our position.
    const uint32_t consumed = (pos_ + cmdr_size_ - tail) % cmdr_size_;
    if (len > consumed || (consumed == 0 && tail == pos_))
      return Status::Corruption("tcmu ring: entry at cmd_tail " + std::to_string(tail) + " (length " +
                                std::to_string(len) + ") does not lead to cmd_id " + std::to_string(cmd.cmd_id));
    if (op == L::kOpCmd) break;
    tail = (tail + len) % cmdr_size_;
  }
  const bool read_len = (flags_ & ring_layout::kCapReadLen) != 0;
  const bool data_in =
      data_direction(cmd.cdb.empty() ? 0 : cmd.cdb[0], cmd.data_length) == device::DataDirection::from_device;
  const uint32_t written = std::min(rsp.data_in_length, cmd.data_length);
  if (data_in && !read_len) {
    // Zero the unwritten tail so no stale bytes of an earlier command leak.
    uint32_t skip = written;
    for (const auto& seg : cmd.iov) {
      if (skip >= seg.size()) {
        skip -= static_cast<uint32_t>(seg.size());
        continue;
      }
      std::memset(seg.data() + skip, 0, seg.size() - skip);
      skip = 0;
    }
  }
  uint8_t* ent = ring() + tail;
  store<uint16_t>(ent + L::kEntCmdId, cmd.cmd_id);
  uint8_t uflags = load<uint8_t>(ent + L::kEntUflags);
  uflags &= static_cast<uint8_t>(~(L::kUflagUnknownOp | L::kUflagReadLen));
  std::memset(ent + L::kRspScsiStatus, 0, L::kEntrySize - L::kRspScsiStatus);
  store<uint8_t>(ent + L::kRspScsiStatus, static_cast<uint8_t>(rsp.status));
  if (data_in && read_len) {
    uflags |= L::kUflagReadLen;
    store<uint32_t>(ent + L::kRspReadLen, written);
  }
  store<uint8_t>(ent + L::kEntUflags, uflags);
  const size_t slen = std::min<size_t>(rsp.sense_length, L::kSenseBufferSize);
  if (rsp.status == device::ScsiStatus::check_condition && slen)
    std::memcpy(ent + L::kRspSense, rsp.sense.data(), slen);
  store_tail((tail + len) % cmdr_size_);
  --in_flight_;
  return Status::Ok();
}

}  // namespace udisc::tcmu
