#include "remote/http_file.h"

#include "remote/http_file_impl.h"

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

namespace {

// HttpFile::Impl over libcurl: a pool of easy handles, reused so that TLS
// and TCP connections persist.
class CurlImpl final : public HttpFile::Impl {
 public:
  using HttpFile::Impl::Impl;

  ~CurlImpl() override {
    stop();  // the prefetchers before the handles
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }

 protected:
  Attempt attempt(const std::string& range, const std::vector<std::string>& extra, std::span<uint8_t> out) override {
    Response r;
    r.out = out;
    Attempt a;
    CURL* h = acquire();
    if (h == nullptr) {
      a.error = "cannot create an HTTP handle";
      return a;
    }
    curl_slist* headers = nullptr;
    for (const std::string& line : extra) headers = curl_slist_append(headers, line.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    const CURLcode code = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);
    release(h, code == CURLE_OK || code == CURLE_WRITE_ERROR);
    a.headers = r;
    a.received = r.received;
    // A write error is ours: a body that is not the range (the status tells), or too much of it.
    if (code == CURLE_WRITE_ERROR && r.wrong_status) return a;
    if (code == CURLE_WRITE_ERROR && r.overflow) {
      a.overflow = true;
    } else if (code != CURLE_OK) {
      a.error = curl_easy_strerror(code);
      a.transient = transient_curl_error(code);
    }
    return a;
  }

 private:
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

  std::mutex pool_mutex_;
  std::condition_variable pool_cv_;
  std::vector<CURL*> idle_;
  unsigned open_handles_ = 0;
};

}  // namespace

Result<std::unique_ptr<HttpFile::Impl>> make_http_impl(const std::string& url, const HttpOptions& options) {
  global_init();
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
  return std::unique_ptr<HttpFile::Impl>(std::make_unique<CurlImpl>(url, options));
}

}  // namespace udisc::remote
