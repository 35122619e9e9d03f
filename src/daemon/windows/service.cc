// winsock2.h must come before windows.h (which service.h includes).
#include <winsock2.h>
#include <ws2tcpip.h>
// clang-format off
#include "daemon/windows/service.h"
// clang-format on

#include <fcntl.h>
#include <io.h>
#include <aclapi.h>
#include <iphlpapi.h>
#include <sddl.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "daemon/windows/control_pipe.h"
#include "daemon/windows/drive_host.h"
#include "daemon/windows/initiator.h"
#include "daemon/windows/owner_logon.h"
#include "daemon/windows/service_controller.h"
#include "daemon/windows/win32.h"

namespace udisc::win {
namespace {

using nlohmann::json;

// ---- images from duplicated handles ----

Result<std::shared_ptr<formats::RandomAccessFile>> file_of(UniqueHandle handle, const std::string& name) {
  if (GetFileType(handle.get()) != FILE_TYPE_DISK) {
    return Status::InvalidArgument("'" + name + "' is not a file on a disk");
  }
  int fd = _open_osfhandle(reinterpret_cast<intptr_t>(handle.get()), _O_RDONLY | _O_BINARY);
  if (fd < 0) return Status::IoError("'" + name + "': cannot adopt the handle");
  handle.release();  // the descriptor owns it now
  return formats::adopt_fd(fd, name);
}

// The path a handle refers to, as Windows resolves it ("C:\discs\a.iso").
std::string path_of(HANDLE handle, const std::string& fallback) {
  wchar_t buf[1024];
  DWORD n = GetFinalPathNameByHandleW(handle, buf, 1024, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
  if (n == 0 || n >= 1024) return fallback;
  std::string p = narrow(std::wstring(buf, n));
  if (p.rfind("\\\\?\\UNC\\", 0) == 0) return "\\\\" + p.substr(8);
  if (p.rfind("\\\\?\\", 0) == 0) return p.substr(4);
  return p;
}

// The image a request carries: "image": {"path", "files"} and one handle per file.
Result<std::optional<ReceivedImage>> image_from_request(std::string_view line, ReceivedHandles handles) {
  json doc = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("image") || !doc["image"].is_object()) {
    if (!handles.empty()) return Status::InvalidArgument("handles were sent with a request that carries no image");
    return std::optional<ReceivedImage>();
  }
  const json& spec = doc["image"];
  std::vector<std::string> refs;
  if (spec.contains("files") && spec["files"].is_array()) {
    for (const json& f : spec["files"]) {
      if (!f.is_string()) return Status::InvalidArgument("field 'image.files' must hold strings");
      refs.push_back(f.get<std::string>());
    }
  }
  if (handles.size() != 1 + refs.size()) {
    return Status::InvalidArgument(std::to_string(handles.size()) + " handles sent, the image needs " +
                                   std::to_string(1 + refs.size()));
  }
  ReceivedImage image;
  image.path = path_of(handles[0].get(), spec.value("path", std::string("image")));
  auto main = file_of(std::move(handles[0]), image.path);
  if (!main.ok()) return main.status();
  image.main = *main;
  for (size_t i = 0; i < refs.size(); ++i) {
    const std::string path = path_of(handles[i + 1].get(), refs[i]);
    auto f = file_of(std::move(handles[i + 1]), path);
    if (!f.ok()) return f.status();
    image.companions[refs[i]] = *f;
    image.companion_paths[refs[i]] = path;
  }
  return std::optional<ReceivedImage>(std::move(image));
}

// After a reboot: the recorded paths, opened with the owner's rights through
// an S4U logon (owner_logon.h; not yet run on Windows). With the fake
// initiator (the tests, under Wine, which has no S4U logon) as the service.
Result<ReceivedImage> reopen_recorded(const RecordedImage& rec, const std::string& owner_sid, bool as_owner) {
  auto open = [](const std::string& path) -> Result<std::shared_ptr<formats::RandomAccessFile>> {
    HANDLE h = CreateFileW(widen(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                           OPEN_EXISTING, 0, nullptr);
    if (h == INVALID_HANDLE_VALUE) return last_error("'" + path + "'");
    return file_of(UniqueHandle(h), path);
  };
  ReceivedImage out;
  out.path = rec.path;
  auto open_all = [&]() -> Status {
    auto main = open(rec.path);
    if (!main.ok()) return main.status();
    out.main = *main;
    for (const auto& [ref, path] : rec.companion_paths) {
      auto f = open(path);
      if (!f.ok()) return f.status();
      out.companions[ref] = *f;
      out.companion_paths[ref] = path;
    }
    return Status::Ok();
  };
  if (Status s = as_owner ? as_user(owner_sid, open_all) : open_all(); !s.ok()) return s;
  return out;
}

// This machine's own IPv4 addresses that are not loopback (the fallback).
std::vector<std::string> local_addresses() {
  std::vector<std::string> out;
  ULONG size = 16 * 1024;
  std::vector<unsigned char> buf(size);
  auto* adapters = reinterpret_cast<IP_ADAPTER_ADDRESSES*>(buf.data());
  if (GetAdaptersAddresses(AF_INET, GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST | GAA_FLAG_SKIP_DNS_SERVER,
                           nullptr, adapters, &size) != NO_ERROR) {
    return out;
  }
  for (auto* a = adapters; a; a = a->Next) {
    if (a->OperStatus != IfOperStatusUp || a->IfType == IF_TYPE_SOFTWARE_LOOPBACK) continue;
    for (auto* u = a->FirstUnicastAddress; u; u = u->Next) {
      char text[64] = {};
      auto* sin = reinterpret_cast<sockaddr_in*>(u->Address.lpSockaddr);
      if (inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text) && !is_loopback_address(text)) out.push_back(text);
    }
  }
  return out;
}

// The state folder's DACL: SYSTEM and Administrators only. %ProgramData%
// lets every user create folders and files, so the service sets it on the
// folder (also when someone created it first) before reading anything there.
Status protect_state_folder(const std::string& state_path) {
  const size_t slash = state_path.find_last_of("\\/");
  if (slash == std::string::npos) return Status::Ok();
  const std::wstring folder = widen(state_path.substr(0, slash));
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)", SDDL_REVISION_1,
                                                            &sd, nullptr)) {
    return last_error("building the state folder's DACL");
  }
  SECURITY_ATTRIBUTES sa{sizeof sa, sd, FALSE};
  Status result;
  if (!CreateDirectoryW(folder.c_str(), &sa)) {
    if (GetLastError() != ERROR_ALREADY_EXISTS) {
      result = last_error("creating " + narrow(folder));
    } else {
      BOOL present = FALSE;
      BOOL defaulted = FALSE;
      PACL dacl = nullptr;
      GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted);
      DWORD rc = SetNamedSecurityInfoW(const_cast<wchar_t*>(folder.c_str()), SE_FILE_OBJECT,
                                       DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, nullptr,
                                       nullptr, dacl, nullptr);
      if (rc != ERROR_SUCCESS) {
        SetLastError(rc);
        result = last_error("restricting " + narrow(folder) + " to SYSTEM and Administrators");
      }
    }
  }
  LocalFree(sd);
  return result;
}

