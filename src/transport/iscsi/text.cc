#include "transport/iscsi/text.h"

#include <cctype>

namespace udisc::iscsi {

Result<KeyValues> parse_text(std::span<const uint8_t> data) {
  if (data.size() > kMaxTextLength) return Status::InvalidArgument("text data of " + std::to_string(data.size()) + " bytes is too long");
  KeyValues out;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = pos;
    while (end < data.size() && data[end] != 0) ++end;
    if (end == pos) {  // padding NULs
      ++pos;
      continue;
    }
    std::string pair(reinterpret_cast<const char*>(data.data() + pos), end - pos);
    const size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("text pair " + std::to_string(out.size() + 1) + " '" + pair.substr(0, 64) + "' has no key=value form");
    }
    if (eq > kMaxKeyLength) return Status::InvalidArgument("text key '" + pair.substr(0, 64) + "...' is longer than 63 bytes");
    if (pair.size() - eq - 1 > kMaxValueLength) {
      return Status::InvalidArgument("value of key '" + pair.substr(0, eq) + "' is longer than " + std::to_string(kMaxValueLength) + " bytes");
    }
    out.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    pos = end + 1;
  }
  return out;
}

void append_text(std::vector<uint8_t>& out, const std::string& key, const std::string& value) {
  out.insert(out.end(), key.begin(), key.end());
  out.push_back('=');
  out.insert(out.end(), value.begin(), value.end());
  out.push_back(0);
}

std::vector<uint8_t> render_text(const KeyValues& kv) {
  std::vector<uint8_t> out;
  for (const auto& [k, v] : kv) append_text(out, k, v);
  return out;
}

bool parse_number(const std::string& value, uint64_t& out) {
  if (value.empty() || value.size() > 20) return false;
  uint64_t v = 0;
  if (value.size() > 2 && value[0] == '0' && (value[1] == 'x' || value[1] == 'X')) {
    if (value.size() > 18) return false;
    for (size_t i = 2; i < value.size(); ++i) {
      const int c = std::tolower(static_cast<unsigned char>(value[i]));
      int d;
      if (c >= '0' && c <= '9') d = c - '0';
      else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
      else return false;
      v = v << 4 | static_cast<uint64_t>(d);
    }
  } else {
    for (char ch : value) {
      if (ch < '0' || ch > '9') return false;
      const uint64_t next = v * 10 + static_cast<uint64_t>(ch - '0');
      if (next / 10 != v) return false;
      v = next;
    }
  }
  out = v;
  return true;
}

static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool decode_binary(const std::string& value, std::vector<uint8_t>& out) {
  out.clear();
  if (value.size() < 3 || value[0] != '0') return false;
  if (value[1] == 'x' || value[1] == 'X') {
    std::string hex = value.substr(2);
    if (hex.size() % 2) hex.insert(hex.begin(), '0');
    for (size_t i = 0; i < hex.size(); i += 2) {
      int hi = std::isxdigit(static_cast<unsigned char>(hex[i])) ? std::stoi(hex.substr(i, 1), nullptr, 16) : -1;
      int lo = std::isxdigit(static_cast<unsigned char>(hex[i + 1])) ? std::stoi(hex.substr(i + 1, 1), nullptr, 16) : -1;
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    return true;
  }
  if (value[1] == 'b' || value[1] == 'B') {
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 2; i < value.size(); ++i) {
      if (value[i] == '=') break;
      const int v = b64_value(value[i]);
      if (v < 0) return false;
      acc = acc << 6 | static_cast<uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<uint8_t>(acc >> bits));
      }
    }
    return !out.empty();
  }
  return false;
}

std::string encode_hex(std::span<const uint8_t> bytes) {
  static const char* digits = "0123456789abcdef";
  std::string s = "0x";
  for (uint8_t b : bytes) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

}  // namespace udisc::iscsi
