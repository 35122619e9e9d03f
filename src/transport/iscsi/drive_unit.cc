#include <utility>

#include "transport/iscsi/logical_unit.h"

namespace udisc::iscsi {
namespace {

class DriveUnit final : public LogicalUnit {
 public:
  explicit DriveUnit(std::shared_ptr<device::Drive> drive) : drive_(std::move(drive)) {}
  device::Response execute(const device::Request& request) override { return drive_->execute(request); }
  std::optional<device::Asc> pending_unit_attention(device::InitiatorId initiator) const override {
    return drive_->pending_unit_attention(initiator);
  }
  void logical_unit_reset() override { drive_->logical_unit_reset(); }
  void initiator_gone(device::InitiatorId initiator) override { drive_->initiator_gone(initiator); }

 private:
  std::shared_ptr<device::Drive> drive_;
};

}  // namespace

std::shared_ptr<LogicalUnit> make_drive_unit(std::shared_ptr<device::Drive> drive) {
  return std::make_shared<DriveUnit>(std::move(drive));
}

}  // namespace udisc::iscsi
