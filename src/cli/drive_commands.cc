// udisc daemon / mount / list / eject / insert / unmount / identity / status /
// doctor: local drives, through the daemon's control socket
// (docs/control-protocol.md).
//
// Every command but `daemon` and `doctor` is a client: it opens images with
// the caller's own rights, sends the descriptors, and prints the daemon's
// answer. Failures go to stderr as "udisc: <message>"; exit status 0 on
// success, 1 when the daemon refused, 69 when no daemon runs or the machine
// cannot make local drives, 77 when permission is denied.
#include <fmt/format.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "cli/image_location.h"
#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/tcmu_backend.h"
#include "transport/tcmu/tcmu.h"

namespace udisc::cli {
namespace {

using daemon::Client;
using daemon::ErrorCode;
using daemon::Op;
using nlohmann::json;

constexpr int kExitRefused = 1;
constexpr int kExitUnavailable = 69;   // EX_UNAVAILABLE
constexpr int kExitNoPermission = 77;  // EX_NOPERM

void print_error(const std::string& message) { std::fprintf(stderr, "udisc: %s\n", message.c_str()); }

// Whether the systemd unit is installed here and systemd runs: the hints
// name `systemctl` only then (a hint must work as printed); containers and
// other init systems start the daemon by hand.
bool service_installed() {
  if (::access("/run/systemd/system", F_OK) != 0) return false;
  for (const char* dir : {"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"}) {
    if (::access((std::string(dir) + "/udisc.service").c_str(), F_OK) == 0) return true;
  }
  return false;
}

// The command that starts the daemon on `socket`, as a hint prints it.
std::string start_command(const std::string& socket) {
  if (socket == daemon::kDefaultSocketPath && service_installed()) return "sudo systemctl start udisc";
  return socket == daemon::kDefaultSocketPath ? "sudo udisc daemon" : "sudo udisc daemon --socket " + socket;
}

// What to say when the control socket does not answer.
std::string no_daemon_message(const std::string& socket, int err) {
  if (err == EACCES || err == EPERM) {
    struct group* g = ::getgrnam("udisc");
    const std::string restart = socket == daemon::kDefaultSocketPath && service_installed()
                                    ? "`sudo systemctl restart udisc`"
                                    : "stop the daemon and start it again: `" + start_command(socket) + "`";
    return fmt::format(
        "permission denied on the control socket {}.\n"
        "The daemon accepts root{}. {}",
        socket, g != nullptr ? " and members of group 'udisc'" : "",
        g != nullptr ? "Ask an administrator to add you: `sudo usermod -aG udisc $USER` (then log in again)."
                     : "Create the group, join it, then restart the daemon: `sudo groupadd --system udisc && sudo "
                       "usermod -aG udisc $USER`, then " +
                           restart + " (and log in again).");
  }
  if (socket == daemon::kDefaultSocketPath && service_installed()) {
    return fmt::format("no udisc daemon is running (nothing answers on {}).\nStart it with `{}`.", socket,
                       start_command(socket));
  }
  return fmt::format("no udisc daemon is running (nothing answers on {}).\nRun `{}` in another terminal.", socket,
                     start_command(socket));
}

struct Connection {
  std::optional<Client> client;
  int exit_code = 0;
};

Connection connect_or_report(const std::string& socket, bool explain_kernel) {
  Connection c;
  int err = 0;
  auto client = Client::connect(socket, &err);
  if (!client.ok()) {
    std::string msg = no_daemon_message(socket, err);
    if (explain_kernel && err != EACCES && err != EPERM) {
      const auto ks = tcmu::check_kernel_support();
      if (!ks.usable) {
        msg += "\n" + daemon::explain_kernel_support(ks);
      }
    }
    print_error(msg);
    c.exit_code = (err == EACCES || err == EPERM) ? kExitNoPermission : kExitUnavailable;
    return c;
  }
  c.client.emplace(std::move(client).value());
  return c;
}

int exit_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::permission_denied:
      return kExitNoPermission;
    case ErrorCode::unavailable:
      return kExitUnavailable;
    default:
      return kExitRefused;
  }
}

