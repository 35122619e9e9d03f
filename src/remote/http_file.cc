#include "remote/http_file.h"

#include "remote/disk_cache.h"
#include "remote/http_headers.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

namespace udisc::remote {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// What one response said, gathered by the header and body callbacks.
struct Response : ResponseHeaders {
  std::span<uint8_t> out;     // where the body goes (a 206 body only)
  uint64_t received = 0;
  bool overflow = false;      // more body than asked for
  bool wrong_status = false;  // a body that is not a 206 range
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  parse_header_line(std::string_view(data, size * count), *static_cast<Response*>(user));
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* r = static_cast<Response*>(user);
  const size_t n = size * count;
  if (r->status != 206) {
    r->wrong_status = true;  // never download a whole object the server sends instead of a range
    return 0;
  }
  if (r->received + n > r->out.size()) {
    r->overflow = true;
    return 0;
  }
  std::memcpy(r->out.data() + r->received, data, n);
  r->received += n;
  return n;
}

bool transient_curl_error(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool transient_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

}  // namespace

Result<std::string> resolve_url(const std::string& base, const std::string& ref) {
  global_init();
  std::string relative = ref;
  std::replace(relative.begin(), relative.end(), '\\', '/');
  CURLU* u = curl_url();
  if (u == nullptr) return Status::IoError("out of memory parsing a URL");
  std::string result;
  CURLUcode rc = curl_url_set(u, CURLUPART_URL, base.c_str(), 0);
  if (rc == CURLUE_OK) rc = curl_url_set(u, CURLUPART_URL, relative.c_str(), CURLU_URLENCODE);
  char* full = nullptr;
  if (rc == CURLUE_OK) rc = curl_url_get(u, CURLUPART_URL, &full, 0);
  if (rc == CURLUE_OK) result = full;
  curl_free(full);
  curl_url_cleanup(u);
  if (rc != CURLUE_OK) {
    return Status::InvalidArgument("cannot resolve '" + ref + "' against '" + base + "': " + curl_url_strerror(rc));
  }
  return result;
}

class HttpFile::Impl {
 public:
  Impl(std::string url, HttpOptions options) : url_(std::move(url)), options_(std::move(options)) {}

