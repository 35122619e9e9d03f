// TcmuDrive with a device::Drive answering every command (kept apart from
// tcmu.cc so handler-only users do not link the engine).
#include <array>

#include "transport/tcmu/tcmu.h"

namespace udisc::tcmu {

namespace {
CommandHandler drive_handler(const std::shared_ptr<device::Drive>& drive) {
  return [drive](const device::Request& r) { return drive->execute(r); };
}
}  // namespace

// A drive rebuilt for a device the kernel already knows continues where the
// old one stopped: the host must see neither a power-on nor a medium change
// (a mounted file system would fail its next read). Consume, as the
// initiator, the unit attentions (REQUEST SENSE, SPC-5 6.39) and the media
// event (GET EVENT STATUS NOTIFICATION, MMC-6 6.6, polled, media class) that
// constructing the drive and inserting its image queued.
void settle_restored_drive(device::Drive& drive, device::InitiatorId initiator) {
  std::array<uint8_t, 252> buf{};
  std::span<uint8_t> seg(buf);
  const std::span<const std::span<uint8_t>> segs(&seg, 1);
  for (int i = 0; i < 16 && drive.has_unit_attention(initiator); ++i) {
    const uint8_t request_sense[6] = {0x03, 0, 0, 0, 252, 0};
    device::Request r;
    r.cdb = request_sense;
    r.direction = device::DataDirection::from_device;
    r.expected_transfer_length = 252;
    r.data_in = segs;
    r.initiator = initiator;
    drive.execute(r);
  }
  const uint8_t gesn[10] = {0x4A, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0};  // polled, media class
  device::Request r;
  r.cdb = gesn;
  r.direction = device::DataDirection::from_device;
  r.expected_transfer_length = 8;
  r.data_in = segs;
  r.initiator = initiator;
  drive.execute(r);
}

Result<std::unique_ptr<TcmuDrive>> TcmuDrive::create(const TcmuConfig& config, std::shared_ptr<device::Drive> drive) {
  if (!drive) return Status::InvalidArgument("tcmu drive " + config.name + ": no drive");
  auto d = create_with_handler(config, drive_handler(drive));
  if (d.ok()) (*d)->impl_drive(std::move(drive));
  return d;
}

Result<std::unique_ptr<TcmuDrive>> TcmuDrive::adopt(const ExistingTcmuDevice& existing,
                                                    std::shared_ptr<device::Drive> drive, const TcmuConfig& config) {
  if (!drive) return Status::InvalidArgument("tcmu drive " + existing.name + ": no drive");
  settle_restored_drive(*drive, config.initiator);
  auto d = adopt_with_handler(existing, drive_handler(drive), config);
  if (d.ok()) (*d)->impl_drive(std::move(drive));
  return d;
}

}  // namespace udisc::tcmu
