#include "daemon/image_source.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "formats/cue_image.h"
#include "remote/location.h"

namespace udisc::daemon {
namespace {

std::string fd_path(int fd) {
  std::array<char, 4096> buf{};
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size() - 1);
  if (n <= 0) return "";
  return std::string(buf.data(), static_cast<size_t>(n));
}

bool path_reopenable(const std::string& path) {
  static constexpr std::string_view kDeleted = " (deleted)";
  if (path.empty() || path[0] != '/') return false;  // pipe:[..], anon_inode:, ...
  if (path.size() >= kDeleted.size() && path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    return false;
  }
  return path.rfind("/memfd:", 0) != 0;
}

// Supplementary groups of uid (looked up in the parent, before fork).
std::vector<gid_t> groups_of(uid_t uid, gid_t gid) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) return {gid};
  int n = 64;
  std::vector<gid_t> groups(static_cast<size_t>(n));
  if (::getgrouplist(pw.pw_name, gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<size_t>(n));
    if (::getgrouplist(pw.pw_name, gid, groups.data(), &n) < 0) return {gid};
  }
  groups.resize(static_cast<size_t>(n));
  return groups;
}

// The child's answer for a path that is neither a regular file nor a block
// device (not an errno value).
constexpr int32_t kNotAFile = 1'000'000;

// Child side of open_as_user: async-signal-safe calls only.
[[noreturn]] void open_child(int sock, const std::vector<const char*>& paths, uid_t uid, gid_t gid,
                             const std::vector<gid_t>& groups, bool switch_user) {
  if (switch_user) {
    if (::setgroups(groups.size(), groups.data()) != 0 || ::setresgid(gid, gid, gid) != 0 ||
        ::setresuid(uid, uid, uid) != 0) {
      int32_t e = -errno;
      (void)!::write(sock, &e, sizeof e);
      ::_exit(1);
    }
  }
  for (const char* p : paths) {
    // O_NONBLOCK: opening a FIFO (or a device that waits for a carrier)
    // must not wait for a writer. Only then fstat says what it is.
    int fd = ::open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    int32_t e = fd < 0 ? errno : 0;
    struct stat st {};
    if (fd >= 0 && (::fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)))) {
      ::close(fd);
      fd = -1;
      e = kNotAFile;
    }
    if (fd >= 0) (void)::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    iovec iov{&e, sizeof e};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (fd >= 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) ::_exit(2);
    if (fd >= 0) ::close(fd);
  }
  ::_exit(0);
}

}  // namespace

Result<FileRecord> describe_fd(int fd, const std::string& what) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return Status::InvalidArgument(what + ": not an open descriptor: " + std::strerror(errno));
#ifdef O_PATH
  if ((flags & O_PATH) == O_PATH) {
    return Status::InvalidArgument(what + ": descriptor was opened with O_PATH; send one opened for reading");
  }
#endif
  if ((flags & O_ACCMODE) != O_RDONLY && (flags & O_ACCMODE) != O_RDWR) {
    return Status::InvalidArgument(what + ": descriptor is not open for reading");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IoError(what + ": fstat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return Status::InvalidArgument(what + ": not a regular file or block device");
  }
  FileRecord r;
  r.path = fd_path(fd);
  r.dev = static_cast<uint64_t>(st.st_dev);
  r.ino = static_cast<uint64_t>(st.st_ino);
  r.size = static_cast<uint64_t>(st.st_size);
  if (S_ISBLK(st.st_mode)) {
    off_t end = ::lseek(fd, 0, SEEK_END);
    r.size = end > 0 ? static_cast<uint64_t>(end) : 0;
  }
  return r;
}

