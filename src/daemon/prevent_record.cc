#include "daemon/prevent_record.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "daemon/state.h"

namespace udisc::daemon {
namespace {

constexpr uint8_t kPreventAllowMediumRemoval = 0x1E;
// A record holds a few initiator ids; anything longer is not ours.
constexpr size_t kMaxRecordBytes = 4096;

}  // namespace

Result<PreventHolders> load_prevent_record(const std::string& path) {
  auto data = read_own_file(path, kMaxRecordBytes, "lock record");
  if (!data.ok()) {
    if (data.status().code() == Status::Code::not_found) return PreventHolders{};
    return data.status();
  }
  const nlohmann::json j = nlohmann::json::parse(*data, nullptr, false);
  if (!j.is_object() || !j.contains("prevent") || !j["prevent"].is_array()) {
    return Status::Corruption("lock record '" + path + "': expected {\"prevent\": [initiator ids]}");
  }
  PreventHolders holders;
  for (const auto& id : j["prevent"]) {
    if (!id.is_number_unsigned()) {
      return Status::Corruption("lock record '" + path + "': field \"prevent\" holds '" + id.dump() +
                                "', not an initiator id");
    }
    holders.insert(id.get<device::InitiatorId>());
  }
  return holders;
}

Status save_prevent_record(const std::string& path, const PreventHolders& holders) {
  if (holders.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return Status::IoError("removing lock record '" + path + "': " + std::strerror(errno));
    }
    return Status::Ok();
  }
  return replace_file(path, nlohmann::json{{"prevent", holders}}.dump() + "\n");
}

Status replay_prevent(device::Drive& drive, device::InitiatorId initiator) {
  // SPC-5 6.13: PREVENT field (byte 4, bits 1-0) = 01b, prevent removal.
  const std::array<uint8_t, 6> cdb = {kPreventAllowMediumRemoval, 0, 0, 0, 0x01, 0};
  device::Request request;
  request.cdb = cdb;
  request.initiator = initiator;
  // A new engine reports its pending unit attentions first (one per command).
  for (int attempt = 0; attempt < 16; ++attempt) {
    const bool attention = drive.has_unit_attention(initiator);
    if (drive.execute(request).status == device::ScsiStatus::good) return Status::Ok();
    if (!attention) break;
  }
  return Status::IoError("the drive did not accept PREVENT ALLOW MEDIUM REMOVAL from initiator " +
                         std::to_string(initiator));
}

PreventKeeper::PreventKeeper(std::shared_ptr<device::Drive> drive, std::string path, PreventHolders holders,
                             std::function<void(const std::string&)> log)
    : drive_(std::move(drive)), path_(std::move(path)), holders_(std::move(holders)), log_(std::move(log)) {}

device::Response PreventKeeper::execute(const device::Request& request) {
  device::Response response = drive_->execute(request);
  const bool prevent_done = !request.cdb.empty() && request.cdb[0] == kPreventAllowMediumRemoval &&
                            request.cdb.size() > 4 && response.status == device::ScsiStatus::good;
  // Every other command (each read of a mounted disc) changes the record only
  // when the engine dropped its lock: no copy of the holders on that path.
  if (!prevent_done && (holders_.empty() || drive_->status().locked)) return response;
  PreventHolders now = holders_;
  if (prevent_done) {
    if (request.cdb[4] & 0x01) {
      now.insert(request.initiator);
    } else {
      now.erase(request.initiator);
    }
  }
  // The engine drops every lock on its own too (a forced eject, a reset).
  if (!now.empty() && !drive_->status().locked) now.clear();
  if (now != holders_) {
    holders_ = std::move(now);
    if (Status s = save_prevent_record(path_, holders_); !s.ok() && log_) {
      log_(s.message() + " (the drive's lock may not survive a restart of the daemon)");
    }
  }
  return response;
}

}  // namespace udisc::daemon
