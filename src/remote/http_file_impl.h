// The part of HttpFile both HTTP clients share (http_file_common.cc): the
// probe, validated range requests with retries and back-off, the replaced-
// object rule, the counters and the block cache. A platform file derives
// from HttpFile::Impl, sends one GET in attempt() (libcurl in http_file.cc,
// WinHTTP in http_file_windows.cc) and makes it in make_http_impl().
// Private to src/remote.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "remote/disk_cache.h"
#include "remote/http_file.h"
#include "remote/http_headers.h"

namespace udisc::remote {

// What one GET of a range gave: an HTTP answer, or no usable answer.
struct Attempt {
  ResponseHeaders headers;  // of the final answer (after redirects)
  uint64_t received = 0;    // body bytes written to `out`; only a 206's body is read
  bool overflow = false;    // the server sent more than the range
  std::string error;        // not empty: no usable answer (connection, TLS, time-out, ...)
  bool transient = false;   // the error is worth retrying
};

class HttpFile::Impl {
 public:
  Impl(std::string url, HttpOptions options);
  virtual ~Impl();

  // The first request: the object's size and validator, then the block cache.
  Status probe();
  // A validated range into `out`; a replaced object sets changed_ and fails.
  Status fetch(uint64_t offset, std::span<uint8_t> out);
  Status changed_error() const;
  std::string validator() const;

  const std::string url_;
  const HttpOptions options_;
  uint64_t size_ = 0;
  std::string etag_;
  std::string last_modified_;
  std::atomic<bool> changed_{false};
  std::atomic<uint64_t> requests_{0}, bytes_{0}, retries_{0}, disk_hits_{0};
  std::unique_ptr<DiskCache> disk_;  // before cache_: its fetcher uses disk_
  std::unique_ptr<BlockCache> cache_;

 protected:
  // One GET of `range` ("first-last") into `out`, with `headers` ("If-Match:
  // ..." lines) added to the platform's own (Range, credentials). Called from
  // any thread; the prefetchers call it until stop().
  virtual Attempt attempt(const std::string& range, const std::vector<std::string>& headers,
                          std::span<uint8_t> out) = 0;
  // Stops the block cache's prefetchers: a derived destructor calls it before
  // its transport goes.
  void stop() { cache_.reset(); }

 private:
  Status request(uint64_t first, uint64_t last, std::span<uint8_t> out, ResponseHeaders* answer, bool validate);
};

// The platform's Impl for `url` (an http(s) URL; refused when it holds
// credentials), ready for probe().
Result<std::unique_ptr<HttpFile::Impl>> make_http_impl(const std::string& url, const HttpOptions& options);

}  // namespace udisc::remote
