// TCMU transport: a device::Drive exported to the local kernel as /dev/srN
// through the kernel's SCSI target core (target_core_user + tcm_loop).
//
// Framing only: every CDB found in a TCMU command ring goes to
// device::Drive::execute; data-in is written straight into the ring's data
// area (the command's iovecs), status and sense go back into the ring.
//
// Kernel objects made for one drive named N (prefix "udisc_"):
//   configfs  target/core/user_<hba>/N          (backstore; control, enable, attrib/, action/)
//             target/loopback/naa.<wwn>/tpgt_1  (tcm_loop target, nexus, lun/lun_0 -> backstore)
//   /dev/uioM with name "tcm-user/<hba>/N/udisc/N"   (the command ring)
//   /dev/srK  created by the sr driver once the LUN is linked.
// These outlive the process: a TcmuDrive destroyed without remove() leaves
// them in place (a restarted daemon finds them with scan_configfs() and
// takes them over with adopt()); remove() tears them down.
//
// Threading: each TcmuDrive serves its ring on its own thread, started by
// create()/adopt() before the kernel can send a command, so one slow image
// never stalls another drive. The commands of one drive are answered one at a
// time, in ring order; the kernel is kicked once per batch of queued
// commands (at most 32 or 512 KiB). Concurrency within a drive would not pay:
// the engine is under a fifth of a command's time (UDISC_TCMU_PROFILE), the
// rest is the kernel's path. The public methods may be called from any thread.
// Drive::execute is called from the serving thread (and by adopt() on the
// caller's thread before serving starts).
//
// Debugging: UDISC_TCMU_TRACE=1 in the environment prints one line per
// command (CDB, status, sense, data length, time) on stderr.
//
// Errors: Status values whose messages name the configfs path or /dev node
// and the errno text, so `udisc mount` can print them as they are.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "device/drive.h"
#include "util/status.h"

namespace udisc::tcmu {

inline constexpr char kNamePrefix[] = "udisc_";
inline constexpr char kDefaultConfigfsRoot[] = "/sys/kernel/config";

struct TcmuConfig {
  // configfs device name; must start with kNamePrefix, [A-Za-z0-9_-], <= 64 chars.
  std::string name;
  // HBA index of the user_<hba> directory (shared by all our drives).
  uint32_t hba_index = 0;
  // Size LIO records for the backstore (dev_size); the engine answers READ
  // CAPACITY itself, so this only feeds LIO's internal bookkeeping.
  uint64_t dev_size = 2048ull * 1024 * 1024;
  // attrib/cmd_time_out in seconds: below sr's 30 s so LIO, not SCSI error
  // handling, fails a stuck command; and never 0 (removal would hang).
  uint32_t cmd_time_out = 20;
  uint32_t max_data_area_mb = 64;
  // tcm_loop WWN ("naa.5001405" + 9 hex digits). Empty: derived from name.
  std::string wwn;
  // Initiator id passed to the engine with every command of this drive.
  device::InitiatorId initiator = 1;
  // Root of configfs (tests may point elsewhere); /dev and /sys are fixed.
  std::string configfs_root = kDefaultConfigfsRoot;
  // Load target_core_user / tcm_loop with modprobe and mount configfs when missing.
  bool load_modules = true;
  // Block-layer I/O scheduler create()/adopt() give /dev/srN once it shows.
  // The kernel picks mq-deadline for sr; "none" (what loop devices get) spares
  // each command the scheduler's insert and dispatch, which at depth 32
  // under QEMU doubled the IOPS (bench/RESULTS.md). Empty: leave the kernel's.
  std::string io_scheduler = "none";
  // How long create() waits for the kernel to show /dev/srN (0: don't wait).
  std::chrono::milliseconds device_node_timeout{10000};
};

// A TCMU device of ours found in configfs (after a restart or a crash).
struct ExistingTcmuDevice {
  std::string name;  // configfs device name (starts with kNamePrefix)
  uint32_t hba_index = 0;
  std::string core_path;   // .../target/core/user_<hba>/<name>
  std::string dev_config;  // attrib/dev_config ("udisc/<name>")
  std::string uio;         // "uio3", empty if the device is not enabled
  std::string wwn;         // tcm_loop WWN whose lun_0 links to it; empty if none
  bool lun_linked = false;
  uint32_t cmd_time_out = 0;
  std::string device_node;  // "/dev/sr0" if the kernel has one now
};

// Per-drive transport counters.
struct TcmuStats {
  uint64_t commands = 0;
  uint64_t data_in_bytes = 0;
  uint64_t check_conditions = 0;
  uint64_t ring_errors = 0;  // malformed entries skipped / failed
};

// What serves the commands of a ring: normally device::Drive::execute (see
// create()); tests and remove_stale() pass their own. Called on the serving
// thread; data-in goes to request.data_in.
using CommandHandler = std::function<device::Response(const device::Request&)>;

class TcmuDrive {
 public:
  // Creates the backstore, starts serving its ring, links the tcm_loop LUN
  // and waits (up to config.device_node_timeout) for /dev/srN. On failure
  // everything created so far is torn down again.
  static Result<std::unique_ptr<TcmuDrive>> create(const TcmuConfig& config, std::shared_ptr<device::Drive> drive);

