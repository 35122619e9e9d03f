// Attaching one drive through the Windows initiator, all or nothing:
// add the static target → log in (127.0.0.1, else a local address when the
// loopback login is refused) → wait for Plug and Play to start the CD-ROM
// device → find its drive letter. Any failure undoes what was done, so no
// half-made drive is left behind. Portable (no Windows header): the tests
// run it against the fake initiator on Linux and under Wine.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "daemon/windows/initiator.h"
#include "util/status.h"

namespace udisc::win {

struct Attachment {
  SessionId session;
  std::string target_name;
  std::string address;      // where the initiator logged in
  uint16_t port = 0;
  bool local_address_fallback = false;  // the loopback login was refused
  std::string device_path;  // "\\.\CdRom1"
  uint32_t device_number = 0;
  std::string drive_letter;  // "E:", empty when Windows gave the volume none
};

struct AttachOptions {
  // Why a login to 127.0.0.1 may be refused and what then: see docs/windows.md.
  // Given a local (non-loopback) address of this machine, the caller makes the
  // target listen there too and returns the port; empty list: no fallback.
  std::vector<std::string> local_addresses;
  std::function<Result<uint16_t>(const std::string& address)> listen_on;
  // How long to wait for Plug and Play to start the device and its volume.
  int device_wait_ms = 30000;
  int poll_interval_ms = 250;
  std::function<void(int ms)> sleep;  // default: std::this_thread::sleep_for
  std::function<void(const std::string&)> log;
};

bool is_loopback_address(const std::string& address);

// `target.address` is the first address to try (normally 127.0.0.1).
Result<Attachment> attach_drive(Initiator& initiator, TargetSpec target, const AttachOptions& options);

// Logs out and removes the target. Unless `force`, first refuses (naming the
// reason) while a program holds the volume, so the session stays as it was.
Status detach_drive(Initiator& initiator, const Attachment& attachment, bool force);

// After a restart of the service: the sessions the initiator still has to
// targets named with `target_prefix`, so they can be logged out or reused.
Result<std::vector<SessionInfo>> leftover_sessions(Initiator& initiator, const std::string& target_prefix);

}  // namespace udisc::win
