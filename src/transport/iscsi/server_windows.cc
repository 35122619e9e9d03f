// Server (server.h) on Windows: Winsock 2 sockets and WSAPoll event loops.
//
// The same shape as the POSIX server.cc: `threads` event loops each own their
// connections (non-blocking sockets, all ready responses leave with one
// WSASend, a connection whose initiator does not read stops being read), a
// pool of worker threads runs large reads, and timers tick every 250 ms.
// Differences forced by the platform:
//  - WSAPoll is level-triggered, so a connection is polled for input only
//    while it wants input, and for output only while a send would block;
//  - WSAPoll cannot wait on an event object, so each loop is woken through a
//    UDP socket on 127.0.0.1 connected to itself;
//  - loop 0 alone accepts, and hands each new connection to the loops in
//    turn (WSAPoll has no EPOLLEXCLUSIVE to spread accepts).
// SOCKET handles live in Shared, not in the header's int vector.
#include <winsock2.h>
#include <ws2tcpip.h>

#include <sys/uio.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "platform/windows/win_error.h"
#include "transport/iscsi/connection.h"
#include "transport/iscsi/server.h"

namespace udisc::iscsi {
namespace {

constexpr size_t kReadChunk = 256 * 1024;
// How long an event loop keeps polling after its last event before it sleeps.
constexpr auto kBusyPollWindow = std::chrono::microseconds(200);
constexpr size_t kMaxBuffers = 1024;

std::string socket_error_text(int e) { return platform::windows_error_text(static_cast<unsigned long>(e)); }

std::string sockaddr_text(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return format_address(host, ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    return format_address(host, ntohs(a->sin6_port));
  }
  return "?";
}

bool set_non_blocking(SOCKET s) {
  u_long on = 1;
  return ioctlsocket(s, FIONBIO, &on) == 0;
}

}  // namespace

struct Server::Shared {
  std::vector<SOCKET> listeners;
  bool winsock_started = false;

  // Rate limit for failed-authentication log lines (shared by all loops).
  std::mutex mu;
  std::chrono::steady_clock::time_point window_start{};
  int in_window = 0;
  int suppressed = 0;
  std::atomic<uint16_t> tsih{0};
  NexusRegistry nexus;
  std::atomic<bool> stopping{false};
  Logger log;
  std::atomic<size_t> next_loop{0};

  // Workers for large reads (Connection::Context::offload).
  std::mutex work_mu;
  std::condition_variable work_cv;
  std::deque<std::function<void()>> jobs;
  std::vector<std::thread> workers;
  void submit(std::function<void()> job) {
    {
      std::lock_guard lock(work_mu);
      jobs.push_back(std::move(job));
    }
    work_cv.notify_one();
  }
  void worker() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(work_mu);
        work_cv.wait(lock, [this] { return !jobs.empty() || stopping.load(); });
        if (jobs.empty()) return;
        job = std::move(jobs.front());
        jobs.pop_front();
      }
      job();
    }
  }

  bool may_log_auth_failure() {
    std::lock_guard lock(mu);
    const auto now = std::chrono::steady_clock::now();
    if (now - window_start > std::chrono::seconds(10)) {
      if (suppressed > 0 && log) {
        log(LogLevel::warning, std::to_string(suppressed) + " further authentication failures were not logged");
      }
      window_start = now;
      in_window = 0;
      suppressed = 0;
    }
    if (in_window < 5) {
      ++in_window;
      return true;
    }
    ++suppressed;
    return false;
  }
};

class Server::Loop {
 public:
  explicit Loop(Server& server) : server_(server) {}
  ~Loop() {
    if (thread_.joinable()) thread_.join();
    for (auto& [s, c] : conns_) closesocket(s);
    for (auto& [s, peer] : adopted_) closesocket(s);
    if (wake_ != INVALID_SOCKET) closesocket(wake_);
  }

  Status init() {
    wake_ = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    if (wake_ == INVALID_SOCKET) return Status::IoError("wake-up socket: " + socket_error_text(WSAGetLastError()));
    sockaddr_in self{};
    self.sin_family = AF_INET;
    self.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int len = sizeof self;
    if (bind(wake_, reinterpret_cast<sockaddr*>(&self), sizeof self) != 0 ||
        getsockname(wake_, reinterpret_cast<sockaddr*>(&self), &len) != 0 ||
        connect(wake_, reinterpret_cast<sockaddr*>(&self), sizeof self) != 0 || !set_non_blocking(wake_)) {
      return Status::IoError("wake-up socket on 127.0.0.1: " + socket_error_text(WSAGetLastError()));
    }
    return Status::Ok();
  }

