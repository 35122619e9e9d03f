#include <windows.h>

#include <atomic>

#include "cli/stop_signal.h"

namespace udisc::cli {
namespace {

// The console control handler runs on a thread the system creates; it only
// records the event and wakes the waiting thread.
HANDLE g_stop_event = nullptr;
std::atomic<DWORD> g_stop_type{0};

BOOL WINAPI on_console_control(DWORD type) {
  g_stop_type.store(type);
  SetEvent(g_stop_event);
  return TRUE;  // handled: the process is not terminated before the clean stop
}

const char* control_name(DWORD type) {
  switch (type) {
    case CTRL_C_EVENT: return "Ctrl+C";
    case CTRL_BREAK_EVENT: return "Ctrl+Break";
    case CTRL_CLOSE_EVENT: return "console close";
    case CTRL_LOGOFF_EVENT: return "logoff";
    case CTRL_SHUTDOWN_EVENT: return "shutdown";
  }
  return "console control event";
}

}  // namespace

StopSignal::StopSignal() {
  g_stop_event = CreateEventA(nullptr, TRUE, FALSE, nullptr);
  SetConsoleCtrlHandler(on_console_control, TRUE);
}

StopSignal::~StopSignal() {
  SetConsoleCtrlHandler(on_console_control, FALSE);
  CloseHandle(g_stop_event);
  g_stop_event = nullptr;
}

std::string StopSignal::wait() {
  WaitForSingleObject(g_stop_event, INFINITE);
  return control_name(g_stop_type.load());
}

const char* StopSignal::description() { return "Ctrl+C"; }

std::string host_name() {
  char host[MAX_COMPUTERNAME_LENGTH + 1] = {};
  DWORD size = sizeof host;
  if (!GetComputerNameA(host, &size)) return "";
  return std::string(host, size);
}

}  // namespace udisc::cli
