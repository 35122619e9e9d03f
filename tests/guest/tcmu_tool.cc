// udisc-tcmu-tool: drives the TCMU transport directly, for the real-kernel
// guest tests (no daemon needed).
//
//   udisc-tcmu-tool doctor
//   udisc-tcmu-tool scan
//   udisc-tcmu-tool serve NAME IMAGE [--mini]   create a drive, print "NODE /dev/srN",
//                                               serve until SIGTERM (remove) or SIGUSR1 (leave)
//   udisc-tcmu-tool adopt NAME IMAGE [--mini]   take over a drive left by a killed process
//   udisc-tcmu-tool remove-stale                remove every udisc_ device nobody serves
//
// IMAGE is answered by the drive engine (device::Drive over formats::open_image)
// when this tool is built with it; --mini (or a build without the engine) uses
// a minimal responder for 2048-byte ISO images that answers only what sr and
// isofs need, to test the transport alone.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "transport/tcmu/tcmu.h"

#ifdef UDISC_TOOL_HAVE_ENGINE
#include "device/drive.h"
#include "formats/open.h"
#endif

namespace {

using udisc::Status;
namespace device = udisc::device;
namespace tcmu = udisc::tcmu;

// ---- minimal responder (transport tests only; the engine is the real drive) ----
class MiniDrive {
 public:
  explicit MiniDrive(int fd, uint64_t size) : fd_(fd), blocks_(static_cast<uint32_t>(size / 2048)) {}

  device::Response execute(const device::Request& r) {
    const auto& c = r.cdb;
    switch (c[0]) {
      case 0x00:  // TEST UNIT READY
      case 0x1E:  // PREVENT ALLOW MEDIUM REMOVAL
      case 0x1B:  // START STOP UNIT
        return {};
      case 0x03: {  // REQUEST SENSE: no sense
        uint8_t s[18] = {0x70, 0, 0, 0, 0, 0, 0, 10};
        return reply(r, s, sizeof s, c[4]);
      }
      case 0x12: {                                     // INQUIRY
        if (c[1] & 1) return check(0x05, 0x24, 0x00);  // no VPD pages here
        uint8_t inq[36] = {0x05, 0x80, 0x05, 0x32, 31};
        std::memcpy(inq + 8, "UDISC   ", 8);
        std::memcpy(inq + 16, "Mini TCMU Test  ", 16);
        std::memcpy(inq + 32, "0.01", 4);
        return reply(r, inq, sizeof inq, static_cast<uint32_t>(c[3] << 8 | c[4]));
      }
      case 0x25: {  // READ CAPACITY(10)
        uint8_t cap[8];
        put32(cap, blocks_ - 1);
        put32(cap + 4, 2048);
        return reply(r, cap, 8, 8);
      }
      case 0x5A: {  // MODE SENSE(10): page 2A, minimal
        uint8_t m[8 + 28] = {};
        m[1] = sizeof m - 2;
        m[8] = 0x2A;
        m[9] = 26;
        m[10] = 0x3F;  // reads CD-R/RW, DVD
        m[14] = 0x29;  // tray, eject, lock
        return reply(r, m, sizeof m, static_cast<uint32_t>(c[7] << 8 | c[8]));
      }
      case 0x43: {  // READ TOC format 0/1, LBA
        const uint8_t fmt = c[2] & 0x0F;
        uint8_t t[20] = {};
        if (fmt == 1) {
          t[1] = 10;
          t[2] = 1;
          t[3] = 1;
          t[5] = 0x14;
          t[6] = 1;
          return reply(r, t, 12, static_cast<uint32_t>(c[7] << 8 | c[8]));
        }
        t[1] = 18;
        t[2] = 1;
        t[3] = 1;
        t[5] = 0x14;
        t[6] = 1;
        t[13] = 0x14;
        t[14] = 0xAA;
        put32(t + 16, blocks_);
        return reply(r, t, 20, static_cast<uint32_t>(c[7] << 8 | c[8]));
      }
      case 0x28: {  // READ(10)
        const uint32_t lba = get32(&c[2]);
        const uint32_t n = static_cast<uint32_t>(c[7] << 8 | c[8]);
        if (static_cast<uint64_t>(lba) + n > blocks_) return check(0x05, 0x21, 0x00);
        uint64_t off = static_cast<uint64_t>(lba) * 2048;
        uint64_t left = static_cast<uint64_t>(n) * 2048;
        device::Response rsp;
        for (const auto& seg : r.data_in) {
          if (!left) break;
          const size_t k = static_cast<size_t>(std::min<uint64_t>(left, seg.size()));
          if (::pread(fd_, seg.data(), k, static_cast<off_t>(off)) != static_cast<ssize_t>(k))
            return check(0x03, 0x11, 0x00);
          off += k;
          left -= k;
          rsp.data_in_length += static_cast<uint32_t>(k);
        }
        return rsp;
      }
      default:
        return check(0x05, 0x20, 0x00);
    }
  }

 private:
  static void put32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
  }
  static uint32_t get32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
           p[3];
  }
  static device::Response check(uint8_t key, uint8_t asc, uint8_t ascq) {
    device::Response r;
    r.status = device::ScsiStatus::check_condition;
    r.sense[0] = 0x70;
    r.sense[2] = key;
    r.sense[7] = 10;
    r.sense[12] = asc;
    r.sense[13] = ascq;
    r.sense_length = 18;
    return r;
  }
  static device::Response reply(const device::Request& r, const uint8_t* data, uint32_t len, uint32_t alloc) {
    device::Response rsp;
    uint32_t n = std::min({len, alloc, r.expected_transfer_length});
    uint32_t done = 0;
    for (const auto& seg : r.data_in) {
      if (done == n) break;
      const uint32_t k = std::min<uint32_t>(n - done, static_cast<uint32_t>(seg.size()));
      std::memcpy(seg.data(), data + done, k);
      done += k;
    }
    rsp.data_in_length = done;
    return rsp;
  }
  int fd_;
  uint32_t blocks_;
};

