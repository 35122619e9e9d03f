// parse_address/format_address of server.h for the Windows build. The POSIX
// server.cc still defines its own copy while it is being reworked on another
// branch; once that lands, server.cc drops it and both builds compile this file.
#include <cstdlib>

#include "transport/iscsi/server.h"

namespace udisc::iscsi {

Result<SocketAddress> parse_address(const std::string& text) {
  SocketAddress out;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("address '" + text + "': missing ']'");
    out.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return Status::InvalidArgument("address '" + text + "': expected ':' after ']'");
      port = text.substr(close + 2);
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string::npos && text.find(':') == colon) {
      out.host = text.substr(0, colon);
      port = text.substr(colon + 1);
    } else {
      out.host = text;  // bare host (or bare IPv6 without port)
    }
  }
  if (out.host.empty()) return Status::InvalidArgument("address '" + text + "': no host");
  if (port.empty()) {
    out.port = 3260;
  } else {
    char* end = nullptr;
    const long v = std::strtol(port.c_str(), &end, 10);
    if (*end != 0 || v < 0 || v > 65535) return Status::InvalidArgument("address '" + text + "': bad port '" + port + "'");
    out.port = static_cast<uint16_t>(v);
  }
  return out;
}

std::string format_address(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

}  // namespace udisc::iscsi