void log_line(const std::string& line) {
  std::fprintf(stderr, "udisc service: %s\n", line.c_str());
  std::fflush(stderr);
}

// The service's work: until `stop_event` is set.
int serve(const ServiceRunOptions& options, HANDLE stop_event, const std::function<void()>& running) {
  WSADATA wsa;
  if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
    log_line("Winsock 2.2 is not available");
    return 69;
  }
  std::unique_ptr<Initiator> initiator = options.fake_initiator ? make_fake_initiator() : make_iscsidsc_initiator();
  if (!options.fake_initiator) {
    InitiatorStatus st = initiator->status();
    if (!st.api_loaded) log_line(st.api_error + "; drives cannot be attached until it is available");
  }
  std::unique_ptr<DriveHost> host = make_loopback_host(make_per_boot_chap(), log_line);
  ServiceOptions so;
  so.state_path = options.state_path.empty() ? default_state_path() : options.state_path;
  so.attach.local_addresses = local_addresses();
  so.log = log_line;
  so.replace_file = [](const std::string& from, const std::string& to) -> Status {
    if (!MoveFileExW(widen(from).c_str(), widen(to).c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
      return last_error("MoveFileEx");
    }
    return Status::Ok();
  };
  if (Status s = protect_state_folder(so.state_path); !s.ok()) {
    log_line(s.message());
    WSACleanup();
    return 1;
  }
  ServiceController controller(so, *initiator, *host, [&options](const RecordedImage& image, const std::string& sid) {
    return reopen_recorded(image, sid, !options.fake_initiator);
  });
  if (Status s = controller.restore(); !s.ok()) {
    log_line(s.message());
    WSACleanup();
    return 1;
  }
  PipeServer pipe(options.pipe_name.empty() ? control_pipe_name() : options.pipe_name,
                  [&controller](std::string_view line, const Caller& who, ReceivedHandles handles) {
                    Result<std::optional<ReceivedImage>> image = image_from_request(line, std::move(handles));
                    if (!image.ok()) {
                      json doc = json::parse(line, nullptr, false);
                      json id = doc.is_object() ? doc.value("id", json()) : json();
                      return daemon::make_error_reply(id, daemon::ErrorCode::bad_image, image.status().message());
                    }
                    return controller.handle_line(line, who, std::move(*image));
                  });
  if (Status s = pipe.start(); !s.ok()) {
    log_line(s.message());
    WSACleanup();
    return 69;
  }
  log_line("serving " + std::to_string(controller.drive_count()) + " drive(s); state " + so.state_path);
  if (running) running();
  WaitForSingleObject(stop_event, INFINITE);
  pipe.stop();
  controller.shutdown();
  WSACleanup();
  return 0;
}

