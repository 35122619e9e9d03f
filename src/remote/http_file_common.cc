// HttpFile's portable half (http_file_impl.h): what the object is, how ranges
// are validated and retried, and the public methods; the platform file sends
// the requests.
#include <thread>

#include "remote/http_file_impl.h"

namespace udisc::remote {
namespace {

bool transient_status(long status) { return status == 429 || (status >= 500 && status <= 599); }

Status http_error(const std::string& where, long status) {
  std::string why;
  if (status == 401 || status == 403) why = " (credentials missing or refused: see --auth-file / UDISC_HTTP_AUTH)";
  if (status == 404 || status == 410) return Status::NotFound(where + ": HTTP " + std::to_string(status) + " (not found)");
  return Status::IoError(where + ": HTTP " + std::to_string(status) + why);
}

}  // namespace

HttpFile::Impl::Impl(std::string url, HttpOptions options) : url_(std::move(url)), options_(std::move(options)) {}
HttpFile::Impl::~Impl() = default;

Status HttpFile::Impl::probe() {
  std::vector<uint8_t> one(1);
  ResponseHeaders r;
  Status s = request(0, 0, one, &r, /*validate=*/false);
  if (!s.ok()) return s;
  if (r.status != 206) {
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

Status HttpFile::Impl::fetch(uint64_t offset, std::span<uint8_t> out) {
  if (changed_.load()) return changed_error();
  ResponseHeaders r;
  Status s = request(offset, offset + out.size() - 1, out, &r, /*validate=*/true);
  if (!s.ok()) return s;
  const int64_t total = content_range_total(r.content_range);
  if (r.status == 412 || r.status == 416 || (total >= 0 && static_cast<uint64_t>(total) != size_)) {
    changed_.store(true);
    return changed_error();
  }
  if (r.status != 206) {  // a 200: the whole object instead of the range, never read
    return Status::IoError("'" + url_ + "' bytes " + std::to_string(offset) + "-" +
                           std::to_string(offset + out.size() - 1) + ": the server answered HTTP " +
                           std::to_string(r.status) + " instead of the range");
  }
  return Status::Ok();
}

// One request with retries. Ok with answer->status set for a 206 of the full
// range, a 200, 412 or 416 (the caller decides what those mean); an error for
// everything else, naming the URL, range and cause.
Status HttpFile::Impl::request(uint64_t first, uint64_t last, std::span<uint8_t> out, ResponseHeaders* answer,
                               bool validate) {
  const std::string range = std::to_string(first) + "-" + std::to_string(last);
  const std::string where = "'" + url_ + "' bytes " + range;
  std::vector<std::string> headers;
  if (validate && !etag_.empty()) headers.push_back("If-Match: " + etag_);
  if (validate && etag_.empty() && !last_modified_.empty()) headers.push_back("If-Unmodified-Since: " + last_modified_);
  std::chrono::milliseconds delay = options_.backoff;
  std::string last_error;
  for (unsigned n = 0; n <= options_.retries; ++n) {
    if (n > 0) {
      retries_.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    requests_.fetch_add(1, std::memory_order_relaxed);
    Attempt a = attempt(range, headers, out);
    bytes_.fetch_add(a.received, std::memory_order_relaxed);
    *answer = a.headers;
    if (!a.error.empty()) {
      last_error = a.error;
      if (a.transient) continue;
      return Status::IoError(where + ": " + last_error);
    }
    if (a.overflow) return Status::IoError(where + ": the server sent more than the range asked for");
    const long status = answer->status;
    if (status == 206) {
      if (a.received != out.size()) {
        last_error = "short answer: " + std::to_string(a.received) + " of " + std::to_string(out.size()) + " bytes";
        continue;
      }
      return Status::Ok();
    }
    if (status == 200 || status == 412 || status == 416) return Status::Ok();
    if (transient_status(status)) {
      last_error = "HTTP " + std::to_string(status);
      continue;
    }
    return http_error(where, status);
  }
  return Status::IoError(where + ": " + last_error + " (gave up after " + std::to_string(options_.retries + 1) +
                         " attempts)");
}

Status HttpFile::Impl::changed_error() const {
  return Status::IoError("'" + url_ + "' changed on the server since it was opened (" + validator() +
                         "); reads are refused so that no disc mixes two versions");
}

std::string HttpFile::Impl::validator() const {
  if (!etag_.empty()) return "ETag " + etag_;
  if (!last_modified_.empty()) return "Last-Modified " + last_modified_;
  return "no validator; size " + std::to_string(size_);
}

HttpFile::HttpFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpFile::~HttpFile() = default;

Result<std::shared_ptr<HttpFile>> HttpFile::open(const std::string& url, const HttpOptions& options) {
  if (!is_url(url)) return Status::InvalidArgument("'" + url + "' is not an http:// or https:// URL");
  auto impl = make_http_impl(url, options);
  if (!impl.ok()) return impl.status();
  if (Status s = (*impl)->probe(); !s.ok()) return s;
  return std::shared_ptr<HttpFile>(new HttpFile(std::move(impl).value()));
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
