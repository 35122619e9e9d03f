#include "daemon/tcmu_backend.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "daemon/prevent_record.h"
#include "daemon/unix_socket.h"

namespace udisc::daemon {
namespace {

std::string drive_name(uint32_t number) { return std::string(tcmu::kNamePrefix) + std::to_string(number); }

// "udisc_12" -> 12; nullopt for names we did not make.
std::optional<uint32_t> number_of(const std::string& name) {
  const std::string prefix = tcmu::kNamePrefix;
  if (name.size() <= prefix.size() || name.size() > prefix.size() + 4 || name.compare(0, prefix.size(), prefix) != 0) {
    return std::nullopt;
  }
  uint32_t n = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(name[i] - '0');
  }
  return n;
}

class TcmuBackend final : public Backend {
 public:
  TcmuBackend(tcmu::TcmuConfig base, std::function<void(const std::string&)> log)
      : base_(std::move(base)), log_(std::move(log)) {}

  std::string name() const override { return "tcmu"; }

  Status available() const override {
    if (!conflict_.empty()) return Status::NotSupported(conflict_);
    const tcmu::KernelSupport ks = tcmu::check_kernel_support(base_.configfs_root);
    if (ks.usable) return Status::Ok();
    return Status::NotSupported(explain_kernel_support(ks));
  }

