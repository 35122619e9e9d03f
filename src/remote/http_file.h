// HttpFile: an image's backing file read from an http:// or https:// URL on
// demand, block by block, with HTTP range requests; only what a host reads
// crosses the network.
//
// open() checks the server once: a "Range: bytes=0-0" probe must come back
// 206 with the object's size in Content-Range (else a clear error saying the
// server cannot serve ranges). The object's ETag (or Last-Modified) and size
// are recorded and every later request carries them (If-Match, or
// If-Unmodified-Since), so a replaced object answers 412: from then on every
// read fails (IoError, which the engine reports as a medium error) and
// changed() is true, so the owner can offer the new version as a new medium
// — a disc is never made of two versions.
//
// Transient failures (connection refused or reset, time-outs, HTTP 5xx and
// 429) are retried with exponential back-off, a bounded number of times;
// then the read fails with a message naming the URL, the byte range and the
// cause. Reads go through a BlockCache (block_cache.h): bounded memory,
// read-ahead for sequential readers, concurrent requests for concurrent
// readers over a small pool of connections (libcurl easy handles, reused so
// TLS and TCP connections persist). Optionally a DiskCache (disk_cache.h)
// below it keeps fetched blocks in a private file, up to a size limit.
//
// Credentials never come from the command line: authorization() reads them
// from a file or the environment. TLS verification is always on; ca_file adds
// a CA bundle (e.g. a private CA) to trust.
//
// Thread safety: read_at from any number of threads.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "formats/file.h"
#include "remote/block_cache.h"
#include "util/status.h"

namespace udisc::remote {

struct Credentials {
  enum class Kind { none, bearer, basic } kind = Kind::none;
  std::string token;     // bearer
  std::string user;      // basic
  std::string password;  // basic
};

struct HttpOptions {
  std::string ca_file;  // extra CA bundle (PEM); verification stays on
  // The same as PEM text instead of a path (the daemon is sent a caller's
  // bundle and opens no path for it); used when not empty, instead of ca_file.
  std::string ca_pem;
  Credentials credentials;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{20000};
  unsigned retries = 4;                     // after the first attempt
  std::chrono::milliseconds backoff{100};   // doubled after each retry
  unsigned max_connections = 8;
  CacheOptions cache;
  // Optional second tier on disk (disk_cache.h): a private file in this
  // folder holding up to disk_cache_bytes of fetched blocks. Empty: none.
  std::string disk_cache_dir;
  uint64_t disk_cache_bytes = 0;
};

struct HttpStats {
  uint64_t requests = 0;        // HTTP requests sent, retries included
  uint64_t bytes_received = 0;  // body bytes received
  uint64_t retries = 0;
  CacheStats cache;
  uint64_t disk_hits = 0;    // fetches answered by the disk cache instead of the server
  uint64_t disk_stored = 0;  // bytes the disk cache holds now
};

// Whether `location` is an http:// or https:// URL (case-insensitive scheme).
bool is_url(std::string_view location);

// Credentials from a file (`path`, when not empty) or else the environment
// variable UDISC_HTTP_AUTH. Either holds one line: "bearer TOKEN" or
// "basic USER:PASSWORD". Errors name the file and line.
Result<Credentials> load_credentials(const std::string& path);

// Credentials from one line of text ("bearer TOKEN" / "basic USER:PASSWORD");
// `where` names its origin in errors (it never quotes the line: a secret).
Result<Credentials> parse_credentials(std::string_view line, const std::string& where);
// The line parse_credentials reads; empty for Kind::none.
std::string credentials_line(const Credentials& credentials);

// `ref` (a companion's name as an image writes it; "\" read as "/") resolved
// against `base` like a relative link, percent-encoding what a URL cannot hold.
Result<std::string> resolve_url(const std::string& base, const std::string& ref);

class HttpFile final : public formats::RandomAccessFile {
 public:
  static Result<std::shared_ptr<HttpFile>> open(const std::string& url, const HttpOptions& options);
  ~HttpFile() override;

  uint64_t size() const override;
  Status read_at(uint64_t offset, std::span<uint8_t> out) const override;
  const std::string& name() const override;

  // True once the server said the object is no longer the one opened.
  bool changed() const;
  // Asks the server, past the cache, whether the object is still the one
  // opened (a one-byte validated range); changed() is true afterwards if not.
  // Errors only for a server that cannot be asked (down, HTTP errors).
  Status revalidate() const;
  // The validator recorded at open ("ETag \"...\"", "Last-Modified ...", or "none").
  std::string validator() const;
  HttpStats stats() const;

  class Impl;

 private:
  explicit HttpFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace udisc::remote