// Sends one request; prints a refusal. Returns the result or nullopt (exit code set).
std::optional<json> call_or_report(Client& client, json request, int& exit_code, std::span<const int> fds = {}) {
  auto reply = client.call(std::move(request), fds);
  if (!reply.ok()) {
    print_error(reply.status().message());
    exit_code = kExitUnavailable;
    return std::nullopt;
  }
  if (!reply->ok) {
    print_error(reply->message);
    exit_code = exit_for(reply->code);
    return std::nullopt;
  }
  return reply->result;
}

// DRIVE: a number, or a device node (symlinks such as /dev/cdrom resolved).
std::optional<json> parse_drive(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 4) {
    return json(std::stoul(text));
  }
  if (!text.empty() && text[0] == '/') {
    std::error_code ec;
    auto real = std::filesystem::canonical(text, ec);
    return json(ec ? text : real.string());
  }
  if (text.rfind("sr", 0) == 0) return json("/dev/" + text);
  print_error("'" + text + "' is not a drive: give its number (see `udisc list`) or its device node (/dev/sr0)");
  return std::nullopt;
}

std::string drive_label(const json& d) {
  std::string s = fmt::format("drive {}", d.value("drive", 0));
  if (d.contains("device") && d["device"].is_string()) s += " (" + d["device"].get<std::string>() + ")";
  return s;
}

std::string image_label(const json& d) {
  if (!d.contains("image") || d["image"].is_null()) return "-";
  const json& img = d["image"];
  if (img.contains("path")) return img["path"].get<std::string>();
  return "(" + img.value("format", std::string("image")) + " of another user)";
}

