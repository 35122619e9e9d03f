#include "daemon/unix_socket.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "daemon/safe_dir.h"

namespace udisc::daemon {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

Status make_sockaddr(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr->sun_path) {
    return Status::InvalidArgument("socket path '" + path + "' is empty or longer than " +
                                   std::to_string(sizeof addr->sun_path - 1) + " bytes");
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  return Status::Ok();
}

}  // namespace

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<Credentials> peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return Status::IoError(std::string("SO_PEERCRED: ") + errno_text(errno));
  }
  return Credentials{cred.uid, cred.gid, cred.pid};
}

Status send_with_fds(int sock, std::string_view data, std::span<const int> fds) {
  if (fds.size() > kMaxFdsPerMessage) {
    return Status::InvalidArgument("too many descriptors in one message: " + std::to_string(fds.size()) + " (at most " +
                                   std::to_string(kMaxFdsPerMessage) + ")");
  }
  size_t sent = 0;
  bool fds_sent = fds.empty();
  std::vector<char> control(CMSG_SPACE(sizeof(int) * std::max<size_t>(fds.size(), 1)));
  while (sent < data.size() || !fds_sent) {
    iovec iov{const_cast<char*>(data.data()) + sent, data.size() - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (!fds_sent) {
      msg.msg_control = control.data();
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(std::string("sending on the control socket: ") + errno_text(errno));
    }
    fds_sent = true;
    sent += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<Received> receive_with_fds(int sock, std::span<char> buf, bool nonblocking, size_t max_fds) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  max_fds = std::min(max_fds, kMaxFdsPerMessage);
  for (;;) {
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // A zero-length control buffer would still be truncated (and the
    // descriptors closed by the kernel), which is what max_fds == 0 wants.
    msg.msg_control = max_fds == 0 ? nullptr : control;
    msg.msg_controllen = max_fds == 0 ? 0 : CMSG_SPACE(sizeof(int) * max_fds);
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (nonblocking ? MSG_DONTWAIT : 0));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::IoError("EAGAIN");
      return Status::IoError(std::string("receiving on the control socket: ") + errno_text(errno));
    }
    Received r;
    r.bytes = static_cast<size_t>(n);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        r.fds.emplace_back(fd);
      }
    }
    r.fds_truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    return r;
  }
}

Result<UniqueFd> listen_unix(const std::string& path, mode_t mode, const std::string& group, bool* group_applied) {
  if (group_applied) *group_applied = false;
  sockaddr_un addr{};
  if (Status s = make_sockaddr(path, &addr); !s.ok()) return s;
  const std::string folder = folder_of_path(path);
  if (Status s = ensure_private_dir(folder, 0755, "socket folder"); !s.ok()) return s;

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::InvalidArgument("'" + path + "' exists and is not a socket; remove it or choose another --socket");
    }
    int probe_errno = 0;
    if (connect_unix(path, &probe_errno).ok()) {
      return Status::InvalidArgument("another udisc daemon already listens on '" + path + "'");
    }
  }

  // The socket is made in a fresh folder only we can enter, given its group
  // and mode there by path (nobody else can swap that path), then renamed to
  // `path`. rename() replaces whatever name is at `path` (a stale socket, or
  // a symlink someone planted in a shared folder) without following it.
  std::string private_dir = folder + "/.udisc-bind-XXXXXX";
  if (::mkdtemp(private_dir.data()) == nullptr) {
    return Status::IoError("creating a private folder beside '" + path + "': " + errno_text(errno));
  }
  const std::string temp_path = private_dir + "/s";
  struct Cleanup {
    const std::string& dir;
    const std::string& file;
    ~Cleanup() {
      ::unlink(file.c_str());
      ::rmdir(dir.c_str());
    }
  } cleanup{private_dir, temp_path};
  sockaddr_un temp_addr{};
  if (Status s = make_sockaddr(temp_path, &temp_addr); !s.ok()) {
    return Status::InvalidArgument("socket path '" + path + "' is too long to bind safely (at most " +
                                   std::to_string(sizeof temp_addr.sun_path - 1 - (temp_path.size() - path.size())) +
                                   " bytes)");
  }

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Status::IoError(std::string("socket(AF_UNIX): ") + errno_text(errno));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&temp_addr), sizeof temp_addr) != 0) {
    return Status::IoError("binding '" + temp_path + "': " + errno_text(errno));
  }
  if (!group.empty()) {
    std::vector<char> buf(16384);
    struct group g {};
    struct group* found = nullptr;
    if (::getgrnam_r(group.c_str(), &g, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
      if (::chown(temp_path.c_str(), static_cast<uid_t>(-1), found->gr_gid) == 0) {
        if (group_applied) *group_applied = true;
      }
    }
  }
  if (::chmod(temp_path.c_str(), mode) != 0) return Status::IoError("chmod '" + temp_path + "': " + errno_text(errno));
  if (::listen(fd.get(), 64) != 0) return Status::IoError("listen on '" + path + "': " + errno_text(errno));
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    return Status::IoError("moving the socket to '" + path + "': " + errno_text(errno));
  }
  return fd;
}

Result<UniqueFd> connect_unix(const std::string& path, int* error_number) {
  if (error_number) *error_number = 0;
  sockaddr_un addr{};
  if (Status s = make_sockaddr(path, &addr); !s.ok()) {
    if (error_number) *error_number = EINVAL;
    return s;
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    if (error_number) *error_number = errno;
    return Status::IoError(std::string("socket(AF_UNIX): ") + errno_text(errno));
  }
  while (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EINTR) continue;
    const int e = errno;
    if (error_number) *error_number = e;
    if (e == ENOENT || e == ECONNREFUSED) return Status::NotFound("connecting to '" + path + "': " + errno_text(e));
    return Status::IoError("connecting to '" + path + "': " + errno_text(e));
  }
  return fd;
}

}  // namespace udisc::daemon
