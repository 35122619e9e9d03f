#include "remote/url_reference.h"

#include <algorithm>
#include <sstream>
#include <vector>

#include "remote/http_file.h"

namespace udisc::remote {

Result<std::string> resolve_reference(const std::string& base, const std::string& ref) {
  std::string relative = ref;
  std::replace(relative.begin(), relative.end(), '\\', '/');
  std::string encoded;
  for (unsigned char c : relative) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("cannot resolve '" + ref + "' against '" + base + "': a control character");
    }
    if (c > 0x20 && c < 0x7f) {
      encoded += static_cast<char>(c);
    } else {
      static const char hex[] = "0123456789abcdef";  // libcurl's case
      encoded += {'%', hex[c >> 4], hex[c & 15]};
    }
  }
  if (is_url(encoded)) return encoded;
  const size_t scheme_end = base.find("://");
  if (scheme_end == std::string::npos) return Status::InvalidArgument("cannot resolve '" + ref + "' against '" + base + "'");
  const size_t path_start = base.find('/', scheme_end + 3);
  const std::string origin = base.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : base.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  if (!encoded.empty() && encoded[0] == '/') {
    path = encoded;
  } else {
    path = path.substr(0, path.rfind('/') + 1) + encoded;
  }
  // remove_dot_segments
  std::vector<std::string> out;
  std::stringstream segments(path.substr(1));
  std::string segment;
  bool trailing = false;
  while (std::getline(segments, segment, '/')) {
    trailing = segment == "." || segment == "..";
    if (segment == ".") continue;
    if (segment == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(segment);
  }
  std::string result = origin;
  for (const std::string& s : out) result += "/" + s;
  if (out.empty() || trailing || path.back() == '/') result += "/";
  return result;
}

}  // namespace udisc::remote
