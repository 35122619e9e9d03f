// TcmuDrive: configfs objects, the UIO ring and its serving thread.
#include "transport/tcmu/tcmu.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "transport/tcmu/configfs.h"
#include "transport/tcmu/ring.h"

namespace udisc::tcmu {

namespace {

constexpr char kSubtype[] = "udisc";

// FNV-1a, for stable WWNs derived from a drive's name.
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string naa_from(const std::string& seed) {
  char buf[32];
  // "naa.5001405" (the LIO OUI prefix, NAA type 5) + 9 hex digits.
  std::snprintf(buf, sizeof buf, "naa.5001405%09llx", static_cast<unsigned long long>(fnv1a(seed) & 0xFFFFFFFFFull));
  return buf;
}

bool valid_name(const std::string& name) {
  if (name.size() <= sizeof(kNamePrefix) - 1 || name.size() > 64) return false;
  if (name.compare(0, sizeof(kNamePrefix) - 1, kNamePrefix) != 0) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

// Fixed-format sense (SPC-5 4.4.3), 18 bytes.
device::Response check_condition(uint8_t key, uint8_t asc, uint8_t ascq) {
  device::Response r;
  r.status = device::ScsiStatus::check_condition;
  r.sense[0] = 0x70;
  r.sense[2] = key;
  r.sense[7] = 10;  // ADDITIONAL SENSE LENGTH
  r.sense[12] = asc;
  r.sense[13] = ascq;
  r.sense_length = 18;
  return r;
}

std::string core_dir(const std::string& root, uint32_t hba, const std::string& name) {
  return root + "/target/core/user_" + std::to_string(hba) + "/" + name;
}

std::string loop_dir(const std::string& root, const std::string& wwn) { return root + "/target/loopback/" + wwn; }

// /sys/class/uio/uioN whose name is "tcm-user/<hba>/<name>/...".
std::string find_uio(uint32_t hba, const std::string& name) {
  const std::string want = "tcm-user/" + std::to_string(hba) + "/" + name + "/";
  for (const auto& u : fs::list_dir("/sys/class/uio")) {
    auto n = fs::read_attr("/sys/class/uio/" + u + "/name");
    if (n.ok() && n->compare(0, want.size(), want) == 0) return u;
  }
  return {};
}

// /dev/uioN, created from its sysfs dev numbers if devtmpfs has not yet.
Result<int> open_uio(const std::string& uio) {
  const std::string node = "/dev/" + uio;
  for (int i = 0; i < 200 && !fs::exists(node); ++i) ::usleep(10000);
  if (!fs::exists(node)) {
    auto dev = fs::read_attr("/sys/class/uio/" + uio + "/dev");
    unsigned maj = 0, min = 0;
    if (!dev.ok() || std::sscanf(dev->c_str(), "%u:%u", &maj, &min) != 2)
      return Status::NotFound("no device node " + node + " and no /sys/class/uio/" + uio + "/dev");
    if (::mknod(node.c_str(), S_IFCHR | 0600, makedev(maj, min)) != 0 && errno != EEXIST)
      return Status::IoError("creating " + node + ": " + std::strerror(errno));
  }
  const int fd = ::open(node.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == EBUSY)
      return Status::IoError("opening " + node + ": " + std::strerror(e) +
                             " (another process serves this drive's ring)");
    return Status::IoError("opening " + node + ": " + std::strerror(e));
  }
  return fd;
}

// "H:C:T" from the tcm_loop tpg's address attribute, completed with LUN 0.
std::string tpg_scsi_address(const std::string& tpg) {
  auto a = fs::read_attr(tpg + "/address");
  if (!a.ok() || a->empty()) return {};
  return *a + ":0";
}

std::string node_for_address(const std::string& addr) {
  if (addr.empty()) return {};
  const std::string dir = "/sys/bus/scsi/devices/" + addr + "/block";
  for (const auto& b : fs::list_dir(dir)) {
    const std::string node = "/dev/" + b;
    if (fs::exists(node)) return node;
  }
  return {};
}

// " what 12.3 ms", for the profile lines.
std::string fmt_ms(const char* what, std::chrono::steady_clock::duration d) {
  char buf[96];
  std::snprintf(buf, sizeof buf, " %s %.1f ms", what, std::chrono::duration<double, std::milli>(d).count());
  return buf;
}

// Best effort: a kernel without that scheduler keeps its own choice and the
// drive works the same, only slower.
void set_io_scheduler(const std::string& node, const std::string& scheduler) {
  if (scheduler.empty() || node.rfind("/dev/", 0) != 0) return;
  fs::write_attr("/sys/block/" + node.substr(5) + "/queue/scheduler", scheduler);
}

bool module_loaded(const std::string& m) { return fs::is_dir("/sys/module/" + m); }

}  // namespace

Status prepare_kernel(const TcmuConfig& cfg) {
  if (cfg.load_modules) {
    // One modprobe for both (a first mount waits for it; each program
    // started costs tens of milliseconds in a VM).
    std::vector<std::string> load = {"modprobe", "-a"};
    for (const char* m : {"target_core_user", "tcm_loop"})
      if (!module_loaded(m)) load.push_back(m);
    if (load.size() > 2) {
      Status st = fs::run_program(load);
      for (size_t i = 2; i < load.size(); ++i)
        if (!module_loaded(load[i]))
          return Status::NotSupported("kernel module " + load[i] + " is not loaded and modprobe failed: " +
                                      (st.ok() ? std::string("it did not load") : st.message()));
    }
  }
  if (!fs::is_dir(cfg.configfs_root + "/target")) {
    if (cfg.load_modules && !fs::is_mounted(cfg.configfs_root, "configfs")) {
      if (!fs::is_dir(cfg.configfs_root))
        return Status::NotSupported("configfs mount point " + cfg.configfs_root +
                                    " does not exist (is the configfs module loaded?)");
      if (::mount("configfs", cfg.configfs_root.c_str(), "configfs", 0, nullptr) != 0)
        return Status::IoError("mounting configfs on " + cfg.configfs_root + ": " + std::strerror(errno));
    }
    if (!fs::is_dir(cfg.configfs_root + "/target"))
      return Status::NotSupported(cfg.configfs_root +
                                  "/target is missing: configfs is not mounted or target_core_mod is not loaded");
  }
  if (!fs::is_dir(cfg.configfs_root + "/target/loopback")) {
    // tcm_loop registers its fabric directory on first use of the name.
    Status st = fs::make_dir(cfg.configfs_root + "/target/loopback", true);
    if (!st.ok()) return Status::NotSupported("tcm_loop fabric unavailable: " + st.message());
  }
  return Status::Ok();
}

class TcmuDrive::Impl {
 public:
  TcmuConfig cfg;
  std::string name;
  uint32_t hba = 0;
  std::string wwn;
  std::string core;  // configfs backstore directory
  CommandHandler handler;
  std::shared_ptr<device::Drive> drive;

