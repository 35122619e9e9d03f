// The udisc Windows service: `udisc.exe service` under the service control
// manager (LocalSystem), or in the foreground for tests and debugging. It
// hosts the loopback targets, logs the in-box initiator in and out, keeps
// %ProgramData%\udisc\state.json and answers the control pipe
// (control_pipe.h) with the service controller (service_controller.h).
#pragma once

#include <windows.h>

#include <string>

#include "util/status.h"

namespace udisc::win {

inline constexpr wchar_t kServiceName[] = L"udisc";
inline constexpr wchar_t kServiceDisplayName[] = L"uDiscMounter virtual disc drives";

struct ServiceRunOptions {
  std::string state_path;      // empty: %ProgramData%\udisc\state.json
  std::wstring pipe_name;      // empty: control_pipe_name()
  bool fake_initiator = false;  // tests only: drives reach no Windows device (as Linux's "none" backend)
};

// %ProgramData%\udisc\state.json.
std::string default_state_path();

// Registers udisc.exe (this executable) as an automatic LocalSystem service
// running `"<exe>" service`, and starts it. Needs administrator rights.
Status install_service();
// Stops and deletes the service. Needs administrator rights.
Status uninstall_service();
// Whether the service is installed and running (for doctor).
Result<bool> service_running();

// Entry point of `udisc.exe service` when the SCM starts it: blocks until the
// service stops. Returns the process exit status.
int run_service_dispatcher(ServiceRunOptions options);
// The same service in the foreground until `stop_event` is set (tests, or a
// console started by hand); errors are printed as one `udisc:` line.
int run_service_foreground(ServiceRunOptions options, HANDLE stop_event);

}  // namespace udisc::win
