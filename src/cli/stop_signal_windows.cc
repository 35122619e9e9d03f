#include <windows.h>

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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

StopSignal::Event StopSignal::next(std::string* what) {
  WaitForSingleObject(g_stop_event, INFINITE);
  *what = control_name(g_stop_type.load());
  return Event::stop;
}

const char* StopSignal::description() { return "Ctrl+C"; }

std::string host_name() {
  char host[MAX_COMPUTERNAME_LENGTH + 1] = {};
  DWORD size = sizeof host;
  if (!GetComputerNameA(host, &size)) return "";
  return std::string(host, size);
}

std::optional<FileIdentity> file_identity(const std::string& path, std::string* error) {
  struct _stat64 st {};
  if (_stat64(path.c_str(), &st) != 0) {
    if (error) *error = std::strerror(errno);
    return std::nullopt;
  }
  FileIdentity id;
  id.device = static_cast<uint64_t>(st.st_dev);
  id.inode = static_cast<uint64_t>(st.st_ino);
  id.size = static_cast<uint64_t>(st.st_size);
  id.modified_ns = static_cast<int64_t>(st.st_mtime) * 1000000000;
  return id;
}

bool read_owner_only_file(const std::string& path, std::string* text, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::strerror(errno);
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  *text = s.str().substr(0, 1024);
  return true;
}

}  // namespace udisc::cli