  Status recover(const std::map<uint32_t, std::shared_ptr<device::Drive>>& known,
                 std::map<uint32_t, Status>* failures) override {
    // Drives udisc_N are this machine's: one daemon serves them (another
    // would take them over or remove them as stale).
    ::mkdir(kLockFolder, 0755);
    lock_.reset(::open(kLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (lock_.valid() && ::flock(lock_.get(), LOCK_EX | LOCK_NB) != 0) {
      conflict_ = std::string("another udisc daemon already serves this machine's local drives (") + kLockPath +
                  " is locked); stop it first";
      lock_.reset();
    }
    if (Status s = available(); !s.ok()) {
      for (const auto& [n, d] : known) (*failures)[n] = s;
      return Status::Ok();
    }
    // Modules and configfs now, not at the first mount, which would wait
    // for modprobe (a few hundred milliseconds in a VM). Not fatal: attach()
    // tries again and reports the reason to the user who mounts.
    if (Status s = tcmu::prepare_kernel(base_); !s.ok()) note("preparing the kernel for local drives: " + s.message());
    auto existing = tcmu::scan_configfs(base_.configfs_root);
    if (!existing.ok()) return existing.status();
    std::string problems;
    for (const auto& dev : *existing) {
      const auto n = number_of(dev.name);
      auto it = n ? known.find(*n) : known.end();
      if (it == known.end() || drives_.count(*n)) {
        // Left by a run whose state we do not have: take its ring over and
        // tear it down, never leaving it behind.
        if (Status s = tcmu::remove_stale(dev, base_.configfs_root); !s.ok()) {
          problems += (problems.empty() ? "" : "; ") + s.with_context("removing stale " + dev.name).message();
        } else {
          forget_lock(dev.name);
          note("removed " + dev.name + (dev.device_node.empty() ? "" : " (" + dev.device_node + ")") +
               ", left by an earlier run with no record in the state file");
        }
        continue;
      }
      tcmu::TcmuConfig cfg = config_for(*n);
      auto adopted = tcmu::TcmuDrive::adopt_with_handler(dev, restore_lock(*n, it->second, cfg), cfg);
      if (!adopted.ok()) {
        it->second->initiator_gone(cfg.initiator);  // no host: no lock either
        (*failures)[*n] = adopted.status().with_context("taking over " + dev.name);
        continue;
      }
      drives_[*n] = std::move(adopted).value();
      note("drive " + std::to_string(*n) + ": took over " + dev.name +
           (dev.device_node.empty() ? "" : " (" + dev.device_node + ")") + " from the previous run");
    }
    for (const auto& [n, drive] : known) {
      if (drives_.count(n) || failures->count(n)) continue;
      if (Status s = attach(n, drive); !s.ok()) (*failures)[n] = s;
    }
    return problems.empty() ? Status::Ok() : Status::IoError(problems);
  }

  Status attach(uint32_t number, std::shared_ptr<device::Drive> drive) override {
    if (drives_.count(number))
      return Status::InvalidArgument("drive " + std::to_string(number) + " is already attached");
    if (Status s = available(); !s.ok()) return s;
    // A new device is a new nexus: whatever lock an earlier one held is gone.
    forget_lock(drive_name(number));
    auto created = tcmu::TcmuDrive::create_with_handler(config_for(number), keep_lock(number, drive, {}));
    if (!created.ok()) return created.status();
    drives_[number] = std::move(created).value();
    return Status::Ok();
  }

  Status detach(uint32_t number) override {
    auto it = drives_.find(number);
    if (it == drives_.end()) return Status::Ok();
    if (Status s = it->second->remove(); !s.ok()) return s;
    drives_.erase(it);
    forget_lock(drive_name(number));
    return Status::Ok();
  }

  bool attached(uint32_t number) const override { return drives_.count(number) != 0; }

  std::string device_node(uint32_t number) const override {
    auto it = drives_.find(number);
    return it == drives_.end() ? std::string() : it->second->device_node();
  }

  nlohmann::json describe(uint32_t number) const override {
    auto it = drives_.find(number);
    if (it == drives_.end()) return nullptr;
    const auto st = it->second->stats();
    return nlohmann::json{{"configfs_name", it->second->name()},
                          {"wwn", it->second->wwn()},
                          {"scsi_address", it->second->scsi_address()},
                          {"ring",
                           {{"commands", st.commands},
                            {"data_in_bytes", st.data_in_bytes},
                            {"check_conditions", st.check_conditions},
                            {"ring_errors", st.ring_errors}}}};
  }

  void release_all() override { drives_.clear(); }  // ~TcmuDrive keeps the kernel objects

 private:
  tcmu::TcmuConfig config_for(uint32_t number) const {
    tcmu::TcmuConfig cfg = base_;
    cfg.name = drive_name(number);
    cfg.wwn.clear();
    return cfg;
  }

  // The command handler of drive `number`: the engine, with its medium-removal
  // lock kept in the drive's record (prevent_record.h).
  tcmu::CommandHandler keep_lock(uint32_t number, std::shared_ptr<device::Drive> drive, PreventHolders holders) const {
    auto report = [log = log_, number](const std::string& line) {
      if (log) log("drive " + std::to_string(number) + ": " + line);
    };
    auto keeper = std::make_shared<PreventKeeper>(std::move(drive), lock_record_path(drive_name(number)),
                                                  std::move(holders), std::move(report));
    return [keeper](const device::Request& r) { return keeper->execute(r); };
  }

  // Taking a device over: the new engine continues where the old one stopped
  // (no power-on, no medium change for the host) and holds the lock the host
  // set before the restart, which the kernel does not set again.
  tcmu::CommandHandler restore_lock(uint32_t number, const std::shared_ptr<device::Drive>& drive,
                                    const tcmu::TcmuConfig& cfg) const {
    tcmu::settle_restored_drive(*drive, cfg.initiator);
    auto holders = load_prevent_record(lock_record_path(drive_name(number)));
    if (!holders.ok()) {
      note("drive " + std::to_string(number) + ": " + holders.status().message() + "; taken over unlocked");
      return keep_lock(number, drive, {});
    }
    PreventHolders restored;
    for (device::InitiatorId id : *holders) {
      if (Status s = replay_prevent(*drive, id); s.ok()) {
        restored.insert(id);
      } else {
        note("drive " + std::to_string(number) + ": lock not restored: " + s.message());
      }
    }
    if (!restored.empty()) note("drive " + std::to_string(number) + ": medium removal stays prevented, as before");
    return keep_lock(number, drive, std::move(restored));
  }

  static std::string lock_record_path(const std::string& name) {
    return std::string(kLockFolder) + "/" + name + ".prevent";
  }
  void forget_lock(const std::string& name) const {
    if (Status s = save_prevent_record(lock_record_path(name), {}); !s.ok()) note(s.message());
  }

  static constexpr char kLockFolder[] = "/run/udisc";
  static constexpr char kLockPath[] = "/run/udisc/tcmu.lock";

  void note(const std::string& line) const {
    if (log_) log_(line);
  }

  tcmu::TcmuConfig base_;
  std::function<void(const std::string&)> log_;
  std::map<uint32_t, std::unique_ptr<tcmu::TcmuDrive>> drives_;
  UniqueFd lock_;
  std::string conflict_;
};

}  // namespace

std::unique_ptr<Backend> make_tcmu_backend(tcmu::TcmuConfig base, std::function<void(const std::string&)> log) {
  return std::make_unique<TcmuBackend>(std::move(base), std::move(log));
}

std::string explain_kernel_support(const tcmu::KernelSupport& ks) {
  if (ks.usable) return "This machine can give local /dev/srN drives.";
  std::string out = "This machine cannot give a local /dev/srN drive:";
  for (const auto& item : ks.items) {
    if (!item.ok) out += "\n  - " + item.what + ": " + item.detail;
  }
  out +=
      "\nLocal drives need the kernel's target_core_user and tcm_loop modules (and sr_mod, configfs). Without "
      "them, export the image with `udisc serve IMAGE` and attach it from an iSCSI initiator or a virtual "
      "machine; `udisc doctor` shows what this machine offers.";
  return out;
}

}  // namespace udisc::daemon
