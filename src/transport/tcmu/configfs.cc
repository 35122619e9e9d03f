#include "transport/tcmu/configfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace udisc::tcmu::fs {

namespace {
std::string err(const std::string& what, const std::string& path, int e) {
  return what + " '" + path + "': " + std::strerror(e);
}
}  // namespace

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_symlink(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

Status write_attr(const std::string& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(err("opening", path, errno));
  const ssize_t n = ::write(fd, value.data(), value.size());
  const int e = errno;
  ::close(fd);
  if (n < 0) return Status::IoError(err("writing '" + value + "' to", path, e));
  if (static_cast<size_t>(n) != value.size())
    return Status::IoError("writing '" + value + "' to '" + path + "': short write");
  return Status::Ok();
}

Result<std::string> read_attr(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(err("opening", path, errno));
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return Status::IoError(err("reading", path, e));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1u << 20)) break;
  }
  ::close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\0' || out.back() == '\t'))
    out.pop_back();
  return out;
}

Status make_dir(const std::string& path, bool ok_if_exists) {
  if (::mkdir(path.c_str(), 0755) == 0) return Status::Ok();
  if (errno == EEXIST && ok_if_exists && is_dir(path)) return Status::Ok();
  return Status::IoError(err("creating directory", path, errno));
}

Status remove_dir(const std::string& path) {
  if (::rmdir(path.c_str()) == 0) return Status::Ok();
  return Status::IoError(err("removing directory", path, errno));
}

Status make_symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) == 0) return Status::Ok();
  return Status::IoError(err("linking '" + target + "' as", link, errno));
}

Status remove_link(const std::string& path) {
  if (::unlink(path.c_str()) == 0) return Status::Ok();
  return Status::IoError(err("removing link", path, errno));
}

Result<std::string> read_link(const std::string& path) {
  char buf[4096];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return Status::IoError(err("reading link", path, errno));
  return std::string(buf, static_cast<size_t>(n));
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status run_program(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("run_program: empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::string line;
  for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) return Status::IoError("running '" + line + "': " + std::strerror(rc));
  int wst = 0;
  while (::waitpid(pid, &wst, 0) < 0) {
    if (errno != EINTR) return Status::IoError("waiting for '" + line + "': " + std::strerror(errno));
  }
  if (WIFEXITED(wst) && WEXITSTATUS(wst) == 0) return Status::Ok();
  std::ostringstream m;
  m << "'" << line << "' failed (";
  if (WIFEXITED(wst))
    m << "exit status " << WEXITSTATUS(wst);
  else
    m << "signal " << WTERMSIG(wst);
  m << ")";
  return Status::IoError(m.str());
}

bool is_mounted(const std::string& mount_point, const std::string& fstype) {
  std::ifstream in("/proc/mounts");
  std::string dev, mnt, type, rest;
  while (in >> dev >> mnt >> type) {
    std::getline(in, rest);
    if (mnt == mount_point && type == fstype) return true;
  }
  return false;
}

}  // namespace udisc::tcmu::fs
