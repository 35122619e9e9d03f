#include "remote/http_headers.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace udisc::remote {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

void parse_header_line(std::string_view line, ResponseHeaders& headers) {
  if (line.substr(0, 5) == "HTTP/") {
    headers = ResponseHeaders{};
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return;
    std::string_view code = line.substr(sp + 1, 3);
    int value = 0;
    auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), value);
    if (code.size() == 3 && ec == std::errc() && end == code.data() + code.size()) headers.status = value;
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string_view key = trim(line.substr(0, colon));
  const std::string value(trim(line.substr(colon + 1)));
  if (iequals(key, "content-range")) headers.content_range = value;
  if (iequals(key, "etag")) headers.etag = value;
  if (iequals(key, "last-modified")) headers.last_modified = value;
  if (iequals(key, "accept-ranges")) headers.accept_ranges = value;
}

int64_t content_range_total(std::string_view value) {
  if (value.substr(0, 6) != "bytes ") return -1;
  const size_t slash = value.find('/');
  if (slash == std::string_view::npos) return -1;
  const std::string_view total = value.substr(slash + 1);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(total.data(), total.data() + total.size(), v);
  if (ec != std::errc() || end != total.data() + total.size() || total.empty()) return -1;
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return -1;
  return static_cast<int64_t>(v);
}

}  // namespace udisc::remote
