// The real initiator: Windows' in-box iSCSI initiator through iscsidsc.dll.
//
// NOT RUN ON REAL WINDOWS YET: written from Microsoft's API documentation
// (learn.microsoft.com/windows/win32/api/iscsidsc/), compiled in CI, and
// checked under Wine only as far as Wine goes (no iscsidsc.dll: status()
// says so). tools/windows-smoke.ps1 is the manual test on Windows.
//
// Why the declarations below are our own: mingw-w64's iscsidsc.h does not
// compile (MAX_ISCSI_NAME_LEN undefined, a duplicate typedef, no
// GetDevicesForIScsiSessionW), and the DLL is loaded at run time with
// LoadLibraryW/GetProcAddress so udisc.exe starts where it is absent.
#include <windows.h>
#include <winioctl.h>
// clang-format off: ntddscsi.h needs windows.h first
#include <ntddscsi.h>
// clang-format on

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "daemon/windows/initiator.h"
#include "daemon/windows/win32.h"

namespace udisc::win {
namespace {

// ---- iscsidsc.h, as documented (sizes in WCHARs) ----
constexpr size_t kMaxIscsiHbaNameLen = 256;      // MAX_ISCSI_HBANAME_LEN
constexpr size_t kMaxIscsiNameLen = 223;         // MAX_ISCSI_NAME_LEN
constexpr size_t kMaxIscsiPortalNameLen = 256;   // MAX_ISCSI_PORTAL_NAME_LEN
constexpr size_t kMaxIscsiPortalAddressLen = 256;  // MAX_ISCSI_PORTAL_ADDRESS_LEN
constexpr ULONG kIscsiAnyInitiatorPort = static_cast<ULONG>(-1);  // ISCSI_ANY_INITIATOR_PORT

// ISCSI_LOGIN_OPTIONS.InformationSpecified bits.
constexpr ULONG kLoginOptionsUsername = 0x20;  // ISCSI_LOGIN_OPTIONS_USERNAME
constexpr ULONG kLoginOptionsPassword = 0x40;  // ISCSI_LOGIN_OPTIONS_PASSWORD
constexpr ULONG kLoginOptionsAuthType = 0x80;  // ISCSI_LOGIN_OPTIONS_AUTH_TYPE
constexpr ULONG kChapAuthType = 1;             // ISCSI_CHAP_AUTH_TYPE
// Merge with what discovery already knows about the target instead of replacing it.
constexpr ULONG kTargetFlagMergeTargetInformation = 0x4;  // ISCSI_TARGET_FLAG_MERGE_TARGET_INFORMATION

struct IscsiUniqueSessionId {  // ISCSI_UNIQUE_SESSION_ID / ISCSI_UNIQUE_CONNECTION_ID
  ULONGLONG AdapterUnique;
  ULONGLONG AdapterSpecific;
};

struct IscsiTargetPortalW {  // ISCSI_TARGET_PORTALW
  WCHAR SymbolicName[kMaxIscsiPortalNameLen];
  WCHAR Address[kMaxIscsiPortalAddressLen];
  USHORT Socket;
};

struct IscsiTargetPortalGroupW {  // ISCSI_TARGET_PORTAL_GROUPW with one portal
  ULONG Count;
  IscsiTargetPortalW Portals[1];
};

struct IscsiLoginOptions {  // ISCSI_LOGIN_OPTIONS
  ULONG Version;            // ISCSI_LOGIN_OPTIONS_VERSION = 0
  ULONG InformationSpecified;
  ULONG LoginFlags;
  ULONG AuthType;
  ULONG HeaderDigest;
  ULONG DataDigest;
  ULONG MaximumConnections;
  ULONG DefaultTime2Wait;
  ULONG DefaultTime2Retain;
  ULONG UsernameLength;
  ULONG PasswordLength;
  PUCHAR Username;
  PUCHAR Password;
};

struct IscsiSessionInfoW {  // ISCSI_SESSION_INFOW
  IscsiUniqueSessionId SessionId;
  PWCHAR InitiatorName;
  PWCHAR TargetNodeName;
  PWCHAR TargetName;
  UCHAR ISID[6];
  UCHAR TSID[2];
  ULONG ConnectionCount;
  void* Connections;  // PISCSI_CONNECTION_INFOW, unused
};

struct IscsiDeviceOnSessionW {  // ISCSI_DEVICE_ON_SESSIONW
  WCHAR InitiatorName[kMaxIscsiHbaNameLen];
  WCHAR TargetName[kMaxIscsiNameLen + 1];
  SCSI_ADDRESS ScsiAddress;
  GUID DeviceInterfaceType;
  WCHAR DeviceInterfaceName[MAX_PATH];
  WCHAR LegacyName[MAX_PATH];
  STORAGE_DEVICE_NUMBER StorageDeviceNumber;
  DWORD DeviceInstance;
};

// Layouts as the documentation gives them for x64 (a mismatch would corrupt
// the DLL's output silently, so the sizes are pinned).
static_assert(sizeof(IscsiTargetPortalW) == 1026);
static_assert(sizeof(IscsiLoginOptions) == 64);
static_assert(sizeof(IscsiSessionInfoW) == 64);
static_assert(sizeof(IscsiDeviceOnSessionW) == 2040);

// ISDSC_STATUS is a ULONG; ISDSC_API is __stdcall (WINAPI).
using AddIScsiStaticTargetW_t = ULONG(WINAPI*)(PWSTR TargetName, PWSTR TargetAlias, ULONG TargetFlags,
                                                BOOLEAN Persist, void* Mappings, IscsiLoginOptions* LoginOptions,
                                                IscsiTargetPortalGroupW* PortalGroup);
using RemoveIScsiStaticTargetW_t = ULONG(WINAPI*)(PWSTR TargetName);
using LoginIScsiTargetW_t = ULONG(WINAPI*)(PWSTR TargetName, BOOLEAN IsInformationalSession, PWSTR InitiatorInstance,
                                           ULONG InitiatorPortNumber, IscsiTargetPortalW* TargetPortal,
                                           ULONGLONG SecurityFlags, void* Mappings, IscsiLoginOptions* LoginOptions,
                                           ULONG KeySize, PCHAR Key, BOOLEAN IsPersistent,
                                           IscsiUniqueSessionId* UniqueSessionId,
                                           IscsiUniqueSessionId* UniqueConnectionId);
using LogoutIScsiTarget_t = ULONG(WINAPI*)(IscsiUniqueSessionId* UniqueSessionId);
using GetIScsiSessionListW_t = ULONG(WINAPI*)(ULONG* BufferSize, ULONG* SessionCount, IscsiSessionInfoW* SessionInfo);
using GetDevicesForIScsiSessionW_t = ULONG(WINAPI*)(IscsiUniqueSessionId* UniqueSessionId, ULONG* DeviceCount,
                                                    IscsiDeviceOnSessionW* Devices);

// iSCSI errors (ISDSC_*, "iSCSI status qualifiers" in the Windows driver
// documentation): the ones the service can meet, in plain words.
std::string iscsi_error_text(ULONG code) {
  switch (code) {
    case 0xEFFF0002: return "the login failed";                                              // ISDSC_LOGIN_FAILED
    case 0xEFFF0003: return "the connection to the target failed";                           // ISDSC_CONNECTION_FAILED
    case 0xEFFF0009: return "CHAP authentication failed";                                    // ISDSC_AUTHENTICATION_FAILURE
    case 0xEFFF0016: return "a session to this target already exists";                       // ISDSC_SESSION_ALREADY_EXISTS
    case 0xEFFF001F: return "the session is busy with another request";                      // ISDSC_SESSION_BUSY
    case 0xEFFF0029: return "the target is not in the initiator's list";                     // ISDSC_TARGET_NOT_FOUND
    case 0xEFFF003E: return "the Microsoft iSCSI Initiator service (MSiSCSI) is not running";  // ISDSC_SERVICE_NOT_RUNNING
    case 0xEFFF003F: return "the target is already logged in";                               // ISDSC_TARGET_ALREADY_LOGGED_IN
    case 0xEFFF0040: return "a program is using the drive (the device cannot be removed)";    // ISDSC_DEVICE_BUSY_ON_SESSION
    case 0xEFFF0048: return "the CHAP secret is shorter than 96 bits";                      // ISDSC_SHORT_CHAP_SECRET
    default: break;
  }
  return system_error_text(code);
}
constexpr ULONG kIscsiDeviceBusyOnSession = 0xEFFF0040;

Status iscsi_failure(const char* call, const std::string& what, ULONG code) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08lX", static_cast<unsigned long>(code));
  return Status::IoError(std::string(call) + "(" + what + "): " + iscsi_error_text(code) + " (" + hex + ")");
}

void copy_wide(WCHAR* out, size_t capacity, const std::wstring& in) {
  size_t n = std::min(in.size(), capacity - 1);
  std::memcpy(out, in.data(), n * sizeof(WCHAR));
  out[n] = 0;
}

class IscsiDscInitiator final : public Initiator {
 public:
  IscsiDscInitiator() { load(); }
  ~IscsiDscInitiator() override {
    if (dll_) FreeLibrary(dll_);
  }

