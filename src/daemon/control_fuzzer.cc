// fuzz_control: the control protocol's parser and dispatcher.
//
// The input is a sequence of request lines handled by a fresh Controller
// (backend "none", no state file). The first byte picks the caller (root or
// one of two users) and which descriptors arrive with each line: an ISO in a
// memfd, a cue sheet and its BIN, or /dev/null. Every line must produce one
// well-formed JSON reply; nothing may crash or leak descriptors.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "daemon/daemon.h"

namespace {

using udisc::daemon::UniqueFd;

int make_memfd(const char* name, const std::string& content) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) std::abort();
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) std::abort();
  return fd;
}

struct Files {
  int iso = make_memfd("fuzz.iso", std::string(16 * 2048, '\x01'));
  int cue = make_memfd("fuzz.cue", "FILE \"a.bin\" BINARY\n  TRACK 01 MODE1/2048\n    INDEX 01 00:00:00\n");
  int bin = make_memfd("a.bin", std::string(20 * 2048, '\x02'));
};

const Files& files() {
  static const Files f;
  return f;
}

UniqueFd dup_of(int fd) {
  // Each descriptor gets its own open file description: reads use pread.
  return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  udisc::daemon::DaemonOptions opt;
  opt.state_path.clear();
  opt.max_drives = 8;
  opt.log = [](const std::string&) {};
  auto backend = udisc::daemon::make_none_backend();
  udisc::daemon::Controller ctl(opt, *backend);
  if (!ctl.restore().ok()) std::abort();

  static const uid_t kUids[] = {0, 1000, 1001, 0};
  const udisc::daemon::Credentials who{kUids[control & 3], kUids[control & 3], 1};
  std::deque<UniqueFd> fds;
  int lines = 0;
  while (!text.empty() && lines++ < 64) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    switch ((control >> 2) & 3) {
      case 1:
        fds.push_back(dup_of(files().iso));
        break;
      case 2:
        fds.push_back(dup_of(files().cue));
        fds.push_back(dup_of(files().bin));
        break;
      case 3:
        fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        break;
      default:
        break;
    }
    const std::string reply = ctl.handle_line(line, who, fds);
    if (reply.empty() || reply.back() != '\n' || reply.find('\n') != reply.size() - 1) std::abort();
    auto j = nlohmann::json::parse(reply, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("ok") || j["v"] != 1) std::abort();
    if (control & 0x10) fds.clear();  // the socket layer drops descriptors no request claims
  }
  return 0;
}
