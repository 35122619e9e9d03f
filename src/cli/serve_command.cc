// udisc serve: makes disc images available as CD/DVD/BD-ROM drives over
// iSCSI (RFC 7143). LUN n is the n-th image; every CDB is answered by a
// device::Drive; the transport in src/transport/iscsi only frames.
//
//   udisc serve [--listen ADDR:PORT]... [--advertise ADDR:PORT] [--iqn NAME]
//               [--chap-file FILE | --chap USER:SECRET]
//               [--mutual-chap-file FILE | --mutual-chap USER:SECRET]
//               [--allow INITIATOR_IQN]... IMAGE...
//
// Runs in the foreground until SIGINT/SIGTERM; logs connections and errors
// to stderr. CHAP secrets are never printed or logged. They come from a
// file only its owner can read, from $UDISC_CHAP / $UDISC_MUTUAL_CHAP (the
// environment of a process is private to its user), or, with a warning,
// from the command line, which every local user can read in /proc. SIGHUP
// changes the medium of every LUN whose image file was replaced (see
// reload_media).
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/image_location.h"
#include "cli/stop_signal.h"
#include "device/drive.h"
#include "formats/open.h"
#include "remote/remote_media.h"
#include "transport/iscsi/server.h"
#include "util/process_limits.h"

namespace udisc::cli {
namespace {

struct ServeOptions {
  std::vector<std::string> listen;
  std::string advertise;
  std::string iqn;
  std::string chap;
  std::string mutual_chap;
  std::string chap_file;
  std::string mutual_chap_file;
  std::vector<std::string> allow;
  std::vector<std::string> images;
  unsigned threads = 0;
  bool verbose = false;
  LocationOptions location;  // --ca-file, --auth-file for URL images
};

std::string default_iqn() {
  std::string name;
  for (const char raw : host_name()) {
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
    name.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ? c : '-');
  }
  if (name.empty()) name = "localhost";
  return "iqn.2025-01.org.udisc:" + name;
}

bool split_credentials(const std::string& text, const std::string& option, iscsi::ChapCredentials& out) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    std::fprintf(stderr, "udisc: %s expects USER:SECRET\n", option.c_str());
    return false;
  }
  out.user = text.substr(0, colon);
  out.secret = text.substr(colon + 1);
  if (out.secret.size() < 12) {
    std::fprintf(stderr, "udisc: warning: %s secret is shorter than 12 characters; some initiators refuse it\n", option.c_str());
  }
  return true;
}

// Reads USER:SECRET from the first line of `path`, a file only its owner
// may read (read_owner_only_file, stop_signal.h).
bool read_credentials_file(const std::string& path, const char* option, std::string& text) {
  std::string error;
  if (!read_owner_only_file(path, &text, &error)) {
    std::fprintf(stderr, "udisc: %s '%s': %s\n", option, path.c_str(), error.c_str());
    return false;
  }
  text = text.substr(0, text.find('\n'));
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return true;
}

// One set of credentials from --X-file, $UDISC_X or --X (in that order of
// preference; two of them at once is an error). False on error.
bool load_credentials(const std::string& argv_value, const std::string& file, const char* option,
                      const char* file_option, const char* env, std::optional<iscsi::ChapCredentials>& out,
                      std::string& source) {
  const char* from_env = std::getenv(env);
  const int given = !argv_value.empty() + !file.empty() + (from_env != nullptr && *from_env != 0);
  if (given == 0) return true;
  if (given > 1) {
    std::fprintf(stderr, "udisc: give CHAP credentials once: %s, %s or $%s\n", file_option, option, env);
    return false;
  }
  std::string text;
  if (!file.empty()) {
    if (!read_credentials_file(file, file_option, text)) return false;
    source = std::string(file_option) + " " + file;
  } else if (from_env != nullptr && *from_env != 0) {
    text = from_env;
    source = std::string("$") + env;
  } else {
    text = argv_value;
    source = option;
    std::fprintf(stderr,
                 "udisc: warning: %s puts the secret on the command line, where every local user can read it "
                 "(/proc/PID/cmdline); use %s FILE (mode 600) or $%s\n",
                 option, file_option, env);
  }
  iscsi::ChapCredentials c;
  if (!split_credentials(text, source, c)) return false;
  out = c;
  return true;
}