  std::string name() const override { return "iscsidsc"; }

  InitiatorStatus status() override {
    InitiatorStatus s;
    s.api_loaded = loaded_;
    s.api_error = load_error_;
    query_service(&s);
    return s;
  }

  Status start_service(bool automatic) override {
    SC_HANDLE scm = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
    if (!scm) return last_error("opening the service control manager");
    DWORD access = SERVICE_START | SERVICE_QUERY_STATUS | (automatic ? SERVICE_CHANGE_CONFIG : 0);
    SC_HANDLE svc = OpenServiceW(scm, L"MSiSCSI", access);
    Status result;
    if (!svc) {
      result = last_error("opening the MSiSCSI service (administrator rights are needed)");
    } else {
      if (automatic && !ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, SERVICE_AUTO_START, SERVICE_NO_CHANGE, nullptr,
                                             nullptr, nullptr, nullptr, nullptr, nullptr, nullptr)) {
        result = last_error("setting MSiSCSI to start automatically");
      }
      if (result.ok() && !StartServiceW(svc, 0, nullptr) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING) {
        result = last_error("starting MSiSCSI");
      }
      // Wait (bounded) until it reports running.
      for (int i = 0; result.ok() && i < 100; ++i) {
        SERVICE_STATUS ss{};
        if (!QueryServiceStatus(svc, &ss)) break;
        if (ss.dwCurrentState == SERVICE_RUNNING) break;
        Sleep(100);
      }
      CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
    return result;
  }

