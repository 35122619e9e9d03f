// The Windows service's drive table: the control protocol's operations
// (docs/control-protocol.md, same JSON lines as the Linux daemon) on drives
// that reach Windows through the loopback target (drive_host.h) and the
// in-box iSCSI initiator (attach.h, initiator.h).
//
// Socket- and pipe-free, and with no Windows header, so the tests drive it
// directly on Linux and under Wine; service.cc puts the named pipe in front.
//
// Ownership: a drive belongs to the user SID that created it. Only its owner
// or an administrator may insert, eject, remove it; everyone may list
// (without the paths of other users' images).
//
// State: every change is saved to the state file (atomically: a temporary
// file renamed over it). restore() recreates the drives after a reboot or a
// crash, reopening each image through the injected reopener, and logs the
// initiator in again; sessions a crashed run left are logged out first.
//
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/protocol.h"
#include "daemon/windows/attach.h"
#include "daemon/windows/drive_host.h"
#include "daemon/windows/initiator.h"
#include "formats/file.h"
#include "formats/open.h"

namespace udisc::win {

// Who is calling, as the pipe established it (never from the request).
struct Caller {
  std::string sid;   // "S-1-5-21-..."
  std::string name;  // "DOMAIN\user", for messages
  bool admin = false;
};

// An image the client opened with its own rights and whose handles the
// service duplicated: the main file (image or cue sheet) and the files the
// sheet names, by the name written in the sheet.
struct ReceivedImage {
  std::string path;  // the client's path, for messages and the state file
  std::shared_ptr<formats::RandomAccessFile> main;
  std::map<std::string, std::shared_ptr<formats::RandomAccessFile>> companions;
  std::map<std::string, std::string> companion_paths;  // ref -> path, for the state file
};

struct RecordedImage {
  std::string path;
  std::map<std::string, std::string> companion_paths;
};

// Opens a recorded image again after a restart (service.cc: as the service,
// checking the files are the ones recorded).
using ImageReopener = std::function<Result<ReceivedImage>(const RecordedImage& image, const std::string& owner_sid)>;

struct ServiceOptions {
  std::string state_path;  // empty: nothing survives a restart
  size_t max_drives = 16;
  size_t max_drives_per_user = 8;
  AttachOptions attach;
  std::function<void(const std::string&)> log;
  // Replaces `to` with `from` atomically. Default: std::filesystem::rename
  // (POSIX rename); the Windows service passes MoveFileExW with
  // MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH, because the C
  // runtime's rename never replaces an existing file.
  std::function<Status(const std::string& from, const std::string& to)> replace_file;
};

class ServiceController {
 public:
  ServiceController(ServiceOptions options, Initiator& initiator, DriveHost& host, ImageReopener reopen);
  ~ServiceController();
  ServiceController(const ServiceController&) = delete;
  ServiceController& operator=(const ServiceController&) = delete;

  // Loads the state file and brings every drive back. Per-drive failures are
  // kept on the drive ("attach_error"); fails only when the state file exists
  // and cannot be read.
  Status restore();

  // One request line (with `image` when the request carries one) → one reply
  // line with its newline. Never throws.
  std::string handle_line(std::string_view line, const Caller& who, std::optional<ReceivedImage> image);

  // Service stop: logs every drive out (Windows removes the devices), keeps
  // the state file so the next start brings them back.
  void shutdown();

  size_t drive_count() const { return drives_.size(); }

 private:
  struct Entry;
  using Reply = std::pair<std::optional<daemon::ErrorCode>, nlohmann::json>;

  Reply dispatch(const daemon::Request& req, const Caller& who, std::optional<ReceivedImage> image);
  Reply create_drive(const daemon::Request& req, const Caller& who, std::optional<ReceivedImage> image);
  Reply op_insert(const daemon::Request& req, const Caller& who, std::optional<ReceivedImage> image);
  Reply op_eject(const daemon::Request& req, const Caller& who);
  Reply op_remove(const daemon::Request& req, const Caller& who);
  Reply op_set_identity(const daemon::Request& req, const Caller& who);
  Entry* find(const daemon::DriveRef& ref, const Caller& who, bool for_change, Reply* error);
  Status bring_up(Entry& e);
  nlohmann::json drive_json(const Entry& e, const Caller& who) const;
  void persist();
  void log(const std::string& line) const;

  ServiceOptions options_;
  Initiator& initiator_;
  DriveHost& host_;
  ImageReopener reopen_;
  std::map<uint32_t, std::unique_ptr<Entry>> drives_;
};

}  // namespace udisc::win
