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
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "platform/windows/win_error.h"
#include "transport/iscsi/connection.h"
#include "transport/iscsi/server.h"
#include "transport/iscsi/server_state.h"

namespace udisc::iscsi {
namespace {

constexpr size_t kReadChunk = 256 * 1024;
// How long an event loop keeps polling after its last event before it sleeps.
constexpr auto kBusyPollWindow = std::chrono::microseconds(200);
constexpr size_t kMaxBuffers = 1024;

std::string socket_error_text(int e) { return platform::windows_error_text(static_cast<unsigned long>(e)); }

// The address without the port: what admission counts and throttles by.
std::string host_text(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, host, sizeof host);
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, host, sizeof host);
  } else {
    return "?";
  }
  return host;
}

std::string sockaddr_text(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return format_address(host_text(ss), ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port));
  if (ss.ss_family == AF_INET6) return format_address(host_text(ss), ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port));
  return "?";
}

// accept() failures that mean "no handle or buffer for another socket".
bool out_of_sockets(int e) { return e == WSAEMFILE || e == WSAENOBUFS; }

bool set_non_blocking(SOCKET s) {
  u_long on = 1;
  return ioctlsocket(s, FIONBIO, &on) == 0;
}

}  // namespace

// State shared by all loops (server_state.h), plus the Winsock handles.
struct Server::Shared : ServerState {
  using ServerState::ServerState;
  std::vector<SOCKET> listeners;
  bool winsock_started = false;
  std::atomic<size_t> next_loop{0};
};

