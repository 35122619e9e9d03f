#include "transport/iscsi/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "transport/iscsi/connection.h"
#include "transport/iscsi/server_state.h"

namespace udisc::iscsi {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

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

// accept() failures that mean "no descriptor or buffer for another socket".
bool out_of_descriptors(int e) { return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM; }

constexpr uint64_t kListenerTag = 1ull << 62;
constexpr uint64_t kWakeTag = 1ull << 61;
constexpr size_t kReadChunk = 256 * 1024;
// How long an event loop keeps polling after its last event before it sleeps.
constexpr auto kBusyPollWindow = std::chrono::microseconds(200);
constexpr size_t kMaxIov = 1024;

}  // namespace

// State shared by all loops (server_state.h).
struct Server::Shared : ServerState {
  using ServerState::ServerState;
};

class Server::Loop {
 public:
  Loop(Server& server, unsigned index) : server_(server), index_(index) {}
  ~Loop() {
    if (thread_.joinable()) thread_.join();
    for (auto& [fd, c] : conns_) ::close(fd);
    if (wake_ >= 0) ::close(wake_);
    if (ep_ >= 0) ::close(ep_);
  }

  Status init() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    wake_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ep_ < 0 || wake_ < 0) return Status::IoError("epoll/eventfd: " + errno_text(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeTag;
    epoll_ctl(ep_, EPOLL_CTL_ADD, wake_, &ev);
    paused_until_.assign(server_.listeners_.size(), std::nullopt);
    for (size_t i = 0; i < server_.listeners_.size(); ++i) {
      if (!watch_listener(i)) return Status::IoError("epoll_ctl listener: " + errno_text(errno));
    }
    return Status::Ok();
  }

  void start() { thread_ = std::thread([this] { run(); }); }
  // Called from worker threads: `done` runs on this loop, then the
  // connection on `fd` is serviced (its answer sent).
  void post(int fd, std::function<void()> done) {
    {
      std::lock_guard lock(done_mu_);
      done_.emplace_back(fd, std::move(done));
    }
    wake();
  }
  // Another loop evicted one of this loop's connections before login.
  void evicted_by_other_loop() {
    evictions_.store(true);
    wake();
  }
  void wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Conn {
    int fd = -1;
    std::unique_ptr<Connection> c;
    bool readable = true;
    bool writable = true;
    Admission::Ticket pending = 0;  // nonzero until login finishes
  };

  using Clock = std::chrono::steady_clock;

  bool watch_listener(size_t i) {
    epoll_event lev{};
    lev.events = EPOLLIN | EPOLLEXCLUSIVE;
    lev.data.u64 = kListenerTag | i;
    return epoll_ctl(ep_, EPOLL_CTL_ADD, server_.listeners_[i], &lev) == 0;
  }

  // Out of descriptors: the listener stays readable, so polling it would
  // spin. Stop watching it until Admission says to try again.
  void pause_listener(size_t i, int error) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, server_.listeners_[i], nullptr);
    const auto resume = server_.shared_->admission.accept_resume(Clock::now());
    paused_until_[i] = resume;
    if (server_.log_ && server_.shared_->may_log(server_.shared_->accept_log, "accept failures")) {
      server_.log_(LogLevel::warning, "accept: " + errno_text(error) + "; not accepting connections for " +
                                          std::to_string(server_.config_.admission.accept_pause.count()) + " ms");
    }
  }

  void resume_listeners(Clock::time_point now) {
    for (size_t i = 0; i < paused_until_.size(); ++i) {
      if (paused_until_[i] && now >= *paused_until_[i]) {
        paused_until_[i].reset();
        watch_listener(i);
      }
    }
  }

  // epoll_wait's time-out: `idle_ms`, shortened to the next listener resume.
  int wait_ms(int idle_ms, Clock::time_point now) const {
    int ms = idle_ms;
    for (const auto& until : paused_until_) {
      if (!until) continue;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*until - now).count() + 1;
      ms = static_cast<int>(std::clamp<int64_t>(left, 0, ms));
    }
    return ms;
  }

  // Closes this loop's connections that admission evicted (on any loop).
  void close_evicted() {
    for (const Admission::Ticket t : server_.shared_->admission.take_evicted(index_)) {
      auto fd = pending_fds_.find(t);
      if (fd == pending_fds_.end()) continue;
      auto it = conns_.find(fd->second);
      if (it == conns_.end()) continue;
      Shared* shared = server_.shared_.get();
      if (server_.log_ && shared->may_log(shared->refusal_log, "refused connections")) {
        server_.log_(LogLevel::warning,
                     it->second.c->name_for_log() + ": closed before login to make room for other initiators");
      }
      close_conn(it->second, "");
    }
  }

  void run() {
    std::vector<uint8_t> rx(kReadChunk);
    std::vector<int> again;
    epoll_event events[256];
    auto last_tick = std::chrono::steady_clock::now();
    auto last_activity = last_tick - kBusyPollWindow;
    while (!server_.shared_->stopping.load()) {
      // Adaptive polling: for a short window after any activity the loop polls
      // instead of sleeping, so the next command of an active initiator is read
      // without a thread wake-up (tens of microseconds on a VM's idle vCPU).
      // An idle target still sleeps in epoll_wait.
      const bool hot = std::chrono::steady_clock::now() - last_activity < kBusyPollWindow;
      const int n = epoll_wait(ep_, events, 256, again.empty() && !hot ? wait_ms(250, std::chrono::steady_clock::now()) : 0);
      if (n < 0 && errno != EINTR) break;
      if (n > 0) last_activity = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[i].data.u64;
        if (tag == kWakeTag) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(wake_, &v, sizeof v);
          std::vector<std::pair<int, std::function<void()>>> done;
          {
            std::lock_guard lock(done_mu_);
            done.swap(done_);
          }
          for (auto& [dfd, fn] : done) fn();
          for (auto& [dfd, fn] : done) {
            auto it = conns_.find(dfd);
            if (it != conns_.end() && service(it->second, rx)) again.push_back(dfd);
          }
          if (evictions_.exchange(false)) close_evicted();
          continue;
        }
        if (tag & kListenerTag) {
          accept_all(tag & 0xffff);
          continue;
        }
        const int fd = static_cast<int>(tag);
        auto it = conns_.find(fd);
        if (it == conns_.end()) continue;
        Conn& conn = it->second;
        if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) conn.readable = true;
        if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) conn.writable = true;
        if (service(conn, rx)) again.push_back(fd);
      }
      // Connections that used their fair share and still have input.
      std::vector<int> retry;
      retry.swap(again);
      for (int fd : retry) {
        auto it = conns_.find(fd);
        if (it != conns_.end() && service(it->second, rx)) again.push_back(fd);
      }
      const auto now = std::chrono::steady_clock::now();
      resume_listeners(now);
      if (now - last_tick >= std::chrono::milliseconds(250)) {
        last_tick = now;
        close_evicted();
        std::vector<int> fds;
        fds.reserve(conns_.size());
        for (auto& [fd, c] : conns_) fds.push_back(fd);
        for (int fd : fds) {
          auto it = conns_.find(fd);
          if (it == conns_.end()) continue;
          it->second.c->tick(now);
          if (service(it->second, rx)) again.push_back(fd);
        }
      }
    }
    for (auto& [fd, conn] : conns_) {
      conn.c->abandon("target stopping: session dropped");
      ::close(fd);
    }
    conns_.clear();
  }

  void accept_all(size_t index) {
    const int listener = server_.listeners_[index];
    Shared* shared = server_.shared_.get();
    for (;;) {
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      const int fd = accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (out_of_descriptors(errno)) {
          pause_listener(index, errno);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && server_.log_ &&
                   shared->may_log(shared->accept_log, "accept failures")) {
          server_.log_(LogLevel::warning, "accept: " + errno_text(errno));
        }
        break;
      }
      const std::string peer_text = sockaddr_text(peer);
      const auto decision = shared->admission.admit(host_text(peer), index_, std::chrono::steady_clock::now());
      if (decision.ticket == 0) {
        ::close(fd);
        shared->log_refusal(peer_text, decision.refusal);
        continue;
      }
      if (decision.evicted) {
        // Close it now when it is ours, so the descriptor is free for the next accept.
        if (decision.evicted->owner == index_) {
          close_evicted();
        } else {
          server_.loops_[decision.evicted->owner]->evicted_by_other_loop();
        }
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_storage local{};
      socklen_t llen = sizeof local;
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
      Connection::Context ctx = shared->connection_context(
          server_.config_, server_.log_, peer_text, host_text(peer), sockaddr_text(local),
          [this, fd](std::function<void()> done) { post(fd, std::move(done)); });
      if (server_.log_) server_.log_(LogLevel::debug, ctx.peer + ": connected");  // the login is logged at info
      Conn conn;
      conn.fd = fd;
      conn.pending = decision.ticket;
      conn.c = std::make_unique<Connection>(std::move(ctx), std::chrono::steady_clock::now());
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = static_cast<uint64_t>(fd);
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        shared->admission.closed(decision.ticket);
        ::close(fd);
        continue;
      }
      conns_.emplace(fd, std::move(conn));
      pending_fds_.emplace(decision.ticket, fd);
    }
  }

  void close_conn(Conn& conn, const std::string& why) {
    const int fd = conn.fd;
    Shared* shared = server_.shared_.get();
    if (conn.pending != 0) {
      shared->admission.closed(conn.pending);
      pending_fds_.erase(conn.pending);
    }
    const bool may_log = !why.empty() && (conn.pending == 0 ||
                                          shared->may_log(shared->before_login_log, "lines about connections before login"));
    if (server_.log_ && may_log) server_.log_(LogLevel::info, why);
    conn.c->abandon("");
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    conns_.erase(fd);
  }

  // Returns true when the connection still has work (unread input) after its
  // fair share; the loop revisits it before sleeping again.
  bool service(Conn& conn, std::vector<uint8_t>& rx) {
    Connection& c = *conn.c;
    for (int rounds = 0; rounds < 64; ++rounds) {
      // Send everything ready in as few writev calls as possible.
      while (c.has_output() && conn.writable) {
        iovec iov[kMaxIov];
        const size_t count = c.gather(iov, kMaxIov);
        const ssize_t sent = ::writev(conn.fd, iov, static_cast<int>(count));
        if (sent < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) {
            conn.writable = false;
            break;
          }
          if (errno == EINTR) continue;
          close_conn(conn, c.name_for_log() + ": send failed: " + errno_text(errno));
          return false;
        }
        c.consume_output(static_cast<size_t>(sent));
      }
      if (c.must_close()) {
        close_conn(conn, c.name_for_log() + ": connection closed");
        return false;
      }
      if (c.closing() && !c.has_output()) {
        close_conn(conn, c.name_for_log() + ": connection closed");
        return false;
      }
      const size_t before = c.output_bytes();
      c.pump();
      if (c.output_bytes() != before && conn.writable) continue;
      if (!conn.readable || !c.wants_input() || c.output_bytes() >= Connection::kHighWater) return false;
      const ssize_t got = ::read(conn.fd, rx.data(), rx.size());
      if (got > 0) {
        // A short read drained the socket: edge-triggered epoll reports the
        // next arrival, so no extra read() just to see EAGAIN.
        if (static_cast<size_t>(got) < rx.size()) conn.readable = false;
        c.receive(std::span<const uint8_t>(rx.data(), static_cast<size_t>(got)), std::chrono::steady_clock::now());
        if (conn.pending != 0 && c.in_full_feature()) {
          server_.shared_->admission.logged_in(conn.pending);
          pending_fds_.erase(conn.pending);
          conn.pending = 0;
        }
        continue;
      }
      if (got == 0) {
        close_conn(conn, c.name_for_log() + ": initiator closed the connection");
        return false;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        conn.readable = false;
        return false;
      }
      if (errno == EINTR) continue;
      close_conn(conn, c.name_for_log() + ": receive failed: " + errno_text(errno));
      return false;
    }
    // Fair share used up: edge-triggered epoll will not signal the unread
    // data again, so the loop revisits this connection itself.
    return true;
  }

  Server& server_;
  const unsigned index_;
  std::vector<std::optional<Clock::time_point>> paused_until_;  // per listener
  int ep_ = -1;
  int wake_ = -1;
  std::thread thread_;
  std::unordered_map<int, Conn> conns_;
  std::unordered_map<Admission::Ticket, int> pending_fds_;  // connections before login
  std::atomic<bool> evictions_{false};
  std::mutex done_mu_;
  std::vector<std::pair<int, std::function<void()>>> done_;
};

