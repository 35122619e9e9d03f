// How a foreground command (udisc serve) learns that the user wants it to
// stop, and the host's name. One file per platform, chosen by the build:
// stop_signal_posix.cc (SIGINT/SIGTERM taken synchronously with sigwait) and
// stop_signal_windows.cc (SetConsoleCtrlHandler: Ctrl+C, Ctrl+Break, console
// closed, logoff, shutdown).
#pragma once

#include <string>

namespace udisc::cli {

class StopSignal {
 public:
  // Construct before starting any thread, so no other thread takes the signals.
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Blocks until a stop is requested; returns what requested it ("SIGTERM", "Ctrl+C").
  std::string wait();
  // What stops the command, for "Serving until ...": "SIGINT/SIGTERM" or "Ctrl+C".
  static const char* description();
};

// The machine's host name ("" if unknown).
std::string host_name();

}  // namespace udisc::cli