  std::string uio;
  int uio_fd = -1;
  int stop_fd = -1;
  uint8_t* map = nullptr;
  size_t map_size = 0;
  std::unique_ptr<Ring> ring;
  std::thread thread;

  mutable std::mutex mu;  // guards removed and the configfs steps
  bool removed = false;

  // UDISC_TCMU_TRACE=1: one line per command on stderr (debugging).
  const bool trace = [] {
    const char* t = std::getenv("UDISC_TCMU_TRACE");
    return t && *t && *t != '0';
  }();
  std::atomic<uint64_t> commands{0}, data_in_bytes{0}, check_conditions{0}, ring_errors{0};

  // UDISC_TCMU_PROFILE=1: where a command's time goes, summed over the last
  // 2000 commands and printed on stderr (bench/tcmu reads it): wake-ups of
  // the serving thread, time in the engine, time in the completion kick
  // (the kernel completes the command in that write), time asleep in poll.
  const bool profile = [] {
    const char* t = std::getenv("UDISC_TCMU_PROFILE");
    return t && *t && *t != '0';
  }();
  struct Profile {
    uint64_t commands = 0, wakeups = 0, polled = 0, kicks = 0, bytes = 0;
    std::chrono::nanoseconds engine{0}, kick{0}, asleep{0};
    std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
  } prof;
  void profile_report() {
    using std::chrono::duration_cast;
    using us = std::chrono::microseconds;
    const auto wall = std::chrono::steady_clock::now() - prof.since;
    const double n = static_cast<double>(prof.commands);
    std::fprintf(stderr,
                 "tcmu profile %s: %llu commands %.1f KiB avg, %llu wake-ups + %llu found polling (%.2f commands each), "
                 "%llu kicks; per "
                 "command: engine %.1f us, kick %.1f us, asleep %.1f us, rest %.1f us\n",
                 name.c_str(), static_cast<unsigned long long>(prof.commands), prof.bytes / n / 1024,
                 static_cast<unsigned long long>(prof.wakeups), static_cast<unsigned long long>(prof.polled),
                 n / static_cast<double>(std::max<uint64_t>(1, prof.wakeups + prof.polled)),
                 static_cast<unsigned long long>(prof.kicks), duration_cast<us>(prof.engine).count() / n,
                 duration_cast<us>(prof.kick).count() / n, duration_cast<us>(prof.asleep).count() / n,
                 duration_cast<us>(wall - prof.engine - prof.kick - prof.asleep).count() / n);
    prof = Profile{};
  }

  ~Impl() { stop_serving(); }

  std::string tpg() const { return loop_dir(cfg.configfs_root, wwn) + "/tpgt_1"; }
  std::string lun_link() const { return tpg() + "/lun/lun_0/" + name; }