std::mutex g_log_mutex;

void log_line(iscsi::LogLevel level, const std::string& message) {
  static const char* names[] = {"debug", "info", "warning", "error"};
  const auto now = std::chrono::system_clock::now();
  // fmt::localtime: the thread-safe local time on every platform (localtime_r / localtime_s).
  const std::string stamp = fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::localtime(std::chrono::system_clock::to_time_t(now)));
  std::lock_guard lock(g_log_mutex);
  std::fprintf(stderr, "%s udisc serve [%s] %s\n", stamp.c_str(), names[static_cast<int>(level)], message.c_str());
}

// The open-iscsi commands that attach (and detach) this target on Linux,
// printed by `udisc serve` and run as printed by tests/iscsi/openiscsi.sh.
// With CHAP the secrets stay placeholders: SECRET (the --chap secret) and
// MUTUAL_SECRET (the --mutual-chap secret).
void print_linux_commands(const std::string& portal, const std::string& iqn, const iscsi::TargetConfig& config) {
  const std::string node = "iscsiadm -m node -T " + iqn + " -p " + portal;
  std::printf("\nLinux (open-iscsi, as root)%s:\n",
              !config.chap              ? ""
              : config.mutual_chap ? "; SECRET is the --chap secret, MUTUAL_SECRET the --mutual-chap secret"
                                        : "; SECRET is the --chap secret");
  if (!config.chap) {
    std::printf("  iscsiadm -m discovery -t sendtargets -p %s\n", portal.c_str());
  } else {
    auto auth = [&](const std::string& prefix) {
      std::string keys = " -n " + prefix + ".authmethod -v CHAP -n " + prefix + ".username -v " + config.chap->user +
                         " -n " + prefix + ".password -v SECRET";
      if (config.mutual_chap)
        keys += " -n " + prefix + ".username_in -v " + config.mutual_chap->user + " -n " + prefix +
                ".password_in -v MUTUAL_SECRET";
      return keys;
    };
    const std::string discovery = "iscsiadm -m discoverydb -t sendtargets -p " + portal;
    std::printf("  %s -o new\n", discovery.c_str());
    std::printf("  %s -o update%s\n", discovery.c_str(), auth("discovery.sendtargets.auth").c_str());
    std::printf("  %s --discover\n", discovery.c_str());
    std::printf("  %s -o update%s\n", node.c_str(), auth("node.session.auth").c_str());
  }
  std::printf("  %s --login\n", node.c_str());
  std::printf("Linux, to detach:\n  %s --logout\n", node.c_str());
}

// One LUN's image and the file it came from, for SIGHUP.
struct ServedImage {
  std::string path;
  formats::ExtraCompanions extra;  // --parent, --password-file, for an image reopened on SIGHUP
  std::shared_ptr<device::Drive> drive;
  std::optional<FileIdentity> file;
};

