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

  // True when this line may be logged; reports what the limiter dropped.
  bool may_log(RateLimiter& limiter, const char* what) {
    uint64_t suppressed = 0;
    const bool ok = limiter.allow(std::chrono::steady_clock::now(), suppressed);
    if (suppressed > 0 && log) log(LogLevel::warning, std::to_string(suppressed) + " further " + what + " were not logged");
    return ok;
  }
};

}  // namespace udisc::iscsi