  Status open_and_serve() {
    if (uio.empty()) uio = find_uio(hba, name);
    if (uio.empty())
      return Status::NotFound("no /sys/class/uio device named tcm-user/" + std::to_string(hba) + "/" + name);
    auto sz = fs::read_attr("/sys/class/uio/" + uio + "/maps/map0/size");
    if (!sz.ok()) return sz.status();
    errno = 0;
    const unsigned long long size = std::strtoull(sz->c_str(), nullptr, 0);
    if (errno || size == 0) return Status::Corruption("/sys/class/uio/" + uio + "/maps/map0/size: '" + *sz + "'");
    auto fd = open_uio(uio);
    if (!fd.ok()) return fd.status();
    uio_fd = *fd;
    // The whole region, exactly its size (tcmu_mmap refuses any other).
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, uio_fd, 0);
    if (p == MAP_FAILED) {
      const int e = errno;
      stop_serving();
      return Status::IoError("mapping /dev/" + uio + " (" + std::to_string(size) + " bytes): " + std::strerror(e));
    }
    map = static_cast<uint8_t*>(p);
    map_size = size;
    ring = std::make_unique<Ring>(map, map_size);
    Status st = ring->attach();
    if (!st.ok()) {
      stop_serving();
      return st.with_context("/dev/" + uio);
    }
    stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd < 0) {
      const int e = errno;
      stop_serving();
      return Status::IoError(std::string("eventfd: ") + std::strerror(e));
    }
    thread = std::thread([this] { serve(); });
    return Status::Ok();
  }

  void stop_serving() {
    if (thread.joinable()) {
      const uint64_t one = 1;
      if (::write(stop_fd, &one, sizeof one) < 0) { /* the thread also exits on a closed uio */
      }
      thread.join();
    }
    ring.reset();
    if (map) ::munmap(map, map_size);
    map = nullptr;
    if (uio_fd >= 0) ::close(uio_fd);
    uio_fd = -1;
    if (stop_fd >= 0) ::close(stop_fd);
    stop_fd = -1;
  }

  void kick() {
    const auto t0 = profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    const uint32_t one = 1;
    if (::write(uio_fd, &one, sizeof one) < 0) {
      // Nothing to do: the device is going away (EIO after removal).
    }
    if (profile) {
      prof.kick += std::chrono::steady_clock::now() - t0;
      ++prof.kicks;
    }
  }

  device::Response run(const RingCommand& c) {
    if (!c.error.empty()) {
      ring_errors.fetch_add(1, std::memory_order_relaxed);
      std::fprintf(stderr, "udisc tcmu %s: malformed ring entry cmd_id %u: %s\n", name.c_str(), c.cmd_id,
                   c.error.c_str());
      return check_condition(0x05, 0x24, 0x00);  // ILLEGAL REQUEST, INVALID FIELD IN CDB
    }
    device::Request req;
    req.cdb = c.cdb;
    req.direction = data_direction(c.cdb[0], c.data_length);
    req.expected_transfer_length = c.data_length;
    req.initiator = cfg.initiator;
    std::vector<uint8_t> out;
    if (req.direction == device::DataDirection::to_device) {
      if (c.iov.size() == 1) {
        req.data_out = c.iov[0];
      } else {
        out.reserve(c.data_length);
        for (const auto& s : c.iov) out.insert(out.end(), s.begin(), s.end());
        req.data_out = out;
      }
    } else if (req.direction == device::DataDirection::from_device) {
      req.data_in = c.iov;
    }
    try {
      return handler(req);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "udisc tcmu %s: opcode 0x%02x failed: %s\n", name.c_str(), c.cdb[0], e.what());
    } catch (...) {
      std::fprintf(stderr, "udisc tcmu %s: opcode 0x%02x failed\n", name.c_str(), c.cdb[0]);
    }
    return check_condition(0x04, 0x44, 0x00);  // HARDWARE ERROR, INTERNAL TARGET FAILURE
  }

  // Commands answered before the kernel is told (one write completes them
  // all): a batch of queued commands costs one kick, not one each (the
  // profile showed the kick, in which the kernel completes the commands, as
  // the largest share of a command's time). Bounded in count and bytes so
  // the first command of a long batch of large reads is not held back; 32
  // (a reader's usual queue depth) rather than 8 raised depth-32 IOPS by
  // about 40 % under QEMU (bench/RESULTS.md).
  static constexpr int kMaxUnkicked = 32;
  static constexpr uint64_t kMaxUnkickedBytes = 512 * 1024;

  // Returns false when the ring is unusable until reset_ring.
  bool drain() {
    int unkicked = 0;
    uint64_t unkicked_bytes = 0;
    for (;;) {
      RingCommand c;
      auto n = ring->next(c);
      if (!n.ok()) {
        ring_errors.fetch_add(1, std::memory_order_relaxed);
        std::fprintf(stderr, "udisc tcmu %s: %s\n", name.c_str(), n.status().message().c_str());
        if (unkicked) kick();
        return false;
      }
      if (!n.value()) {
        if (unkicked) kick();
        return true;
      }
      const auto t0 = std::chrono::steady_clock::now();
      const device::Response rsp = run(c);
      if (profile) {
        prof.engine += std::chrono::steady_clock::now() - t0;
        prof.bytes += c.data_length;
        if (++prof.commands == 2000) profile_report();
      }
      if (trace) {
        const auto us =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
        std::string cdb;
        for (uint8_t b : c.cdb) {
          char h[4];
          std::snprintf(h, sizeof h, "%02x", b);
          cdb += h;
        }
        // Key/ASC/ASCQ sit at bytes 2/12/13 in fixed sense (70h/71h) and 1/2/3 in
        // descriptor sense (72h/73h, when the control page's D_SENSE is set).
        const bool descriptor = rsp.sense_length > 0 && (rsp.sense[0] & 0x7E) == 0x72;
        const auto sense_byte = [&](size_t fixed, size_t desc) -> unsigned {
          const size_t at = descriptor ? desc : fixed;
          return rsp.sense_length > at ? rsp.sense[at] : 0;
        };
        std::fprintf(stderr, "tcmu %s: id %u cdb %s len %u -> status 0x%02x sense %x/%02x/%02x data %u (%lld us)\n",
                     name.c_str(), c.cmd_id, cdb.c_str(), c.data_length, static_cast<unsigned>(rsp.status),
                     sense_byte(2, 1) & 0x0F, sense_byte(12, 2), sense_byte(13, 3), rsp.data_in_length,
                     static_cast<long long>(us));
      }
      commands.fetch_add(1, std::memory_order_relaxed);
      if (rsp.status == device::ScsiStatus::check_condition) check_conditions.fetch_add(1, std::memory_order_relaxed);
      data_in_bytes.fetch_add(std::min(rsp.data_in_length, c.data_length), std::memory_order_relaxed);
      Status st = ring->complete(c, rsp);
      if (!st.ok()) {
        ring_errors.fetch_add(1, std::memory_order_relaxed);
        std::fprintf(stderr, "udisc tcmu %s: %s\n", name.c_str(), st.message().c_str());
        if (unkicked) kick();
        return false;
      }
      unkicked_bytes += c.data_length;
      if (++unkicked == kMaxUnkicked || unkicked_bytes >= kMaxUnkickedBytes) {
        kick();
        unkicked = 0;
        unkicked_bytes = 0;
      }
    }
  }

  // Adaptive polling: after answering, the thread watches the ring's
  // cmd_head for this long (yielding the CPU between looks) before it sleeps
  // in poll, so the next command of a busy reader is picked up without a UIO
  // wake-up. Default 200 us (as the iSCSI loops) when more than one CPU is
  // online; 0 on one CPU, where the reader cannot queue its next command
  // while we hold the CPU. UDISC_TCMU_POLL_US overrides (bench/tcmu).
  const std::chrono::microseconds poll_window = [] {
    if (const char* t = std::getenv("UDISC_TCMU_POLL_US"); t && *t)
      return std::chrono::microseconds(std::strtoul(t, nullptr, 10));
    return std::chrono::microseconds(::sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 200 : 0);
  }();

  // Whether a command arrived within poll_window.
  bool poll_ring() {
    if (poll_window.count() == 0) return false;
    const auto until = std::chrono::steady_clock::now() + poll_window;
    do {
      if (ring->pending()) return true;
      ::sched_yield();
    } while (std::chrono::steady_clock::now() < until);
    return ring->pending();
  }

  void serve() {
    bool healthy = drain();  // commands queued before we started (adopt)
    for (;;) {
      bool found = healthy && poll_ring();
      if (!found) {
        // Consume the UIO's event count first, then look at the ring once
        // more: a command queued after this read raises a new event, so the
        // poll below cannot sleep through it.
        uint32_t events;
        if (::read(uio_fd, &events, sizeof events) < 0 && errno != EAGAIN) return;
        found = healthy && ring->pending();
      }
      if (found) {
        if (profile) ++prof.polled;
        healthy = drain();
        continue;
      }
      pollfd p[2] = {{uio_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
      const auto t0 = profile ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      const int r = ::poll(p, 2, healthy ? -1 : 1000);
      if (profile) {
        prof.asleep += std::chrono::steady_clock::now() - t0;
        ++prof.wakeups;
      }
      if (r < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (p[1].revents) return;
      if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) return;
      if (!healthy) {
        // A reset_ring (by a restarted daemon or an administrator) makes the ring usable again.
        if (ring->attach().ok())
          healthy = true;
        else
          continue;
      }
      healthy = drain();
    }
  }

  Status link_lun() {
    const std::string naa = loop_dir(cfg.configfs_root, wwn);
    Status st = fs::make_dir(naa, true);
    if (st.ok()) st = fs::make_dir(tpg(), true);
    if (st.ok()) st = fs::make_dir(tpg() + "/lun", true);
    if (st.ok()) st = fs::make_dir(tpg() + "/lun/lun_0", true);
    if (!st.ok()) return st;
    auto nexus = fs::read_attr(tpg() + "/nexus");
    if (!nexus.ok() || nexus->empty() || *nexus == "NULL") {
      st = fs::write_attr(tpg() + "/nexus", naa_from(name + "/initiator"));
      if (!st.ok()) return st;
    }
    if (!fs::is_symlink(lun_link())) return fs::make_symlink(core, lun_link());
    return Status::Ok();
  }

  // Tear down the tcm_loop side: LUN, nexus, tpg, target (in that order).
  Status unlink_lun() {
    if (fs::is_symlink(lun_link())) {
      Status st = fs::remove_link(lun_link());
      if (!st.ok()) return st;
    }
    const std::string naa = loop_dir(cfg.configfs_root, wwn);
    if (fs::is_dir(tpg() + "/lun/lun_0")) {
      Status st = fs::remove_dir(tpg() + "/lun/lun_0");
      if (!st.ok()) return st;
    }
    if (fs::is_dir(tpg())) {
      auto nexus = fs::read_attr(tpg() + "/nexus");
      if (nexus.ok() && !nexus->empty() && *nexus != "NULL") {
        Status st = fs::write_attr(tpg() + "/nexus", "NULL");
        if (!st.ok()) return st;
      }
      Status st = fs::remove_dir(tpg());
      if (!st.ok()) return st;
    }
    if (fs::is_dir(naa)) return fs::remove_dir(naa);
    return Status::Ok();
  }

  std::string device_node() const { return node_for_address(tpg_scsi_address(tpg())); }

  Result<std::string> wait_node(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::string n = device_node();
      if (!n.empty()) return n;
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const std::string addr = tpg_scsi_address(tpg());
    return Status::NotFound("the kernel shows no block device for drive " + name + " (SCSI address " +
                            (addr.empty() ? std::string("unknown") : addr) + ") after " +
                            std::to_string(timeout.count()) + " ms; is the sr_mod module loaded?");
  }
};

TcmuDrive::TcmuDrive(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TcmuDrive::~TcmuDrive() = default;

Result<std::unique_ptr<TcmuDrive>> TcmuDrive::create_with_handler(const TcmuConfig& config, CommandHandler handler) {
  if (!valid_name(config.name))
    return Status::InvalidArgument("tcmu drive name '" + config.name + "' must start with '" + kNamePrefix +
                                   "' and use only letters, digits, '_' and '-' (at most 64 characters)");
  if (!handler) return Status::InvalidArgument("tcmu drive " + config.name + ": no command handler");
  if (config.cmd_time_out == 0)
    return Status::InvalidArgument("tcmu drive " + config.name + ": cmd_time_out 0 would let removal hang");
  // UDISC_TCMU_PROFILE=1: how long each step of create() takes, on stderr.
  const auto t_start = std::chrono::steady_clock::now();
  auto t_step = t_start;
  std::string steps;
  const auto step = [&](const char* what) {
    const auto now = std::chrono::steady_clock::now();
    steps += fmt_ms(what, now - t_step);
    t_step = now;
  };
  Status st = prepare_kernel(config);
  if (!st.ok()) return st;
  step("kernel modules");

  auto impl = std::make_unique<Impl>();
  impl->cfg = config;
  impl->name = config.name;
  impl->hba = config.hba_index;
  impl->wwn = config.wwn.empty() ? naa_from(config.name) : config.wwn;
  impl->handler = std::move(handler);
  impl->core = core_dir(config.configfs_root, impl->hba, impl->name);

  const std::string hba_dir = config.configfs_root + "/target/core/user_" + std::to_string(impl->hba);
  st = fs::make_dir(hba_dir, true);
  if (!st.ok()) return st;
  if (fs::exists(impl->core))
    return Status::InvalidArgument("tcmu drive " + impl->name + " already exists at " + impl->core);
  st = fs::make_dir(impl->core, false);
  if (!st.ok()) return st;

  Impl* d = impl.get();
  auto fail = [&](Status why) -> Status {
    // Undo in order; the ring (if open) keeps being served until the LUN is gone.
    Status u = d->unlink_lun();
    d->stop_serving();
    if (u.ok()) fs::remove_dir(d->core);
    return why;
  };

  char control[512];
  std::snprintf(control, sizeof control,
                "dev_config=%s/%s,dev_size=%llu,hw_block_size=2048,nl_reply_supported=-1,max_data_area_mb=%u", kSubtype,
                impl->name.c_str(), static_cast<unsigned long long>(config.dev_size), config.max_data_area_mb);
  st = fs::write_attr(impl->core + "/control", control);
  if (!st.ok()) return fail(st);
  st = fs::write_attr(impl->core + "/enable", "1");
  if (!st.ok()) return fail(st);
  step("backstore");
  // Serve before the LUN exists: the kernel's scan sends its commands at once.
  st = d->open_and_serve();
  if (!st.ok()) return fail(st);
  st = fs::write_attr(impl->core + "/attrib/cmd_time_out", std::to_string(config.cmd_time_out));
  if (!st.ok()) return fail(st);
  step("ring");
  st = d->link_lun();
  if (!st.ok()) return fail(st);
  step("lun");

  auto drive = std::unique_ptr<TcmuDrive>(new TcmuDrive(std::move(impl)));
  if (config.device_node_timeout.count() > 0) {
    auto node = drive->wait_device_node(config.device_node_timeout);
    if (!node.ok()) {
      Status r = drive->remove();
      return r.ok() ? node.status() : node.status().with_context(r.message());
    }
    step("device node");
    set_io_scheduler(*node, config.io_scheduler);
    step("scheduler");
  }
  if (d->profile)
    std::fprintf(stderr, "tcmu profile %s: create%s, total %s\n", d->name.c_str(), steps.c_str(),
                 fmt_ms("", std::chrono::steady_clock::now() - t_start).c_str() + 1);
  return drive;
}

Result<std::unique_ptr<TcmuDrive>> TcmuDrive::adopt_with_handler(const ExistingTcmuDevice& existing,
                                                                 CommandHandler handler, const TcmuConfig& config) {
  if (!valid_name(existing.name)) return Status::InvalidArgument("not a udisc tcmu device: '" + existing.name + "'");
  if (!handler) return Status::InvalidArgument("tcmu drive " + existing.name + ": no command handler");
  auto impl = std::make_unique<Impl>();
  impl->cfg = config;
  impl->cfg.name = existing.name;
  impl->cfg.hba_index = existing.hba_index;
  impl->name = existing.name;
  impl->hba = existing.hba_index;
  impl->wwn = existing.wwn.empty() ? naa_from(existing.name) : existing.wwn;
  impl->handler = std::move(handler);
  impl->core = existing.core_path.empty() ? core_dir(config.configfs_root, impl->hba, impl->name) : existing.core_path;
  impl->uio = existing.uio;
  if (!fs::is_dir(impl->core)) return Status::NotFound("tcmu device " + impl->core + " does not exist");
  if (impl->uio.empty()) impl->uio = find_uio(impl->hba, impl->name);
  if (impl->uio.empty()) return Status::NotFound("tcmu device " + impl->core + " has no UIO device (not enabled)");

  // Recovery as tcmu-runner does on reopen: block, reset the ring (in-flight
  // commands complete with BUSY and are retried), open, serve, unblock.
  const bool can_block = fs::exists(impl->core + "/action/block_dev");
  if (can_block) {
    Status st = fs::write_attr(impl->core + "/action/block_dev", "1");
    if (!st.ok()) return st;
  }
  if (fs::exists(impl->core + "/action/reset_ring")) {
    Status st = fs::write_attr(impl->core + "/action/reset_ring", "1");
    if (!st.ok()) {
      if (can_block) fs::write_attr(impl->core + "/action/block_dev", "0");
      return st;
    }
  }
  Status st = impl->open_and_serve();
  if (can_block) {
    Status u = fs::write_attr(impl->core + "/action/block_dev", "0");
    if (st.ok() && !u.ok()) st = u;
  }
  if (!st.ok()) {
    impl->stop_serving();
    return st;
  }
  if (!fs::is_symlink(impl->lun_link())) {
    auto cto = fs::read_attr(impl->core + "/attrib/cmd_time_out");
    if (cto.ok() && *cto == "0") {
      Status c = fs::write_attr(impl->core + "/attrib/cmd_time_out",
                                std::to_string(config.cmd_time_out ? config.cmd_time_out : 20));
      if (!c.ok()) return c;
    }
    st = impl->link_lun();
    if (!st.ok()) return st;
  }
  auto drive = std::unique_ptr<TcmuDrive>(new TcmuDrive(std::move(impl)));
  if (config.device_node_timeout.count() > 0) {
    auto node = drive->wait_device_node(config.device_node_timeout);
    if (!node.ok()) return node.status();
    set_io_scheduler(*node, config.io_scheduler);
  }
  return drive;
}

const std::string& TcmuDrive::name() const { return impl_->name; }
const std::string& TcmuDrive::wwn() const { return impl_->wwn; }
uint32_t TcmuDrive::hba_index() const { return impl_->hba; }
std::string TcmuDrive::device_node() const { return impl_->device_node(); }
Result<std::string> TcmuDrive::wait_device_node(std::chrono::milliseconds timeout) const {
  return impl_->wait_node(timeout);
}
std::string TcmuDrive::scsi_address() const { return tpg_scsi_address(impl_->tpg()); }
std::shared_ptr<device::Drive> TcmuDrive::drive() const { return impl_->drive; }
void TcmuDrive::impl_drive(std::shared_ptr<device::Drive> drive) { impl_->drive = std::move(drive); }

TcmuStats TcmuDrive::stats() const {
  TcmuStats s;
  s.commands = impl_->commands.load();
  s.data_in_bytes = impl_->data_in_bytes.load();
  s.check_conditions = impl_->check_conditions.load();
  s.ring_errors = impl_->ring_errors.load();
  return s;
}

Status TcmuDrive::remove() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->removed) return Status::Ok();
  // The ring is served throughout: unlinking the LUN waits for its commands.
  Status st = impl_->unlink_lun();
  if (!st.ok()) return st.with_context("removing tcmu drive " + impl_->name);
  impl_->stop_serving();
  if (fs::is_dir(impl_->core)) {
    st = fs::remove_dir(impl_->core);
    if (!st.ok()) return st.with_context("removing tcmu drive " + impl_->name);
  }
  // The shared user_<hba> directory goes when it is empty (ignore "busy").
  const std::string hba_dir = impl_->cfg.configfs_root + "/target/core/user_" + std::to_string(impl_->hba);
  bool other_devices = false;
  for (const auto& e : fs::list_dir(hba_dir)) other_devices = other_devices || fs::is_dir(hba_dir + "/" + e);
  if (!other_devices) ::rmdir(hba_dir.c_str());
  impl_->removed = true;
  return Status::Ok();
}

