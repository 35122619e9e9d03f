#include "daemon/safe_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace udisc::daemon {
namespace {

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status make_missing(const std::string& dir, mode_t mode) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument("'" + dir + "' exists and is not a folder");
    return Status::Ok();
  }
  if (errno != ENOENT) return Status::IoError("'" + dir + "': " + std::strerror(errno));
  const std::string parent = folder_of_path(dir);
  if (parent != dir && parent != "." && parent != "/") {
    if (Status s = make_missing(parent, 0755); !s.ok()) return s;
  }
  // The umask must not widen nor narrow what we ask for: set the mode after.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IoError("creating folder '" + dir + "': " + std::strerror(errno));
  }
  if (::chmod(dir.c_str(), mode) != 0) return Status::IoError("chmod '" + dir + "': " + std::strerror(errno));
  return Status::Ok();
}

// One folder of the chain: owned by root or us, and not writable by others
// (unless sticky).
Status check_one(const std::string& dir, const std::string& what, const std::string& shown) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Status::IoError("'" + dir + "': " + std::strerror(errno));
  const uid_t me = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != me) {
    return Status::InvalidArgument("refusing the " + what + " '" + shown + "': '" + dir + "' belongs to uid " +
                                   std::to_string(st.st_uid) + ", not to root" +
                                   (me != 0 ? " or uid " + std::to_string(me) : std::string()) +
                                   ", so that user could replace the daemon's files");
  }
  const bool sticky = (st.st_mode & S_ISVTX) != 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky) {
    return Status::InvalidArgument("refusing the " + what + " '" + shown + "': '" + dir +
                                   "' is writable by other users (mode " + octal(st.st_mode) +
                                   "); make it writable by its owner only (chmod go-w '" + dir + "')");
  }
  return Status::Ok();
}

}  // namespace

std::string folder_of_path(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status ensure_private_dir(const std::string& dir, mode_t mode, const std::string& what) {
  if (Status s = make_missing(dir, mode); !s.ok()) return s.with_context(what);
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real) == nullptr) {
    return Status::IoError(what + " '" + dir + "': " + std::strerror(errno));
  }
  std::string p = real;
  if (Status s = check_one(p, what, dir); !s.ok()) return s;
  while (p != "/") {
    p = folder_of_path(p);
    if (Status s = check_one(p, what, dir); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<int> open_own_file(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("'" + path + "' does not exist");
    if (errno == ELOOP) return Status::InvalidArgument("'" + path + "' is a symbolic link; refusing to follow it");
    return Status::IoError("opening '" + path + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return Status::IoError("fstat '" + path + "': " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid()) {
    ::close(fd);
    return Status::InvalidArgument("'" + path + "' is not a regular file of uid " + std::to_string(::geteuid()) +
                                   " (someone else made it); move it away");
  }
  return fd;
}

}  // namespace udisc::daemon
