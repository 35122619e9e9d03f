// RemoteMedia: turns an object replaced on a web server into what a drive
// does when its disc is swapped, for every owner of drives whose images come
// from URLs: `udisc serve`'s LUNs and the daemon's drives.
//
// An HttpFile fails every read once the server says its object changed, so
// no disc mixes two versions. RemoteMedia watches the files of each medium
// it is given (the main file and the companions a cue sheet names): when one
// has changed, it opens the location again and hands the new version to the
// medium's owner (NewVersion), who puts it into the drive as a new medium —
// hosts then see unit attention 28/00 and a media event and read the disc
// again. It also asks the server now and then whether each object is
// unchanged, so a change is seen even while every read is answered from the
// cache. While the server cannot be reached, or the new version cannot be
// opened, the old medium keeps failing reads with a medium error and the next
// pass tries again.
//
// It knows no drive and no transport: the owner inserts the new version under
// its own threading rules (serve inserts into its engine at once; the daemon
// hands it to its control thread).
//
// Each medium is checked on a task of its own, so a slow or stalled server
// (whose requests take their time-outs and retries) delays the change of its
// own drive only.
//
// Thread safety: every member from any thread. The callbacks run on the
// watcher's tasks, one call at a time, with no lock of RemoteMedia's state
// held, so they may call watch() and forget(); destroying RemoteMedia waits
// for the checks in progress.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "remote/location.h"

namespace udisc::remote {

class RemoteMedia {
 public:
  using Key = uint32_t;  // the owner's name for a drive: a LUN or drive number
  // Opens the medium's location again, with its owner's credentials.
  using Reopen = std::function<Result<OpenedLocation>()>;

  struct NewVersion {
    Key key = 0;
    std::string name;                    // as given to watch(), for messages
    std::shared_ptr<HttpFile> replaced;  // the main file of the version the drive holds
    std::string old_version;             // validators (HttpFile::validator)
    std::string new_version;
    OpenedLocation opened;  // the new version
  };
  // Puts a new version into its drive. Ok: the watcher now watches the new
  // version (unless watch/forget changed the key meanwhile); an error is
  // logged and the next pass offers a new version again.
  using Deliver = std::function<Status(const NewVersion&)>;
  using Log = std::function<void(const std::string&)>;

  // `revalidate_every`: how often the server is asked whether each object
  // is still the one in the drive; `poll_every`: how often the files are
  // looked at for a change a read found.
  RemoteMedia(Deliver deliver, Log log, std::chrono::milliseconds revalidate_every = std::chrono::seconds(5),
              std::chrono::milliseconds poll_every = std::chrono::milliseconds(500));
  ~RemoteMedia();
  RemoteMedia(const RemoteMedia&) = delete;
  RemoteMedia& operator=(const RemoteMedia&) = delete;

  // Watches `opened` as the medium of `key`, in place of what `key` had; an
  // image not from a URL (opened.http null) just ends the watch of `key`.
  // The watcher's thread starts with the first URL medium.
  void watch(Key key, std::string name, const OpenedLocation& opened, Reopen reopen);
  void forget(Key key);

  // One pass over the media (the thread runs it every poll_every; tests call it).
  void check();

  struct Traffic {
    Key key = 0;
    std::string name;
    std::string version;  // the validator of the version watched now
    HttpStats stats;      // of its main file
  };
  std::vector<Traffic> traffic() const;

 private:
  struct Medium {
    std::string name;
    std::shared_ptr<HttpFile> main;
    std::vector<std::shared_ptr<HttpFile>> files;  // main and companions
    Reopen reopen;
    std::string last_problem;  // what went wrong with its new version (logged once)
  };
  void run();
  void check_one(Key key, const Medium& m, bool revalidate);

  const Deliver deliver_;
  const Log log_;
  const std::chrono::milliseconds revalidate_every_;
  const std::chrono::milliseconds poll_every_;
  std::chrono::steady_clock::time_point last_revalidation_;

  mutable std::mutex mu_;  // media_, stopping_, thread_
  std::map<Key, Medium> media_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex pass_mu_;  // one check() at a time; work_
  std::map<Key, std::future<void>> work_;  // each medium's check, on a task of its own
  std::mutex callback_mu_;  // deliver_ and log_ are called one at a time
};

// One line about a URL's traffic: requests, retries, bytes, cache hits and misses.
std::string describe_traffic(const HttpStats& stats);

}  // namespace udisc::remote