class Server::Loop {
 public:
  Loop(Server& server, unsigned index) : server_(server), index_(index) {}
  ~Loop() {
    if (thread_.joinable()) thread_.join();
    for (auto& [s, c] : conns_) closesocket(s);
    for (auto& a : adopted_) closesocket(a.s);
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
      note_inbox_filled();
    }
    wake();
  }
  // From the accepting loop: this loop takes over a new connection.
  void adopt(SOCKET s, sockaddr_storage peer, Admission::Ticket ticket) {
    {
      std::lock_guard lock(inbox_mu_);
      adopted_.push_back(Adopted{s, peer, ticket});
      note_inbox_filled();
    }
    wake();
  }
  // Another loop evicted one of this loop's connections before login.
  void evicted_by_other_loop() {
    evictions_.store(true);
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
    Admission::Ticket pending = 0;  // nonzero until login finishes
  };
  struct Adopted {
    SOCKET s;
    sockaddr_storage peer;
    Admission::Ticket ticket;
  };
  using Clock = std::chrono::steady_clock;

  // Under inbox_mu_. The flag lets the loop find the inbox full without the
  // wake-up datagram: under Wine on a loaded machine WSAPoll was seen not to
  // report it (a few times in each run of libiscsi's SCSI suite), and a
  // worker's finished read then waited for ever - the READ was never answered
  // and iscsi-test-cu hung. Each pass of the loop looks at the flag, and a loop
  // with reads on workers passes every 10 ms, so a missed datagram costs that.
  void note_inbox_filled() {
    if (!inbox_filled_.exchange(true)) inbox_filled_at_ = Clock::now();
  }

  // Closes this loop's connections that admission evicted (on any loop).
  void close_evicted() {
    Shared* shared = server_.shared_.get();
    for (const Admission::Ticket t : shared->admission.take_evicted(index_)) {
      auto sock = pending_socks_.find(t);
      if (sock == pending_socks_.end()) continue;
      auto it = conns_.find(sock->second);
      if (it == conns_.end()) continue;
      if (server_.log_ && shared->may_log(shared->refusal_log, "refused connections")) {
        server_.log_(LogLevel::warning,
                     it->second.c->name_for_log() + ": closed before login to make room for other initiators");
      }
      close_conn(it->second, "");
    }
  }

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
      const auto before_poll = Clock::now();
      if (accepts_) {
        // A listener paused for lack of sockets (see accept_all) is not polled:
        // it stays readable and would make the loop spin.
        if (paused_until_ && before_poll >= *paused_until_) paused_until_.reset();
        if (!paused_until_) {
          for (SOCKET l : server_.shared_->listeners) fds.push_back(WSAPOLLFD{l, POLLRDNORM, 0});
        }
      }
      const size_t first_conn = fds.size();
      bool awaiting_workers = false;
      for (auto& [s, conn] : conns_) {
        awaiting_workers = awaiting_workers || conn.c->awaiting_workers();
        SHORT events = 0;
        if (!conn.readable && conn.c->wants_input() && conn.c->output_bytes() < Connection::kHighWater) {
          events |= POLLRDNORM;
        }
        if (!conn.writable && conn.c->has_output()) events |= POLLWRNORM;
        // Always listed so a hang-up is seen even when neither direction is wanted.
        fds.push_back(WSAPOLLFD{s, events, 0});
      }
      // Adaptive polling, as in server.cc: poll without sleeping shortly after activity.
      const bool hot = before_poll - last_activity < kBusyPollWindow;
      int timeout = again.empty() && !hot ? 250 : 0;
      // A worker's answer is announced by a datagram WSAPoll may not report (see
      // note_inbox_filled): while one is due, look at the inbox every 10 ms.
      if (awaiting_workers) timeout = std::min(timeout, 10);
      if (inbox_filled_.load()) timeout = 0;
      if (paused_until_) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*paused_until_ - before_poll).count() + 1;
        timeout = static_cast<int>(std::clamp<int64_t>(left, 0, timeout));
      }
      const int n = WSAPoll(fds.data(), static_cast<ULONG>(fds.size()), timeout);
      if (n == SOCKET_ERROR) {
        if (server_.log_) server_.log_(LogLevel::error, "WSAPoll: " + socket_error_text(WSAGetLastError()));
        break;
      }
      if (n > 0) last_activity = std::chrono::steady_clock::now();
      if (fds[0].revents != 0 || inbox_filled_.load()) drain_inbox(rx, again);
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
        close_evicted();
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
    std::vector<Adopted> adopted;
    Clock::time_point filled_at{};
    {
      std::lock_guard lock(inbox_mu_);
      done.swap(done_);
      adopted.swap(adopted_);
      if (inbox_filled_.exchange(false)) filled_at = inbox_filled_at_;
    }
    // Seen under Wine on a loaded machine: tens of milliseconds of scheduling, never more than one pass.
    if (filled_at != Clock::time_point{} && server_.log_) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - filled_at).count();
      if (waited >= 100) {
        server_.log_(LogLevel::debug, "event loop " + std::to_string(index_) + ": workers' answers waited " +
                                          std::to_string(waited) + " ms for the loop");
      }
    }
    for (const Adopted& a : adopted) add_connection(a.s, a.peer, a.ticket);
    for (auto& [s, fn] : done) fn();
    for (auto& [s, fn] : done) {
      auto it = conns_.find(s);
      if (it != conns_.end() && service(it->second, rx)) again.push_back(s);
    }
    if (evictions_.exchange(false)) close_evicted();
  }

  void accept_all(SOCKET listener) {
    Shared* shared = server_.shared_.get();
    for (;;) {
      sockaddr_storage peer{};
      int len = sizeof peer;
      const SOCKET s = accept(listener, reinterpret_cast<sockaddr*>(&peer), &len);
      if (s == INVALID_SOCKET) {
        const int e = WSAGetLastError();
        if (out_of_sockets(e)) {
          paused_until_ = shared->admission.accept_resume(Clock::now());
          if (server_.log_ && shared->may_log(shared->accept_log, "accept failures")) {
            server_.log_(LogLevel::warning, "accept: " + socket_error_text(e) + "; not accepting connections for " +
                                                std::to_string(server_.config_.admission.accept_pause.count()) + " ms");
          }
        } else if (e != WSAEWOULDBLOCK && server_.log_ && shared->may_log(shared->accept_log, "accept failures")) {
          server_.log_(LogLevel::warning, "accept: " + socket_error_text(e));
        }
        return;
      }
      if (!set_non_blocking(s)) {
        closesocket(s);
        continue;
      }
      auto& loops = server_.loops_;
      const unsigned owner_index = static_cast<unsigned>(shared->next_loop++ % loops.size());
      const auto decision = shared->admission.admit(host_text(peer), owner_index, Clock::now());
      if (decision.ticket == 0) {
        closesocket(s);
        shared->log_refusal(sockaddr_text(peer), decision.refusal);
        continue;
      }
      if (decision.evicted) {
        // Close it now when it is ours, so the socket is free for the next accept.
        if (decision.evicted->owner == index_) {
          close_evicted();
        } else {
          loops[decision.evicted->owner]->evicted_by_other_loop();
        }
      }
      const BOOL one = TRUE;
      setsockopt(s, IPPROTO_TCP, TCP_NODELAY, reinterpret_cast<const char*>(&one), sizeof one);
      if (owner_index == index_) {
        add_connection(s, peer, decision.ticket);
      } else {
        loops[owner_index]->adopt(s, peer, decision.ticket);
      }
    }
  }

  void add_connection(SOCKET s, const sockaddr_storage& peer, Admission::Ticket ticket) {
    sockaddr_storage local{};
    int llen = sizeof local;
    getsockname(s, reinterpret_cast<sockaddr*>(&local), &llen);
    Connection::Context ctx = server_.shared_->connection_context(
        server_.config_, server_.log_, sockaddr_text(peer), host_text(peer), sockaddr_text(local),
        [this, s](std::function<void()> done) { post(s, std::move(done)); });
    if (server_.log_) server_.log_(LogLevel::debug, ctx.peer + ": connected");  // the login is logged at info
    Conn conn;
    conn.s = s;
    conn.pending = ticket;
    conn.c = std::make_unique<Connection>(std::move(ctx), std::chrono::steady_clock::now());
    conns_.emplace(s, std::move(conn));
    pending_socks_.emplace(ticket, s);
  }

  void close_conn(Conn& conn, const std::string& why) {
    const SOCKET s = conn.s;
    Shared* shared = server_.shared_.get();
    if (conn.pending != 0) {
      shared->admission.closed(conn.pending);
      pending_socks_.erase(conn.pending);
    }
    const bool may_log = !why.empty() && (conn.pending == 0 ||
                                          shared->may_log(shared->before_login_log, "lines about connections before login"));
    if (server_.log_ && may_log) server_.log_(LogLevel::info, why);
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
        if (conn.pending != 0 && c.in_full_feature()) {
          server_.shared_->admission.logged_in(conn.pending);
          pending_socks_.erase(conn.pending);
          conn.pending = 0;
        }
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
  const unsigned index_;
  bool accepts_ = false;
  std::optional<Clock::time_point> paused_until_;  // listeners not polled until then
  std::unordered_map<Admission::Ticket, SOCKET> pending_socks_;  // connections before login
  std::atomic<bool> evictions_{false};
  SOCKET wake_ = INVALID_SOCKET;
  std::thread thread_;
  std::unordered_map<SOCKET, Conn> conns_;
  std::mutex inbox_mu_;
  std::atomic<bool> inbox_filled_{false};
  Clock::time_point inbox_filled_at_;  // under inbox_mu_: when the oldest unread entry came
  std::vector<std::pair<SOCKET, std::function<void()>>> done_;
  std::vector<Adopted> adopted_;
};

Server::Server(TargetConfig config, Logger log)
    : config_(std::move(config)), log_(std::move(log)), shared_(std::make_unique<Shared>(config_.admission)) {
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
    auto loop = std::make_unique<Loop>(*this, i);
    Status s = loop->init();
    if (!s.ok()) return s;
    loops_.push_back(std::move(loop));
  }
  shared_->start_workers(threads);  // for large reads: as many as loops
  for (size_t i = 0; i < loops_.size(); ++i) loops_[i]->start(i == 0);
  return Status::Ok();
}

void Server::stop() {
  shared_->stop_workers();
  for (auto& loop : loops_) loop->wake();
}

void Server::wait() {
  for (auto& loop : loops_) loop->join();
  shared_->join_workers();
}

}  // namespace udisc::iscsi