std::string read_file_text(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return "";
  char buf[256] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string s(buf, n);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// ---- daemon ---------------------------------------------------------------

daemon::Daemon* g_daemon = nullptr;

extern "C" void on_stop_signal(int) {
  if (g_daemon != nullptr) g_daemon->request_stop();
}

int run_daemon(const std::string& backend_name, const std::string& socket, const std::string& state, bool no_state,
               const std::string& mode_text, const std::string& group) {
  daemon::DaemonOptions opt;
  opt.socket_path = socket;
  opt.state_path = no_state ? "" : state;
  opt.socket_group = group;
  try {
    opt.socket_mode = static_cast<mode_t>(std::stoul(mode_text, nullptr, 8) & 07777);
  } catch (const std::exception&) {
    print_error("--socket-mode '" + mode_text + "' is not an octal mode such as 0660");
    return 2;
  }
  opt.listen_fd = daemon::systemd_listen_fd();
  std::unique_ptr<daemon::Backend> backend;
  if (backend_name == "tcmu") {
    backend = daemon::make_tcmu_backend(
        {}, [](const std::string& line) { std::fprintf(stderr, "udisc daemon: %s\n", line.c_str()); });
  } else {
    backend = daemon::make_none_backend();
  }
  daemon::Daemon d(opt, std::move(backend));
  if (Status s = d.start(); !s.ok()) {
    print_error(s.message());
    return kExitUnavailable;
  }
  g_daemon = &d;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  Status s = d.run();
  g_daemon = nullptr;
  if (!s.ok()) {
    print_error(s.message());
    return 1;
  }
  return 0;
}

// ---- mount / insert --------------------------------------------------------

int send_image(const std::string& socket, Op op, const std::string& image_path, const std::optional<std::string>& drive,
               bool force, bool as_json, const LocationOptions& location, const std::string& kind = "") {
  // A file is opened here, with the caller's rights, and travels as
  // descriptors; a URL travels as text and the daemon fetches it.
  daemon::ImageToSend image;
  if (remote::is_url(image_path)) {
    if (!location.extra.empty()) {
      print_error("--parent and --password-file name local files; they apply to image files, not to URLs the "
                  "daemon fetches");
      return kExitRefused;
    }
    auto spec = daemon::url_image_spec(image_path, location.ca_file, location.auth_file);
    if (!spec.ok()) {
      print_error(spec.status().message());
      return kExitRefused;
    }
    image.spec = std::move(spec).value();
  } else {
    auto opened = daemon::open_image_to_send(image_path, location.extra);
    if (!opened.ok()) {
      print_error(opened.status().message());
      return kExitRefused;
    }
    image = std::move(opened).value();
  }
  Connection c = connect_or_report(socket, op == Op::mount);
  if (!c.client) return c.exit_code;
  json req = daemon::make_request(op, 0);
  req["image"] = image.spec;
  if (drive) {
    auto d = parse_drive(*drive);
    if (!d) return 2;
    req["drive"] = *d;
  }
  if (force) req["force"] = true;
  if (!kind.empty()) req["identity"] = {{"kind", kind}};
  int exit_code = 0;
  const auto fds = image.raw_fds();
  auto result = call_or_report(*c.client, req, exit_code, fds);
  if (!result) return exit_code;
  const json& d = (*result)["drive"];
  if (as_json) {
    std::printf("%s\n", result->dump(2).c_str());
    return 0;
  }
  if (d.contains("device") && d["device"].is_string()) {
    std::printf("%s\n", d["device"].get<std::string>().c_str());
  } else if (d.value("attached", false)) {
    std::printf("drive %u (no device node: the daemon runs with backend 'none')\n", d.value("drive", 0u));
  } else {
    std::printf("drive %u\n", d.value("drive", 0u));
    print_error("the kernel shows no device node for it yet" +
                (d.contains("attach_error") ? ": " + d["attach_error"].get<std::string>() : std::string()));
    return kExitUnavailable;
  }
  return 0;
}

// ---- list / status --------------------------------------------------------

int list_drives(const std::string& socket, bool as_json, const std::optional<std::string>& drive, bool counters) {
  Connection c = connect_or_report(socket, false);
  if (!c.client) return c.exit_code;
  json req = daemon::make_request(counters ? Op::status : Op::list, 0);
  if (drive) {
    auto d = parse_drive(*drive);
    if (!d) return 2;
    req["drive"] = *d;
  }
  int exit_code = 0;
  auto result = call_or_report(*c.client, req, exit_code);
  if (!result) return exit_code;
  if (as_json) {
    std::printf("%s\n", result->dump(2).c_str());
    return 0;
  }
  const json& drives = (*result)["drives"];
  if (drives.empty()) {
    std::printf("no drives (backend %s); `udisc mount IMAGE` makes one\n",
                result->value("backend", std::string("?")).c_str());
    return 0;
  }
  if (!counters) {
    std::printf("%-6s %-10s %-7s %-6s %-8s %s\n", "DRIVE", "DEVICE", "TRAY", "LOCKED", "OWNER", "IMAGE");
    for (const json& d : drives) {
      std::string dev = d["device"].is_string() ? d["device"].get<std::string>() : "-";
      if (d.contains("attach_error")) dev = "(failed)";
      std::printf("%-6u %-10s %-7s %-6s %-8u %s\n", d.value("drive", 0u), dev.c_str(),
                  d.value("tray", std::string("?")).c_str(), d.value("locked", false) ? "yes" : "no",
                  d.value("owner_uid", 0u), image_label(d).c_str());
    }
    return 0;
  }
  for (const json& d : drives) {
    const json& id = d["identity"];
    const json& k = d["counters"];
    std::printf("%s\n", drive_label(d).c_str());
    std::printf("  identity  %s %s %s, serial %s\n", id.value("vendor", std::string()).c_str(),
                id.value("product", std::string()).c_str(), id.value("revision", std::string()).c_str(),
                id.value("serial", std::string()).c_str());
    std::printf("  tray      %s, %s%s\n", d.value("tray", std::string("?")).c_str(),
                d.value("medium", false) ? "medium present" : "no medium", d.value("locked", false) ? ", locked" : "");
    std::printf("  image     %s\n", image_label(d).c_str());
    if (d["image"].is_object() && d["image"].contains("version")) {
      // A URL image: which version of the object the drive holds, and its traffic.
      const json& img = d["image"];
      const json& http = img["http"];
      std::printf("  version   %s\n", img["version"].get<std::string>().c_str());
      std::printf("  http      %llu requests (%llu retries), %llu bytes; cache %llu hits, %llu misses\n",
                  static_cast<unsigned long long>(http.value("requests", 0ull)),
                  static_cast<unsigned long long>(http.value("retries", 0ull)),
                  static_cast<unsigned long long>(http.value("bytes", 0ull)),
                  static_cast<unsigned long long>(http.value("cache_hits", 0ull)),
                  static_cast<unsigned long long>(http.value("cache_misses", 0ull)));
    }
    std::printf("  commands  %llu, bytes read %llu, errors %llu\n",
                static_cast<unsigned long long>(k.value("commands", 0ull)),
                static_cast<unsigned long long>(k.value("bytes", 0ull)),
                static_cast<unsigned long long>(k.value("errors", 0ull)));
    if (d.contains("attach_error")) std::printf("  problem   %s\n", d["attach_error"].get<std::string>().c_str());
    if (d.contains("backend") && d["backend"].contains("scsi_address")) {
      std::printf("  scsi      %s (%s)\n", d["backend"]["scsi_address"].get<std::string>().c_str(),
                  d["backend"].value("configfs_name", std::string()).c_str());
    }
  }
  return 0;
}

// ---- eject / unmount / identity --------------------------------------------

int simple_op(const std::string& socket, Op op, const std::string& drive, bool force, const json& extra = {}) {
  Connection c = connect_or_report(socket, false);
  if (!c.client) return c.exit_code;
  auto d = parse_drive(drive);
  if (!d) return 2;
  json req = daemon::make_request(op, 0);
  req["drive"] = *d;
  if (force) req["force"] = true;
  if (extra.is_object()) req.update(extra);
  int exit_code = 0;
  auto result = call_or_report(*c.client, req, exit_code);
  if (!result) return exit_code;
  if (op == Op::remove) {
    std::printf(
        "drive %u removed%s\n", result->value("drive", 0u),
        result->contains("device") ? (" (" + (*result)["device"].get<std::string>() + " is gone)").c_str() : "");
  } else if (op == Op::eject) {
    std::printf("%s: tray open, no medium\n", drive_label((*result)["drive"]).c_str());
  } else {
    const json& dj = (*result)["drive"];
    const json& id = dj["identity"];
    std::printf("%s: %s %s %s, serial %s\n", drive_label(dj).c_str(), id.value("vendor", std::string()).c_str(),
                id.value("product", std::string()).c_str(), id.value("revision", std::string()).c_str(),
                id.value("serial", std::string()).c_str());
  }
  return 0;
}

// ---- doctor -----------------------------------------------------------------

int doctor(const std::string& socket) {
  std::printf("udisc doctor: what this machine offers for virtual disc drives\n\n");
  const auto ks = tcmu::check_kernel_support();
  std::printf("Kernel %s (local /dev/srN drives need target_core_user and tcm_loop):\n",
              read_file_text("/proc/sys/kernel/osrelease").c_str());
  for (const auto& item : ks.items) {
    std::printf("  [%s] %-28s %s\n", item.ok ? "ok" : "--", item.what.c_str(), item.detail.c_str());
  }

  std::printf("\nControl socket %s:\n", socket.c_str());
  struct group* g = ::getgrnam("udisc");
  std::printf("  [%s] group 'udisc' %s\n", g ? "ok" : "--",
              g ? "exists: its members may use the socket"
                : "does not exist: only root may use the socket (sudo groupadd --system udisc)");
  bool daemon_ok = false;
  std::string backend = "?";
  int err = 0;
  auto client = Client::connect(socket, &err);
  if (!client.ok()) {
    std::printf("  [--] %s\n", no_daemon_message(socket, err).c_str());
  } else {
    auto reply = client->call(daemon::make_request(Op::hello, 0));
    if (!reply.ok() || !reply->ok) {
      std::printf("  [--] something answers but does not speak the udisc protocol\n");
    } else {
      const json& r = reply->result;
      daemon_ok = true;
      backend = r.value("backend", std::string("?"));
      std::printf("  [ok] daemon %s answers (pid %lld, backend %s, %zu drive(s)); you are uid %u\n",
                  r.value("version", std::string("?")).c_str(), static_cast<long long>(r.value("pid", 0ll)),
                  backend.c_str(), r.value("drives", size_t{0}), static_cast<unsigned>(::getuid()));
      if (!r.value("backend_available", true)) {
        std::printf("  [--] its backend cannot attach drives: %s\n", r.value("backend_problem", std::string()).c_str());
      }
    }
  }

  std::printf("\nWhich way to reach a disc here:\n");
  if (ks.usable) {
    std::printf(
        "  A local drive: `udisc mount IMAGE` prints /dev/srN, which mount(8), udisks and desktop\n"
        "  file managers use like a real optical drive.%s\n",
        daemon_ok ? (backend == "tcmu" ? "" : " (Restart the daemon with --backend tcmu.)")
                  : fmt::format(" (Start the daemon first: `{}`.)", start_command(socket)).c_str());
  } else {
    std::printf(
        "  No local /dev/srN on this kernel. Export the image over iSCSI instead:\n"
        "    udisc serve IMAGE\n"
        "  and attach it from an initiator (`iscsiadm -m discovery -t st -p HOST` then `iscsiadm -m node "
        "--login`)\n"
        "  or a virtual machine (QEMU: -drive driver=iscsi,transport=tcp,portal=HOST:3260,...).\n");
  }
  return ks.usable ? 0 : 1;
}

void add_socket_option(CLI::App* cmd, std::string& socket) {
  cmd->add_option("--socket", socket,
                  "Control socket of the daemon (default: $UDISC_SOCKET or /run/udisc/control.sock)")
      ->type_name("PATH");
}

}  // namespace