  // Takes over a device left by a previous process: blocks the device,
  // resets its ring (in-flight commands complete with BUSY and are retried),
  // opens and maps the UIO, starts serving, unblocks. A LUN not yet linked
  // is linked. `config` supplies configfs_root, initiator and
  // device_node_timeout; name/hba/wwn come from `existing`.
  // `drive` should hold the same medium as before the restart: adopt()
  // consumes the power-on unit attention and media event a new Drive has
  // queued, so a mounted file system sees no change.
  static Result<std::unique_ptr<TcmuDrive>> adopt(const ExistingTcmuDevice& existing,
                                                  std::shared_ptr<device::Drive> drive, const TcmuConfig& config = {});

  // As create()/adopt(), with any handler instead of a device::Drive
  // (drive() is then null).
  static Result<std::unique_ptr<TcmuDrive>> create_with_handler(const TcmuConfig& config, CommandHandler handler);
  static Result<std::unique_ptr<TcmuDrive>> adopt_with_handler(const ExistingTcmuDevice& existing,
                                                               CommandHandler handler, const TcmuConfig& config = {});

  // Stops serving and unmaps; leaves the kernel objects (see file comment).
  ~TcmuDrive();
  TcmuDrive(const TcmuDrive&) = delete;
  TcmuDrive& operator=(const TcmuDrive&) = delete;

  const std::string& name() const;
  const std::string& wwn() const;
  uint32_t hba_index() const;
  // "/dev/srN" once the kernel has created it, else empty (looked up now).
  std::string device_node() const;
  // Waits for the device node; NotFound naming the SCSI address on timeout.
  Result<std::string> wait_device_node(std::chrono::milliseconds timeout) const;
  // SCSI address "H:C:T:L" of the LUN, empty if not linked.
  std::string scsi_address() const;

  // Tears down LUN, nexus, tpg, target and backstore (in that order) while
  // still serving the ring, then stops serving. Idempotent.
  Status remove();

  TcmuStats stats() const;
  std::shared_ptr<device::Drive> drive() const;

  class Impl;

 private:
  void impl_drive(std::shared_ptr<device::Drive> drive);
  explicit TcmuDrive(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What adopt() does to `drive` before serving it: consumes, as `initiator`, the
// unit attentions and the media event that constructing it and inserting its
// image queued, so the host sees no power-on nor medium change. For callers of
// adopt_with_handler() whose handler wraps a device::Drive.
void settle_restored_drive(device::Drive& drive, device::InitiatorId initiator);

// Our devices (names starting with kNamePrefix) present in configfs.
Result<std::vector<ExistingTcmuDevice>> scan_configfs(const std::string& configfs_root = kDefaultConfigfsRoot);

// Removes a device nobody serves: takes its ring over with a drive that has
// no medium, then tears everything down in order. Never unlinks a LUN of a
// device that nobody serves.
Status remove_stale(const ExistingTcmuDevice& existing, const std::string& configfs_root = kDefaultConfigfsRoot);

// What this machine offers for local drives (for `udisc doctor` and for
// `udisc mount`'s error message).
struct SupportItem {
  std::string what;  // "module target_core_user", "configfs", "permission", ...
  bool ok = false;
  std::string detail;  // plain words: "loaded", "loadable (modprobe target_core_user)", "missing: ..."
};
struct KernelSupport {
  bool usable = false;  // all items ok or fixable by create() (loadable modules, root)
  std::vector<SupportItem> items;
  std::string summary;  // one paragraph in plain words
};
KernelSupport check_kernel_support(const std::string& configfs_root = kDefaultConfigfsRoot);

// What the first drive needs from the kernel, done ahead: target_core_user
// and tcm_loop loaded (with cfg.load_modules), configfs mounted, the loopback
// fabric registered. create() does the same when it was not done; a daemon
// calls it at start so that the first mount does not wait for modprobe.
Status prepare_kernel(const TcmuConfig& cfg);

}  // namespace udisc::tcmu
