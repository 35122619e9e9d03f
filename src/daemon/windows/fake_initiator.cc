// The fake initiator: what the tests use where iscsidsc.dll does not exist
// (Linux, Wine). It keeps the rules of the real API that the service relies
// on, so a test of the service fails when the service breaks one of them:
//  - a login needs the target in the list of known targets (LoginIScsiTargetW);
//  - a login needs the CHAP name and secret the target was added with;
//  - a session's devices appear only after Plug and Play started them
//    (devices() is empty for the first polls);
//  - a logout fails while a program holds the volume (LogoutIScsiTarget
//    checks that the devices can be removed);
//  - removing a target with a live session fails.
#include <map>
#include <set>

#include "daemon/windows/initiator.h"

namespace udisc::win {
namespace {

class FakeInitiator final : public Initiator {
 public:
  explicit FakeInitiator(FakeInitiatorOptions options) : options_(options) {}

  std::string name() const override { return "fake"; }

  InitiatorStatus status() override {
    InitiatorStatus s;
    s.api_loaded = true;
    s.service = running_ ? InitiatorServiceState::running : InitiatorServiceState::stopped;
    s.service_automatic = automatic_;
    return s;
  }

  Status start_service(bool automatic) override {
    running_ = true;
    automatic_ = automatic_ || automatic;
    return Status::Ok();
  }

  Status add_target(const TargetSpec& target) override {
    if (Status s = need_service(); !s.ok()) return s;
    if (target.name.empty()) return Status::InvalidArgument("AddIScsiStaticTargetW: empty target name");
    targets_[target.name] = target;
    return Status::Ok();
  }

  Status remove_target(const std::string& target_name) override {
    for (const auto& [key, session] : sessions_) {
      if (session.target == target_name) {
        return Status::IoError("RemoveIScsiStaticTargetW(" + target_name + "): the target has a session");
      }
    }
    if (targets_.erase(target_name) == 0) {
      return Status::NotFound("RemoveIScsiStaticTargetW(" + target_name + "): no such target");
    }
    return Status::Ok();
  }

  Result<SessionId> login(const TargetSpec& target) override {
    if (Status s = need_service(); !s.ok()) return s;
    auto known = targets_.find(target.name);
    if (known == targets_.end()) {
      return Status::NotFound("LoginIScsiTargetW(" + target.name + "): the target is not in the discovered list");
    }
    if (target.chap_user != known->second.chap_user || target.chap_secret != known->second.chap_secret ||
        target.chap_secret.size() < 12 || target.chap_secret.size() > 16) {
      return Status::IoError("LoginIScsiTargetW(" + target.name + "): authentication failure");
    }
    if (options_.refuse_loopback && (target.address.rfind("127.", 0) == 0 || target.address == "::1")) {
      return Status::IoError("LoginIScsiTargetW(" + target.name + "): the target refused the connection to " +
                             target.address);
    }
    for (const auto& [key, session] : sessions_) {
      if (session.target == target.name) {
        return Status::IoError("LoginIScsiTargetW(" + target.name + "): the session already exists");
      }
    }
    SessionId id{0xfacefeed, ++next_session_};
    Session s;
    s.target = target.name;
    s.polls_left = options_.devices_after_polls;
    s.device_number = next_device_++;
    s.letter = next_free_letter();
    sessions_[id.adapter_specific] = s;
    return id;
  }

  Status logout(const SessionId& id) override {
    auto it = sessions_.find(id.adapter_specific);
    if (it == sessions_.end()) return Status::NotFound("LogoutIScsiTarget: no such session");
    if (held_.count(it->second.letter)) {
      return Status::IoError("LogoutIScsiTarget: the device is in use and cannot be removed");
    }
    sessions_.erase(it);
    return Status::Ok();
  }

  Result<std::vector<SessionInfo>> sessions() override {
    std::vector<SessionInfo> out;
    for (const auto& [key, s] : sessions_) out.push_back({SessionId{0xfacefeed, key}, s.target});
    return out;
  }

  Result<std::vector<SessionDevice>> devices(const SessionId& id) override {
    auto it = sessions_.find(id.adapter_specific);
    if (it == sessions_.end()) return Status::NotFound("GetDevicesForIScsiSessionW: no such session");
    if (it->second.polls_left > 0) {
      --it->second.polls_left;
      return std::vector<SessionDevice>{};
    }
    return std::vector<SessionDevice>{
        {"\\\\.\\CdRom" + std::to_string(it->second.device_number), kFileDeviceCdRom, it->second.device_number}};
  }

  Result<std::string> drive_letter(const SessionDevice& device) override {
    for (const auto& [key, s] : sessions_) {
      if (s.device_number == device.device_number) return s.letter;
    }
    return std::string();
  }

  Status volume_free(const std::string& letter) override {
    if (held_.count(letter)) {
      return Status::IoError("a program has files open on " + letter + " (the volume cannot be locked)");
    }
    return Status::Ok();
  }

  void hold(const std::string& letter, bool held) {
    if (held) {
      held_.insert(letter);
    } else {
      held_.erase(letter);
    }
  }

 private:
  struct Session {
    std::string target;
    int polls_left = 0;
    uint32_t device_number = 0;
    std::string letter;
  };

  Status need_service() const {
    if (!running_) return Status::NotSupported("the Microsoft iSCSI Initiator service (MSiSCSI) is stopped");
    return Status::Ok();
  }

  std::string next_free_letter() const {
    for (char c = options_.first_letter; c <= 'Z'; ++c) {
      std::string letter = std::string(1, c) + ":";
      bool used = false;
      for (const auto& [key, s] : sessions_) used = used || s.letter == letter;
      if (!used) return letter;
    }
    return std::string();
  }

  FakeInitiatorOptions options_;
  bool running_ = options_.service_running;
  bool automatic_ = false;
  std::map<std::string, TargetSpec> targets_;
  std::map<uint64_t, Session> sessions_;
  std::set<std::string> held_;
  uint64_t next_session_ = 0;
  uint32_t next_device_ = 1;  // CdRom0 is the machine's own drive in the story the fake tells
};

}  // namespace

std::unique_ptr<Initiator> make_fake_initiator(FakeInitiatorOptions options) {
  return std::make_unique<FakeInitiator>(options);
}

void fake_initiator_hold_volume(Initiator& fake, const std::string& letter, bool held) {
  static_cast<FakeInitiator&>(fake).hold(letter, held);
}

}  // namespace udisc::win
