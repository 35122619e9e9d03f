#include "platform/windows/win_error.h"

#include <winsock2.h>
#include <windows.h>

namespace udisc::platform {
namespace {

// Winsock errors users meet, for systems whose message tables lack them (Wine).
const char* winsock_error_name(unsigned long code) {
  switch (code) {
    case WSAEADDRINUSE: return "address already in use";
    case WSAEADDRNOTAVAIL: return "address not available on this machine";
    case WSAEACCES: return "permission denied";
    case WSAECONNRESET: return "connection reset by peer";
    case WSAECONNABORTED: return "connection aborted";
    case WSAEAFNOSUPPORT: return "address family not supported";
    case WSAEMFILE: return "too many open sockets";
    case WSAENOBUFS: return "no buffer space available";
    case WSAHOST_NOT_FOUND: return "host not found";
  }
  return nullptr;
}

}  // namespace

std::string windows_error_text(unsigned long code) {
  char buffer[512] = {};
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr, code, 0, buffer,
                           sizeof buffer, nullptr);
  while (n > 0 && (buffer[n - 1] == '\n' || buffer[n - 1] == '\r' || buffer[n - 1] == ' ' || buffer[n - 1] == '.')) {
    --n;
  }
  std::string text(buffer, n);
  if (text.empty()) {
    const char* name = winsock_error_name(code);
    text = name != nullptr ? name : "Windows error";
  }
  return text + " (error " + std::to_string(code) + ")";
}

}  // namespace udisc::platform
