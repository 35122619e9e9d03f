// Wire helpers for iSCSI (RFC 7143): big-endian field access, opcodes, the
// Basic Header Segment layout, and serial number arithmetic (RFC 1982).
//
// All multi-byte iSCSI fields are big-endian (RFC 7143 11.1). Digests are the
// one exception: a CRC32C is sent least significant byte first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace udisc::iscsi {

inline uint16_t get_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get_be24(const uint8_t* p) { return uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2]; }
inline uint32_t get_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}
inline uint64_t get_be64(const uint8_t* p) { return uint64_t{get_be32(p)} << 32 | get_be32(p + 4); }
inline uint32_t get_le32(const uint8_t* p) {
  return uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}

inline void put_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put_be24(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 16);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v);
}
inline void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
inline void put_be64(uint8_t* p, uint64_t v) {
  put_be32(p, static_cast<uint32_t>(v >> 32));
  put_be32(p + 4, static_cast<uint32_t>(v));
}
inline void put_le32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// RFC 7143 11.1.1: opcodes (low 6 bits of byte 0).
enum class Opcode : uint8_t {
  nop_out = 0x00,
  scsi_command = 0x01,
  task_mgmt_request = 0x02,
  login_request = 0x03,
  text_request = 0x04,
  data_out = 0x05,
  logout_request = 0x06,
  snack_request = 0x10,
  nop_in = 0x20,
  scsi_response = 0x21,
  task_mgmt_response = 0x22,
  login_response = 0x23,
  text_response = 0x24,
  data_in = 0x25,
  logout_response = 0x26,
  r2t = 0x31,
  async_message = 0x32,
  reject = 0x3f,
};

inline constexpr size_t kBhsSize = 48;
inline constexpr size_t kDigestSize = 4;
inline constexpr uint32_t kReservedTag = 0xffffffff;
inline constexpr uint8_t kImmediateBit = 0x40;  // byte 0, I
inline constexpr uint8_t kFinalBit = 0x80;      // byte 1, F (T for login)

// BHS field offsets (RFC 7143 11.2.1).
namespace bhs {
inline constexpr size_t kOpcode = 0;
inline constexpr size_t kFlags = 1;
inline constexpr size_t kTotalAhsLength = 4;  // in 4-byte words
inline constexpr size_t kDataSegmentLength = 5;  // 3 bytes
inline constexpr size_t kLun = 8;
inline constexpr size_t kItt = 16;
}  // namespace bhs

inline constexpr uint32_t pad4(uint32_t n) { return (n + 3u) & ~3u; }

// RFC 1982 serial number arithmetic on 32-bit sequence numbers.
inline bool sn_lt(uint32_t a, uint32_t b) { return a != b && static_cast<int32_t>(a - b) < 0; }
inline bool sn_gt(uint32_t a, uint32_t b) { return a != b && static_cast<int32_t>(a - b) > 0; }
inline bool sn_le(uint32_t a, uint32_t b) { return a == b || sn_lt(a, b); }

// SAM LUN field (8 bytes) <-> LUN number: peripheral (00b) and flat (01b)
// addressing, single level. Returns false for other address methods.
bool decode_lun(const uint8_t* p, uint32_t& lun);
void encode_lun(uint8_t* p, uint32_t lun);

}  // namespace udisc::iscsi
