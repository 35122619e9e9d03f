#include "daemon/windows/win32.h"

#include <winioctl.h>

#include "platform/windows/win_error.h"

namespace udisc::win {

std::wstring widen(const std::string& utf8) {
  if (utf8.empty()) return {};
  int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), nullptr, 0);
  std::wstring out(static_cast<size_t>(n > 0 ? n : 0), L'\0');
  if (n > 0) MultiByteToWideChar(CP_UTF8, 0, utf8.data(), static_cast<int>(utf8.size()), out.data(), n);
  return out;
}

std::string narrow(const wchar_t* utf16) { return narrow(std::wstring(utf16 ? utf16 : L"")); }

std::string narrow(const std::wstring& utf16) {
  if (utf16.empty()) return {};
  int n = WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<size_t>(n > 0 ? n : 0), '\0');
  if (n > 0) {
    WideCharToMultiByte(CP_UTF8, 0, utf16.data(), static_cast<int>(utf16.size()), out.data(), n, nullptr, nullptr);
  }
  return out;
}

std::string system_error_text(DWORD code) { return platform::windows_error_text(code); }

Status last_error(const std::string& context) {
  DWORD code = GetLastError();
  std::string text = system_error_text(code);
  if (code == ERROR_ACCESS_DENIED) return Status::IoError(context + ": access denied");
  if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND || code == ERROR_SERVICE_DOES_NOT_EXIST) {
    return Status::NotFound(context + ": " + text);
  }
  return Status::IoError(context + ": " + text);
}

Result<std::string> drive_letter_of_device(uint32_t device_type, uint32_t device_number) {
  DWORD letters = GetLogicalDrives();
  for (int i = 0; i < 26; ++i) {
    if (!(letters & (1u << i))) continue;
    std::wstring path = L"\\\\.\\";
    path += static_cast<wchar_t>(L'A' + i);
    path += L':';
    // No access rights needed for this IOCTL; never blocks on the medium.
    UniqueHandle volume(CreateFileW(path.c_str(), 0, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING, 0,
                                    nullptr));
    if (!volume.valid()) continue;
    STORAGE_DEVICE_NUMBER number{};
    DWORD got = 0;
    if (!DeviceIoControl(volume.get(), IOCTL_STORAGE_GET_DEVICE_NUMBER, nullptr, 0, &number, sizeof number, &got,
                         nullptr)) {
      continue;
    }
    if (number.DeviceType == device_type && number.DeviceNumber == device_number) {
      return std::string(1, static_cast<char>('A' + i)) + ":";
    }
  }
  return std::string();
}

Status volume_not_in_use(const std::string& letter) {
  std::wstring path = L"\\\\.\\" + widen(letter);
  UniqueHandle volume(CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                                  OPEN_EXISTING, 0, nullptr));
  if (!volume.valid()) {
    // No medium or no file system: nothing can hold it.
    DWORD code = GetLastError();
    if (code == ERROR_NOT_READY || code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND) return Status::Ok();
    return last_error("opening the volume " + letter);
  }
  DWORD got = 0;
  if (!DeviceIoControl(volume.get(), FSCTL_LOCK_VOLUME, nullptr, 0, nullptr, 0, &got, nullptr)) {
    DWORD code = GetLastError();
    if (code == ERROR_NOT_READY || code == ERROR_UNRECOGNIZED_VOLUME) return Status::Ok();
    return Status::IoError("a program has files open on " + letter + " (" + system_error_text(code) +
                           "); close it, or use --force");
  }
  DeviceIoControl(volume.get(), FSCTL_UNLOCK_VOLUME, nullptr, 0, nullptr, 0, &got, nullptr);
  return Status::Ok();
}

}  // namespace udisc::win
