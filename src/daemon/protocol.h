// The control protocol of udisc's daemon (docs/control-protocol.md).
//
// Transport: a Unix stream socket. Each message is one JSON object on one
// line ("JSON lines"), at most kMaxMessageBytes including the newline.
// A request that carries an image sends the image's open descriptors
// (SCM_RIGHTS) with the request's bytes and says how many in "fds".
//
//   request: {"v":1, "id":<int|string>, "op":"<name>", ...arguments}
//   reply:   {"v":1, "id":<same>, "ok":true,  "result":{...}}
//            {"v":1, "id":<same>, "ok":false, "error":{"code":"<code>", "message":"<plain words>"}}
//
// parse_request() validates everything a handler relies on (types, ranges,
// string lengths) so handlers never see a malformed value; its errors name
// the offending field. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "device/drive.h"
#include "util/status.h"

namespace udisc::daemon {

inline constexpr int kProtocolVersion = 1;
inline constexpr size_t kMaxMessageBytes = size_t{64} * 1024;
// One image is at most a cue sheet plus 99 track files.
inline constexpr size_t kMaxImageFiles = 100;
inline constexpr size_t kMaxIdLength = 128;
inline constexpr size_t kMaxPathLength = 4096;
inline constexpr size_t kMaxUrlLength = 8192;
inline constexpr size_t kMaxAuthLength = 4096;
// A caller's CA bundle travels as PEM text inside the request line.
inline constexpr size_t kMaxCaPemBytes = size_t{48} * 1024;

enum class Op { hello, list, status, create, insert, mount, eject, remove, set_identity };
const char* to_string(Op op);

// Error codes of a reply ("error.code").
enum class ErrorCode {
  bad_request,          // malformed JSON, missing or wrong field
  unsupported_version,  // "v" is not a version this daemon speaks
  unknown_op,
  not_found,          // no such drive
  permission_denied,  // not the drive's owner (and not root)
  locked,             // a host holds PREVENT (e.g. a mounted file system); retry with force
  limit,              // too many drives
  bad_image,          // the descriptors received do not make an image
  unavailable,        // the backend cannot attach drives on this machine
  internal,
};
const char* to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view s);

// A drive named by number or by device node ("/dev/sr0").
struct DriveRef {
  std::optional<uint32_t> number;
  std::string device_node;
  std::string to_string() const;
};

// Identity fields to set; absent fields keep their value.
struct IdentitySpec {
  std::optional<std::string> vendor;      // <= 8 printable ASCII
  std::optional<std::string> product;     // <= 16
  std::optional<std::string> revision;    // <= 4
  std::optional<std::string> serial;      // <= 32
  std::optional<device::DriveKind> kind;  // "cd", "dvd" or "bd": the profiles and features reported
  void apply(device::Identity& identity) const;
};

// An image sent as descriptors: descriptor 0 is the image (or cue sheet);
// descriptor i+1 is the file the sheet names `files[i]` (as written in it).
// Or an image the daemon fetches from an http(s) URL (no descriptors, no
// files: a cue sheet's files resolve against its URL), with the caller's
// credentials and CA bundle as text: the daemon opens no path for a caller.
struct ImageSpec {
  std::string path;                // the client's path, for messages only
  std::vector<std::string> files;  // references of companion files
  std::string url;                 // http:// or https://; empty for descriptors
  std::string auth;                // "bearer TOKEN" / "basic USER:PASSWORD" (a secret: never echoed)
  std::string ca_pem;              // extra CA bundle (PEM text) for https
};

// `url` without its query and fragment (which may hold a signature), for
// the daemon's log.
std::string url_for_log(const std::string& url);
// Whether `url` may be fetched for a caller: http or https only, no spaces
// or control characters, no user@ part (credentials go in ImageSpec::auth).
Status check_image_url(const std::string& url);

struct Request {
  int version = kProtocolVersion;
  nlohmann::json id;  // integer or string, echoed in the reply
  Op op = Op::hello;
  std::optional<DriveRef> drive;
  std::optional<IdentitySpec> identity;
  std::optional<ImageSpec> image;
  bool force = false;
  size_t fds = 0;  // descriptors sent with the request
};

// A request that failed to parse: the error to reply and the id when known.
struct ParseError {
  ErrorCode code = ErrorCode::bad_request;
  std::string message;
  nlohmann::json id;  // null when the id itself is missing or invalid
};

std::variant<Request, ParseError> parse_request(std::string_view line);

// "cd" / "dvd" / "bd".
const char* to_string(device::DriveKind kind);
std::optional<device::DriveKind> drive_kind_from_string(std::string_view s);

// Validates one identity field (ASCII 0x20..0x7E, length limit).
Status check_identity_field(std::string_view field, std::string_view value, size_t max_length);

// Replies, serialised as one line (with the trailing newline).
std::string make_ok_reply(const nlohmann::json& id, nlohmann::json result);
std::string make_error_reply(const nlohmann::json& id, ErrorCode code, const std::string& message);

// Client side: builds a request object (without the trailing newline).
nlohmann::json make_request(Op op, int64_t id);

}  // namespace udisc::daemon
