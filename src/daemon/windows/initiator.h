// Initiator: the narrow seam between the Windows service and Windows' in-box
// iSCSI initiator (service MSiSCSI, driver msiscsi.sys), which is the kernel
// half of a udisc drive on Windows: logged in to our own loopback target, it
// reports each LUN to Plug and Play and cdrom.sys claims the type-5 LUN.
//
// Two implementations:
//  - iscsidsc_initiator.cc: the real one, calling iscsidsc.dll, loaded at run
//    time (LoadLibraryW) so udisc.exe starts where the DLL is absent (Wine has
//    none) and says so. It has NOT run on real Windows yet (docs/windows.md).
//  - fake_initiator.cc: an in-memory initiator for the tests under Wine and on
//    Linux; it keeps the same rules the real API documents (a target must be
//    known before a login, a held volume blocks the logout, ...).
//
// This header includes no Windows header, so the attach logic above it
// (attach.h) and its tests are portable.
//
// Thread safety: an Initiator is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace udisc::win {

// What the MSiSCSI service looks like on this machine.
enum class InitiatorServiceState { missing, stopped, starting, running, disabled };
const char* to_string(InitiatorServiceState state);

struct InitiatorStatus {
  bool api_loaded = false;  // iscsidsc.dll found and every entry point resolved
  std::string api_error;    // why not, in plain words, when !api_loaded
  InitiatorServiceState service = InitiatorServiceState::missing;
  bool service_automatic = false;  // start type SERVICE_AUTO_START
};

// One target to log in to: the loopback target of one drive.
struct TargetSpec {
  std::string name;     // IQN, e.g. "iqn.2026-12.org.udisc:drive-0"
  std::string address;  // "127.0.0.1", or a local address (fallback)
  uint16_t port = 3260;
  std::string chap_user;    // one-way CHAP: the name and secret the target requires
  std::string chap_secret;  // 12..16 bytes for the Microsoft initiator
};

// ISCSI_UNIQUE_SESSION_ID, as two opaque numbers.
struct SessionId {
  uint64_t adapter_unique = 0;
  uint64_t adapter_specific = 0;
  bool operator==(const SessionId&) const = default;
};

struct SessionInfo {
  SessionId id;
  std::string target_name;
};

// One device of a session (ISCSI_DEVICE_ON_SESSIONW).
struct SessionDevice {
  std::string legacy_name;     // "\\.\CdRom1"
  uint32_t device_type = 0;    // STORAGE_DEVICE_NUMBER.DeviceType (FILE_DEVICE_CD_ROM = 2)
  uint32_t device_number = 0;  // STORAGE_DEVICE_NUMBER.DeviceNumber
};
inline constexpr uint32_t kFileDeviceCdRom = 0x00000002;

class Initiator {
 public:
  virtual ~Initiator() = default;

  // "iscsidsc" or "fake".
  virtual std::string name() const = 0;
  virtual InitiatorStatus status() = 0;
  // Starts MSiSCSI (needs administrator rights); with `automatic`, also sets
  // its start type to automatic, as the in-box iSCSI control panel offers.
  virtual Status start_service(bool automatic) = 0;

  // AddIScsiStaticTargetW, not persistent (nothing stays in the registry).
  virtual Status add_target(const TargetSpec& target) = 0;
  // RemoveIScsiStaticTargetW.
  virtual Status remove_target(const std::string& target_name) = 0;
  // LoginIScsiTargetW: IsInformationalSession = FALSE (Plug and Play loads
  // cdrom.sys), IsPersistent = FALSE (the service logs in again itself after
  // a reboot), CHAP from `target`.
  virtual Result<SessionId> login(const TargetSpec& target) = 0;
  // LogoutIScsiTarget; Windows first checks that the devices can be removed,
  // so this fails while a program holds the volume.
  virtual Status logout(const SessionId& session) = 0;
  // GetIScsiSessionListW.
  virtual Result<std::vector<SessionInfo>> sessions() = 0;
  // GetDevicesForIScsiSessionW. Empty while Plug and Play is still starting
  // the devices.
  virtual Result<std::vector<SessionDevice>> devices(const SessionId& session) = 0;
  // The drive letter ("E:") of the volume on `device`: each letter's volume
  // is asked IOCTL_STORAGE_GET_DEVICE_NUMBER. Empty when it has none (yet).
  virtual Result<std::string> drive_letter(const SessionDevice& device) = 0;
  // Whether a program holds the volume open (FSCTL_LOCK_VOLUME refused);
  // the message names the reason.
  virtual Status volume_free(const std::string& drive_letter) = 0;
};

// The real initiator. Never fails to construct: where iscsidsc.dll is
// missing, status().api_loaded is false and every call says why.
std::unique_ptr<Initiator> make_iscsidsc_initiator();

// Behaviours of the fake, to test the paths around the real one.
struct FakeInitiatorOptions {
  bool refuse_loopback = false;  // a login to 127.0.0.0/8 fails (the fallback's case)
  bool service_running = true;
  char first_letter = 'E';
  int devices_after_polls = 1;  // devices() is empty this many times after a login
};
std::unique_ptr<Initiator> make_fake_initiator(FakeInitiatorOptions options = {});
// Test hook of the fake: marks the volume on `letter` as held (or free).
void fake_initiator_hold_volume(Initiator& fake, const std::string& letter, bool held);

}  // namespace udisc::win
