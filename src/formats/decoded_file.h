// DecodedFile: the part every decoded view of a compressed file shares (ECM,
// CSO, xz; compressed_files.h): its name, decoded size, and the range check
// before a read, so each decoder implements only read_decoded of a range
// known to lie inside the decoded bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "formats/file.h"

namespace udisc::formats {

class DecodedFile : public RandomAccessFile {
 public:
  DecodedFile(std::string name, uint64_t size) : name_(std::move(name)), size_(size) {}

  uint64_t size() const final { return size_; }
  const std::string& name() const final { return name_; }
  Status read_at(uint64_t offset, std::span<uint8_t> out) const final {
    if (offset > size_ || out.size() > size_ - offset) {
      return Status::IoError("'" + name_ + "': read of " + std::to_string(out.size()) + " bytes at " +
                             std::to_string(offset) + " is beyond the decoded size " + std::to_string(size_));
    }
    return read_decoded(offset, out);
  }

 protected:
  // out lies inside [0, size()).
  virtual Status read_decoded(uint64_t offset, std::span<uint8_t> out) const = 0;

 private:
  std::string name_;
  uint64_t size_;
};

}  // namespace udisc::formats
