// Text of a Windows error code (GetLastError, WSAGetLastError) for messages.
#pragma once

#include <string>

namespace udisc::platform {

// "The system cannot find the file specified. (error 2)"
std::string windows_error_text(unsigned long code);

}  // namespace udisc::platform
