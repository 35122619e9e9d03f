// The portable part of file.h: the in-memory file. Files on disk are opened by
// file_posix.cc or file_windows.cc (the build picks one).
#include "formats/file.h"

#include <cstring>

namespace udisc::formats {
namespace {

class MemoryFile final : public RandomAccessFile {
 public:
  MemoryFile(std::vector<uint8_t> bytes, std::string name) : bytes_(std::move(bytes)), name_(std::move(name)) {}
  uint64_t size() const override { return bytes_.size(); }
  const std::string& name() const override { return name_; }
  Status read_at(uint64_t offset, std::span<uint8_t> out) const override {
    if (offset > bytes_.size() || out.size() > bytes_.size() - offset) {
      return Status::IoError("'" + name_ + "': unexpected end of file at byte " + std::to_string(offset));
    }
    std::memcpy(out.data(), bytes_.data() + offset, out.size());
    return Status::Ok();
  }

 private:
  std::vector<uint8_t> bytes_;
  std::string name_;
};

}  // namespace

std::shared_ptr<RandomAccessFile> memory_file(std::vector<uint8_t> bytes, std::string name) {
  return std::make_shared<MemoryFile>(std::move(bytes), std::move(name));
}

}  // namespace udisc::formats