  void start(bool accepts) {
    accepts_ = accepts;
    thread_ = std::thread([this] { run(); });
  }
  // From worker threads: `done` runs on this loop, then the connection on `s` is serviced.
  void post(SOCKET s, std::function<void()> done) {
    {
      std::lock_guard lock(inbox_mu_);
      done_.emplace_back(s, std::move(done));
    }
    wake();
  }
  // From the accepting loop: this loop takes over a new connection.
  void adopt(SOCKET s, sockaddr_storage peer) {
    {
      std::lock_guard lock(inbox_mu_);
      adopted_.emplace_back(s, peer);
    }
    wake();
  }
  void wake() {
    const char one = 1;
    send(wake_, &one, 1, 0);
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Conn {
    SOCKET s = INVALID_SOCKET;
    std::unique_ptr<Connection> c;
    bool readable = true;
    bool writable = true;
  };

  void run() {
    std::vector<uint8_t> rx(kReadChunk);
    std::vector<SOCKET> again;
    std::vector<WSAPOLLFD> fds;
    auto last_tick = std::chrono::steady_clock::now();
    auto last_activity = last_tick - kBusyPollWindow;
    while (!server_.shared_->stopping.load()) {
      fds.clear();
      fds.push_back(WSAPOLLFD{wake_, POLLRDNORM, 0});
      const size_t first_listener = fds.size();
      if (accepts_) {
        for (SOCKET l : server_.shared_->listeners) fds.push_back(WSAPOLLFD{l, POLLRDNORM, 0});
      }
      const size_t first_conn = fds.size();
      for (auto& [s, conn] : conns_) {
        SHORT events = 0;
        if (!conn.readable && conn.c->wants_input() && conn.c->output_bytes() < Connection::kHighWater) {
          events |= POLLRDNORM;
        }
        if (!conn.writable && conn.c->has_output()) events |= POLLWRNORM;
        // Always listed so a hang-up is seen even when neither direction is wanted.
        fds.push_back(WSAPOLLFD{s, events, 0});
      }
      // Adaptive polling, as in server.cc: poll without sleeping shortly after activity.
      const bool hot = std::chrono::steady_clock::now() - last_activity < kBusyPollWindow;
      const int n = WSAPoll(fds.data(), static_cast<ULONG>(fds.size()), again.empty() && !hot ? 250 : 0);
      if (n == SOCKET_ERROR) {
        if (server_.log_) server_.log_(LogLevel::error, "WSAPoll: " + socket_error_text(WSAGetLastError()));
        break;
      }
      if (n > 0) last_activity = std::chrono::steady_clock::now();
      if (fds[0].revents != 0) drain_inbox(rx, again);
      for (size_t i = first_listener; i < first_conn; ++i) {
        if (fds[i].revents != 0) accept_all(fds[i].fd);
      }
      for (size_t i = first_conn; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        auto it = conns_.find(fds[i].fd);
        if (it == conns_.end()) continue;
        Conn& conn = it->second;
        if (fds[i].revents & (POLLRDNORM | POLLHUP | POLLERR)) conn.readable = true;
        if (fds[i].revents & (POLLWRNORM | POLLHUP | POLLERR)) conn.writable = true;
        if (service(conn, rx)) again.push_back(conn.s);
      }
      // Connections that used their fair share and still have input.
      std::vector<SOCKET> retry;
      retry.swap(again);
      for (SOCKET s : retry) {
        auto it = conns_.find(s);
        if (it != conns_.end() && service(it->second, rx)) again.push_back(s);
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - last_tick >= std::chrono::milliseconds(250)) {
        last_tick = now;
        std::vector<SOCKET> all;
        all.reserve(conns_.size());
        for (auto& [s, c] : conns_) all.push_back(s);
        for (SOCKET s : all) {
          auto it = conns_.find(s);
          if (it == conns_.end()) continue;
          it->second.c->tick(now);
          if (service(it->second, rx)) again.push_back(s);
        }
      }
    }
    for (auto& [s, conn] : conns_) {
      conn.c->abandon("target stopping: session dropped");
      closesocket(s);
    }
    conns_.clear();
  }

  void drain_inbox(std::vector<uint8_t>& rx, std::vector<SOCKET>& again) {
    char sink[64];
    while (recv(wake_, sink, sizeof sink, 0) > 0) {
    }
    std::vector<std::pair<SOCKET, std::function<void()>>> done;
    std::vector<std::pair<SOCKET, sockaddr_storage>> adopted;
    {
      std::lock_guard lock(inbox_mu_);
      done.swap(done_);
      adopted.swap(adopted_);
    }
    for (auto& [s, peer] : adopted) add_connection(s, peer);
    for (auto& [s, fn] : done) fn();
    for (auto& [s, fn] : done) {
      auto it = conns_.find(s);
      if (it != conns_.end() && service(it->second, rx)) again.push_back(s);
    }
  }

  void accept_all(SOCKET listener) {
    for (;;) {
      sockaddr_storage peer{};
      int len = sizeof peer;
      const SOCKET s = accept(listener, reinterpret_cast<sockaddr*>(&peer), &len);
      if (s == INVALID_SOCKET) {
        const int e = WSAGetLastError();
        if (e != WSAEWOULDBLOCK && server_.log_) server_.log_(LogLevel::warning, "accept: " + socket_error_text(e));
        return;
      }
      if (!set_non_blocking(s)) {
        closesocket(s);
        continue;
      }
      const BOOL one = TRUE;
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);
      auto& loops = server_.loops_;
      Loop& owner = *loops[server_.shared_->next_loop++ % loops.size()];
      if (&owner == this) {
        add_connection(s, peer);
      } else {
        owner.adopt(s, peer);
      }
    }
  }

