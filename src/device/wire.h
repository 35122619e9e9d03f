// Wire-format helpers for CDBs and SCSI data-in/data-out buffers.
//
// All SCSI multi-byte fields are big-endian (SPC-5 3.5 "Bit and byte
// ordering"). Readers take a span and an offset and return 0 for bytes past
// the end, so a short CDB or parameter list never reads out of bounds.
// ByteWriter appends or patches fields in a fixed buffer; writes past the end
// are dropped and remembered (overflowed()), never performed. Responses are
// built in full, then truncated to the allocation length by the caller.
//
// Thread safety: plain values; no shared state.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace udisc::device::wire {

// ---- readers ---------------------------------------------------------------

constexpr uint8_t get_u8(std::span<const uint8_t> b, size_t off) { return off < b.size() ? b[off] : 0; }
constexpr uint16_t get_u16(std::span<const uint8_t> b, size_t off) {
  return static_cast<uint16_t>((get_u8(b, off) << 8) | get_u8(b, off + 1));
}
constexpr uint32_t get_u24(std::span<const uint8_t> b, size_t off) {
  return (uint32_t{get_u8(b, off)} << 16) | (uint32_t{get_u8(b, off + 1)} << 8) | get_u8(b, off + 2);
}
constexpr uint32_t get_u32(std::span<const uint8_t> b, size_t off) {
  return (uint32_t{get_u16(b, off)} << 16) | get_u16(b, off + 2);
}
constexpr uint64_t get_u64(std::span<const uint8_t> b, size_t off) {
  return (uint64_t{get_u32(b, off)} << 32) | get_u32(b, off + 4);
}
// Bits [lsb, lsb + width) of byte `off`.
constexpr uint8_t get_bits(std::span<const uint8_t> b, size_t off, unsigned lsb, unsigned width) {
  return static_cast<uint8_t>((get_u8(b, off) >> lsb) & ((1u << width) - 1u));
}
constexpr bool get_bit(std::span<const uint8_t> b, size_t off, unsigned bit) { return get_bits(b, off, bit, 1) != 0; }

// ---- writer ----------------------------------------------------------------

class ByteWriter {
 public:
  explicit constexpr ByteWriter(std::span<uint8_t> buf) : buf_(buf) {}

  // Appending.
  constexpr ByteWriter& u8(uint8_t v) {
    put_u8(pos_, v);
    ++pos_;
    return *this;
  }
  constexpr ByteWriter& u16(uint16_t v) {
    put_u16(pos_, v);
    pos_ += 2;
    return *this;
  }
  constexpr ByteWriter& u24(uint32_t v) {
    put_u24(pos_, v);
    pos_ += 3;
    return *this;
  }
  constexpr ByteWriter& u32(uint32_t v) {
    put_u32(pos_, v);
    pos_ += 4;
    return *this;
  }
  constexpr ByteWriter& u64(uint64_t v) {
    put_u32(pos_, static_cast<uint32_t>(v >> 32));
    put_u32(pos_ + 4, static_cast<uint32_t>(v));
    pos_ += 8;
    return *this;
  }
  constexpr ByteWriter& zeros(size_t n) {
    for (size_t i = 0; i < n; ++i) put_u8(pos_ + i, 0);
    pos_ += n;
    return *this;
  }
  constexpr ByteWriter& bytes(std::span<const uint8_t> src) {
    for (size_t i = 0; i < src.size(); ++i) put_u8(pos_ + i, src[i]);
    pos_ += src.size();
    return *this;
  }
  // ASCII text left-aligned in a field of `width` bytes, padded with `pad`
  // (SPC-5 4.3.1: ASCII fields are space padded), truncated if longer.
  constexpr ByteWriter& ascii(std::string_view s, size_t width, char pad = ' ') {
    for (size_t i = 0; i < width; ++i) put_u8(pos_ + i, static_cast<uint8_t>(i < s.size() ? s[i] : pad));
    pos_ += width;
    return *this;
  }

  // Patching at an absolute offset (e.g. a length field once the size is known).
  constexpr void put_u8(size_t off, uint8_t v) {
    if (off < buf_.size()) {
      buf_[off] = v;
    } else {
      overflowed_ = true;
    }
  }
  constexpr void put_u16(size_t off, uint16_t v) {
    put_u8(off, static_cast<uint8_t>(v >> 8));
    put_u8(off + 1, static_cast<uint8_t>(v));
  }
  constexpr void put_u24(size_t off, uint32_t v) {
    put_u8(off, static_cast<uint8_t>(v >> 16));
    put_u16(off + 1, static_cast<uint16_t>(v));
  }
  constexpr void put_u32(size_t off, uint32_t v) {
    put_u16(off, static_cast<uint16_t>(v >> 16));
    put_u16(off + 2, static_cast<uint16_t>(v));
  }
  // Sets (or clears) bits `mask` of byte `off`, leaving the others.
  constexpr void set_bits(size_t off, uint8_t mask, bool on = true) {
    if (off >= buf_.size()) {
      overflowed_ = true;
      return;
    }
    buf_[off] = static_cast<uint8_t>(on ? (buf_[off] | mask) : (buf_[off] & ~mask));
  }

  constexpr size_t size() const { return pos_; }  // bytes appended (may exceed capacity if overflowed)
  constexpr size_t capacity() const { return buf_.size(); }
  constexpr bool overflowed() const { return overflowed_ || pos_ > buf_.size(); }
  // The bytes written so far (clamped to the buffer).
  constexpr std::span<const uint8_t> written() const { return buf_.first(std::min(pos_, buf_.size())); }
  constexpr void seek(size_t pos) { pos_ = pos; }

 private:
  std::span<uint8_t> buf_;
  size_t pos_ = 0;
  bool overflowed_ = false;
};

// A zero-initialised response buffer of N bytes with a writer over it.
template <size_t N>
struct ResponseBuffer {
  std::array<uint8_t, N> data{};
  ByteWriter w{std::span<uint8_t>(data)};
  ResponseBuffer() = default;
  ResponseBuffer(const ResponseBuffer&) = delete;
  ResponseBuffer& operator=(const ResponseBuffer&) = delete;
  std::span<const uint8_t> bytes() const { return w.written(); }
};

static_assert(get_u16(std::array<uint8_t, 2>{0x12, 0x34}, 0) == 0x1234);
static_assert(get_u32(std::array<uint8_t, 4>{0x12, 0x34, 0x56, 0x78}, 0) == 0x12345678);
static_assert(get_u16(std::array<uint8_t, 1>{0x12}, 0) == 0x1200);  // short input reads zeros

}  // namespace udisc::device::wire
