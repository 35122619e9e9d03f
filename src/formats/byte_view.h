// ByteView: bounds-checked little- and big-endian reads of binary
// descriptors (MDS, NRG chunks, ...). Every read names what it wanted, so a
// truncated or malformed descriptor gives an error saying which field at
// which offset lies outside the data instead of reading past it.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "util/status.h"

namespace udisc::formats {

class ByteView {
 public:
  ByteView(std::span<const uint8_t> data, std::string name, uint64_t base = 0)
      : data_(data), name_(std::move(name)), base_(base) {}

  size_t size() const { return data_.size(); }
  std::span<const uint8_t> bytes() const { return data_; }
  bool has(uint64_t at, uint64_t n) const { return at <= data_.size() && n <= data_.size() - at; }

  // Reads an unsigned integer of `n` bytes (1..8) at `at`; sets `error`
  // (once) and returns 0 when it lies outside the data.
  uint64_t le(uint64_t at, unsigned n, const char* field) { return get(at, n, field, false); }
  uint64_t be(uint64_t at, unsigned n, const char* field) { return get(at, n, field, true); }
  uint8_t u8(uint64_t at, const char* field) { return static_cast<uint8_t>(get(at, 1, field, false)); }

  // The first error, or Ok.
  const Status& status() const { return status_; }
  Status fail(uint64_t at, const std::string& what) {
    if (status_.ok()) {
      status_ = Status::Corruption(name_ + ": offset " + std::to_string(base_ + at) + ": " + what);
    }
    return status_;
  }

 private:
  uint64_t get(uint64_t at, unsigned n, const char* field, bool big) {
    if (!has(at, n)) {
      fail(at, std::string(field) + " lies beyond the end of the data (" + std::to_string(base_ + data_.size()) +
                   " bytes)");
      return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) {
      const uint64_t byte = data_[static_cast<size_t>(at) + (big ? i : n - 1 - i)];
      v = (v << 8) | byte;
    }
    return v;
  }

  std::span<const uint8_t> data_;
  std::string name_;
  uint64_t base_;
  Status status_;
};

}  // namespace udisc::formats
