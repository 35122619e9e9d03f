// Parsing what a web server says in its response headers. The input is
// untrusted (any server a user names, or anything in between): every
// function here accepts any bytes and has a fuzz target (http_headers_fuzzer.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace udisc::remote {

struct ResponseHeaders {
  long status = 0;  // of the last status line seen (after redirects, 100 Continue)
  std::string content_range;
  std::string etag;
  std::string last_modified;
  std::string accept_ranges;
};

// One header line as libcurl hands it over (with its CRLF). A status line
// ("HTTP/1.1 206 Partial Content") starts a new response and clears the
// headers of the previous one.
void parse_header_line(std::string_view line, ResponseHeaders& headers);

// The object size in a Content-Range value ("bytes 0-0/12345" -> 12345);
// -1 when the value is malformed or the size unknown ("*").
int64_t content_range_total(std::string_view value);

}  // namespace udisc::remote