// ---- the SCM side ----

SERVICE_STATUS_HANDLE g_status_handle = nullptr;
HANDLE g_stop_event = nullptr;
ServiceRunOptions g_options;

void report(DWORD state, DWORD exit_code = NO_ERROR) {
  SERVICE_STATUS s{};
  s.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  s.dwCurrentState = state;
  s.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  s.dwWin32ExitCode = exit_code == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
  s.dwServiceSpecificExitCode = exit_code;
  s.dwWaitHint = state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : 30000;
  SetServiceStatus(g_status_handle, &s);
}

DWORD WINAPI control_handler(DWORD control, DWORD, void*, void*) {
  if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
    report(SERVICE_STOP_PENDING);
    SetEvent(g_stop_event);
    return NO_ERROR;
  }
  return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

void WINAPI service_main(DWORD, LPWSTR*) {
  g_status_handle = RegisterServiceCtrlHandlerExW(kServiceName, control_handler, nullptr);
  if (!g_status_handle) return;
  report(SERVICE_START_PENDING);
  g_stop_event = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  int rc = serve(g_options, g_stop_event, [] { report(SERVICE_RUNNING); });
  report(SERVICE_STOPPED, static_cast<DWORD>(rc));
}

std::wstring own_path() {
  wchar_t path[MAX_PATH * 2];
  DWORD n = GetModuleFileNameW(nullptr, path, MAX_PATH * 2);
  return std::wstring(path, n);
}

struct ScHandle {
  SC_HANDLE h = nullptr;
  ~ScHandle() {
    if (h) CloseServiceHandle(h);
  }
};

}  // namespace

std::string default_state_path() {
  const char* base = std::getenv("ProgramData");
  return std::string(base && *base ? base : "C:\\ProgramData") + "\\udisc\\state.json";
}

