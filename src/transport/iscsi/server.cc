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
#include <unordered_map>

#include "transport/iscsi/connection.h"

namespace udisc::iscsi {
namespace {

std::string errno_text(int e) { return std::strerror(e); }

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

constexpr uint64_t kListenerTag = 1ull << 62;
constexpr uint64_t kWakeTag = 1ull << 61;
constexpr size_t kReadChunk = 256 * 1024;
// How long an event loop keeps polling after its last event before it sleeps.
constexpr auto kBusyPollWindow = std::chrono::microseconds(200);
constexpr size_t kMaxIov = 1024;

}  // namespace

Result<SocketAddress> parse_address(const std::string& text) {
  SocketAddress out;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("address '" + text + "': missing ']'");
    out.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return Status::InvalidArgument("address '" + text + "': expected ':' after ']'");
      port = text.substr(close + 2);
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string::npos && text.find(':') == colon) {
      out.host = text.substr(0, colon);
      port = text.substr(colon + 1);
    } else {
      out.host = text;  // bare host (or bare IPv6 without port)
    }
  }
  if (out.host.empty()) return Status::InvalidArgument("address '" + text + "': no host");
  if (port.empty()) {
    out.port = 3260;
  } else {
    char* end = nullptr;
    const long v = std::strtol(port.c_str(), &end, 10);
    if (*end != 0 || v < 0 || v > 65535) return Status::InvalidArgument("address '" + text + "': bad port '" + port + "'");
    out.port = static_cast<uint16_t>(v);
  }
  return out;
}

std::string format_address(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// Rate limit for failed-authentication log lines (shared by all loops).
struct Server::Shared {
  std::mutex mu;
  std::chrono::steady_clock::time_point window_start{};
  int in_window = 0;
  int suppressed = 0;
  std::atomic<uint16_t> tsih{0};
  NexusRegistry nexus;
  std::atomic<bool> stopping{false};
  Logger log;

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
  Loop(Server& server) : server_(server) {}
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
    for (size_t i = 0; i < server_.listeners_.size(); ++i) {
      epoll_event lev{};
      lev.events = EPOLLIN | EPOLLEXCLUSIVE;
      lev.data.u64 = kListenerTag | i;
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, server_.listeners_[i], &lev) != 0) {
        return Status::IoError("epoll_ctl listener: " + errno_text(errno));
      }
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
  };

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
      const int n = epoll_wait(ep_, events, 256, again.empty() && !hot ? 250 : 0);
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
          continue;
        }
        if (tag & kListenerTag) {
          accept_all(server_.listeners_[tag & 0xffff]);
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
      if (now - last_tick >= std::chrono::milliseconds(250)) {
        last_tick = now;
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

  void accept_all(int listener) {
    for (;;) {
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      const int fd = accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK && server_.log_) {
          server_.log_(LogLevel::warning, "accept: " + errno_text(errno));
        }
        return;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_storage local{};
      socklen_t llen = sizeof local;
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
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
        ctx.offload = [this, shared, fd](std::function<void()> work, std::function<void()> done) {
          shared->submit([this, fd, work = std::move(work), done = std::move(done)]() mutable {
            work();
            post(fd, std::move(done));
          });
        };
      }
      if (server_.log_) server_.log_(LogLevel::info, ctx.peer + ": connected");
      Conn conn;
      conn.fd = fd;
      conn.c = std::make_unique<Connection>(std::move(ctx), std::chrono::steady_clock::now());
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = static_cast<uint64_t>(fd);
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ::close(fd);
        continue;
      }
      conns_.emplace(fd, std::move(conn));
    }
  }

  void close_conn(Conn& conn, const std::string& why) {
    const int fd = conn.fd;
    if (server_.log_) server_.log_(LogLevel::info, why);
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
  int ep_ = -1;
  int wake_ = -1;
  std::thread thread_;
  std::unordered_map<int, Conn> conns_;
  std::mutex done_mu_;
  std::vector<std::pair<int, std::function<void()>>> done_;
};

Server::Server(TargetConfig config, Logger log) : config_(std::move(config)), log_(std::move(log)), shared_(std::make_unique<Shared>()) {
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
    auto loop = std::make_unique<Loop>(*this);
    Status s = loop->init();
    if (!s.ok()) return s;
    loops_.push_back(std::move(loop));
  }
  // Worker threads for large reads: as many as loops.
  for (unsigned i = 0; i < threads; ++i) shared_->workers.emplace_back([s = shared_.get()] { s->worker(); });
  for (auto& loop : loops_) loop->start();
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
