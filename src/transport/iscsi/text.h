// iSCSI text key=value lists (RFC 7143 6.1): "key=value" strings, each
// terminated by a NUL, in login and text PDU data segments.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace udisc::iscsi {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

inline constexpr size_t kMaxKeyLength = 63;       // RFC 7143 6.1
inline constexpr size_t kMaxValueLength = 8192;   // longest value we accept (CHAP_C/CHAP_R may be long)
inline constexpr size_t kMaxTextLength = 65536;   // whole text across continuation PDUs

// Parses a data segment; a trailing fragment without NUL is accepted as the
// last pair (some initiators omit the final NUL). Errors name the pair.
Result<KeyValues> parse_text(std::span<const uint8_t> data);
// Appends "key=value\0".
void append_text(std::vector<uint8_t>& out, const std::string& key, const std::string& value);
std::vector<uint8_t> render_text(const KeyValues& kv);

// RFC 7143 6.1: numbers are decimal or 0x-hex; binary values 0x.. hex or 0b.. base64.
bool parse_number(const std::string& value, uint64_t& out);
bool decode_binary(const std::string& value, std::vector<uint8_t>& out);
std::string encode_hex(std::span<const uint8_t> bytes);

}  // namespace udisc::iscsi
