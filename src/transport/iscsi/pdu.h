// iSCSI PDUs (RFC 7143 11) and the resumable PDU reader.
//
// PduReader takes bytes in whatever pieces the socket delivers and yields
// whole PDUs: Basic Header Segment (48 bytes), Additional Header Segments,
// header digest, data segment padded to 4 bytes, data digest. Every length
// is checked against the negotiated limits before anything is allocated, and
// the data segment's buffer grows only as its bytes arrive, so a hostile peer
// cannot make the reader hold more than max_data_segment_length + 1020 bytes
// per PDU, nor more than it has actually sent.
//
// Errors: a Status from feed() is fatal for the connection (the byte stream
// can no longer be framed: header digest mismatch, oversized segment). A
// data digest mismatch is not fatal: the PDU is delivered with
// data_digest_ok == false and the caller answers with a Reject.
//
// Thread safety: none; one reader per connection.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "transport/iscsi/wire.h"
#include "util/status.h"

namespace udisc::iscsi {

struct Pdu {
  std::array<uint8_t, kBhsSize> bhs{};
  std::vector<uint8_t> ahs;   // TotalAHSLength * 4 bytes
  std::vector<uint8_t> data;  // data segment without padding
  bool data_digest_ok = true;

  Opcode opcode() const { return static_cast<Opcode>(bhs[0] & 0x3f); }
  bool immediate() const { return (bhs[0] & kImmediateBit) != 0; }
  uint8_t flags() const { return bhs[1]; }
  bool final() const { return (bhs[1] & kFinalBit) != 0; }
  uint32_t u32(size_t offset) const { return get_be32(&bhs[offset]); }
  uint32_t itt() const { return u32(bhs::kItt); }
  uint32_t data_segment_length() const { return get_be24(&bhs[bhs::kDataSegmentLength]); }
};

// RFC 7143 13.12: the MaxRecvDataSegmentLength in force until one is
// declared, so the most a Login Request may carry (longer login text
// continues in further requests, 6.2).
inline constexpr uint32_t kDefaultMaxRecvDataSegmentLength = 8192;

struct ReaderLimits {
  uint32_t max_data_segment_length = kDefaultMaxRecvDataSegmentLength;  // what we declared we receive
  bool header_digest = false;
  bool data_digest = false;
};

class PduReader {
 public:
  explicit PduReader(ReaderLimits limits = {}) : limits_(limits) {}
  // Takes effect from the next PDU (digests start after the login response
  // that finishes negotiation, RFC 7143 13.1).
  void set_limits(ReaderLimits limits) { limits_ = limits; }
  const ReaderLimits& limits() const { return limits_; }

  // Consumes bytes of `in` until one PDU is complete or `in` is exhausted.
  // Returns the number of bytes consumed; sets `complete` when take() has a
  // PDU. A non-ok `error` is fatal for the connection.
  size_t feed(std::span<const uint8_t> in, bool& complete, Status& error);
  Pdu take();
  // True between PDUs (no partial PDU buffered).
  bool idle() const { return state_ == State::bhs && have_ == 0; }

 private:
  enum class State { bhs, ahs, header_digest, data, data_digest, done };
  Status start_after_bhs();
  void after_header();
  ReaderLimits limits_;
  ReaderLimits active_{};  // limits of the PDU being read
  State state_ = State::bhs;
  size_t have_ = 0;  // bytes of the current part read so far
  Pdu pdu_;
  uint32_t padded_ = 0;
  std::array<uint8_t, 4> digest_{};
};

// Builds a BHS for a target PDU: opcode, flags, data segment length, ITT.
void init_bhs(std::array<uint8_t, kBhsSize>& bhs, Opcode opcode, uint8_t flags, uint32_t data_length, uint32_t itt);

// Serializes a PDU (for tests and fuzzers): BHS, AHS, optional digests, padding.
std::vector<uint8_t> serialize(const Pdu& pdu, bool header_digest, bool data_digest);

}  // namespace udisc::iscsi