  void add_connection(SOCKET s, const sockaddr_storage& peer) {
    sockaddr_storage local{};
    int llen = sizeof local;
    getsockname(s, reinterpret_cast<sockaddr*>(&local), &llen);
    Connection::Context ctx;
    ctx.target = &server_.config_;
    ctx.log = server_.log_;
    ctx.peer = sockaddr_text(peer);
    ctx.portal = sockaddr_text(local);
    Shared* shared = server_.shared_.get();
    ctx.may_log_auth_failure = [shared] { return shared->may_log_auth_failure(); };
    ctx.allocate_tsih = [shared] {
      uint16_t t = 0;
      while (t == 0) t = ++shared->tsih;
      return t;
    };
    ctx.nexus = &shared->nexus;
    if (!shared->workers.empty()) {
      ctx.offload = [this, shared, s](std::function<void()> work, std::function<void()> done) {
        shared->submit([this, s, work = std::move(work), done = std::move(done)]() mutable {
          work();
          post(s, std::move(done));
        });
      };
    }
    if (server_.log_) server_.log_(LogLevel::info, ctx.peer + ": connected");
    Conn conn;
    conn.s = s;
    conn.c = std::make_unique<Connection>(std::move(ctx), std::chrono::steady_clock::now());
    conns_.emplace(s, std::move(conn));
  }

  void close_conn(Conn& conn, const std::string& why) {
    const SOCKET s = conn.s;
    if (server_.log_) server_.log_(LogLevel::info, why);
    conn.c->abandon("");
    closesocket(s);
    conns_.erase(s);
  }

  // Returns true when the connection still has unread input after its fair
  // share; the loop revisits it before sleeping again.
  bool service(Conn& conn, std::vector<uint8_t>& rx) {
    Connection& c = *conn.c;
    for (int rounds = 0; rounds < 64; ++rounds) {
      // Send everything ready in as few WSASend calls as possible.
      while (c.has_output() && conn.writable) {
        iovec iov[kMaxBuffers];
        WSABUF buffers[kMaxBuffers];
        const size_t count = c.gather(iov, kMaxBuffers);
        for (size_t i = 0; i < count; ++i) {
          buffers[i].buf = static_cast<CHAR*>(iov[i].iov_base);
          buffers[i].len = static_cast<ULONG>(iov[i].iov_len);
        }
        DWORD sent = 0;
        if (WSASend(conn.s, buffers, static_cast<DWORD>(count), &sent, 0, nullptr, nullptr) != 0) {
          const int e = WSAGetLastError();
          if (e == WSAEWOULDBLOCK) {
            conn.writable = false;
            break;
          }
          close_conn(conn, c.name_for_log() + ": send failed: " + socket_error_text(e));
          return false;
        }
        c.consume_output(sent);
      }
      if (c.must_close() || (c.closing() && !c.has_output())) {
        close_conn(conn, c.name_for_log() + ": connection closed");
        return false;
      }
      const size_t before = c.output_bytes();
      c.pump();
      if (c.output_bytes() != before && conn.writable) continue;
      if (!conn.readable || !c.wants_input() || c.output_bytes() >= Connection::kHighWater) return false;
      const int got = recv(conn.s, reinterpret_cast<char*>(rx.data()), static_cast<int>(rx.size()), 0);
      if (got > 0) {
        c.receive(std::span<const uint8_t>(rx.data(), static_cast<size_t>(got)), std::chrono::steady_clock::now());
        continue;
      }
      if (got == 0) {
        close_conn(conn, c.name_for_log() + ": initiator closed the connection");
        return false;
      }
      const int e = WSAGetLastError();
      if (e == WSAEWOULDBLOCK) {
        conn.readable = false;
        return false;
      }
      close_conn(conn, c.name_for_log() + ": receive failed: " + socket_error_text(e));
      return false;
    }
    return true;
  }

