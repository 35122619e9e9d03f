#include "platform/windows/win_error.h"

#include <windows.h>

namespace udisc::platform {

std::string windows_error_text(unsigned long code) {
  char buffer[512] = {};
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, code, 0, buffer,
                           sizeof buffer, nullptr);
  while (n > 0 && (buffer[n - 1] == '\n' || buffer[n - 1] == '\r' || buffer[n - 1] == ' ' || buffer[n - 1] == '.')) {
    --n;
  }
  std::string text(buffer, n);
  if (text.empty()) text = "Windows error";
  return text + " (error " + std::to_string(code) + ")";
}

}  // namespace udisc::platform
