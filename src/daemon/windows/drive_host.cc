#include "daemon/windows/drive_host.h"

#include <map>
#include <random>

#include "transport/iscsi/logical_unit.h"
#include "transport/iscsi/server.h"

namespace udisc::win {
namespace {

class LoopbackHost final : public DriveHost {
 public:
  LoopbackHost(ChapSecret chap, std::function<void(const std::string&)> log)
      : chap_(std::move(chap)), log_(std::move(log)) {}
  ~LoopbackHost() override {
    for (auto& [n, server] : servers_) {
      server->stop();
      server->wait();
    }
  }

  Result<TargetSpec> start(uint32_t number, std::shared_ptr<device::Drive> engine) override {
    stop(number);
    iscsi::TargetConfig config;
    config.name = kTargetPrefix + std::to_string(number);
    config.alias = "udisc drive " + std::to_string(number);
    config.luns = {iscsi::make_drive_unit(std::move(engine))};
    config.chap = iscsi::ChapCredentials{chap_.user, chap_.secret};
    auto server = std::make_unique<iscsi::Server>(config, [this, number](iscsi::LogLevel level, const std::string& m) {
      if (log_ && level >= iscsi::LogLevel::warning) log_("drive " + std::to_string(number) + ": " + m);
    });
    if (Status s = server->listen("127.0.0.1:0"); !s.ok()) return s;
    if (Status s = server->start(1); !s.ok()) return s;
    Result<iscsi::SocketAddress> bound = iscsi::parse_address(server->addresses().front());
    if (!bound.ok()) return bound.status();
    TargetSpec spec;
    spec.name = config.name;
    spec.address = bound->host;
    spec.port = bound->port;
    spec.chap_user = chap_.user;
    spec.chap_secret = chap_.secret;
    servers_[number] = std::move(server);
    return spec;
  }

  Result<uint16_t> listen_also(uint32_t number, const std::string& address) override {
    // The server's sockets are fixed once it serves; the fallback address
    // gets a second server for the same engine.
    auto it = servers_.find(number);
    if (it == servers_.end()) return Status::NotFound("drive " + std::to_string(number) + " has no target");
    iscsi::TargetConfig config = it->second->config();
    auto server = std::make_unique<iscsi::Server>(config, iscsi::Logger{});
    if (Status s = server->listen(iscsi::format_address(address, 0)); !s.ok()) return s;
    if (Status s = server->start(1); !s.ok()) return s;
    Result<iscsi::SocketAddress> bound = iscsi::parse_address(server->addresses().front());
    if (!bound.ok()) return bound.status();
    extra_[number] = std::move(server);
    return bound->port;
  }

  void stop(uint32_t number) override {
    for (auto* table : {&servers_, &extra_}) {
      auto it = table->find(number);
      if (it == table->end()) continue;
      it->second->stop();
      it->second->wait();
      table->erase(it);
    }
  }

 private:
  ChapSecret chap_;
  std::function<void(const std::string&)> log_;
  std::map<uint32_t, std::unique_ptr<iscsi::Server>> servers_;
  std::map<uint32_t, std::unique_ptr<iscsi::Server>> extra_;  // local-address fallback listeners
};

}  // namespace

ChapSecret make_per_boot_chap() {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device source;  // the OS generator (rand_s / getrandom)
  std::uniform_int_distribution<size_t> pick(0, sizeof kAlphabet - 2);
  ChapSecret c;
  c.user = "udisc";
  for (int i = 0; i < 16; ++i) c.secret.push_back(kAlphabet[pick(source)]);
  return c;
}

std::unique_ptr<DriveHost> make_loopback_host(ChapSecret chap, std::function<void(const std::string&)> log) {
  return std::make_unique<LoopbackHost>(std::move(chap), std::move(log));
}

}  // namespace udisc::win