Result<OpenedImage> open_received_image(const ImageSpec& spec, std::vector<UniqueFd> fds) {
  const std::string shown = spec.path.empty() ? std::string("image") : "'" + spec.path + "'";
  if (fds.size() != 1 + spec.files.size()) {
    return Status::InvalidArgument(shown + ": " + std::to_string(fds.size()) + " descriptors received, " +
                                   std::to_string(1 + spec.files.size()) + " expected");
  }
  OpenedImage out;
  auto main_rec = describe_fd(fds[0].get(), shown);
  if (!main_rec.ok()) return main_rec.status();
  out.record.image = *main_rec;
  bool reopenable = path_reopenable(main_rec->path);
  const std::string main_name = main_rec->path.empty() ? spec.path : main_rec->path;
  auto main_file = formats::adopt_fd(fds[0].release(), main_name);
  if (!main_file.ok()) return main_file.status();

  std::map<std::string, std::shared_ptr<formats::RandomAccessFile>> companions;
  for (size_t i = 0; i < spec.files.size(); ++i) {
    const std::string what = shown + ": file '" + spec.files[i] + "'";
    auto rec = describe_fd(fds[i + 1].get(), what);
    if (!rec.ok()) return rec.status();
    rec->ref = spec.files[i];
    reopenable = reopenable && path_reopenable(rec->path);
    auto f = formats::adopt_fd(fds[i + 1].release(), rec->path.empty() ? spec.files[i] : rec->path);
    if (!f.ok()) return f.status();
    if (!companions.emplace(spec.files[i], std::move(f).value()).second) {
      return Status::InvalidArgument(what + " is sent twice");
    }
    out.record.files.push_back(std::move(rec).value());
  }
  out.record.reopenable = reopenable;
  auto image = open_image_from_files(std::move(main_file).value(), std::move(companions));
  if (!image.ok()) return image.status();
  out.image = std::move(image).value();
  out.record.format = out.image->format_name();
  return out;
}

std::vector<Result<UniqueFd>> open_as_user(const std::vector<std::string>& paths, uid_t uid, gid_t gid) {
  std::vector<Result<UniqueFd>> out;
  auto fail_all = [&](const Status& s) {
    out.clear();
    for (size_t i = 0; i < paths.size(); ++i) out.emplace_back(s);
    return std::move(out);
  };
  if (paths.empty()) return out;
  // Switch user only when it differs from ours (a non-root daemon in tests).
  const bool switch_user = !(::geteuid() == uid && ::getegid() == gid);
  if (switch_user && ::geteuid() != 0) {
    return fail_all(Status::InvalidArgument("cannot open files as uid " + std::to_string(uid) +
                                            ": the daemon is not running as root"));
  }
  const std::vector<gid_t> groups = switch_user ? groups_of(uid, gid) : std::vector<gid_t>{};
  std::vector<const char*> cpaths;
  for (const auto& p : paths) cpaths.push_back(p.c_str());

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return fail_all(Status::IoError(std::string("socketpair: ") + std::strerror(errno)));
  }
  UniqueFd parent(sv[0]), child_end(sv[1]);
  const pid_t pid = ::fork();
  if (pid < 0) return fail_all(Status::IoError(std::string("fork: ") + std::strerror(errno)));
  if (pid == 0) open_child(child_end.get(), cpaths, uid, gid, groups, switch_user);
  child_end.reset();

  // The helper gets kOpenTimeout for all its paths: an open() that hangs (a
  // stalled FUSE or NFS server) costs this thread that long, no more.
  const auto deadline = std::chrono::steady_clock::now() + kOpenTimeout;
  bool killed = false;
  for (size_t i = 0; i < paths.size(); ++i) {
    if (!killed) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd pfd{parent.get(), POLLIN, 0};
      int ready;
      while ((ready = ::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)))) < 0 && errno == EINTR) {
      }
      if (ready == 0) {
        ::kill(pid, SIGKILL);
        killed = true;
      }
    }
    if (killed) {
      out.emplace_back(Status::IoError("opening '" + paths[i] + "' as uid " + std::to_string(uid) + ": no answer in " +
                                       std::to_string(kOpenTimeout.count()) +
                                       " s (a stalled file system?); gave up"));
      continue;
    }
    std::array<char, 4> buf{};
    auto r = receive_with_fds(parent.get(), buf, false, 1);
    if (!r.ok() || r->bytes != sizeof(int32_t)) {
      out.emplace_back(Status::IoError("opening '" + paths[i] + "' as uid " + std::to_string(uid) +
                                       ": the helper process ended early"));
      continue;
    }
    int32_t e;
    std::memcpy(&e, buf.data(), sizeof e);
    if (e < 0) {
      // Dropping privileges failed: nothing was opened.
      Status s = Status::IoError("switching to uid " + std::to_string(uid) + ": " + std::strerror(-e));
      out.emplace_back(s);
      while (out.size() < paths.size()) out.emplace_back(s);
      break;
    }
    if (e == kNotAFile) {
      out.emplace_back(Status::InvalidArgument("'" + paths[i] + "': not a regular file or block device"));
      continue;
    }
    if (e != 0 || r->fds.size() != 1) {
      const std::string why = e != 0 ? std::strerror(e) : "no descriptor came back";
      Status s = e == ENOENT ? Status::NotFound("'" + paths[i] + "': " + why)
                             : Status::IoError("'" + paths[i] + "' (as uid " + std::to_string(uid) + "): " + why);
      out.emplace_back(s);
      continue;
    }
    out.emplace_back(std::move(r->fds[0]));
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  return out;
}