Result<std::vector<ExistingTcmuDevice>> scan_configfs(const std::string& root) {
  std::vector<ExistingTcmuDevice> out;
  const std::string core = root + "/target/core";
  if (!fs::is_dir(core)) return out;  // nothing of ours can exist
  for (const auto& h : fs::list_dir(core)) {
    if (h.rfind("user_", 0) != 0) continue;
    uint32_t hba = 0;
    try {
      hba = static_cast<uint32_t>(std::stoul(h.substr(5)));
    } catch (...) {
      continue;
    }
    for (const auto& n : fs::list_dir(core + "/" + h)) {
      if (!valid_name(n) || !fs::is_dir(core + "/" + h + "/" + n)) continue;
      ExistingTcmuDevice d;
      d.name = n;
      d.hba_index = hba;
      d.core_path = core + "/" + h + "/" + n;
      if (auto c = fs::read_attr(d.core_path + "/attrib/dev_config"); c.ok()) d.dev_config = *c;
      if (auto c = fs::read_attr(d.core_path + "/attrib/cmd_time_out"); c.ok()) {
        d.cmd_time_out = static_cast<uint32_t>(std::strtoul(c->c_str(), nullptr, 10));
      }
      d.uio = find_uio(hba, n);
      out.push_back(std::move(d));
    }
  }
  // Which tcm_loop LUN links each device.
  const std::string loop = root + "/target/loopback";
  for (const auto& w : fs::list_dir(loop)) {
    if (w.rfind("naa.", 0) != 0 && w.rfind("fc.", 0) != 0 && w.rfind("iqn.", 0) != 0) continue;
    for (const auto& t : fs::list_dir(loop + "/" + w)) {
      if (t.rfind("tpgt_", 0) != 0) continue;
      const std::string tpg = loop + "/" + w + "/" + t;
      for (const auto& l : fs::list_dir(tpg + "/lun")) {
        for (const auto& e : fs::list_dir(tpg + "/lun/" + l)) {
          const std::string link = tpg + "/lun/" + l + "/" + e;
          if (!fs::is_symlink(link)) continue;
          auto target = fs::read_link(link);
          if (!target.ok()) continue;
          for (auto& d : out) {
            const std::string tail = "/user_" + std::to_string(d.hba_index) + "/" + d.name;
            if (target->size() >= tail.size() &&
                target->compare(target->size() - tail.size(), tail.size(), tail) == 0) {
              d.wwn = w;
              d.lun_linked = true;
              d.device_node = node_for_address(tpg_scsi_address(tpg));
            }
          }
        }
      }
    }
  }
  // A target of ours left without a LUN (crash between steps) is named after its device.
  for (auto& d : out) {
    if (d.wwn.empty() && fs::is_dir(loop + "/" + naa_from(d.name))) d.wwn = naa_from(d.name);
  }
  return out;
}

