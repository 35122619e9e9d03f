#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/stop_signal.h"

namespace udisc::cli {
namespace {

sigset_t serve_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

}  // namespace

// Signals are taken synchronously by the waiting thread; threads started
// afterwards inherit the mask and never see them.
StopSignal::StopSignal() {
  const sigset_t signals = serve_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

StopSignal::~StopSignal() = default;

StopSignal::Event StopSignal::next(std::string* what) {
  const sigset_t signals = serve_signals();
  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  *what = sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
  return sig == SIGHUP ? Event::reload : Event::stop;
}

const char* StopSignal::description() {
  return "SIGINT/SIGTERM (SIGHUP: change the disc of each LUN whose image file was replaced)";
}

std::string host_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

std::optional<FileIdentity> file_identity(const std::string& path, std::string* error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (error) *error = std::strerror(errno);
    return std::nullopt;
  }
  FileIdentity id;
  id.device = static_cast<uint64_t>(st.st_dev);
  id.inode = static_cast<uint64_t>(st.st_ino);
  id.size = static_cast<uint64_t>(st.st_size);
  id.modified_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return id;
}

bool read_owner_only_file(const std::string& path, std::string* text, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = "not a regular file";
    ::close(fd);
    return false;
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *error = std::string("other users can access it (mode ") + mode + "); run: chmod 600 " + path;
    ::close(fd);
    return false;
  }
  char buf[1024];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  const int read_errno = errno;
  ::close(fd);
  if (n < 0) {
    *error = std::strerror(read_errno);
    return false;
  }
  text->assign(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace udisc::cli
