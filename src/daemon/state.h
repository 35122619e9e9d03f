// The daemon's state file: which drives exist, who owns them, their identity
// and the image each holds, so a restarted daemon recreates them.
//
// The file is JSON (docs/control-protocol.md, "State file"). save_state()
// replaces it atomically: it writes "<path>.tmp", fsyncs, renames over
// <path> and fsyncs the folder, so a crash leaves either the old or the new
// file, never a torn one. load_state() of a missing file is an empty state;
// of an unreadable or malformed one, an error naming the file and the field.
// Pure values and functions; thread-safe.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "device/drive.h"
#include "util/status.h"

namespace udisc::daemon {

// Which file a descriptor referred to, so a reopened path can be checked to
// be the same file.
struct FileRecord {
  std::string ref;   // companion file: the name as written in the sheet; empty for the image itself
  std::string path;  // absolute path in the daemon's mount namespace (readlink of /proc/self/fd/N)
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  bool operator==(const FileRecord&) const = default;
};

struct ImageRecord {
  // An image the daemon fetches from a URL: the URL and, so that it comes
  // back after a restart, the caller's credentials and CA bundle (secrets:
  // the state file is root's only, mode 0600 in a 0700 folder). `image` and
  // `files` stay empty then.
  std::string url;
  std::string auth;    // "bearer ..." / "basic ..."; empty for none
  std::string ca_pem;  // extra CA bundle (PEM text); empty for none
  FileRecord image;               // the image or cue sheet
  std::vector<FileRecord> files;  // companion files, in the order the client sent them
  std::string format;             // reader name ("iso", "cue", ...)
  // Whether every path can be opened again after a restart (false for
  // deleted files, pipes, memfds: such a drive comes back empty).
  bool reopenable = false;
  bool operator==(const ImageRecord&) const = default;
};

struct DriveRecord {
  uint32_t number = 0;
  uid_t owner_uid = 0;
  gid_t owner_gid = 0;
  device::Identity identity;
  bool tray_open = false;
  std::optional<ImageRecord> image;
  bool operator==(const DriveRecord& o) const;
};

struct DaemonState {
  std::vector<DriveRecord> drives;  // sorted by number
  bool operator==(const DaemonState&) const = default;
};

nlohmann::json to_json(const DaemonState& state);
Result<DaemonState> state_from_json(const nlohmann::json& j, const std::string& name);

Status save_state(const DaemonState& state, const std::string& path);
Result<DaemonState> load_state(const std::string& path);

// Replaces the file at `path` with `data` as save_state() does (a temporary
// beside it, fsync, rename, fsync of the folder), in an existing folder.
Status replace_file(const std::string& path, const std::string& data);
// Reads a file of the daemon's own (open_own_file: no symlink, a regular file
// of the daemon's uid) of at most `max_bytes`. NotFound when it does not
// exist; other errors name `what` ("state file") and the path.
Result<std::string> read_own_file(const std::string& path, size_t max_bytes, const std::string& what);

}  // namespace udisc::daemon
