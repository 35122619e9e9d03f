// RandomAccessFile: stateless positional reads of an image's backing file.
//
// Readers in formats/ read through this interface so tests can substitute an
// in-memory file (and a failing one, to test I/O-error paths). read_at is
// thread-safe (pread semantics, no cursor). A short read at end of file is
// an error, never silently zero-filled.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "util/status.h"

namespace udisc::formats {

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly out.size() bytes at offset; IoError naming the file on failure or short read.
  virtual Status read_at(uint64_t offset, std::span<uint8_t> out) const = 0;
  virtual const std::string& name() const = 0;
};

// Opens a file read-only (O_CLOEXEC). NotFound / IoError name the path.
Result<std::shared_ptr<RandomAccessFile>> open_file(const std::string& path);
// Wraps an already-open descriptor (e.g. received over SCM_RIGHTS); takes ownership.
Result<std::shared_ptr<RandomAccessFile>> adopt_fd(int fd, std::string name);
// An in-memory file for tests and fuzzers.
std::shared_ptr<RandomAccessFile> memory_file(std::vector<uint8_t> bytes, std::string name = "<memory>");

}  // namespace udisc::formats
