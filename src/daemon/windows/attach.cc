#include "daemon/windows/attach.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace udisc::win {
namespace {

void sleep_ms(const AttachOptions& options, int ms) {
  if (options.sleep) {
    options.sleep(ms);
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
}

void note(const AttachOptions& options, const std::string& line) {
  if (options.log) options.log(line);
}

// Logs in to `target`, adding it first; on failure the target is removed again.
Result<SessionId> add_and_login(Initiator& initiator, const TargetSpec& target) {
  if (Status s = initiator.add_target(target); !s.ok()) return s;
  Result<SessionId> session = initiator.login(target);
  if (!session.ok()) (void)initiator.remove_target(target.name);
  return session;
}

}  // namespace

const char* to_string(InitiatorServiceState state) {
  switch (state) {
    case InitiatorServiceState::missing: return "not installed";
    case InitiatorServiceState::stopped: return "stopped";
    case InitiatorServiceState::starting: return "starting";
    case InitiatorServiceState::running: return "running";
    case InitiatorServiceState::disabled: return "disabled";
  }
  return "unknown";
}

bool is_loopback_address(const std::string& address) { return address.rfind("127.", 0) == 0 || address == "::1"; }

Result<Attachment> attach_drive(Initiator& initiator, TargetSpec target, const AttachOptions& options) {
  InitiatorStatus st = initiator.status();
  if (!st.api_loaded) return Status::NotSupported(st.api_error);
  if (st.service != InitiatorServiceState::running) {
    return Status::NotSupported(std::string("the Microsoft iSCSI Initiator service (MSiSCSI) is ") +
                                to_string(st.service) + "; `udisc doctor` starts it");
  }

  Attachment a;
  a.target_name = target.name;
  Result<SessionId> session = add_and_login(initiator, target);
  if (!session.ok() && is_loopback_address(target.address) && !options.local_addresses.empty() &&
      options.listen_on) {
    note(options, "login to " + target.address + " refused (" + session.status().message() +
                      "); trying this machine's own address");
    Status last = session.status();
    for (const std::string& address : options.local_addresses) {
      if (is_loopback_address(address)) continue;
      Result<uint16_t> port = options.listen_on(address);
      if (!port.ok()) {
        last = port.status();
        continue;
      }
      TargetSpec local = target;
      local.address = address;
      local.port = *port;
      session = add_and_login(initiator, local);
      if (session.ok()) {
        target = local;
        a.local_address_fallback = true;
        break;
      }
      last = session.status();
    }
    if (!session.ok()) {
      return Status::IoError("the iSCSI initiator refused the login to 127.0.0.1 (" +
                             session.status().message() + ") and to this machine's own addresses (" +
                             last.message() + ")");
    }
  }
  if (!session.ok()) return session.status().with_context("iSCSI login to " + target.address);
  a.session = *session;
  a.address = target.address;
  a.port = target.port;

  auto undo = [&](const Status& why) -> Status {
    (void)initiator.logout(a.session);
    (void)initiator.remove_target(a.target_name);
    return why;
  };

  // Plug and Play starts the device asynchronously after the login.
  const int polls = options.device_wait_ms / std::max(1, options.poll_interval_ms);
  for (int i = 0; i <= polls; ++i) {
    Result<std::vector<SessionDevice>> devices = initiator.devices(a.session);
    if (devices.ok()) {
      for (const SessionDevice& d : *devices) {
        if (d.device_type != kFileDeviceCdRom) continue;
        a.device_path = d.legacy_name;
        a.device_number = d.device_number;
        Result<std::string> letter = initiator.drive_letter(d);
        if (letter.ok()) a.drive_letter = *letter;
      }
    }
    if (!a.device_path.empty() && !a.drive_letter.empty()) return a;
    if (i < polls) sleep_ms(options, options.poll_interval_ms);
  }
  if (a.device_path.empty()) {
    return undo(Status::IoError("logged in to " + a.target_name + ", but Windows started no CD-ROM device for it within " +
                                std::to_string(options.device_wait_ms / 1000) + " s"));
  }
  // A CD-ROM device without a letter: Windows may have mount points only, or
  // automatic letters off (mountvol /N). The drive works; say so.
  note(options, a.device_path + " has no drive letter");
  return a;
}

Status detach_drive(Initiator& initiator, const Attachment& attachment, bool force) {
  if (!force && !attachment.drive_letter.empty()) {
    if (Status s = initiator.volume_free(attachment.drive_letter); !s.ok()) return s;
  }
  if (Status s = initiator.logout(attachment.session); !s.ok()) {
    return s.with_context("logging out of " + attachment.target_name);
  }
  return initiator.remove_target(attachment.target_name);
}

Result<std::vector<SessionInfo>> leftover_sessions(Initiator& initiator, const std::string& target_prefix) {
  Result<std::vector<SessionInfo>> all = initiator.sessions();
  if (!all.ok()) return all.status();
  std::vector<SessionInfo> ours;
  for (const SessionInfo& s : *all) {
    if (s.target_name.rfind(target_prefix, 0) == 0) ours.push_back(s);
  }
  return ours;
}

}  // namespace udisc::win