// SIGHUP: the medium change of `udisc serve`, which has no control channel.
// Each LUN whose image path now names another file (replaced with `mv`, or
// changed in size or time) gets it as its new disc, as a drive's loader
// would: eject, then insert (the initiator sees unit attention 28/00 and a
// media event). A LUN an initiator has locked (PREVENT MEDIUM REMOVAL, e.g. a
// mounted file system) keeps its disc, like a real drive's locked tray: the
// engine sends the initiator an eject-request event, and the change is made
// by the next SIGHUP after the initiator unlocks. An image that does not open
// leaves the old disc in place.
void reload_media(std::vector<ServedImage>& served) {
  for (size_t lun = 0; lun < served.size(); ++lun) {
    ServedImage& s = served[lun];
    std::string error;
    const std::optional<FileIdentity> now = file_identity(s.path, &error);
    if (!now) {
      log_line(iscsi::LogLevel::warning, fmt::format("LUN {}: {}: {}; disc unchanged", lun, s.path, error));
      continue;
    }
    if (s.file && *now == *s.file) continue;
    auto image = formats::open_image(s.path, s.extra);
    if (!image.ok()) {
      log_line(iscsi::LogLevel::warning, fmt::format("LUN {}: {}; disc unchanged", lun, image.status().message()));
      continue;
    }
    if (Status e = s.drive->eject(); !e.ok()) {
      log_line(iscsi::LogLevel::warning, fmt::format("LUN {}: medium change refused: {}; send SIGHUP again once the "
                                                     "initiator has unmounted it", lun, e.message()));
      continue;
    }
    if (Status i = s.drive->insert(image.value()); !i.ok()) {
      log_line(iscsi::LogLevel::error, fmt::format("LUN {}: inserting {}: {}", lun, s.path, i.message()));
      continue;
    }
    s.file = now;
    log_line(iscsi::LogLevel::info, fmt::format("LUN {}: medium changed to {} ({})", lun, s.path, (*image)->format_name()));
  }
}

