// udisc serve: makes disc images available as CD/DVD/BD-ROM drives over
// iSCSI (RFC 7143). LUN n is the n-th image; every CDB is answered by a
// device::Drive; the transport in src/transport/iscsi only frames.
//
//   udisc serve [--listen ADDR:PORT]... [--iqn NAME] [--chap USER:SECRET]
//               [--mutual-chap USER:SECRET] [--allow INITIATOR_IQN]... IMAGE...
//
// Runs in the foreground until SIGINT/SIGTERM; logs connections and errors
// to stderr. CHAP secrets are never printed or logged.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/stop_signal.h"
#include "device/drive.h"
#include "formats/open.h"
#include "transport/iscsi/server.h"

namespace udisc::cli {
namespace {

struct ServeOptions {
  std::vector<std::string> listen;
  std::string iqn;
  std::string chap;
  std::string mutual_chap;
  std::vector<std::string> allow;
  std::vector<std::string> images;
  unsigned threads = 0;
  bool verbose = false;
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

bool split_credentials(const std::string& text, const char* option, iscsi::ChapCredentials& out) {
  const size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    std::fprintf(stderr, "udisc: %s expects USER:SECRET\n", option);
    return false;
  }
  out.user = text.substr(0, colon);
  out.secret = text.substr(colon + 1);
  if (out.secret.size() < 12) {
    std::fprintf(stderr, "udisc: warning: %s secret is shorter than 12 characters; some initiators refuse it\n", option);
  }
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

int run_serve(const ServeOptions& opt) {
  iscsi::TargetConfig config;
  config.name = opt.iqn.empty() ? default_iqn() : opt.iqn;
  if (config.name.rfind("iqn.", 0) != 0 && config.name.rfind("eui.", 0) != 0 && config.name.rfind("naa.", 0) != 0) {
    std::fprintf(stderr, "udisc: --iqn '%s' is not an iSCSI name (iqn.YYYY-MM.reverse.domain:name)\n", config.name.c_str());
    return 2;
  }
  if (!opt.chap.empty()) {
    iscsi::ChapCredentials c;
    if (!split_credentials(opt.chap, "--chap", c)) return 2;
    config.chap = c;
  }
  if (!opt.mutual_chap.empty()) {
    if (!config.chap) {
      std::fprintf(stderr, "udisc: --mutual-chap needs --chap\n");
      return 2;
    }
    iscsi::ChapCredentials c;
    if (!split_credentials(opt.mutual_chap, "--mutual-chap", c)) return 2;
    config.mutual_chap = c;
  }
  config.allowed_initiators = opt.allow;

  std::vector<std::string> descriptions;
  for (size_t i = 0; i < opt.images.size(); ++i) {
    auto image = formats::open_image(opt.images[i]);
    if (!image.ok()) {
      std::fprintf(stderr, "udisc: %s\n", image.status().message().c_str());
      return 1;
    }
    device::Identity identity;
    identity.serial = fmt::format("UDISC{:04}{:08X}", i, static_cast<uint32_t>(std::hash<std::string>{}(config.name)));
    auto drive = std::make_shared<device::Drive>(identity);
    const std::string format = (*image)->format_name();
    Status s = drive->insert(image.value());
    if (!s.ok()) {
      std::fprintf(stderr, "udisc: %s: %s\n", opt.images[i].c_str(), s.message().c_str());
      return 1;
    }
    config.luns.push_back(iscsi::make_drive_unit(drive));
    descriptions.push_back(opt.images[i] + " (" + format + ")");
  }

  // Before the event loops start: the stop request is taken by this thread only.
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

  const std::string& iqn = config.name;
  std::printf("udisc serve: target %s\n", iqn.c_str());
  for (const auto& portal : server.addresses()) std::printf("  listening on %s\n", portal.c_str());
  const std::string portal = server.addresses().front();
  const auto parsed = iscsi::parse_address(portal);
  const std::string host = parsed.ok() ? parsed->host : "127.0.0.1";
  const std::string url_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const uint16_t port = parsed.ok() ? parsed->port : 3260;
  const std::string chap_qemu = config.chap ? ",user=" + config.chap->user + ",password=SECRET" : "";
  for (size_t i = 0; i < descriptions.size(); ++i) {
    std::printf("\nLUN %zu: %s\n", i, descriptions[i].c_str());
    std::printf("  URL:     iscsi://%s:%u/%s/%zu\n", url_host.c_str(), port, iqn.c_str(), i);
    std::printf("  Linux:   iscsiadm -m discovery -t sendtargets -p %s && iscsiadm -m node -T %s -p %s --login\n",
                portal.c_str(), iqn.c_str(), portal.c_str());
    std::printf("  QEMU:    -drive driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%zu%s,if=none,id=udisc%zu,readonly=on "
                "-device virtio-scsi-pci -device scsi-block,drive=udisc%zu\n",
                portal.c_str(), iqn.c_str(), i, chap_qemu.c_str(), i, i);
    std::printf("  Windows: iscsicli QAddTargetPortal %s %u && iscsicli QLoginTarget %s\n", host.c_str(), port, iqn.c_str());
  }
  if (config.chap) std::printf("\nCHAP required (user %s); the secret is the one given with --chap.\n", config.chap->user.c_str());
  std::printf("\nServing until %s.\n", StopSignal::description());
  std::fflush(stdout);

  log_line(iscsi::LogLevel::info, "stopping on " + stop_signal.wait());
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
  cmd->add_option("--iqn", opt->iqn, "Target name (default iqn.2025-01.org.udisc:<hostname>)");
  cmd->add_option("--chap", opt->chap, "Require CHAP from initiators: USER:SECRET");
  cmd->add_option("--mutual-chap", opt->mutual_chap, "Target credentials for mutual CHAP: USER:SECRET");
  cmd->add_option("--allow", opt->allow, "Initiator name allowed to log in (repeatable; default: any)");
  cmd->add_option("--threads", opt->threads, "Event loops (default: one per CPU)");
  cmd->add_flag("--verbose", opt->verbose, "Log protocol details");
  cmd->add_option("images", opt->images, "Disc images (ISO, BIN/CUE, ...)")->required();
  cmd->callback([opt, &exit_code] { exit_code = run_serve(*opt); });
}

}  // namespace udisc::cli