Status remove_stale(const ExistingTcmuDevice& existing, const std::string& configfs_root) {
  TcmuConfig cfg;
  cfg.configfs_root = configfs_root;
  cfg.device_node_timeout = std::chrono::milliseconds(0);
  if (existing.uio.empty() && find_uio(existing.hba_index, existing.name).empty()) {
    // Not enabled: no LUN can link it and no ring exists; plain rmdirs suffice.
    if (existing.lun_linked)
      return Status::InvalidArgument("tcmu device " + existing.name + " is linked but has no ring; not touching it");
    const std::string core =
        existing.core_path.empty() ? core_dir(configfs_root, existing.hba_index, existing.name) : existing.core_path;
    return fs::remove_dir(core);
  }
  // Serve the ring with a drive that has no medium while tearing down.
  CommandHandler no_medium = [](const device::Request& r) {
    if (!r.cdb.empty() && r.cdb[0] == 0x12 && r.cdb.size() >= 6) {  // INQUIRY: a CD/DVD device
      uint8_t inq[36] = {0x05, 0x80, 0x05, 0x32, 31};
      std::memcpy(inq + 8, "UDISC   ", 8);
      std::memcpy(inq + 16, "Virtual DVD-ROM ", 16);
      std::memcpy(inq + 32, "1.00", 4);
      device::Response rsp;
      uint32_t n = std::min<uint32_t>(sizeof inq, r.expected_transfer_length);
      uint32_t done = 0;
      for (const auto& seg : r.data_in) {
        const uint32_t k = std::min<uint32_t>(n - done, static_cast<uint32_t>(seg.size()));
        std::memcpy(seg.data(), inq + done, k);
        done += k;
        if (done == n) break;
      }
      rsp.data_in_length = done;
      return rsp;
    }
    return check_condition(0x02, 0x3A, 0x00);  // NOT READY, MEDIUM NOT PRESENT
  };
  auto d = TcmuDrive::adopt_with_handler(existing, std::move(no_medium), cfg);
  if (!d.ok()) return d.status().with_context("taking over stale tcmu device " + existing.name);
  return (*d)->remove();
}

