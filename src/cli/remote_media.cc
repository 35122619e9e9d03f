#include "cli/remote_media.h"

#include <cstdio>

#include "util/signals.h"

namespace udisc::cli {

RemoteMedia::RemoteMedia(std::vector<Lun> luns, LocationOptions options, Log log,
                         std::chrono::milliseconds revalidate_every)
    : luns_(std::move(luns)),
      options_(std::move(options)),
      log_(std::move(log)),
      revalidate_every_(revalidate_every),
      last_revalidation_(std::chrono::steady_clock::now()) {
  if (!luns_.empty()) thread_ = std::thread([this] { run(); });
}

RemoteMedia::~RemoteMedia() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RemoteMedia::run() {
  block_process_signals_in_this_thread();
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(500));
    if (stopping_) break;
    lock.unlock();
    check();
    lock.lock();
  }
}

void RemoteMedia::log_statistics() {
  std::lock_guard lock(mu_);  // check() replaces lun.file under the same lock
  for (const Lun& lun : luns_) {
    if (!lun.file) continue;
    const remote::HttpStats s = lun.file->stats();
    const uint64_t lookups = s.cache.hits + s.cache.misses;
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.1f", lookups ? 100.0 * static_cast<double>(s.cache.hits) / static_cast<double>(lookups) : 0.0);
    log_(Severity::info, "LUN " + std::to_string(lun.number) + ": '" + lun.location + "': " + std::to_string(s.requests) +
         " requests (" + std::to_string(s.retries) + " retries), " + std::to_string(s.bytes_received) +
         " bytes received; cache " + std::to_string(s.cache.hits) + " hits, " + std::to_string(s.cache.misses) +
         " misses (" + rate + "% hits), " + std::to_string(s.cache.prefetched_blocks) + " blocks read ahead");
  }
}

void RemoteMedia::check() {
  const auto now = std::chrono::steady_clock::now();
  const bool revalidate = now - last_revalidation_ >= revalidate_every_;
  if (revalidate) last_revalidation_ = now;
  for (Lun& lun : luns_) {
    if (revalidate && lun.file) (void)lun.file->revalidate();  // an unreachable server is seen by the next read
    if (!lun.file || !lun.file->changed()) continue;
    auto opened = remote::open_location(lun.location, [&] {
      remote::HttpOptions o;
      o.ca_file = options_.ca_file;
      auto credentials = remote::load_credentials(options_.auth_file);
      if (credentials.ok()) o.credentials = *credentials;
      return o;
    }());
    if (!opened.ok()) continue;  // still unreachable or broken: reads keep failing, try again later
    const std::string before = lun.file->validator();
    if (Status s = lun.drive->insert(opened->image); !s.ok()) {
      log_(Severity::warning, "LUN " + std::to_string(lun.number) + ": cannot insert the new version of '" + lun.location +
           "': " + s.message());
      continue;
    }
    {
      std::lock_guard lock(mu_);  // log_statistics reads lun.file from the main thread
      lun.file = opened->http;
    }
    log_(Severity::warning, "LUN " + std::to_string(lun.number) + ": '" + lun.location + "' changed on the server (" + before +
         " -> " + lun.file->validator() + "); its new version is now in the drive as a new medium");
  }
}

}  // namespace udisc::cli
