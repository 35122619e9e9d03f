// TcmuDrive with a device::Drive answering every command (kept apart from
// tcmu.cc so handler-only users do not link the engine).
#include "transport/tcmu/tcmu.h"

namespace udisc::tcmu {

namespace {
CommandHandler drive_handler(const std::shared_ptr<device::Drive>& drive) {
  return [drive](const device::Request& r) { return drive->execute(r); };
}
}  // namespace

Result<std::unique_ptr<TcmuDrive>> TcmuDrive::create(const TcmuConfig& config,
                                                     std::shared_ptr<device::Drive> drive) {
  if (!drive) return Status::InvalidArgument("tcmu drive " + config.name + ": no drive");
  auto d = create_with_handler(config, drive_handler(drive));
  if (d.ok()) (*d)->impl_drive(std::move(drive));
  return d;
}

Result<std::unique_ptr<TcmuDrive>> TcmuDrive::adopt(const ExistingTcmuDevice& existing,
                                                    std::shared_ptr<device::Drive> drive,
                                                    const TcmuConfig& config) {
  if (!drive) return Status::InvalidArgument("tcmu drive " + existing.name + ": no drive");
  auto d = adopt_with_handler(existing, drive_handler(drive), config);
  if (d.ok()) (*d)->impl_drive(std::move(drive));
  return d;
}

}  // namespace udisc::tcmu
