// HttpFile where the build has no HTTP client library (the Windows build:
// Debian ships no mingw-w64 libcurl). Every URL is refused with a clear
// error; paths work as everywhere.
#include "remote/http_file.h"

namespace udisc::remote {

class HttpFile::Impl {};

namespace {
Status unavailable(const std::string& url) {
  return Status::NotSupported("'" + url + "': this build of udisc cannot read images from URLs (no HTTP client); "
                              "download the image and give its path");
}
}  // namespace

Result<std::string> resolve_url(const std::string& base, const std::string& ref) {
  return unavailable(base + " + " + ref);
}

HttpFile::HttpFile(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpFile::~HttpFile() = default;
Result<std::shared_ptr<HttpFile>> HttpFile::open(const std::string& url, const HttpOptions&) {
  return unavailable(url);
}
uint64_t HttpFile::size() const { return 0; }
Status HttpFile::read_at(uint64_t, std::span<uint8_t>) const { return unavailable(""); }
const std::string& HttpFile::name() const {
  static const std::string none;
  return none;
}
bool HttpFile::changed() const { return false; }
Status HttpFile::revalidate() const { return Status::Ok(); }
std::string HttpFile::validator() const { return "none"; }
HttpStats HttpFile::stats() const { return {}; }

}  // namespace udisc::remote
