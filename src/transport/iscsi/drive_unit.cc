#include <array>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "transport/iscsi/logical_unit.h"

namespace udisc::iscsi {
namespace {

// A new I_T nexus gets no power-on unit attention (29/00), as with LIO, the
// Linux kernel's own target: the engine queues one for every initiator it has
// not seen, and Linux's sr driver fails any command that meets a unit
// attention on a removable device as a medium change and then refuses the
// mounted disc. An initiator that logs in again — after a dropped connection,
// or after `udisc serve` was restarted — would lose its mounted file system.
// Unit attentions queued later (medium change 28/00, logical unit reset
// 29/00) are reported as before.
class DriveUnit final : public LogicalUnit {
 public:
  explicit DriveUnit(std::shared_ptr<device::Drive> drive) : drive_(std::move(drive)) {}
  device::Response execute(const device::Request& request) override {
    settle_new_nexus(request.initiator);
    return drive_->execute(request);
  }
  std::optional<device::Asc> pending_unit_attention(device::InitiatorId initiator) const override {
    settle_new_nexus(initiator);
    return drive_->pending_unit_attention(initiator);
  }
  void logical_unit_reset() override { drive_->logical_unit_reset(); }
  void initiator_gone(device::InitiatorId initiator) override {
    {
      std::lock_guard lock(mu_);
      settled_.erase(initiator);
    }
    drive_->initiator_gone(initiator);
  }

 private:
  // Consumes, as the initiator (REQUEST SENSE, SPC-5 6.39), the power-on unit
  // attention the engine queues when it first meets `initiator`.
  void settle_new_nexus(device::InitiatorId initiator) const {
    std::lock_guard lock(mu_);
    if (!settled_.insert(initiator).second) return;
    const auto pending = drive_->pending_unit_attention(initiator);
    if (!pending || pending->asc != 0x29 || pending->ascq != 0x00) return;
    std::array<uint8_t, 252> sense{};
    std::span<uint8_t> segment(sense);
    const uint8_t request_sense[6] = {0x03, 0, 0, 0, 252, 0};
    device::Request r;
    r.cdb = request_sense;
    r.direction = device::DataDirection::from_device;
    r.expected_transfer_length = 252;
    r.data_in = std::span<const std::span<uint8_t>>(&segment, 1);
    r.initiator = initiator;
    drive_->execute(r);
  }

  std::shared_ptr<device::Drive> drive_;
  mutable std::mutex mu_;
  mutable std::unordered_set<device::InitiatorId> settled_;
};

}  // namespace

std::shared_ptr<LogicalUnit> make_drive_unit(std::shared_ptr<device::Drive> drive) {
  return std::make_shared<DriveUnit>(std::move(drive));
}

}  // namespace udisc::iscsi
