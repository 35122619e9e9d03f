// What a foreground command (udisc serve) needs from the operating system:
// how it learns that the user wants it to stop (or, where signals exist, to
// reload its images), the host's name, a file's identity, and a secret file's
// contents. One file per platform, chosen by the build: stop_signal_posix.cc
// (SIGINT/SIGTERM/SIGHUP taken synchronously with sigwait) and
// stop_signal_windows.cc (SetConsoleCtrlHandler: Ctrl+C, Ctrl+Break, console
// closed, logoff, shutdown; no reload).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace udisc::cli {

class StopSignal {
 public:
  enum class Event { stop, reload };

  // Construct before starting any thread, so no other thread takes the signals.
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Blocks until the user asks for something: a stop, or (POSIX: SIGHUP) a
  // reload of replaced images. `what` receives its name ("SIGTERM", "Ctrl+C").
  Event next(std::string* what);
  // What the user can send, for "Serving until ...".
  static const char* description();
};

// The machine's host name ("" if unknown).
std::string host_name();

// Which file a path names now, to notice a replaced image.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t modified_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};
// nullopt (and *error, when given) if the path cannot be examined.
std::optional<FileIdentity> file_identity(const std::string& path, std::string* error);

// Reads a small file holding a secret. POSIX: a regular file, not a link,
// that neither group nor others can access (else an error saying to
// `chmod 600` it). Windows: the file's ACL decides who reads it.
bool read_owner_only_file(const std::string& path, std::string* text, std::string* error);

}  // namespace udisc::cli