Status install_service() {
  ScHandle scm{OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE)};
  if (!scm.h) return last_error("opening the service control manager (run as Administrator)");
  const std::wstring command = L"\"" + own_path() + L"\" service";
  ScHandle svc{CreateServiceW(scm.h, kServiceName, kServiceDisplayName, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                              SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, command.c_str(), nullptr, nullptr, nullptr,
                              nullptr /* LocalSystem */, nullptr)};
  if (!svc.h) {
    if (GetLastError() != ERROR_SERVICE_EXISTS) return last_error("creating the udisc service");
    svc.h = OpenServiceW(scm.h, kServiceName, SERVICE_ALL_ACCESS);
    if (!svc.h) return last_error("opening the udisc service");
  }
  SERVICE_DESCRIPTIONW description{const_cast<wchar_t*>(
      L"Virtual CD/DVD/BD drives for disc images, through Windows' own iSCSI initiator (udisc mount).")};
  ChangeServiceConfig2W(svc.h, SERVICE_CONFIG_DESCRIPTION, &description);
  if (!StartServiceW(svc.h, 0, nullptr) && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING) {
    return last_error("starting the udisc service");
  }
  for (int i = 0; i < 100; ++i) {
    SERVICE_STATUS st{};
    if (QueryServiceStatus(svc.h, &st) && st.dwCurrentState == SERVICE_RUNNING) return Status::Ok();
    if (st.dwCurrentState == SERVICE_STOPPED) {
      return Status::IoError("the udisc service stopped right after starting (exit status " +
                             std::to_string(st.dwServiceSpecificExitCode) + "); see the Application event log");
    }
    Sleep(100);
  }
  return Status::IoError("the udisc service did not report running within 10 s");
}

Status uninstall_service() {
  ScHandle scm{OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT)};
  if (!scm.h) return last_error("opening the service control manager (run as Administrator)");
  ScHandle svc{OpenServiceW(scm.h, kServiceName, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE)};
  if (!svc.h) return last_error("opening the udisc service");
  SERVICE_STATUS st{};
  if (ControlService(svc.h, SERVICE_CONTROL_STOP, &st)) {
    for (int i = 0; i < 100 && QueryServiceStatus(svc.h, &st) && st.dwCurrentState != SERVICE_STOPPED; ++i) Sleep(100);
  }
  if (!DeleteService(svc.h) && GetLastError() != ERROR_SERVICE_MARKED_FOR_DELETE) {
    return last_error("deleting the udisc service");
  }
  return Status::Ok();
}

Result<bool> service_running() {
  ScHandle scm{OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT)};
  if (!scm.h) return last_error("opening the service control manager");
  ScHandle svc{OpenServiceW(scm.h, kServiceName, SERVICE_QUERY_STATUS)};
  if (!svc.h) return last_error("the udisc service");
  SERVICE_STATUS st{};
  if (!QueryServiceStatus(svc.h, &st)) return last_error("querying the udisc service");
  return st.dwCurrentState == SERVICE_RUNNING;
}

int run_service_dispatcher(ServiceRunOptions options) {
  g_options = std::move(options);
  SERVICE_TABLE_ENTRYW table[] = {{const_cast<wchar_t*>(kServiceName), service_main}, {nullptr, nullptr}};
  if (!StartServiceCtrlDispatcherW(table)) {
    if (GetLastError() == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
      std::fprintf(stderr,
                   "udisc: `udisc service` is started by Windows' service control manager; install it with `udisc "
                   "service install`, or run `udisc service --foreground`\n");
      return 2;
    }
    std::fprintf(stderr, "udisc: %s\n", last_error("StartServiceCtrlDispatcher").message().c_str());
    return 1;
  }
  return 0;
}

int run_service_foreground(ServiceRunOptions options, HANDLE stop_event) {
  return serve(options, stop_event, {});
}

}  // namespace udisc::win
