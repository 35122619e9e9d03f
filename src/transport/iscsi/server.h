// Server: listening sockets and a small pool of epoll event loops that run
// iSCSI connections for one target.
//
// Each loop owns its connections: non-blocking sockets, edge-triggered
// epoll, one read parses every PDU it delivers, all ready responses leave
// with one writev, and a connection whose initiator does not read stops
// being read itself (per-connection output queue, high-water mark) without
// stalling the others. Commands are answered inline on the loop.
//
// Thread safety: listen() and start() from one thread before serving;
// stop() from any thread (not from a signal handler); wait() once.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "transport/iscsi/target.h"
#include "util/status.h"

namespace udisc::iscsi {

// "127.0.0.1:3260", "[::1]:3260", "0.0.0.0:3260", "[::]:0" (port 0: any free port).
struct SocketAddress {
  std::string host;
  uint16_t port = 0;
};
Result<SocketAddress> parse_address(const std::string& text);
std::string format_address(const std::string& host, uint16_t port);

class Server {
 public:
  Server(TargetConfig config, Logger log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens; errors name the address.
  Status listen(const std::string& address);
  // The bound addresses with their real ports, as "host:port".
  std::vector<std::string> addresses() const;
  // Starts `threads` event loops (0: one per CPU).
  Status start(unsigned threads = 0);
  // Asks every loop to drop its connections and exit.
  void stop();
  void wait();

  const TargetConfig& config() const { return config_; }

 private:
  class Loop;
  struct Shared;
  TargetConfig config_;
  Logger log_;
  std::vector<int> listeners_;
  std::vector<std::string> addresses_;
  std::unique_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace udisc::iscsi