int run_serve(const ServeOptions& opt) {
  iscsi::TargetConfig config;
  config.name = opt.iqn.empty() ? default_iqn() : opt.iqn;
  if (config.name.rfind("iqn.", 0) != 0 && config.name.rfind("eui.", 0) != 0 && config.name.rfind("naa.", 0) != 0) {
    std::fprintf(stderr, "udisc: --iqn '%s' is not an iSCSI name (iqn.YYYY-MM.reverse.domain:name)\n", config.name.c_str());
    return 2;
  }
  std::string chap_source, mutual_source;
  if (!load_credentials(opt.chap, opt.chap_file, "--chap", "--chap-file", "UDISC_CHAP", config.chap, chap_source) ||
      !load_credentials(opt.mutual_chap, opt.mutual_chap_file, "--mutual-chap", "--mutual-chap-file",
                        "UDISC_MUTUAL_CHAP", config.mutual_chap, mutual_source)) {
    return 2;
  }
  if (config.mutual_chap && !config.chap) {
    std::fprintf(stderr, "udisc: mutual CHAP (%s) needs CHAP from initiators too (--chap-file, $UDISC_CHAP or --chap)\n",
                 mutual_source.c_str());
    return 2;
  }
  // RFC 7143 12.1.3: the secrets of the two directions must differ, or a
  // reflected challenge would authenticate the other side.
  if (config.mutual_chap && config.mutual_chap->secret == config.chap->secret) {
    std::fprintf(stderr, "udisc: the mutual CHAP secret (%s) is the same as the initiators' secret (%s); "
                 "RFC 7143 12.1.3 requires different secrets\n", mutual_source.c_str(), chap_source.c_str());
    return 2;
  }
  config.allowed_initiators = opt.allow;
  // Connections are capped per address and in all (transport/iscsi/admission.h);
  // the descriptor limit is raised first so that those caps, not EMFILE, bind.
  auto descriptors = raise_descriptor_limit();
  if (descriptors.ok()) {
    config.admission = iscsi::AdmissionLimits::for_descriptor_limit(descriptors.value());
  } else {
    std::fprintf(stderr, "udisc: warning: %s\n", descriptors.status().message().c_str());
  }
  if (!opt.advertise.empty()) {
    if (!iscsi::parse_address(opt.advertise).ok()) {
      std::fprintf(stderr, "udisc: --advertise '%s' is not ADDR:PORT or [IPv6]:PORT\n", opt.advertise.c_str());
      return 2;
    }
    config.advertised_portal = opt.advertise;
  }

  std::vector<std::string> descriptions;
  std::vector<ServedImage> served;
  std::vector<std::shared_ptr<device::Drive>> drives;
  std::vector<std::pair<size_t, remote::OpenedLocation>> remote_luns;  // LUN, image from a URL: watched by RemoteMedia
  for (size_t i = 0; i < opt.images.size(); ++i) {
    const std::optional<FileIdentity> file = file_identity(opt.images[i], nullptr);
    auto opened = open_location_or_report(opt.images[i], opt.location);
    if (!opened.ok()) return 1;
    const formats::ImagePtr image = opened->image;
    const bool remote = opened->http != nullptr;
    device::Identity identity;
    identity.serial = fmt::format("UDISC{:04}{:08X}", i, static_cast<uint32_t>(std::hash<std::string>{}(config.name)));
    auto drive = std::make_shared<device::Drive>(identity);
    const std::string format = image->format_name();
    Status s = drive->insert(image);
    if (!s.ok()) {
      std::fprintf(stderr, "udisc: %s: %s\n", opt.images[i].c_str(), s.message().c_str());
      return 1;
    }
    config.luns.push_back(iscsi::make_drive_unit(drive, /*medium_may_block=*/remote));
    drives.push_back(drive);
    if (remote) {
      remote_luns.emplace_back(i, *opened);
    } else {
      served.push_back({opt.images[i], opt.location.extra, drive, file});  // changes taken on SIGHUP
    }
    descriptions.push_back(opt.images[i] + " (" + format + ")");
  }

  // Before the event loops start: stop and reload requests are taken by this thread only.
  StopSignal stop_signal;

  const iscsi::LogLevel min_level = opt.verbose ? iscsi::LogLevel::debug : iscsi::LogLevel::info;
  iscsi::Server server(config, [min_level](iscsi::LogLevel level, const std::string& m) {
    if (level >= min_level) log_line(level, m);
  });
  const std::vector<std::string> listen = opt.listen.empty() ? std::vector<std::string>{"127.0.0.1:3260"} : opt.listen;
  for (const auto& address : listen) {
    Status s = server.listen(address);
    if (!s.ok()) {
      std::fprintf(stderr, "udisc: %s\n", s.message().c_str());
      return 1;
    }
  }
  Status s = server.start(opt.threads);
  if (!s.ok()) {
    std::fprintf(stderr, "udisc: %s\n", s.message().c_str());
    return 1;
  }

  // A URL's object replaced on the server becomes a new medium in its drive.
  remote::RemoteMedia remote_media(
      [&drives](const remote::RemoteMedia::NewVersion& v) -> Status {
        if (Status inserted = drives[v.key]->insert(v.opened.image); !inserted.ok()) return inserted;
        log_line(iscsi::LogLevel::warning,
                 fmt::format("LUN {}: '{}' changed on the server ({} -> {}); its new version is now in the drive as "
                             "a new medium",
                             v.key, v.name, v.old_version, v.new_version));
        return Status::Ok();
      },
      [](const std::string& m) { log_line(iscsi::LogLevel::warning, m); });
  for (const auto& [lun, opened] : remote_luns) {
    const std::string& location = opt.images[lun];
    remote_media.watch(static_cast<uint32_t>(lun), location, opened,
                       [location, options = opt.location]() -> Result<remote::OpenedLocation> {
                         auto http = http_options(options);
                         if (!http.ok()) return http.status();
                         return remote::open_location(location, *http, options.extra);
                       });
  }
  auto log_url_traffic = [&remote_media] {
    for (const auto& t : remote_media.traffic()) {
      log_line(iscsi::LogLevel::info, fmt::format("LUN {}: '{}': {}", t.key, t.name, remote::describe_traffic(t.stats)));
    }
  };

  const std::string& iqn = config.name;
  std::printf("udisc serve: target %s\n", iqn.c_str());
  for (const auto& portal : server.addresses()) std::printf("  listening on %s\n", portal.c_str());
  const std::string portal = config.advertised_portal.empty() ? server.addresses().front() : config.advertised_portal;
  const auto parsed = iscsi::parse_address(portal);
  const std::string host = parsed.ok() ? parsed->host : "127.0.0.1";
  const std::string url_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const uint16_t port = parsed.ok() ? parsed->port : 3260;
  const std::string chap_qemu = config.chap ? ",user=" + config.chap->user + ",password=SECRET" : "";
  print_linux_commands(portal, iqn, config);
  for (size_t i = 0; i < descriptions.size(); ++i) {
    std::printf("\nLUN %zu: %s\n", i, descriptions[i].c_str());
    std::printf("  URL:     iscsi://%s:%u/%s/%zu\n", url_host.c_str(), port, iqn.c_str(), i);
    std::printf("  QEMU:    -drive driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%zu%s,if=none,id=udisc%zu,readonly=on "
                "-device virtio-scsi-pci -device scsi-block,drive=udisc%zu\n",
                portal.c_str(), iqn.c_str(), i, chap_qemu.c_str(), i, i);
    std::printf("  Windows: iscsicli QAddTargetPortal %s %u && iscsicli QLoginTarget %s\n", host.c_str(), port, iqn.c_str());
  }
  if (config.chap) std::printf("\nCHAP required (user %s); the secret is the one from %s.\n", config.chap->user.c_str(), chap_source.c_str());
  std::printf("\nServing until %s.\n", StopSignal::description());
  std::fflush(stdout);

  for (;;) {
    std::string what;
    const StopSignal::Event event = stop_signal.next(&what);
    if (event == StopSignal::Event::reload) {
      reload_media(served);
      continue;
    }
    if (event == StopSignal::Event::report) {
      log_url_traffic();
      continue;
    }
    log_url_traffic();
    log_line(iscsi::LogLevel::info, "stopping on " + what);
    break;
  }
  server.stop();
  server.wait();
  log_line(iscsi::LogLevel::info, "stopped");
  return 0;
}

}  // namespace