Result<OpenedImage> open_url_image(const ImageSpec& spec) {
  if (Status s = check_image_url(spec.url); !s.ok()) return s;
  remote::HttpOptions http;
  http.ca_pem = spec.ca_pem;
  if (!spec.auth.empty()) {
    auto credentials = remote::parse_credentials(spec.auth, "image.auth");
    if (!credentials.ok()) return credentials.status();
    http.credentials = *credentials;
  }
  auto opened = remote::open_location(spec.url, http);
  if (!opened.ok()) return opened.status();
  OpenedImage out;
  out.image = opened->image;
  out.from_url = std::move(opened).value();
  out.record.url = spec.url;
  out.record.auth = spec.auth;
  out.record.ca_pem = spec.ca_pem;
  out.record.format = out.image->format_name();
  out.record.reopenable = true;
  return out;
}

Result<OpenedImage> reopen_image(const ImageRecord& record, uid_t uid, gid_t gid) {
  if (!record.url.empty()) {
    ImageSpec spec;
    spec.url = record.url;
    spec.auth = record.auth;
    spec.ca_pem = record.ca_pem;
    return open_url_image(spec);
  }
  if (!record.reopenable) {
    return Status::NotSupported("'" + record.image.path + "' cannot be opened again (a deleted file, pipe or memfd)");
  }
  std::vector<std::string> paths{record.image.path};
  for (const auto& f : record.files) paths.push_back(f.path);
  auto opened = open_as_user(paths, uid, gid);
  std::vector<UniqueFd> fds;
  ImageSpec spec;
  spec.path = record.image.path;
  for (size_t i = 0; i < opened.size(); ++i) {
    if (!opened[i].ok()) return opened[i].status();
    auto rec = describe_fd(opened[i]->get(), "'" + paths[i] + "'");
    if (!rec.ok()) return rec.status();
    const FileRecord& want = i == 0 ? record.image : record.files[i - 1];
    if (rec->dev != want.dev || rec->ino != want.ino) {
      return Status::InvalidArgument("'" + paths[i] + "' is no longer the file that was inserted (it was replaced)");
    }
    if (rec->size != want.size) {
      return Status::InvalidArgument("'" + paths[i] + "' changed size since it was inserted (" +
                                     std::to_string(want.size) + " -> " + std::to_string(rec->size) + " bytes)");
    }
    if (i > 0) spec.files.push_back(record.files[i - 1].ref);
    fds.push_back(std::move(opened[i].value()));
  }
  return open_received_image(spec, std::move(fds));
}

}  // namespace udisc::daemon
