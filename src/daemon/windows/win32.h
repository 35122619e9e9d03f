// Small Win32 helpers shared by the Windows service, its control pipe and the
// initiator glue: UTF-8 <-> UTF-16, error text, volumes and drive letters.
// Windows only (includes <windows.h>).
#pragma once

#include <windows.h>

#include <cstdint>
#include <string>

#include "util/status.h"

namespace udisc::win {

std::wstring widen(const std::string& utf8);
std::string narrow(const wchar_t* utf16);
std::string narrow(const std::wstring& utf16);

// Text of a Win32 error code (platform::windows_error_text).
std::string system_error_text(DWORD code);
// IoError "context: <text of GetLastError()>".
Status last_error(const std::string& context);

// Closes a HANDLE on scope exit.
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(HANDLE h) : h_(h) {}
  ~UniqueHandle() { reset(); }
  UniqueHandle(UniqueHandle&& o) noexcept : h_(o.release()) {}
  UniqueHandle& operator=(UniqueHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = o.release();
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  HANDLE get() const { return h_; }
  bool valid() const { return h_ != nullptr && h_ != INVALID_HANDLE_VALUE; }
  HANDLE release() {
    HANDLE h = h_;
    h_ = nullptr;
    return h;
  }
  void reset(HANDLE h = nullptr) {
    if (valid()) CloseHandle(h_);
    h_ = h;
  }

 private:
  HANDLE h_ = nullptr;
};

// The letter ("E:") whose volume answers IOCTL_STORAGE_GET_DEVICE_NUMBER with
// this device type and number; empty when none does.
Result<std::string> drive_letter_of_device(uint32_t device_type, uint32_t device_number);
// Ok when nobody holds the volume on `letter` open: FSCTL_LOCK_VOLUME
// succeeds (and is released at once). Otherwise an error naming the reason.
Status volume_not_in_use(const std::string& letter);

}  // namespace udisc::win