  Status add_target(const TargetSpec& target) override {
    if (Status s = need_api(); !s.ok()) return s;
    std::wstring name = widen(target.name);
    IscsiTargetPortalGroupW group{};
    group.Count = 1;
    fill_portal(group.Portals[0], target);
    // Persist = FALSE: the target lives until the initiator service restarts;
    // nothing is left in the registry if udisc goes away.
    ULONG rc = add_static_(name.data(), nullptr, kTargetFlagMergeTargetInformation, FALSE, nullptr, nullptr, &group);
    if (rc != ERROR_SUCCESS) return iscsi_failure("AddIScsiStaticTargetW", target.name, rc);
    return Status::Ok();
  }

  Status remove_target(const std::string& target_name) override {
    if (Status s = need_api(); !s.ok()) return s;
    std::wstring name = widen(target_name);
    ULONG rc = remove_static_(name.data());
    if (rc != ERROR_SUCCESS) return iscsi_failure("RemoveIScsiStaticTargetW", target_name, rc);
    return Status::Ok();
  }

  Result<SessionId> login(const TargetSpec& target) override {
    if (Status s = need_api(); !s.ok()) return s;
    std::wstring name = widen(target.name);
    IscsiTargetPortalW portal{};
    fill_portal(portal, target);
    std::string user = target.chap_user;
    std::string secret = target.chap_secret;
    IscsiLoginOptions options{};
    options.Version = 0;
    options.InformationSpecified = kLoginOptionsAuthType | kLoginOptionsUsername | kLoginOptionsPassword;
    options.AuthType = kChapAuthType;
    options.UsernameLength = static_cast<ULONG>(user.size());
    options.PasswordLength = static_cast<ULONG>(secret.size());
    options.Username = reinterpret_cast<PUCHAR>(user.data());
    options.Password = reinterpret_cast<PUCHAR>(secret.data());
    IscsiUniqueSessionId session{};
    IscsiUniqueSessionId connection{};
    ULONG rc = login_(name.data(), /*IsInformationalSession=*/FALSE, nullptr, kIscsiAnyInitiatorPort, &portal,
                      /*SecurityFlags=*/0, nullptr, &options, 0, nullptr, /*IsPersistent=*/FALSE, &session,
                      &connection);
    SecureZeroMemory(secret.data(), secret.size());
    if (rc != ERROR_SUCCESS) {
      return iscsi_failure("LoginIScsiTargetW", target.name + " at " + target.address + ":" +
                                                    std::to_string(target.port), rc);
    }
    return SessionId{session.AdapterUnique, session.AdapterSpecific};
  }