KernelSupport check_kernel_support(const std::string& configfs_root) {
  KernelSupport ks;
  utsname u{};
  ::uname(&u);
  const std::string moddir = std::string("/lib/modules/") + u.release;
  auto known = [&](const std::string& file, const std::string& mod) {
    std::ifstream in(moddir + "/" + file);
    std::string line;
    const std::string a = "/" + mod + ".ko", b = "/" + mod + ".ko.";
    while (std::getline(in, line)) {
      const std::string path = line.substr(0, line.find(':'));
      if (path.size() >= a.size() && path.compare(path.size() - a.size(), a.size(), a) == 0) return true;
      if (path.find(b) != std::string::npos) return true;
    }
    return false;
  };
  bool all = true;
  for (const std::string m : {"target_core_user", "tcm_loop", "sr_mod"}) {
    SupportItem it;
    it.what = "module " + m;
    const std::string alt = m == "sr_mod" ? "sr" : m;
    if (module_loaded(m)) {
      it.ok = true;
      it.detail = "loaded";
    } else if (known("modules.builtin", m) || known("modules.builtin", alt)) {
      it.ok = true;
      it.detail = "built into the kernel";
    } else if (known("modules.dep", m)) {
      it.ok = true;
      it.detail = "loadable (modprobe " + m + ")";
    } else {
      it.detail = "missing: kernel " + std::string(u.release) + " has no " + m + " module in " + moddir;
    }
    all = all && it.ok;
    ks.items.push_back(it);
  }
  {
    SupportItem it;
    it.what = "configfs";
    if (fs::is_mounted(configfs_root, "configfs")) {
      it.ok = true;
      it.detail = "mounted at " + configfs_root;
    } else if (fs::is_dir(configfs_root)) {
      it.ok = true;
      it.detail = "not mounted; " + configfs_root + " exists, udisc mounts it";
    } else {
      std::ifstream fsl("/proc/filesystems");
      std::string line;
      bool have = false;
      while (std::getline(fsl, line)) have = have || line.find("configfs") != std::string::npos;
      have = have || known("modules.dep", "configfs");
      it.ok = have;
      it.detail = have ? "available (loaded with target_core_user)" : "missing: the kernel has no configfs";
    }
    all = all && it.ok;
    ks.items.push_back(it);
  }
  {
    SupportItem it;
    it.what = "permission";
    it.ok = ::geteuid() == 0;
    it.detail = it.ok ? "running as root" : "not root: creating drives needs root (run the udisc daemon as root)";
    all = all && it.ok;
    ks.items.push_back(it);
  }
  ks.usable = all;
  if (all) {
    ks.summary = "This kernel can give local drives: a /dev/srN through target_core_user and tcm_loop.";
  } else {
    ks.summary = "This machine cannot give a local /dev/srN:";
    for (const auto& it : ks.items)
      if (!it.ok) ks.summary += " " + it.what + " — " + it.detail + ";";
    ks.summary += " use `udisc serve` to reach the disc over iSCSI from an initiator or a VM instead.";
  }
  return ks;
}

}  // namespace udisc::tcmu