void register_serve_command(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve images as CD/DVD/BD-ROM drives over iSCSI (LUN n = n-th image)");
  cmd->add_option("--listen", opt->listen, "Address to listen on, ADDR:PORT or [IPv6]:PORT (default 127.0.0.1:3260; repeatable)");
  cmd->add_option("--advertise", opt->advertise,
                  "Address initiators are told to use (SendTargets and the printed commands) when they reach this "
                  "target through NAT or a port forward, e.g. 10.0.2.2:3260 from a QEMU guest");
  cmd->add_option("--iqn", opt->iqn, "Target name (default iqn.2025-01.org.udisc:<hostname>)");
  cmd->add_option("--chap-file", opt->chap_file,
                  "Require CHAP from initiators: FILE holds USER:SECRET (mode 600; or set $UDISC_CHAP)");
  cmd->add_option("--mutual-chap-file", opt->mutual_chap_file,
                  "Target credentials for mutual CHAP: FILE holds USER:SECRET, another secret (or $UDISC_MUTUAL_CHAP)");
  cmd->add_option("--chap", opt->chap, "As --chap-file, but USER:SECRET on the command line (visible to all local users)");
  cmd->add_option("--mutual-chap", opt->mutual_chap, "As --mutual-chap-file, on the command line (visible to all local users)");
  cmd->add_option("--allow", opt->allow, "Initiator name allowed to log in (repeatable; default: any)");
  cmd->add_option("--threads", opt->threads, "Event loops (default: one per CPU)");
  cmd->add_flag("--verbose", opt->verbose, "Log protocol details");
  cmd->add_option("images", opt->images, "Disc images (ISO, BIN/CUE, ...): paths or http(s):// URLs")->required();
  add_location_options(cmd, opt->location, /*disk_cache=*/true);
  cmd->callback([opt, &exit_code] { exit_code = run_serve(*opt); });
}

}  // namespace udisc::cli
