// The medium-removal lock a host holds on a drive (PREVENT ALLOW MEDIUM
// REMOVAL, SPC-5 6.13), kept in a small file so that it outlives the daemon.
//
// Why: Linux's sr driver sends PREVENT when /dev/srN is first opened (a
// mounted file system, a program reading the disc) and ALLOW on the last
// close, and nothing in between. A daemon restarted under a mounted drive
// (kill -9, SIGTERM, an upgrade) takes the kernel's device over with a new
// engine; the kernel does not send PREVENT again, so without the record the
// new engine would believe the drive unlocked and `udisc eject` of a mounted
// disc would no longer be refused.
//
// What: per drive, the initiators (I_T nexus, as the engine models them)
// holding PREVENT, kept in step with the engine by PreventKeeper after every
// command the host sends, and written before the command's status goes back
// (so a kill -9 at any moment leaves the record the host last saw
// acknowledged). A new engine gets the lock back with replay_prevent(), the
// command the host sent, before it serves the host again.
//
// The TCMU backend keeps the records in /run/udisc (tmpfs): the lock belongs
// to the kernel's device, which a reboot removes too; a drive attached anew
// (not taken over) starts with none.
//
// Thread safety: the free functions are plain; a PreventKeeper is used by one
// thread at a time (the drive's serving thread).
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "device/drive.h"
#include "util/status.h"

namespace udisc::daemon {

using PreventHolders = std::set<device::InitiatorId>;

// The holders recorded at `path` (a missing file: none). A record that is not
// one (malformed, too large, not a regular file of the daemon's user) is an
// error naming the file.
Result<PreventHolders> load_prevent_record(const std::string& path);
// Replaces the record at `path` (atomically); no holders removes the file.
Status save_prevent_record(const std::string& path, const PreventHolders& holders);

// Sends PREVENT ALLOW MEDIUM REMOVAL with PREVENT=1 to `drive` as `initiator`,
// as the host did before the restart (a unit attention the new engine still
// has pending for it is consumed on the way).
Status replay_prevent(device::Drive& drive, device::InitiatorId initiator);

// Follows one drive's lock: after each command the host sent, note() updates
// the holders from a successful PREVENT ALLOW MEDIUM REMOVAL and from the
// engine (a forced eject or a reset releases every lock) and saves the record
// when they changed. A record that cannot be written is reported to `log`
// (the lock then may not survive a restart; serving goes on).
class PreventKeeper {
 public:
  PreventKeeper(std::shared_ptr<device::Drive> drive, std::string path, PreventHolders holders,
                std::function<void(const std::string&)> log);

  // Runs `request` on the drive and keeps the record in step.
  device::Response execute(const device::Request& request);

  const PreventHolders& holders() const { return holders_; }

 private:
  std::shared_ptr<device::Drive> drive_;
  std::string path_;
  PreventHolders holders_;
  std::function<void(const std::string&)> log_;
};

}  // namespace udisc::daemon
