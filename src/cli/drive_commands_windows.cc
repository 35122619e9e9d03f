// The drive commands on Windows (register_drive_commands of commands.h):
// clients of the udisc service's control pipe (src/daemon/windows), plus
// `service` (run, install, uninstall) and `doctor`.
//
// Same names, options and exit statuses as on Linux: 0 success, 1 the service
// refused, 2 usage, 69 no service runs or this machine cannot make drives,
// 77 permission denied (another user's drive). Errors are one `udisc:` line.
#include <winsock2.h>
#include <windows.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/image_location.h"
#include "daemon/image_files.h"
#include "daemon/protocol.h"
#include "daemon/windows/control_pipe.h"
#include "daemon/windows/initiator.h"
#include "daemon/windows/service.h"
#include "daemon/windows/win32.h"

namespace udisc::cli {
namespace {

using daemon::ErrorCode;
using nlohmann::json;

constexpr int kExitRefused = 1;
constexpr int kExitUnavailable = 69;   // EX_UNAVAILABLE
constexpr int kExitNoPermission = 77;  // EX_NOPERM

void print_error(const std::string& message) { std::fprintf(stderr, "udisc: %s\n", message.c_str()); }

int exit_for(const std::string& code) {
  if (code == "permission_denied") return kExitNoPermission;
  if (code == "unavailable") return kExitUnavailable;
  return kExitRefused;
}

// One request to the service; prints a refusal and sets exit_code.
std::optional<json> call(json request, int& exit_code, const std::vector<win::UniqueHandle>* handles = nullptr) {
  auto client = win::PipeClient::connect(win::control_pipe_name());
  if (!client.ok()) {
    print_error(client.status().message());
    exit_code = client.status().message().find("access denied") != std::string::npos ? kExitNoPermission
                                                                                      : kExitUnavailable;
    return std::nullopt;
  }
  request["v"] = daemon::kProtocolVersion;
  request["id"] = 1;
  if (handles) {
    json values = json::array();
    for (const auto& h : *handles) values.push_back(reinterpret_cast<uintptr_t>(h.get()));
    request["handles"] = values;
    request["fds"] = handles->size();
  }
  auto reply = client->call(request.dump());
  if (!reply.ok()) {
    print_error(reply.status().message());
    exit_code = kExitUnavailable;
    return std::nullopt;
  }
  json r = json::parse(*reply, nullptr, false);
  if (!r.is_object()) {
    print_error("the udisc service sent a malformed reply");
    exit_code = kExitUnavailable;
    return std::nullopt;
  }
  if (!r.value("ok", false)) {
    const json& e = r["error"];
    print_error(e.value("message", std::string("refused")));
    exit_code = exit_for(e.value("code", std::string()));
    return std::nullopt;
  }
  return r["result"];
}

// The image and, for a cue sheet, the files it names, opened with the
// caller's own rights. Handles stay open until the service has duplicated them.
struct OpenedForService {
  json spec;
  std::vector<win::UniqueHandle> handles;
};

// `extra`: files the user named (--password-file), sent as the image's companions.
std::optional<OpenedForService> open_for_service(const std::string& path, const formats::ExtraCompanions& extra) {
  auto open = [](const std::string& p) -> Result<win::UniqueHandle> {
    HANDLE h = CreateFileW(win::widen(p).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    if (h == INVALID_HANDLE_VALUE) return win::last_error("'" + p + "'");
    return win::UniqueHandle(h);
  };
  OpenedForService out;
  auto main = open(path);
  if (!main.ok()) {
    print_error(main.status().message());
    return std::nullopt;
  }
  out.handles.push_back(std::move(*main));
  // The files a cue sheet (or another multi-file image) names, found as the
  // reader would find them beside it ("/" works as a separator on Windows).
  std::string forward = path;
  std::replace(forward.begin(), forward.end(), '\\', '/');
  std::vector<std::string> refs, paths;
  if (Status s = daemon::companion_files(forward, &refs, &paths, extra); !s.ok()) {
    print_error(s.message());
    return std::nullopt;
  }
  json files = json::array();
  for (size_t i = 0; i < refs.size(); ++i) {
    auto h = open(paths[i]);
    if (!h.ok()) {
      print_error(h.status().with_context("'" + path + "' names it").message());
      return std::nullopt;
    }
    files.push_back(refs[i]);
    out.handles.push_back(std::move(*h));
  }
  out.spec = {{"path", path}, {"files", files}};
  return out;
}

// DRIVE: a number, a letter ("E:" or "E"), or a device path ("\\.\CdRom1").
std::optional<uint32_t> resolve_drive(const std::string& text, int& exit_code) {
  if (!text.empty() && text.size() <= 4 && text.find_first_not_of("0123456789") == std::string::npos) {
    return static_cast<uint32_t>(std::stoul(text));
  }
  std::string want = text;
  if (want.size() == 1 && std::isalpha(static_cast<unsigned char>(want[0]))) want += ':';
  if (want.size() == 2 && want[1] == ':') want[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(want[0])));
  auto list = call({{"op", "list"}}, exit_code);
  if (!list) return std::nullopt;
  for (const json& d : (*list)["drives"]) {
    if ((d["letter"].is_string() && d["letter"] == want) || (d["device"].is_string() && d["device"] == text)) {
      return d["drive"].get<uint32_t>();
    }
  }
  print_error("'" + text + "' is not a udisc drive: give its letter (E:), number or device (see `udisc list`)");
  exit_code = kExitRefused;
  return std::nullopt;
}

std::string where(const json& d) {
  if (d["letter"].is_string()) return d["letter"].get<std::string>();
  if (d["device"].is_string()) return d["device"].get<std::string>();
  return "drive " + std::to_string(d["drive"].get<uint32_t>());
}

void print_drive_line(const json& d) {
  std::string image = "-";
  if (d["image"].is_object()) image = d["image"].value("path", std::string("(another user's image)"));
  std::printf("%-3u %-4s %-16s %-6s %-20s %s\n", d["drive"].get<uint32_t>(),
              d["letter"].is_string() ? d["letter"].get<std::string>().c_str() : "-",
              d["device"].is_string() ? d["device"].get<std::string>().c_str() : "-",
              d["tray"].get<std::string>().c_str(), d["owner"].get<std::string>().c_str(), image.c_str());
}

// ---- doctor ----

bool is_admin() {
  auto me = win::current_user();
  return me.ok() && me->admin;
}

int doctor(bool fix) {
  std::printf("udisc doctor: what this machine offers for virtual disc drives\n\n");
  auto initiator = win::make_iscsidsc_initiator();
  win::InitiatorStatus st = initiator->status();
  const bool admin = is_admin();
  bool drives_possible = st.api_loaded;
  if (st.api_loaded) {
    std::printf("  ok       iSCSI initiator API (iscsidsc.dll)\n");
  } else {
    std::printf("  MISSING  iSCSI initiator API (iscsidsc.dll): %s\n", st.api_error.c_str());
  }
  if (st.service == win::InitiatorServiceState::running) {
    std::printf("  ok       Microsoft iSCSI Initiator service (MSiSCSI) is running%s\n",
                st.service_automatic ? " and starts automatically" : "");
  } else {
    std::printf("  %-8s Microsoft iSCSI Initiator service (MSiSCSI) is %s\n",
                st.service == win::InitiatorServiceState::missing ? "MISSING" : "STOPPED", win::to_string(st.service));
    if (st.service != win::InitiatorServiceState::missing) {
      if (fix && admin) {
        Status s = initiator->start_service(/*automatic=*/true);
        std::printf("           %s\n", s.ok() ? "started it and set it to start automatically" : s.message().c_str());
      } else {
        std::printf("           run `udisc doctor --fix` as Administrator to start it and set it to start "
                    "automatically (as the iSCSI Initiator control panel offers)\n");
        drives_possible = false;
      }
    } else {
      drives_possible = false;
    }
  }
  std::printf("  %-8s administrator rights%s\n", admin ? "ok" : "no",
              admin ? "" : " (needed for `udisc service install` and `doctor --fix`; not for mount)");
  auto running = win::service_running();
  bool service_ok = false;
  if (!running.ok()) {
    std::printf("  MISSING  the udisc service is not installed: run `udisc service install` as Administrator\n");
  } else if (!*running) {
    std::printf("  STOPPED  the udisc service is installed but not running: `sc start udisc`\n");
  } else {
    int code = 0;
    auto hello = call({{"op", "hello"}}, code);
    service_ok = hello.has_value();
    if (service_ok) {
      std::printf("  ok       the udisc service answers on its pipe (%zu drive(s))\n",
                  (*hello)["drives"].get<size_t>());
    }
  }
  std::printf("\n");
  if (drives_possible) {
    std::printf("  Drive letters: `udisc mount IMAGE` works here%s.\n",
                service_ok ? "" : " once the udisc service is installed");
    std::printf("  If a login to 127.0.0.1 is refused, the service tries this machine's own address (docs/windows.md).\n");
  } else {
    std::printf("  Drive letters are not possible here (the iSCSI initiator is missing or stopped).\n"
                "  What works: `udisc serve IMAGE` exports the disc over iSCSI to another machine, and for plain\n"
                "  ISO files only, Windows' own `Mount-DiskImage -ImagePath C:\\path\\disc.iso` (no BIN/CUE, no\n"
                "  audio tracks, no CHD).\n");
  }
  return drives_possible && service_ok ? 0 : kExitUnavailable;
}

// ---- service ----

HANDLE g_console_stop = nullptr;
BOOL WINAPI console_stop(DWORD) {
  SetEvent(g_console_stop);
  return TRUE;
}

int service_command(const std::string& action, const win::ServiceRunOptions& options, bool foreground) {
  if (action == "install") {
    Status s = win::install_service();
    if (!s.ok()) {
      print_error(s.message());
      return s.message().find("access denied") != std::string::npos ? kExitNoPermission : kExitUnavailable;
    }
    std::printf("the udisc service is installed and running\n");
    return 0;
  }
  if (action == "uninstall") {
    Status s = win::uninstall_service();
    if (!s.ok()) {
      print_error(s.message());
      return s.message().find("access denied") != std::string::npos ? kExitNoPermission : kExitUnavailable;
    }
    std::printf("the udisc service is removed\n");
    return 0;
  }
  if (!action.empty()) {
    print_error("unknown service action '" + action + "' (install, uninstall, or none to run the service)");
    return 2;
  }
  if (foreground) {
    g_console_stop = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    SetConsoleCtrlHandler(console_stop, TRUE);
    return win::run_service_foreground(options, g_console_stop);
  }
  return win::run_service_dispatcher(options);
}

}  // namespace

void register_drive_commands(CLI::App& app, int& exit_code) {
  // service
  struct ServiceOpts {
    std::string action;
    bool foreground = false;
    std::string state;
    std::string pipe;
    bool fake_initiator = false;
  };
  auto so = std::make_shared<ServiceOpts>();
  auto* svc = app.add_subcommand("service", "Run, install or uninstall the udisc Windows service that owns the drives");
  svc->add_option("action", so->action, "install | uninstall (none: run as the service)");
  svc->add_flag("--foreground", so->foreground, "Run in this console until Ctrl+C instead of under the SCM");
  svc->add_option("--state", so->state, "State file (default %ProgramData%\\udisc\\state.json)");
  svc->add_option("--pipe", so->pipe, "Control pipe (default \\\\.\\pipe\\udisc-control, or UDISC_PIPE)");
  svc->add_flag("--fake-initiator", so->fake_initiator,
                "Tests only: attach drives to an in-memory initiator instead of Windows' iSCSI initiator");
  svc->callback([so, &exit_code] {
    win::ServiceRunOptions o;
    o.state_path = so->state;
    o.pipe_name = win::widen(so->pipe);
    o.fake_initiator = so->fake_initiator;
    exit_code = service_command(so->action, o, so->foreground);
  });

  // mount
  struct MountOpts {
    std::string image;
    bool json_out = false;
    formats::ExtraCompanions extra;
  };
  auto mo = std::make_shared<MountOpts>();
  auto* m = app.add_subcommand("mount", "Put a disc image into a new drive and print its drive letter");
  m->add_option("image", mo->image, "Disc image (ISO, CUE/BIN, ...)")->required();
  m->add_flag("--json", mo->json_out, "Print the drive as JSON (number, letter, device path)");
  add_password_file_option(m, mo->extra);
  m->footer("Exit status: 0 mounted; 1 refused (bad image, ...); 69 no udisc service or no iSCSI initiator; "
            "77 permission denied.");
  m->callback([mo, &exit_code] {
    auto opened = open_for_service(mo->image, mo->extra);
    if (!opened) {
      exit_code = kExitRefused;
      return;
    }
    auto r = call({{"op", "mount"}, {"image", opened->spec}}, exit_code, &opened->handles);
    if (!r) return;
    const json& d = (*r)["drive"];
    if (mo->json_out) {
      std::printf("%s\n", json{{"drive", d["drive"]}, {"letter", d["letter"]}, {"device", d["device"]}}.dump().c_str());
    } else {
      std::printf("%s\n", where(d).c_str());
    }
  });

  // insert
  struct InsertOpts {
    std::string drive, image;
    bool force = false;
    formats::ExtraCompanions extra;
  };
  auto io = std::make_shared<InsertOpts>();
  auto* ins = app.add_subcommand("insert", "Insert a disc image into an existing drive (Windows sees a media change)");
  ins->add_option("drive", io->drive, "Drive letter (E:), number or device")->required();
  ins->add_option("image", io->image, "Disc image")->required();
  ins->add_flag("--force", io->force, "Replace the disc even while a program holds the volume");
  add_password_file_option(ins, io->extra);
  ins->callback([io, &exit_code] {
    auto n = resolve_drive(io->drive, exit_code);
    if (!n) return;
    auto opened = open_for_service(io->image, io->extra);
    if (!opened) {
      exit_code = kExitRefused;
      return;
    }
    auto r = call({{"op", "insert"}, {"drive", *n}, {"image", opened->spec}, {"force", io->force}}, exit_code,
                  &opened->handles);
    if (r) std::printf("%s\n", where((*r)["drive"]).c_str());
  });

  // list / status
  auto list_json = std::make_shared<bool>(false);
  auto* l = app.add_subcommand("list", "List the drives: letters, devices, images, tray state");
  l->add_flag("--json", *list_json, "Print the service's JSON");
  l->callback([list_json, &exit_code] {
    auto r = call({{"op", "list"}}, exit_code);
    if (!r) return;
    if (*list_json) {
      std::printf("%s\n", (*r)["drives"].dump().c_str());
      return;
    }
    for (const json& d : (*r)["drives"]) print_drive_line(d);
  });
  auto st_drive = std::make_shared<std::string>();
  auto* st = app.add_subcommand("status", "Show each drive's identity, tray, counters and iSCSI session (JSON)");
  st->add_option("drive", *st_drive, "Drive letter (E:), number or device (default: all)");
  st->callback([st_drive, &exit_code] {
    json req = {{"op", "status"}};
    if (!st_drive->empty()) {
      auto n = resolve_drive(*st_drive, exit_code);
      if (!n) return;
      req["drive"] = *n;
    }
    auto r = call(req, exit_code);
    if (r) std::printf("%s\n", r->dump(2).c_str());
  });

  // eject / unmount
  struct DriveOpts {
    std::string drive;
    bool force = false;
  };
  for (const char* name : {"eject", "unmount"}) {
    auto o = std::make_shared<DriveOpts>();
    const bool eject = std::string(name) == "eject";
    auto* c = app.add_subcommand(name, eject ? "Open a drive's tray: the disc is removed (refused while a program "
                                               "holds the volume)"
                                             : "Remove a drive: Windows logs out of it and its letter disappears");
    c->add_option("drive", o->drive, "Drive letter (E:), number or device")->required();
    c->add_flag("--force", o->force, "Even while a program holds the volume");
    c->callback([o, eject, &exit_code] {
      auto n = resolve_drive(o->drive, exit_code);
      if (!n) return;
      auto r = call({{"op", eject ? "eject" : "remove"}, {"drive", *n}, {"force", o->force}}, exit_code);
      if (r && eject) std::printf("%s tray open\n", where((*r)["drive"]).c_str());
    });
  }

  // identity
  struct IdOpts {
    std::string drive, vendor, product, revision, serial, kind;
    bool force = false;
  };
  auto ido = std::make_shared<IdOpts>();
  auto* id = app.add_subcommand("identity", "Set the vendor, product, revision or serial a drive reports");
  id->add_option("drive", ido->drive, "Drive letter (E:), number or device")->required();
  id->add_option("--vendor", ido->vendor, "INQUIRY vendor (8 characters)");
  id->add_option("--product", ido->product, "INQUIRY product (16 characters)");
  id->add_option("--revision", ido->revision, "INQUIRY revision (4 characters)");
  id->add_option("--serial", ido->serial, "Unit serial number");
  id->add_option("--kind", ido->kind, "cd, dvd or bd");
  id->add_flag("--force", ido->force, "Even while a program holds the volume");
  id->footer("Windows reads the identity when the drive appears: the drive is logged out and in again with the same "
             "disc, and its letter may change (the new one is printed).");
  id->callback([ido, &exit_code] {
    auto n = resolve_drive(ido->drive, exit_code);
    if (!n) return;
    json identity = json::object();
    for (auto [key, value] : {std::pair{"vendor", &ido->vendor}, std::pair{"product", &ido->product},
                              std::pair{"revision", &ido->revision}, std::pair{"serial", &ido->serial},
                              std::pair{"kind", &ido->kind}}) {
      if (!value->empty()) identity[key] = *value;
    }
    auto r = call({{"op", "set_identity"}, {"drive", *n}, {"identity", identity}, {"force", ido->force}}, exit_code);
    if (r) std::printf("%s\n", where((*r)["drive"]).c_str());
  });

  // doctor
  auto fix = std::make_shared<bool>(false);
  auto* doc = app.add_subcommand("doctor", "Report what this machine offers: the iSCSI initiator, rights, the service");
  doc->add_flag("--fix", *fix, "Start the Microsoft iSCSI Initiator service and set it to start automatically");
  doc->footer("Exit status: 0 drive letters work here; 69 something is missing (named above).");
  doc->callback([fix, &exit_code] { exit_code = doctor(*fix); });
}

}  // namespace udisc::cli
