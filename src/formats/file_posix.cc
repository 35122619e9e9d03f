// open_file/adopt_fd on POSIX: pread on a descriptor.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "formats/file.h"

namespace udisc::formats {
namespace {

class PosixFile final : public RandomAccessFile {
 public:
  PosixFile(int fd, uint64_t size, std::string name) : fd_(fd), size_(size), name_(std::move(name)) {}
  ~PosixFile() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  Status read_at(uint64_t offset, std::span<uint8_t> out) const override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::IoError("'" + name_ + "': read at byte " + std::to_string(offset + done) + ": " + std::strerror(errno));
      }
      if (n == 0) {
        return Status::IoError("'" + name_ + "': unexpected end of file at byte " + std::to_string(offset + done));
      }
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

 private:
  int fd_;
  uint64_t size_;
  std::string name_;
};

}  // namespace

Result<std::shared_ptr<RandomAccessFile>> adopt_fd(int fd, std::string name) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::IoError("'" + name + "': " + std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("'" + name + "' is a directory");
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    size = end > 0 ? static_cast<uint64_t>(end) : 0;
  }
  return std::shared_ptr<RandomAccessFile>(std::make_shared<PosixFile>(fd, size, std::move(name)));
}

Result<std::shared_ptr<RandomAccessFile>> open_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::NotFound("'" + path + "': no such file");
    return Status::IoError("'" + path + "': " + std::strerror(e));
  }
  return adopt_fd(fd, path);
}

}  // namespace udisc::formats
