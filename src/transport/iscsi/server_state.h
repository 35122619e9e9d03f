// ServerState: what the event loops of one Server share, whatever the
// platform (server.cc with epoll, server_windows.cc with Winsock): admission
// of new connections, rate limits of the log lines anyone who can connect can
// cause, session identifiers, the I_T nexus registry, and the worker threads
// for large reads. Each platform's Server::Shared derives from it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transport/iscsi/admission.h"
#include "transport/iscsi/connection.h"
#include "transport/iscsi/target.h"

namespace udisc::iscsi {

struct ServerState {
  explicit ServerState(const AdmissionLimits& limits) : admission(limits) {}
  Admission admission;
  RateLimiter auth_log{5, std::chrono::seconds(10)};        // failed CHAP logins
  RateLimiter refusal_log{5, std::chrono::seconds(10)};      // connections refused or evicted
  RateLimiter before_login_log{20, std::chrono::seconds(10)};  // anything else before login
  RateLimiter accept_log{5, std::chrono::seconds(10)};       // accept() failures
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
  void start_workers(unsigned count) {
    for (unsigned i = 0; i < count; ++i) workers.emplace_back([this] { worker(); });
  }
  // Workers finish the queued jobs, then exit; join_workers() waits for them.
  void stop_workers() {
    stopping.store(true);
    work_cv.notify_all();
  }
  void join_workers() {
    work_cv.notify_all();
    for (auto& w : workers) {
      if (w.joinable()) w.join();
    }
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

  // The Context of a newly accepted connection, the same on every platform.
  // `host` is the peer's address without the port (what admission throttles);
  // `post_to_loop` hands a worker's finished read back to the connection's
  // own loop thread.
  Connection::Context connection_context(const TargetConfig& config, const Logger& server_log, std::string peer,
                                         std::string host, std::string local,
                                         std::function<void(std::function<void()>)> post_to_loop) {
    Connection::Context ctx;
    ctx.target = &config;
    ctx.log = server_log;
    ctx.peer = std::move(peer);
    ctx.portal = config.advertised_portal.empty() ? std::move(local) : config.advertised_portal;
    ctx.auth_failed = [this, host = std::move(host)] {
      admission.auth_failed(host, std::chrono::steady_clock::now());
      return may_log(auth_log, "authentication failures");
    };
    ctx.may_log_before_login = [this] {
      return may_log(before_login_log, "lines about connections before login");
    };
    ctx.allocate_tsih = [this] {
      uint16_t t = 0;
      while (t == 0) t = ++tsih;
      return t;
    };
    ctx.nexus = &nexus;
    if (!workers.empty()) {
      ctx.offload = [this, post = std::move(post_to_loop)](std::function<void()> work, std::function<void()> done) {
        submit([post, work = std::move(work), done = std::move(done)]() mutable {
          work();
          post(std::move(done));
        });
      };
    }
    return ctx;
  }

  // A connection admission turned away, logged within the refusal rate.
  void log_refusal(const std::string& peer, const std::string& refusal) {
    if (log && may_log(refusal_log, "refused connections")) log(LogLevel::warning, peer + ": connection refused: " + refusal);
  }

  // True when this line may be logged; reports what the limiter dropped.
  bool may_log(RateLimiter& limiter, const char* what) {
    uint64_t suppressed = 0;
    const bool ok = limiter.allow(std::chrono::steady_clock::now(), suppressed);
    if (suppressed > 0 && log) log(LogLevel::warning, std::to_string(suppressed) + " further " + what + " were not logged");
    return ok;
  }
};

}  // namespace udisc::iscsi
