// open_file/adopt_fd on Windows: positional ReadFile (an OVERLAPPED offset on a
// synchronous handle), which like pread needs no shared cursor, so read_at
// stays thread-safe.
#include <windows.h>
#include <io.h>

#include <algorithm>

#include "formats/file.h"
#include "platform/windows/win_error.h"

namespace udisc::formats {
namespace {

class WindowsFile final : public RandomAccessFile {
 public:
  WindowsFile(HANDLE handle, uint64_t size, std::string name) : handle_(handle), size_(size), name_(std::move(name)) {}
  ~WindowsFile() override { CloseHandle(handle_); }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return name_; }
  Status read_at(uint64_t offset, std::span<uint8_t> out) const override {
    size_t done = 0;
    while (done < out.size()) {
      const uint64_t at = offset + done;
      OVERLAPPED where{};
      where.Offset = static_cast<DWORD>(at);
      where.OffsetHigh = static_cast<DWORD>(at >> 32);
      const DWORD want = static_cast<DWORD>(std::min<size_t>(out.size() - done, 1u << 30));
      DWORD got = 0;
      if (!ReadFile(handle_, out.data() + done, want, &got, &where)) {
        const DWORD e = GetLastError();
        if (e == ERROR_HANDLE_EOF) got = 0;
        else return Status::IoError("'" + name_ + "': read at byte " + std::to_string(at) + ": " + platform::windows_error_text(e));
      }
      if (got == 0) return Status::IoError("'" + name_ + "': unexpected end of file at byte " + std::to_string(at));
      done += got;
    }
    return Status::Ok();
  }

 private:
  HANDLE handle_;
  uint64_t size_;
  std::string name_;
};

Result<std::shared_ptr<RandomAccessFile>> adopt_handle(HANDLE handle, std::string name) {
  BY_HANDLE_FILE_INFORMATION info{};
  if (!GetFileInformationByHandle(handle, &info)) {
    const DWORD e = GetLastError();
    CloseHandle(handle);
    return Status::IoError("'" + name + "': " + platform::windows_error_text(e));
  }
  if (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
    CloseHandle(handle);
    return Status::InvalidArgument("'" + name + "' is a directory");
  }
  const uint64_t size = static_cast<uint64_t>(info.nFileSizeHigh) << 32 | info.nFileSizeLow;
  return std::shared_ptr<RandomAccessFile>(std::make_shared<WindowsFile>(handle, size, std::move(name)));
}

}  // namespace

Result<std::shared_ptr<RandomAccessFile>> adopt_fd(int fd, std::string name) {
  // A C runtime descriptor: take its handle over (our own duplicate), then close the descriptor.
  const HANDLE crt = reinterpret_cast<HANDLE>(_get_osfhandle(fd));
  HANDLE own = INVALID_HANDLE_VALUE;
  const bool ok = crt != INVALID_HANDLE_VALUE &&
                  DuplicateHandle(GetCurrentProcess(), crt, GetCurrentProcess(), &own, 0, FALSE, DUPLICATE_SAME_ACCESS);
  const DWORD e = GetLastError();
  _close(fd);
  if (!ok) return Status::IoError("'" + name + "': " + platform::windows_error_text(e));
  return adopt_handle(own, std::move(name));
}

Result<std::shared_ptr<RandomAccessFile>> open_file(const std::string& path) {
  // FILE_SHARE_WRITE|DELETE: like a POSIX descriptor, an open image does not
  // lock the file against other programs; FILE_FLAG_BACKUP_SEMANTICS lets a
  // directory open so it is reported as one.
  const HANDLE h = CreateFileA(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                               nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD e = GetLastError();
    if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) return Status::NotFound("'" + path + "': no such file");
    return Status::IoError("'" + path + "': " + platform::windows_error_text(e));
  }
  return adopt_handle(h, path);
}

}  // namespace udisc::formats
