// Backend: how the daemon attaches a drive to something that sends it
// commands. The TCMU backend (tcmu_backend.h) makes each drive a /dev/srN
// of the local kernel; the "none" backend attaches nothing (drives exist
// only in the daemon, for tests and for machines without TCMU, where
// `udisc serve` exports images instead).
//
// The daemon calls a backend from its control thread only; a backend serves
// commands on threads of its own. Drives are named by their number.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "device/drive.h"
#include "util/status.h"

namespace udisc::daemon {

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;

  // Whether drives can be attached here. When not, a Status::NotSupported
  // whose message explains in plain words why and what works instead.
  virtual Status available() const = 0;

  // At start: takes over what a previous run left for the drives in `known`
  // (number -> engine), attaching the ones it finds nothing of, and removes
  // everything of ours not in `known`. Per-drive failures go to `failures`
  // (the daemon keeps such a drive, unattached); the return value is an error
  // only when recovery could not run at all.
  virtual Status recover(const std::map<uint32_t, std::shared_ptr<device::Drive>>& known,
                         std::map<uint32_t, Status>* failures) = 0;

  // Attaches `drive` as number `number`; returns when the host sees it.
  virtual Status attach(uint32_t number, std::shared_ptr<device::Drive> drive) = 0;
  // Removes the attachment (the device disappears from the host).
  virtual Status detach(uint32_t number) = 0;
  virtual bool attached(uint32_t number) const = 0;

  // The host's name for the drive ("/dev/sr0"); empty when it has none.
  virtual std::string device_node(uint32_t number) const = 0;
  // Backend facts for `udisc status` (counters, addresses); may be null.
  virtual nlohmann::json describe(uint32_t number) const = 0;

  // Daemon shutdown (SIGTERM): stop serving, keep every attachment so the
  // next run recovers it.
  virtual void release_all() = 0;
};

// The in-process backend: nothing is attached; device_node() is empty.
std::unique_ptr<Backend> make_none_backend();

}  // namespace udisc::daemon
