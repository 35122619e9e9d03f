// RemoteMedia: for `udisc serve` LUNs whose image comes from a URL, turns a
// replaced object on the server into what a drive does when its disc is
// swapped. Once a read has found the object changed (remote::HttpFile fails
// every read from then on, so no disc mixes two versions), the watcher opens
// the URL again and inserts the new version as a new medium: hosts get unit
// attention 28/00 and a media event, and re-read the disc. The watcher also
// asks the server now and then whether each object is unchanged, so a change
// is seen even while every read is answered from the cache. While the server
// cannot be reached the drive keeps failing reads with a medium error and the
// watcher tries again.
//
// Thread safety: the watcher runs one thread of its own; construct and
// destroy from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cli/image_location.h"
#include "device/drive.h"

namespace udisc::cli {

class RemoteMedia {
 public:
  struct Lun {
    size_t number = 0;
    std::string location;
    std::shared_ptr<device::Drive> drive;
    std::shared_ptr<remote::HttpFile> file;  // the version in the drive now
  };
  enum class Severity { info, warning };
  using Log = std::function<void(Severity, const std::string&)>;

  // `revalidate_every`: how often the server is asked whether each object is
  // still the one in the drive, so a change is seen even while every read
  // is answered from the cache.
  RemoteMedia(std::vector<Lun> luns, LocationOptions options, Log log,
              std::chrono::milliseconds revalidate_every = std::chrono::seconds(5));
  ~RemoteMedia();
  RemoteMedia(const RemoteMedia&) = delete;
  RemoteMedia& operator=(const RemoteMedia&) = delete;

  // One pass over the LUNs (the thread calls it every half second; tests call it directly).
  void check();
  // Logs each LUN's traffic: requests, retries, bytes received, cache hits and misses.
  void log_statistics();

 private:
  void run();

  std::vector<Lun> luns_;
  LocationOptions options_;
  Log log_;
  std::chrono::milliseconds revalidate_every_;
  std::chrono::steady_clock::time_point last_revalidation_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace udisc::cli
