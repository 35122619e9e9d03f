// Fuzzes the response-header parsing of remote/: header lines and
// Content-Range values from an untrusted server, and URL resolution of
// companion names an untrusted image writes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "remote/http_file.h"
#include "remote/http_headers.h"
#include "remote/url_reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  udisc::remote::ResponseHeaders headers;
  size_t start = 0;
  while (start <= input.size()) {
    size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    udisc::remote::parse_header_line(input.substr(start, end - start + (end < input.size() ? 1 : 0)), headers);
    start = end + 1;
  }
  (void)udisc::remote::content_range_total(headers.content_range);
  (void)udisc::remote::content_range_total(input);
  (void)udisc::remote::resolve_url("http://127.0.0.1/dir/disc.cue", std::string(input.substr(0, 300)));
  // The Windows build's resolver, without libcurl (url_reference.h).
  (void)udisc::remote::resolve_reference("http://127.0.0.1/dir/disc.cue", std::string(input.substr(0, 300)));
  return 0;
}
