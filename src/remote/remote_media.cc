#include "remote/remote_media.h"

#include <cstdio>

#include "util/signals.h"

namespace udisc::remote {

RemoteMedia::RemoteMedia(Deliver deliver, Log log, std::chrono::milliseconds revalidate_every,
                         std::chrono::milliseconds poll_every)
    : deliver_(std::move(deliver)),
      log_(std::move(log)),
      revalidate_every_(revalidate_every),
      poll_every_(poll_every),
      last_revalidation_(std::chrono::steady_clock::now()) {}

RemoteMedia::~RemoteMedia() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  cv_.notify_all();
  if (thread.joinable()) thread.join();
  std::lock_guard pass(pass_mu_);
  work_.clear();  // waits for work still running (bounded by the HTTP time-outs)
}

void RemoteMedia::watch(Key key, std::string name, const OpenedLocation& opened, Reopen reopen) {
  if (!opened.http) {
    forget(key);
    return;
  }
  Medium m;
  m.name = std::move(name);
  m.main = opened.http;
  m.files.push_back(opened.http);
  m.files.insert(m.files.end(), opened.companions.begin(), opened.companions.end());
  m.reopen = std::move(reopen);
  std::lock_guard lock(mu_);
  media_[key] = std::move(m);
  // Started with the first URL medium, so owners that never see one (the
  // control fuzzer's daemon, serve with local files) run no thread.
  if (!thread_.joinable() && !stopping_) thread_ = std::thread([this] { run(); });
}

void RemoteMedia::forget(Key key) {
  std::lock_guard lock(mu_);
  media_.erase(key);
}

void RemoteMedia::run() {
  block_process_signals_in_this_thread();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, poll_every_);
    if (stopping_) break;
    lock.unlock();
    check();
    lock.lock();
  }
}

std::vector<RemoteMedia::Traffic> RemoteMedia::traffic() const {
  std::lock_guard lock(mu_);
  std::vector<Traffic> out;
  for (const auto& [key, m] : media_) out.push_back({key, m.name, m.main->validator(), m.main->stats()});
  return out;
}

void RemoteMedia::check() {
  std::lock_guard pass(pass_mu_);
  const auto now = std::chrono::steady_clock::now();
  const bool revalidate = now - last_revalidation_ >= revalidate_every_;
  if (revalidate) last_revalidation_ = now;
  std::map<Key, Medium> media;
  {
    std::lock_guard lock(mu_);
    media = media_;
  }
  std::erase_if(work_, [&](auto& w) { return !media.count(w.first) && w.second.wait_for(std::chrono::seconds(0)) ==
                                                                          std::future_status::ready; });
  // Each medium on a task of its own: a slow or stalled server (every request
  // may take its time-outs and retries) delays only its own drive; its
  // medium is skipped until that work is done.
  std::vector<std::future<void>*> started;
  for (auto& [key, m] : media) {
    std::future<void>& work = work_[key];
    if (work.valid() && work.wait_for(std::chrono::seconds(0)) != std::future_status::ready) continue;
    work = std::async(std::launch::async, [this, key = key, m = std::move(m), revalidate] { check_one(key, m, revalidate); });
    started.push_back(&work);
  }
  // Waited for up to one poll interval (tests, with a long one, see the
  // whole pass); what takes longer finishes on its own.
  const auto until = now + poll_every_;
  for (std::future<void>* work : started) work->wait_until(until);
}

void RemoteMedia::check_one(Key key, const Medium& m, bool revalidate) {
  block_process_signals_in_this_thread();
  // Reports a problem with the new version of `key` once, not on every pass.
  auto report = [&](const std::string& problem) {
    {
      std::lock_guard lock(mu_);
      auto it = media_.find(key);
      if (it == media_.end() || it->second.main != m.main || it->second.last_problem == problem) return;
      it->second.last_problem = problem;
    }
    std::lock_guard calls(callback_mu_);
    log_(problem);
  };
  bool changed = false;
  for (const auto& file : m.files) {
    // A server that cannot be asked now is seen by the next read (a medium error).
    if (revalidate && !file->changed()) (void)file->revalidate();
    if (file->changed()) {
      changed = true;
      break;
    }
  }
  if (!changed) return;
  Result<OpenedLocation> opened = m.reopen();
  if (opened.ok() && !opened->http) opened = Status::InvalidArgument("it no longer opens as a URL");
  if (!opened.ok()) {
    report("'" + m.name + "' changed on the server (" + m.main->validator() +
           " before); its new version cannot be opened yet: " + opened.status().message() +
           " (reads fail with a medium error; trying again)");
    return;
  }
  NewVersion version;
  version.key = key;
  version.name = m.name;
  version.replaced = m.main;
  version.old_version = m.main->validator();
  version.new_version = opened->http->validator();
  version.opened = std::move(opened).value();
  Status delivered;
  {
    std::lock_guard calls(callback_mu_);  // the owner's callbacks are never called at once
    delivered = deliver_(version);
  }
  if (!delivered.ok()) {
    report("'" + m.name + "': cannot insert its new version: " + delivered.message());
    return;
  }
  std::lock_guard lock(mu_);
  auto it = media_.find(key);
  if (it == media_.end() || it->second.main != m.main) return;  // the owner changed the medium meanwhile
  it->second.main = version.opened.http;
  it->second.files.assign(1, version.opened.http);
  it->second.files.insert(it->second.files.end(), version.opened.companions.begin(), version.opened.companions.end());
  it->second.last_problem.clear();
}

std::string describe_traffic(const HttpStats& s) {
  const uint64_t lookups = s.cache.hits + s.cache.misses;
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f",
                lookups ? 100.0 * static_cast<double>(s.cache.hits) / static_cast<double>(lookups) : 0.0);
  return std::to_string(s.requests) + " requests (" + std::to_string(s.retries) + " retries), " +
         std::to_string(s.bytes_received) + " bytes received; cache " + std::to_string(s.cache.hits) + " hits, " +
         std::to_string(s.cache.misses) + " misses (" + rate + "% hits), " +
         std::to_string(s.cache.prefetched_blocks) + " blocks read ahead" +
         (s.disk_stored || s.disk_hits ? "; disk cache " + std::to_string(s.disk_hits) + " hits, " +
                                             std::to_string(s.disk_stored) + " bytes held"
                                       : "");
}

}  // namespace udisc::remote
