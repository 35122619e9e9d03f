// The TCMU command ring: parsing and completing entries in a mapped region.
//
// Layout (include/uapi/linux/target_core_user.h, mailbox version 2):
//   offset 0          mailbox: u16 version, u16 flags, u32 cmdr_off,
//                     u32 cmdr_size, u32 cmd_head (kernel), u32 cmd_tail at 64 (us)
//   cmdr_off          command ring of cmdr_size bytes (entries, 8-byte aligned)
//   cmdr_off+cmdr_size data area; iovec bases are offsets from the map base.
// Entry: u32 len_op (low 3 bits op), u16 cmd_id, u8 kflags, u8 uflags, then
//   req: u32 iov_cnt @8, u32 iov_bidi_cnt @12, u32 iov_dif_cnt @16,
//        u64 cdb_off @24, struct iovec {u64 base, u64 len} iov[] @48
//   rsp: u8 scsi_status @8, u32 read_len @12, u8 sense[96] @16 (overlays req).
//
// The region is shared with the kernel and treated as untrusted: every
// offset and length is checked against the region before it is used; a
// malformed command entry is reported (and completed with CHECK CONDITION by
// the caller), a malformed ring (bad entry length) stops parsing.
//
// Not thread-safe: one Ring per serving thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "device/drive.h"
#include "util/status.h"

namespace udisc::tcmu {

namespace ring_layout {
inline constexpr uint16_t kMailboxVersion = 2;
inline constexpr size_t kMbVersion = 0, kMbFlags = 2, kMbCmdrOff = 4, kMbCmdrSize = 8, kMbCmdHead = 12, kMbCmdTail = 64,
                        kMailboxSize = 128;
inline constexpr uint16_t kCapOutOfOrder = 1u << 0, kCapReadLen = 1u << 1, kCapTmr = 1u << 2, kCapKeepBuf = 1u << 3;

inline constexpr uint32_t kOpMask = 0x7, kOpPad = 0, kOpCmd = 1, kOpTmr = 2;
inline constexpr size_t kEntLenOp = 0, kEntCmdId = 4, kEntKflags = 6, kEntUflags = 7;
inline constexpr size_t kReqIovCnt = 8, kReqIovBidiCnt = 12, kReqIovDifCnt = 16, kReqCdbOff = 24, kReqIov = 48;
inline constexpr size_t kIovecSize = 16;
inline constexpr size_t kRspScsiStatus = 8, kRspReadLen = 12, kRspSense = 16;
inline constexpr size_t kSenseBufferSize = 96, kEntrySize = 112;
inline constexpr uint8_t kUflagUnknownOp = 0x1, kUflagReadLen = 0x2, kUflagKeepBuf = 0x4;
}  // namespace ring_layout

// SCSI CDB length from its operation code group (SPC-5 4.2.5.1); variable
// length CDBs (7Fh) from their additional length byte. 0 if unknown.
size_t cdb_length(std::span<const uint8_t> cdb_start);

// Direction of a command's data, from its opcode: TCMU entries do not carry
// it. MMC/SPC data-out commands are listed; everything else with data is in.
device::DataDirection data_direction(uint8_t opcode, uint32_t data_length);

// One command copied out of the ring (its entry may be overwritten later).
struct RingCommand {
  uint16_t cmd_id = 0;
  uint32_t entry_offset = 0;  // within the ring
  std::vector<uint8_t> cdb;
  std::vector<std::span<uint8_t>> iov;  // data-in/data-out segments in the data area
  uint32_t data_length = 0;             // sum of iov lengths
  // Non-empty if the entry is malformed (bad cdb_off, iovec outside the data
  // area, ...): the caller completes it with CHECK CONDITION without executing.
  std::string error;
};

class Ring {
 public:
  // `base` is the whole UIO map (mailbox, ring, data area) of `size` bytes.
  Ring(uint8_t* base, size_t size) : base_(base), size_(size) {}

  // Checks the mailbox (version, ring bounds) and takes the current cmd_tail
  // as our position. Corruption naming the field if the mailbox is invalid.
  Status attach();

  uint16_t capabilities() const { return flags_; }
  uint32_t cmdr_size() const { return cmdr_size_; }
  size_t data_offset() const { return static_cast<size_t>(cmdr_off_) + cmdr_size_; }

  // The next command after our private position, skipping PAD and TMR
  // entries. false: nothing pending. Corruption: the ring cannot be walked
  // (the kernel would need reset_ring); nothing is consumed then.
  Result<bool> next(RingCommand& out);

  // Writes the response into the oldest uncompleted entry (skipping PADs and
  // TMRs at cmd_tail) and advances cmd_tail (store-release). Commands must
  // be completed in the order next() returned them. For data-in commands the
  // unwritten tail of the data area is zero-filled, or READ_LEN is used when
  // the kernel offers it. Corruption if cmd_tail does not lead to a command.
  Status complete(const RingCommand& cmd, const device::Response& rsp);

  // Whether the kernel has queued entries after our position (one load of
  // cmd_head; for polling the ring without a system call).
  bool pending() const { return load_head() != pos_; }

  // Number of commands returned by next() and not completed.
  uint32_t in_flight() const { return in_flight_; }

 private:
  uint32_t load_head() const;
  uint32_t load_tail() const;
  void store_tail(uint32_t tail);
  uint8_t* ring() const { return base_ + cmdr_off_; }
  Status entry_at(uint32_t off, uint32_t& len, uint32_t& op) const;

  uint8_t* base_;
  size_t size_;
  uint16_t flags_ = 0;
  uint32_t cmdr_off_ = 0;
  uint32_t cmdr_size_ = 0;
  uint32_t pos_ = 0;  // our private tail: next entry to parse
  uint32_t in_flight_ = 0;
};

}  // namespace udisc::tcmu
