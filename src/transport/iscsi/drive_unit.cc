#include <utility>

#include "transport/iscsi/logical_unit.h"

namespace udisc::iscsi {
namespace {

class DriveUnit final : public LogicalUnit {
 public:
  DriveUnit(std::shared_ptr<device::Drive> drive, bool may_block)
      : drive_(std::move(drive)), may_block_(may_block) {}
  device::Response execute(const device::Request& request) override { return drive_->execute(request); }
  std::optional<device::Asc> pending_unit_attention(device::InitiatorId initiator) const override {
    return drive_->pending_unit_attention(initiator);
  }
  void logical_unit_reset() override { drive_->logical_unit_reset(); }
  void initiator_gone(device::InitiatorId initiator) override { drive_->initiator_gone(initiator); }
  bool medium_may_block() const override { return may_block_; }

 private:
  std::shared_ptr<device::Drive> drive_;
  bool may_block_;
};

}  // namespace

std::shared_ptr<LogicalUnit> make_drive_unit(std::shared_ptr<device::Drive> drive, bool medium_may_block) {
  return std::make_shared<DriveUnit>(std::move(drive), medium_may_block);
}

}  // namespace udisc::iscsi