  Server& server_;
  bool accepts_ = false;
  SOCKET wake_ = INVALID_SOCKET;
  std::thread thread_;
  std::unordered_map<SOCKET, Conn> conns_;
  std::mutex inbox_mu_;
  std::vector<std::pair<SOCKET, std::function<void()>>> done_;
  std::vector<std::pair<SOCKET, sockaddr_storage>> adopted_;
};

Server::Server(TargetConfig config, Logger log) : config_(std::move(config)), log_(std::move(log)), shared_(std::make_unique<Shared>()) {
  shared_->log = log_;
  WSADATA data;
  shared_->winsock_started = WSAStartup(MAKEWORD(2, 2), &data) == 0;
}

Server::~Server() {
  stop();
  wait();
  loops_.clear();
  for (SOCKET s : shared_->listeners) closesocket(s);
  if (shared_->winsock_started) WSACleanup();
}

Status Server::listen(const std::string& text) {
  if (!shared_->winsock_started) return Status::IoError("Winsock 2.2 is not available");
  auto addr = parse_address(text);
  if (!addr.ok()) return addr.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(addr->port);
  const int rc = getaddrinfo(addr->host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::InvalidArgument("address '" + text + "': " + socket_error_text(rc));
  Status status = Status::IoError("address '" + text + "': no usable address");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const SOCKET s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (s == INVALID_SOCKET) {
      status = Status::IoError("socket for '" + text + "': " + socket_error_text(WSAGetLastError()));
      continue;
    }
    // Exclusive use: unlike SO_REUSEADDR on Windows, nobody else can bind the port while we serve it.
    const BOOL one = TRUE;
    setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, reinterpret_cast<const char*>(&one), sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, reinterpret_cast<const char*>(&one), sizeof one);
    if (bind(s, ai->ai_addr, static_cast<int>(ai->ai_addrlen)) != 0 || ::listen(s, SOMAXCONN) != 0 || !set_non_blocking(s)) {
      status = Status::IoError("cannot listen on " + text + ": " + socket_error_text(WSAGetLastError()));
      closesocket(s);
      continue;
    }
    sockaddr_storage bound{};
    int len = sizeof bound;
    getsockname(s, reinterpret_cast<sockaddr*>(&bound), &len);
    shared_->listeners.push_back(s);
    addresses_.push_back(sockaddr_text(bound));
    status = Status::Ok();
    break;
  }
  freeaddrinfo(res);
  return status;
}

std::vector<std::string> Server::addresses() const { return addresses_; }

Status Server::start(unsigned threads) {
  if (shared_->listeners.empty()) return Status::InvalidArgument("no listening address");
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>(*this);
    Status s = loop->init();
    if (!s.ok()) return s;
    loops_.push_back(std::move(loop));
  }
  // Worker threads for large reads: as many as loops.
  for (unsigned i = 0; i < threads; ++i) shared_->workers.emplace_back([s = shared_.get()] { s->worker(); });
  for (size_t i = 0; i < loops_.size(); ++i) loops_[i]->start(i == 0);
  return Status::Ok();
}

void Server::stop() {
  shared_->stopping.store(true);
  shared_->work_cv.notify_all();
  for (auto& loop : loops_) loop->wake();
}

void Server::wait() {
  for (auto& loop : loops_) loop->join();
  shared_->work_cv.notify_all();
  for (auto& w : shared_->workers) {
    if (w.joinable()) w.join();
  }
}

}  // namespace udisc::iscsi
