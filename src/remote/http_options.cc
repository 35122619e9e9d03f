// The portable part of http_file.h: recognising URLs and reading
// credentials (no libcurl, so the Windows build has it too).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "remote/http_file.h"

namespace udisc::remote {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

bool is_url(std::string_view location) {
  auto starts = [&](std::string_view scheme) {
    if (location.size() < scheme.size()) return false;
    for (size_t i = 0; i < scheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(location[i])) != scheme[i]) return false;
    }
    return true;
  };
  return starts("http://") || starts("https://");
}

Result<Credentials> load_credentials(const std::string& path) {
  std::string text;
  std::string where;
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) return Status::NotFound("credentials file '" + path + "': " + std::strerror(errno));
    std::getline(in, text);
    where = "credentials file '" + path + "', line 1";
  } else if (const char* env = std::getenv("UDISC_HTTP_AUTH"); env != nullptr && *env != '\0') {
    text = env;
    where = "UDISC_HTTP_AUTH";
  } else {
    return Credentials{};
  }
  return parse_credentials(text, where);
}

Result<Credentials> parse_credentials(std::string_view line, const std::string& where) {
  const std::string text = trim(std::string(line));
  const size_t sp = text.find(' ');
  const std::string kind = lower(text.substr(0, sp));
  const std::string rest = sp == std::string::npos ? "" : trim(text.substr(sp + 1));
  Credentials c;
  if (kind == "bearer" && !rest.empty()) {
    c.kind = Credentials::Kind::bearer;
    c.token = rest;
    return c;
  }
  const size_t colon = rest.find(':');
  if (kind == "basic" && colon != std::string::npos && colon > 0) {
    c.kind = Credentials::Kind::basic;
    c.user = rest.substr(0, colon);
    c.password = rest.substr(colon + 1);
    return c;
  }
  return Status::InvalidArgument(where + ": expected \"bearer TOKEN\" or \"basic USER:PASSWORD\"");
}

std::string credentials_line(const Credentials& credentials) {
  switch (credentials.kind) {
    case Credentials::Kind::bearer:
      return "bearer " + credentials.token;
    case Credentials::Kind::basic:
      return "basic " + credentials.user + ":" + credentials.password;
    case Credentials::Kind::none:
      break;
  }
  return "";
}

}  // namespace udisc::remote