void register_drive_commands(CLI::App& app, int& exit_code) {
  struct Options {
    std::string socket = daemon::default_socket_path();
    std::string backend = "tcmu";
    std::string state = daemon::kDefaultStatePath;
    bool no_state = false;
    std::string socket_mode = "0660";
    std::string socket_group = "udisc";
    std::string image;
    std::string drive;
    std::optional<std::string> drive_opt;
    bool force = false;
    bool json = false;
    std::string vendor, product, revision, serial, kind;
    LocationOptions location;
  };
  auto o = std::make_shared<Options>();

  // daemon
  auto* d = app.add_subcommand("daemon", "Run the daemon that owns the drives and serves the control socket");
  d->footer(
      "The daemon owns every local drive. With --backend tcmu (the default) each drive is a SCSI device of the\n"
      "local kernel (/dev/srN) made with target_core_user and tcm_loop: the daemon loads the modules, mounts\n"
      "configfs, and answers every command of the drive itself. With --backend none drives exist only inside the\n"
      "daemon (tests, or machines whose kernel lacks TCMU: use `udisc serve` there).\n\n"
      "Control socket: a Unix socket (default /run/udisc/control.sock, or $UDISC_SOCKET), mode 0660, group\n"
      "'udisc' when that group exists; so root and members of 'udisc' may use it. Images arrive as open file\n"
      "descriptors: the daemon never opens a path for a client, so a user mounts only what that user can read.\n"
      "A drive belongs to whoever created it; only its owner or root may change or remove it.\n\n"
      "State: drives, owners, identities and images are saved atomically in the state file (default\n"
      "/var/lib/udisc/state.json). On start the daemon recreates them, reopening each image as its owner (a\n"
      "child process with the owner's uid and groups opens the recorded path, and only if it is still the same\n"
      "file), and takes over the kernel devices a previous run left (after a crash or kill -9), removing any it\n"
      "has no record of. SIGTERM or SIGINT stops serving and keeps every drive for the next start.\n\n"
      "Folders: the state file's folder (created 0700) and the socket's (created 0755) are made when missing;\n"
      "the daemon refuses to start in a folder that users other than root (and itself) can write, unless the\n"
      "folder is sticky like /tmp.\n\n"
      "Under systemd, udisc.socket hands the listening socket over (socket activation).\n\n"
      "Examples:\n  sudo udisc daemon\n  udisc daemon --backend none --socket /tmp/udisc.sock --state "
      "/tmp/udisc-state.json");
  d->add_option("--backend", o->backend, "tcmu: local /dev/srN drives; none: drives without a kernel device")
      ->check(CLI::IsMember({"tcmu", "none"}));
  add_socket_option(d, o->socket);
  d->add_option("--state", o->state, "State file (default /var/lib/udisc/state.json)")->type_name("PATH");
  d->add_flag("--no-state", o->no_state, "Keep no state file: nothing survives a restart");
  d->add_option("--socket-mode", o->socket_mode, "Mode of the socket file, octal (default 0660)");
  d->add_option("--socket-group", o->socket_group, "Group of the socket file, when it exists (default udisc)");
  d->callback([o, &exit_code] {
    exit_code = run_daemon(o->backend, o->socket, o->state, o->no_state, o->socket_mode, o->socket_group);
  });

  // mount
  auto* m = app.add_subcommand("mount", "Put a disc image into a drive and print its device node");
  m->footer(
      "Opens IMAGE with your rights (a cue sheet together with every file it names) and hands the open files to\n"
      "the daemon, which puts the disc into one of your drives that has none, or makes a new drive, and prints\n"
      "the device node (/dev/srN) once the kernel has created it. Mount the file system as with any optical\n"
      "drive, e.g. `mount /dev/sr0 /mnt` or through your desktop. With --drive N the disc goes into drive N\n"
      "(made if it does not exist).\n\n"
      "IMAGE may be an http:// or https:// URL: the daemon then reads the disc from the server on demand (range\n"
      "requests), with your credentials (--auth-file, or $UDISC_HTTP_AUTH) and CA bundle (--ca-file), which this\n"
      "command reads and sends; the drive, its URL and the credentials stay yours (list shows the URL to you,\n"
      "and the credentials to no one).\n\n"
      "Exit status: 0 the drive holds the disc; 1 the daemon refused (bad image, locked drive, not yours);\n"
      "69 no daemon runs or this machine cannot make local drives (see `udisc doctor`); 77 permission denied.\n\n"
      "Examples:\n  udisc mount game.cue\n  udisc mount --drive 2 backup.iso");
  m->add_option("IMAGE", o->image, "Disc image: ISO, or the cue sheet of a BIN/CUE; a path or an http(s) URL")
      ->required()
      ->type_name("");
  add_location_options(m, o->location);
  m->add_option("--drive", o->drive_opt, "Drive number or device node to use")->type_name("DRIVE");
  m->add_option("--kind", o->kind, "For a new drive: cd, dvd or bd (default bd: reads every disc)")
      ->check(CLI::IsMember({"cd", "dvd", "bd"}));
  m->add_flag("--force", o->force, "Replace the disc even while the drive is locked by a mounted file system");
  m->add_flag("--json", o->json, "Print the daemon's answer as JSON");
  add_socket_option(m, o->socket);
  m->callback([o, &exit_code] {
    exit_code = send_image(o->socket, Op::mount, o->image, o->drive_opt, o->force, o->json, o->location, o->kind);
  });

  // insert
  auto* ins = app.add_subcommand("insert", "Insert a disc image into an existing drive");
  ins->footer(
      "Closes the tray of DRIVE with IMAGE in it. The kernel sees a real media change (a unit attention and a\n"
      "media event), so desktop auto-mounters react as to a new disc. DRIVE is a drive number or its device\n"
      "node. Refused while a mounted file system locks the drive, unless --force.\n\n"
      "Example:\n  udisc insert /dev/sr0 disc2.iso");
  ins->add_option("DRIVE", o->drive, "Drive number or device node")->required()->type_name("");
  ins->add_option("IMAGE", o->image, "Disc image: ISO, or the cue sheet of a BIN/CUE; a path or an http(s) URL")
      ->required()
      ->type_name("");
  add_location_options(ins, o->location);
  ins->add_flag("--force", o->force, "Replace the disc even while the drive is locked");
  ins->add_flag("--json", o->json, "Print the daemon's answer as JSON");
  add_socket_option(ins, o->socket);
  ins->callback(
      [o, &exit_code] { exit_code = send_image(o->socket, Op::insert, o->image, o->drive, o->force, o->json, o->location); });

  // list
  auto* l = app.add_subcommand("list", "List the drives: device nodes, images, tray state");
  l->footer(
      "Everyone may list every drive; image paths of other users' drives are not shown.\n\n"
      "Example:\n  udisc list --json");
  l->add_flag("--json", o->json, "Print the daemon's answer as JSON");
  add_socket_option(l, o->socket);
  l->callback([o, &exit_code] { exit_code = list_drives(o->socket, o->json, std::nullopt, false); });

  // status
  auto* st = app.add_subcommand("status", "Show each drive's identity, tray and counters");
  st->footer("Counters: commands answered, bytes read by the host, commands that failed (CHECK CONDITION).");
  st->add_option("DRIVE", o->drive_opt, "Only this drive (number or device node)")->type_name("");
  st->add_flag("--json", o->json, "Print the daemon's answer as JSON");
  add_socket_option(st, o->socket);
  st->callback([o, &exit_code] { exit_code = list_drives(o->socket, o->json, o->drive_opt, true); });

  // eject
  auto* e = app.add_subcommand("eject", "Open a drive's tray: the disc is removed");
  e->footer(
      "While a mounted file system (or any program) holds the drive locked (PREVENT MEDIUM REMOVAL), eject\n"
      "refuses and the host is told that the eject button was pressed; unmount first, or use --force, after\n"
      "which reads of the mounted file system fail with 'no medium'.\n\n"
      "Example:\n  udisc eject /dev/sr0");
  e->add_option("DRIVE", o->drive, "Drive number or device node")->required()->type_name("");
  e->add_flag("--force", o->force, "Eject even while the drive is locked");
  add_socket_option(e, o->socket);
  e->callback([o, &exit_code] { exit_code = simple_op(o->socket, Op::eject, o->drive, o->force); });

  // unmount
  auto* u = app.add_subcommand("unmount", "Remove a drive: its device node disappears");
  u->footer(
      "Removes DRIVE from the kernel and the daemon (configfs is left clean). Refused while a mounted file\n"
      "system locks it, unless --force.\n\n"
      "Example:\n  udisc unmount 0");
  u->add_option("DRIVE", o->drive, "Drive number or device node")->required()->type_name("");
  u->add_flag("--force", o->force, "Remove even while the drive is locked");
  add_socket_option(u, o->socket);
  u->callback([o, &exit_code] { exit_code = simple_op(o->socket, Op::remove, o->drive, o->force); });

  // identity
  auto* id = app.add_subcommand("identity", "Set the vendor, product, revision or serial a drive reports");
  id->footer(
      "INQUIRY identity of DRIVE (desktop stacks hide some virtual drives by vendor/model). The kernel reads it\n"
      "when it probes the device, so the drive is attached again: its device node may change. Printable ASCII;\n"
      "vendor up to 8 characters, product 16, revision 4, serial 32. --kind chooses what the drive claims to\n"
      "be (cd, dvd or bd: its profiles and features). Without options it shows the identity. Refused while\n"
      "the drive is locked, unless --force.\n\n"
      "Example:\n  udisc identity 0 --vendor PIONEER --product 'DVD-RW DVR-112'");
  id->add_option("DRIVE", o->drive, "Drive number or device node")->required()->type_name("");
  id->add_option("--vendor", o->vendor, "T10 vendor identification (<= 8)");
  id->add_option("--product", o->product, "Product identification (<= 16)");
  id->add_option("--revision", o->revision, "Product revision level (<= 4)");
  id->add_option("--serial", o->serial, "Unit serial number (<= 32)");
  id->add_option("--kind", o->kind, "cd, dvd or bd: the profiles and features the drive reports")
      ->check(CLI::IsMember({"cd", "dvd", "bd"}));
  id->add_flag("--force", o->force, "Change it even while the drive is locked");
  add_socket_option(id, o->socket);
  id->callback([o, id, &exit_code] {
    json ident = json::object();
    if (id->count("--vendor")) ident["vendor"] = o->vendor;
    if (id->count("--product")) ident["product"] = o->product;
    if (id->count("--revision")) ident["revision"] = o->revision;
    if (id->count("--serial")) ident["serial"] = o->serial;
    if (id->count("--kind")) ident["kind"] = o->kind;
    if (ident.empty()) {
      exit_code = list_drives(o->socket, false, o->drive, true);
      return;
    }
    exit_code = simple_op(o->socket, Op::set_identity, o->drive, o->force, json{{"identity", ident}});
  });

  // doctor
  auto* doc = app.add_subcommand("doctor", "Report what this machine offers: modules, configfs, daemon, socket");
  doc->footer(
      "Checks, in plain words: the kernel modules local drives need (present, loaded or loadable), configfs,\n"
      "permissions, the group 'udisc', whether a daemon answers on the control socket, and which way to reach\n"
      "a disc works here: a local /dev/srN, or `udisc serve` for an iSCSI initiator or a virtual machine.\n"
      "Exit status 0 when local drives can work here, 1 when not.");
  add_socket_option(doc, o->socket);
  doc->callback([o, &exit_code] { exit_code = doctor(o->socket); });
}

}  // namespace udisc::cli
