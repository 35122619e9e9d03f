// Client side of the control protocol (used by the udisc CLI and tests).
//
// A Client is one connection; call() sends a request (adding "v" and "id")
// with optional descriptors and reads the reply with the same id. Transport
// failures are Status errors; a reply with "ok":false is a Reply whose
// `code` and `message` say what the daemon refused. Not thread-safe: one
// thread per Client.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "formats/companions.h"
#include "daemon/protocol.h"
#include "daemon/unix_socket.h"
#include "util/status.h"

namespace udisc::daemon {

struct Reply {
  bool ok = false;
  nlohmann::json result;                 // when ok
  ErrorCode code = ErrorCode::internal;  // when not ok
  std::string message;                   // when not ok
};

class Client {
 public:
  // NotFound (no daemon listens there: ENOENT / ECONNREFUSED) or IoError
  // (e.g. EACCES); `error_number` receives the errno.
  static Result<Client> connect(const std::string& socket_path, int* error_number = nullptr);
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}

  // `request` holds "op" and arguments; "v", "id" and "fds" are filled in.
  Result<Reply> call(nlohmann::json request, std::span<const int> fds = {});
  // Sends raw bytes and reads one reply line (tests of malformed input).
  Result<std::string> raw(std::string_view bytes, std::span<const int> fds = {});

  int fd() const { return fd_.get(); }

 private:
  Result<std::string> read_line();
  UniqueFd fd_;
  int64_t next_id_ = 1;
  std::string buffer_;
};

// The socket path: UDISC_SOCKET when set, else the default.
std::string default_socket_path();

// An image opened by the client with its own rights, ready to send: the
// "image" argument of a request and the descriptors to attach.
struct ImageToSend {
  nlohmann::json spec;        // {"path": ..., "files": [...]}
  std::vector<UniqueFd> fds;  // image first, then one per entry of files
  std::vector<int> raw_fds() const;
};
// Opens `path` (and, for a cue sheet, every file it names, resolved as the
// cue reader resolves them). Errors name the file and errno text.
// `extra`: files the user named (--parent, --password-file).
Result<ImageToSend> open_image_to_send(const std::string& path, const formats::ExtraCompanions& extra = {});

// The "image" argument for an http(s) URL the daemon fetches: no
// descriptors; the credentials from `auth_file` (or $UDISC_HTTP_AUTH) and
// the PEM text of `ca_file` (when given), both read here with the caller's
// rights. Errors name the file.
Result<nlohmann::json> url_image_spec(const std::string& url, const std::string& ca_file,
                                      const std::string& auth_file);

}  // namespace udisc::daemon
