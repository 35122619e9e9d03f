// Work the daemon's main thread must not wait on without a limit: opening
// and probing an image reads a file a user chose, which may sit on a FUSE or
// NFS server that answers slowly or never.
//
// BackgroundJob runs a function on a thread of its own; the caller waits for
// its result until a deadline. A job past its deadline is abandoned, not
// stopped (a thread blocked in read() cannot be): it finishes on its own,
// its result is dropped, and `running()` stays true meanwhile, so callers can
// refuse to start more work for the same user.
//
// Thread safety: start/wait_until/running from one thread; the job's state
// is shared with the worker through a shared_ptr and a mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace udisc::daemon {

template <class T>
class BackgroundJob {
 public:
  explicit BackgroundJob(std::function<T()> work) : shared_(std::make_shared<Shared>()) {
    std::thread([shared = shared_, work = std::move(work)]() mutable {
      T value = work();
      std::lock_guard lock(shared->mu);
      shared->value.emplace(std::move(value));
      shared->cv.notify_all();
    }).detach();
  }

  // The result, or nullopt when the job is still running at `deadline`.
  std::optional<T> wait_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(shared_->mu);
    shared_->cv.wait_until(lock, deadline, [this] { return shared_->value.has_value(); });
    if (!shared_->value) return std::nullopt;
    std::optional<T> out = std::move(shared_->value);
    shared_->value.reset();
    shared_->taken = true;
    return out;
  }

  // A handle that tells, after this object is gone, whether the work still runs.
  std::function<bool()> running_probe() const {
    return [shared = shared_]() {
      std::lock_guard lock(shared->mu);
      return !shared->value.has_value() && !shared->taken;
    };
  }

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> value;
    bool taken = false;
  };
  std::shared_ptr<Shared> shared_;
};

}  // namespace udisc::daemon