  ~Impl() {
    cache_.reset();  // stops the prefetchers before the handles go
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

  Status probe() {
    std::vector<uint8_t> one(1);
    Response r;
    Status s = request(0, 0, one, &r, /*validate=*/false);
    if (!s.ok()) return s;
    if (r.status == 200 || r.wrong_status) {
      return Status::NotSupported("'" + url_ + "': the server does not serve byte ranges (it answered HTTP " +
                                  std::to_string(r.status) + " to 'Range: bytes=0-0'" +
                                  (r.accept_ranges.empty() ? "" : ", Accept-Ranges: " + r.accept_ranges) +
                                  "); download the image or serve it with a server that supports ranges");
    }
    const int64_t total = content_range_total(r.content_range);
    if (total <= 0) {
      return Status::NotSupported("'" + url_ + "': the server's range answer has no object size (Content-Range: '" +
                                  r.content_range + "')");
    }
    size_ = static_cast<uint64_t>(total);
    // A weak ETag cannot be used with If-Match (strong comparison): fall back to the date.
    if (!r.etag.empty() && r.etag.rfind("W/", 0) != 0) {
      etag_ = r.etag;
    } else if (!r.last_modified.empty()) {
      last_modified_ = r.last_modified;
    }
    if (!options_.disk_cache_dir.empty()) {
      auto disk = DiskCache::open(options_.disk_cache_dir, options_.disk_cache_bytes, options_.cache.block_size, size_);
      if (!disk.ok()) return disk.status();
      disk_ = std::move(disk).value();
    }
    cache_ = std::make_unique<BlockCache>(size_, options_.cache, [this](uint64_t first, uint32_t /*count: implied by out.size()*/,
                                                                      std::span<uint8_t> out) {
      if (disk_ && disk_->read(first, out)) {
        disk_hits_.fetch_add(1, std::memory_order_relaxed);
        return Status::Ok();
      }
      Status fetched = fetch(first * options_.cache.block_size, out);
      if (fetched.ok() && disk_) disk_->write(first, out);
      return fetched;
    });
    return Status::Ok();
  }

  Status fetch(uint64_t offset, std::span<uint8_t> out) {
    if (changed_.load()) return changed_error();
    Response r;
    Status s = request(offset, offset + out.size() - 1, out, &r, /*validate=*/true);
    if (!s.ok()) return s;
    if (r.status == 412 || r.status == 416) {
      changed_.store(true);
      return changed_error();
    }
    const int64_t total = content_range_total(r.content_range);
    if (total >= 0 && static_cast<uint64_t>(total) != size_) {
      changed_.store(true);
      return changed_error();
    }
    return Status::Ok();
  }

  // One request with retries. Ok with r->status set for any final HTTP
  // answer that is a 206 of the full range, a 200, 412 or 416; an error
  // for everything else, naming the URL, range and cause.
  Status request(uint64_t first, uint64_t last, std::span<uint8_t> out, Response* r, bool validate) {
    const std::string range = std::to_string(first) + "-" + std::to_string(last);
    std::chrono::milliseconds delay = options_.backoff;
    std::string last_error;
    for (unsigned attempt = 0; attempt <= options_.retries; ++attempt) {
      if (attempt > 0) {
        retries_.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::sleep_for(delay);
        delay *= 2;
      }
      *r = Response{};
      r->out = out;
      CURL* h = acquire();
      if (h == nullptr) return Status::IoError("'" + url_ + "': cannot create an HTTP handle");
      curl_slist* headers = nullptr;
      if (validate && !etag_.empty()) headers = curl_slist_append(headers, ("If-Match: " + etag_).c_str());
      if (validate && etag_.empty() && !last_modified_.empty()) {
        headers = curl_slist_append(headers, ("If-Unmodified-Since: " + last_modified_).c_str());
      }
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
      curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
      curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
      requests_.fetch_add(1, std::memory_order_relaxed);
      const CURLcode code = curl_easy_perform(h);
      curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
      curl_slist_free_all(headers);
      bytes_.fetch_add(r->received, std::memory_order_relaxed);
      char* effective = nullptr;
      curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective);
      const std::string where = "'" + url_ + "' bytes " + range;
      release(h, code == CURLE_OK || code == CURLE_WRITE_ERROR);

      if (code == CURLE_WRITE_ERROR && r->wrong_status) {
        // The caller decides what these mean (no range support, a changed object).
        if (r->status == 200 || r->status == 412 || r->status == 416) return Status::Ok();
        if (transient_status(r->status)) {
          last_error = "HTTP " + std::to_string(r->status);
          continue;
        }
        return http_error(where, r->status);
      }
      if (code == CURLE_WRITE_ERROR && r->overflow) {
        return Status::IoError(where + ": the server sent more than the range asked for");
      }
      if (code != CURLE_OK) {
        last_error = curl_easy_strerror(code);
        if (transient_curl_error(code)) continue;
        return Status::IoError(where + ": " + last_error);
      }
      if (r->status == 206) {
        if (r->received != out.size()) {
          last_error = "short answer: " + std::to_string(r->received) + " of " + std::to_string(out.size()) + " bytes";
          continue;
        }
        return Status::Ok();
      }
      if (r->status == 200 || r->status == 412 || r->status == 416) return Status::Ok();
      if (transient_status(r->status)) {
        last_error = "HTTP " + std::to_string(r->status);
        continue;
      }
      return http_error(where, r->status);
    }
    return Status::IoError("'" + url_ + "' bytes " + range + ": " + last_error + " (gave up after " +
                           std::to_string(options_.retries + 1) + " attempts)");
  }

  Status http_error(const std::string& where, long status) const {
    std::string why;
    if (status == 401 || status == 403) why = " (credentials missing or refused: see --auth-file / UDISC_HTTP_AUTH)";
    if (status == 404 || status == 410) return Status::NotFound(where + ": HTTP " + std::to_string(status) + " (not found)");
    return Status::IoError(where + ": HTTP " + std::to_string(status) + why);
  }

  Status changed_error() const {
    return Status::IoError("'" + url_ + "' changed on the server since it was opened (" + validator() +
                           "); reads are refused so that no disc mixes two versions");
  }

