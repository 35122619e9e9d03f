#include "cli/remote_media.h"

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
      log_("LUN " + std::to_string(lun.number) + ": cannot insert the new version of '" + lun.location +
           "': " + s.message());
      continue;
    }
    lun.file = opened->http;
    log_("LUN " + std::to_string(lun.number) + ": '" + lun.location + "' changed on the server (" + before +
         " -> " + lun.file->validator() + "); its new version is now in the drive as a new medium");
  }
}

}  // namespace udisc::cli