Server::Server(TargetConfig config, Logger log)
    : config_(std::move(config)), log_(std::move(log)), shared_(std::make_unique<Shared>(config_.admission)) {
  shared_->log = log_;
}

Server::~Server() {
  stop();
  wait();
  loops_.clear();
  for (int fd : listeners_) ::close(fd);
}

Status Server::listen(const std::string& text) {
  auto addr = parse_address(text);
  if (!addr.ok()) return addr.status();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(addr->port);
  const int rc = getaddrinfo(addr->host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) return Status::InvalidArgument("address '" + text + "': " + gai_strerror(rc));
  Status status = Status::IoError("address '" + text + "': no usable address");
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      status = Status::IoError("socket for '" + text + "': " + errno_text(errno));
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
      status = Status::IoError("cannot listen on " + text + ": " + errno_text(errno));
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    listeners_.push_back(fd);
    addresses_.push_back(sockaddr_text(bound));
    status = Status::Ok();
    break;
  }
  freeaddrinfo(res);
  return status;
}

std::vector<std::string> Server::addresses() const { return addresses_; }

Status Server::start(unsigned threads) {
  if (listeners_.empty()) return Status::InvalidArgument("no listening address");
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) {
    auto loop = std::make_unique<Loop>(*this, i);
    Status s = loop->init();
    if (!s.ok()) return s;
    loops_.push_back(std::move(loop));
  }
  shared_->start_workers(threads);  // for large reads: as many as loops
  for (auto& loop : loops_) loop->start();
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