  std::string validator() const {
    if (!etag_.empty()) return "ETag " + etag_;
    if (!last_modified_.empty()) return "Last-Modified " + last_modified_;
    return "no validator; size " + std::to_string(size_);
  }

  CURL* acquire() {
    std::unique_lock lock(pool_mutex_);
    pool_cv_.wait(lock, [&] { return !idle_.empty() || open_handles_ < std::max(1u, options_.max_connections); });
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return h;
    }
    CURL* h = curl_easy_init();
    if (h == nullptr) return nullptr;
    ++open_handles_;
    lock.unlock();
    configure(h);
    return h;
  }

  void release(CURL* h, bool reusable) {
    std::lock_guard lock(pool_mutex_);
    if (reusable) {
      idle_.push_back(h);
    } else {
      curl_easy_cleanup(h);  // a broken connection is not reused
      --open_handles_;
    }
    pool_cv_.notify_one();
  }

  void configure(CURL* h) const {
    curl_easy_setopt(h, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_pem.empty()) {
      // CURLOPT_CAINFO_BLOB copies the blob (CURL_BLOB_COPY).
      curl_blob blob{const_cast<char*>(options_.ca_pem.data()), options_.ca_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    } else if (!options_.ca_file.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "udisc");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, nullptr);  // identity: ranges of the stored bytes
    switch (options_.credentials.kind) {
      case Credentials::Kind::bearer:
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, options_.credentials.token.c_str());
        break;
      case Credentials::Kind::basic:
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, options_.credentials.user.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, options_.credentials.password.c_str());
        break;
      case Credentials::Kind::none:
        break;
    }
  }

  const std::string url_;
  const HttpOptions options_;
  uint64_t size_ = 0;
  std::string etag_;
  std::string last_modified_;
  std::atomic<bool> changed_{false};
  std::atomic<uint64_t> requests_{0}, bytes_{0}, retries_{0}, disk_hits_{0};
  std::unique_ptr<DiskCache> disk_;  // before cache_: its fetcher uses disk_
  std::unique_ptr<BlockCache> cache_;

  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<CURL*> idle_;
  unsigned open_handles_ = 0;

  friend class HttpFile;
};

HttpFile::HttpFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpFile::~HttpFile() = default;

Result<std::shared_ptr<HttpFile>> HttpFile::open(const std::string& url, const HttpOptions& options) {
  global_init();
  if (!is_url(url)) return Status::InvalidArgument("'" + url + "' is not an http:// or https:// URL");
  {
    CURLU* u = curl_url();
    char* user = nullptr;
    const bool parsed = u != nullptr && curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK;
    const bool has_user = parsed && curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK && user != nullptr;
    curl_free(user);
    curl_url_cleanup(u);
    if (!parsed) return Status::InvalidArgument("'" + url + "' is not a valid URL");
    if (has_user) {
      return Status::InvalidArgument(
          "credentials in a URL are visible to every user of this machine; put them in a file for --auth-file "
          "(or UDISC_HTTP_AUTH) and give the URL without them");
    }
  }
  auto impl = std::make_unique<Impl>(url, options);
  if (Status s = impl->probe(); !s.ok()) return s;
  return std::shared_ptr<HttpFile>(new HttpFile(std::move(impl)));
}

Status HttpFile::revalidate() const {
  if (impl_->changed_.load()) return Status::Ok();
  std::vector<uint8_t> one(1);
  Status s = impl_->fetch(0, one);
  return impl_->changed_.load() ? Status::Ok() : s;
}

uint64_t HttpFile::size() const { return impl_->size_; }
const std::string& HttpFile::name() const { return impl_->url_; }
bool HttpFile::changed() const { return impl_->changed_.load(); }
std::string HttpFile::validator() const { return impl_->validator(); }

Status HttpFile::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (impl_->changed_.load()) return impl_->changed_error();
  return impl_->cache_->read(offset, out);
}

HttpStats HttpFile::stats() const {
  HttpStats s;
  s.requests = impl_->requests_.load();
  s.bytes_received = impl_->bytes_.load();
  s.retries = impl_->retries_.load();
  s.cache = impl_->cache_->stats();
  s.disk_hits = impl_->disk_hits_.load();
  s.disk_stored = impl_->disk_ ? impl_->disk_->stored_bytes() : 0;
  return s;
}

}  // namespace udisc::remote
