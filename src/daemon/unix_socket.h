// Unix-domain socket plumbing for the control interface: an owning file
// descriptor, message send/receive with SCM_RIGHTS descriptors, peer
// credentials (SO_PEERCRED) and a listening socket with a given mode/group.
//
// Thread safety: plain functions and values; a UniqueFd is owned by one
// thread at a time.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace udisc::daemon {

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Who is on the other end of a connection (SO_PEERCRED).
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t pid = 0;
  bool is_root() const { return uid == 0; }
};

Result<Credentials> peer_credentials(int fd);

// Sends all of `data` with `fds` attached (SCM_RIGHTS) to the first chunk.
// Blocking; retries on EINTR and partial writes.
Status send_with_fds(int sock, std::string_view data, std::span<const int> fds);

// The most descriptors one message may carry (the kernel's SCM_MAX_FD).
inline constexpr size_t kMaxFdsPerMessage = 253;

struct Received {
  size_t bytes = 0;            // 0 = end of stream
  std::vector<UniqueFd> fds;   // descriptors that arrived with these bytes
  bool fds_truncated = false;  // MSG_CTRUNC: some descriptors were lost
};
// One recvmsg() into `buf` (MSG_CMSG_CLOEXEC). IoError with errno text;
// with `nonblocking`, EAGAIN gives Status code io_error and message "EAGAIN".
// At most `max_fds` descriptors (rounded up to the control buffer's
// alignment, so one more may come) are taken in: the kernel closes the rest
// before they reach this process and sets fds_truncated.
Result<Received> receive_with_fds(int sock, std::span<char> buf, bool nonblocking,
                                  size_t max_fds = kMaxFdsPerMessage);

// Creates, binds and listens on a Unix stream socket at `path`: creates the
// parent folder (0755) when missing and refuses one others can write
// (safe_dir.h), refuses when a daemon answers at `path`, binds in a private
// sub-folder where it sets the socket's mode and, when a group of that name
// exists, its group, then renames it over `path` (replacing a stale socket).
// `group_applied` tells whether the group was found.
Result<UniqueFd> listen_unix(const std::string& path, mode_t mode, const std::string& group, bool* group_applied);

// Connects to the Unix stream socket at `path`.
// `error_number` (optional) receives the errno of a failure.
Result<UniqueFd> connect_unix(const std::string& path, int* error_number = nullptr);

}  // namespace udisc::daemon