  Status logout(const SessionId& id) override {
    if (Status s = need_api(); !s.ok()) return s;
    IscsiUniqueSessionId session{id.adapter_unique, id.adapter_specific};
    ULONG rc = logout_(&session);
    if (rc != ERROR_SUCCESS) return iscsi_failure("LogoutIScsiTarget", "session", rc);
    return Status::Ok();
  }

  Result<std::vector<SessionInfo>> sessions() override {
    if (Status s = need_api(); !s.ok()) return s;
    // The list is a header array followed by the strings it points to; the
    // call says how big a buffer it needs.
    std::vector<unsigned char> buffer(16 * 1024);
    ULONG count = 0;
    ULONG rc = ERROR_INSUFFICIENT_BUFFER;
    for (int attempt = 0; attempt < 4 && rc == ERROR_INSUFFICIENT_BUFFER; ++attempt) {
      ULONG size = static_cast<ULONG>(buffer.size());
      count = 0;
      rc = session_list_(&size, &count, reinterpret_cast<IscsiSessionInfoW*>(buffer.data()));
      if (rc == ERROR_INSUFFICIENT_BUFFER) buffer.resize(std::max<size_t>(size, buffer.size() * 2));
    }
    if (rc != ERROR_SUCCESS) return iscsi_failure("GetIScsiSessionListW", "", rc);
    std::vector<SessionInfo> out;
    auto* infos = reinterpret_cast<IscsiSessionInfoW*>(buffer.data());
    for (ULONG i = 0; i < count; ++i) {
      SessionInfo s;
      s.id = {infos[i].SessionId.AdapterUnique, infos[i].SessionId.AdapterSpecific};
      if (infos[i].TargetNodeName) s.target_name = narrow(infos[i].TargetNodeName);
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::vector<SessionDevice>> devices(const SessionId& id) override {
    if (Status s = need_api(); !s.ok()) return s;
    IscsiUniqueSessionId session{id.adapter_unique, id.adapter_specific};
    std::vector<IscsiDeviceOnSessionW> buffer(4);
    ULONG count = static_cast<ULONG>(buffer.size());
    ULONG rc = devices_(&session, &count, buffer.data());
    if (rc == ERROR_INSUFFICIENT_BUFFER) {
      buffer.resize(count);
      rc = devices_(&session, &count, buffer.data());
    }
    // Right after a login the devices are still starting: not an error.
    if (rc == kIscsiDeviceBusyOnSession) return std::vector<SessionDevice>{};
    if (rc != ERROR_SUCCESS) return iscsi_failure("GetDevicesForIScsiSessionW", "session", rc);
    std::vector<SessionDevice> out;
    for (ULONG i = 0; i < count && i < buffer.size(); ++i) {
      out.push_back({narrow(buffer[i].LegacyName), static_cast<uint32_t>(buffer[i].StorageDeviceNumber.DeviceType),
                     static_cast<uint32_t>(buffer[i].StorageDeviceNumber.DeviceNumber)});
    }
    return out;
  }

  Result<std::string> drive_letter(const SessionDevice& device) override {
    return drive_letter_of_device(device.device_type, device.device_number);
  }

  Status volume_free(const std::string& letter) override { return volume_not_in_use(letter); }

 private:
  void load() {
    // LOAD_LIBRARY_SEARCH_SYSTEM32: only the system's own copy, never one
    // planted beside udisc.exe.
    dll_ = LoadLibraryExW(L"iscsidsc.dll", nullptr, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!dll_) {
      load_error_ = "iscsidsc.dll (the Microsoft iSCSI Initiator API) is not on this system: " +
                    system_error_text(GetLastError()) +
                    "; drives need the Microsoft iSCSI Initiator of Windows 10 or 11 (Wine has none)";
      return;
    }
    bool ok = resolve(add_static_, "AddIScsiStaticTargetW") && resolve(remove_static_, "RemoveIScsiStaticTargetW") &&
              resolve(login_, "LoginIScsiTargetW") && resolve(logout_, "LogoutIScsiTarget") &&
              resolve(session_list_, "GetIScsiSessionListW") && resolve(devices_, "GetDevicesForIScsiSessionW");
    loaded_ = ok;
  }

  template <typename F>
  bool resolve(F& fn, const char* symbol) {
    fn = reinterpret_cast<F>(reinterpret_cast<void*>(GetProcAddress(dll_, symbol)));
    if (!fn) load_error_ = std::string("iscsidsc.dll has no ") + symbol;
    return fn != nullptr;
  }

  Status need_api() const {
    if (!loaded_) return Status::NotSupported(load_error_);
    return Status::Ok();
  }

  static void fill_portal(IscsiTargetPortalW& portal, const TargetSpec& target) {
    copy_wide(portal.Address, kMaxIscsiPortalAddressLen, widen(target.address));
    portal.Socket = target.port;
  }

  static void query_service(InitiatorStatus* s) {
    SC_HANDLE scm = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
    if (!scm) return;
    SC_HANDLE svc = OpenServiceW(scm, L"MSiSCSI", SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG);
    if (svc) {
      SERVICE_STATUS ss{};
      if (QueryServiceStatus(svc, &ss)) {
        s->service = ss.dwCurrentState == SERVICE_RUNNING        ? InitiatorServiceState::running
                     : ss.dwCurrentState == SERVICE_START_PENDING ? InitiatorServiceState::starting
                                                                  : InitiatorServiceState::stopped;
      }
      DWORD needed = 0;
      QueryServiceConfigW(svc, nullptr, 0, &needed);
      std::vector<unsigned char> buf(needed ? needed : 1);
      auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buf.data());
      if (needed && QueryServiceConfigW(svc, config, needed, &needed)) {
        s->service_automatic = config->dwStartType == SERVICE_AUTO_START;
        if (config->dwStartType == SERVICE_DISABLED && s->service != InitiatorServiceState::running) {
          s->service = InitiatorServiceState::disabled;
        }
      }
      CloseServiceHandle(svc);
    }
    CloseServiceHandle(scm);
  }

  HMODULE dll_ = nullptr;
  bool loaded_ = false;
  std::string load_error_;
  AddIScsiStaticTargetW_t add_static_ = nullptr;
  RemoveIScsiStaticTargetW_t remove_static_ = nullptr;
  LoginIScsiTargetW_t login_ = nullptr;
  LogoutIScsiTarget_t logout_ = nullptr;
  GetIScsiSessionListW_t session_list_ = nullptr;
  GetDevicesForIScsiSessionW_t devices_ = nullptr;
};

}  // namespace

std::unique_ptr<Initiator> make_iscsidsc_initiator() { return std::make_unique<IscsiDscInitiator>(); }

}  // namespace udisc::win
