// LogicalUnit: what the iSCSI target needs from a SCSI logical unit.
//
// The transport frames; the logical unit answers. In production each LUN is
// a device::Drive (make_drive_unit); tests substitute their own units. The
// Request/Response types are the engine's (device/drive.h), so the command
// boundary is identical for every transport.
//
// Thread safety: all methods may be called from any event-loop thread at
// once (device::Drive guards its state internally).
#pragma once

#include <memory>
#include <optional>

#include "device/drive.h"

namespace udisc::iscsi {

class LogicalUnit {
 public:
  virtual ~LogicalUnit() = default;
  virtual device::Response execute(const device::Request& request) = 0;
  // The unit attention `initiator`'s next command would be reported, left
  // pending (announced by Async Message, RFC 7143 11.9); nullopt if none.
  virtual std::optional<device::Asc> pending_unit_attention(device::InitiatorId initiator) const = 0;
  bool has_unit_attention(device::InitiatorId initiator) const {
    return pending_unit_attention(initiator).has_value();
  }
  virtual void logical_unit_reset() = 0;
  virtual void initiator_gone(device::InitiatorId initiator) = 0;
  // Whether reading its medium may wait on something slow (a network
  // server): every read then runs on a worker thread, never on an event
  // loop, so one slow medium cannot stall other connections' commands.
  virtual bool medium_may_block() const { return false; }
};

// Wraps a drive (drive_unit.cc; links udisc_device).
std::shared_ptr<LogicalUnit> make_drive_unit(std::shared_ptr<device::Drive> drive, bool medium_may_block = false);

}  // namespace udisc::iscsi