volatile sig_atomic_t g_signal = 0;
void on_signal(int s) { g_signal = s; }

struct Backend {
  tcmu::CommandHandler handler;          // minimal responder
  std::shared_ptr<device::Drive> drive;  // or the engine
};

udisc::Result<Backend> make_backend(const std::string& image, bool mini) {
#ifdef UDISC_TOOL_HAVE_ENGINE
  if (!mini) {
    auto img = udisc::formats::open_image(image);
    if (!img.ok()) return img.status();
    auto drive = std::make_shared<device::Drive>();
    Status st = drive->insert(*img);
    if (!st.ok()) return st;
    return Backend{nullptr, drive};
  }
#else
  (void)mini;
#endif
  const int fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("opening '" + image + "': " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  auto drive = std::make_shared<MiniDrive>(fd, static_cast<uint64_t>(st.st_size));
  return Backend{[drive](const device::Request& r) { return drive->execute(r); }, nullptr};
}

int serve_until_signal(tcmu::TcmuDrive& d) {
  std::printf("NODE %s\n", d.device_node().c_str());
  std::fflush(stdout);
  while (g_signal == 0) ::pause();
  const auto s = d.stats();
  std::printf("STATS commands=%llu data_in_bytes=%llu check_conditions=%llu ring_errors=%llu\n",
              static_cast<unsigned long long>(s.commands), static_cast<unsigned long long>(s.data_in_bytes),
              static_cast<unsigned long long>(s.check_conditions), static_cast<unsigned long long>(s.ring_errors));
  if (g_signal == SIGUSR1) {
    std::printf("LEFT %s\n", d.name().c_str());
    return 0;
  }
  Status st = d.remove();
  if (!st.ok()) {
    std::fprintf(stderr, "remove: %s\n", st.message().c_str());
    return 1;
  }
  std::printf("REMOVED %s\n", d.name().c_str());
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: udisc-tcmu-tool doctor|scan|remove-stale|serve NAME IMAGE [--mini]|adopt NAME IMAGE [--mini]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage();
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
  const bool mini = std::find(args.begin(), args.end(), "--mini") != args.end();
  const std::string& cmd = args[0];
  if (cmd == "doctor") {
    auto ks = tcmu::check_kernel_support();
    for (const auto& it : ks.items)
      std::printf("%-24s %-3s %s\n", it.what.c_str(), it.ok ? "ok" : "NO", it.detail.c_str());
    std::printf("%s\n", ks.summary.c_str());
    return ks.usable ? 0 : 1;
  }
  if (cmd == "scan" || cmd == "remove-stale") {
    auto list = tcmu::scan_configfs();
    if (!list.ok()) {
      std::fprintf(stderr, "%s\n", list.status().message().c_str());
      return 1;
    }
    int rc = 0;
    for (const auto& d : *list) {
      std::printf("DEVICE %s hba=%u uio=%s wwn=%s linked=%d cmd_time_out=%u node=%s config=%s\n", d.name.c_str(),
                  d.hba_index, d.uio.c_str(), d.wwn.c_str(), d.lun_linked ? 1 : 0, d.cmd_time_out,
                  d.device_node.c_str(), d.dev_config.c_str());
      if (cmd == "remove-stale") {
        Status st = tcmu::remove_stale(d);
        std::printf("%s %s\n", st.ok() ? "REMOVED" : "FAILED", st.ok() ? d.name.c_str() : st.message().c_str());
        if (!st.ok()) rc = 1;
      }
    }
    return rc;
  }
  if ((cmd == "serve" || cmd == "adopt") && args.size() >= 3) {
    auto backend = make_backend(args[2], mini);
    if (!backend.ok()) {
      std::fprintf(stderr, "%s\n", backend.status().message().c_str());
      return 1;
    }
    tcmu::TcmuConfig cfg;
    cfg.name = args[1];
    udisc::Result<std::unique_ptr<tcmu::TcmuDrive>> d = Status::NotFound("no device " + args[1] + " to adopt");
    if (cmd == "serve") {
#ifdef UDISC_TOOL_HAVE_ENGINE
      if (backend->drive)
        d = tcmu::TcmuDrive::create(cfg, backend->drive);
      else
#endif
        d = tcmu::TcmuDrive::create_with_handler(cfg, backend->handler);
    } else {
      auto list = tcmu::scan_configfs();
      if (!list.ok()) {
        std::fprintf(stderr, "%s\n", list.status().message().c_str());
        return 1;
      }
      for (const auto& e : *list) {
        if (e.name != args[1]) continue;
#ifdef UDISC_TOOL_HAVE_ENGINE
        if (backend->drive)
          d = tcmu::TcmuDrive::adopt(e, backend->drive, cfg);
        else
#endif
          d = tcmu::TcmuDrive::adopt_with_handler(e, backend->handler, cfg);
      }
    }
    if (!d.ok()) {
      std::fprintf(stderr, "%s: %s\n", cmd.c_str(), d.status().message().c_str());
      return 1;
    }
    return serve_until_signal(**d);
  }
  return usage();
}
