// Drive: a transport-independent SCSI/MMC optical drive (CD/DVD/BD-ROM).
//
// A transport (iSCSI, TCMU, ...) hands each command to Drive::execute as a
// Request and sends back the Response: SAM status, sense data, data-in bytes
// and residual. The drive speaks SCSI only; it knows nothing of sockets,
// rings or PDUs. Data-in is written straight into the transport's buffers
// (one or more segments, e.g. iovecs of a TCMU data area), never staged.
//
// Thread safety: execute(), insert(), eject() and the other public methods
// may be called concurrently from any threads; drive state is guarded
// internally and image reads run outside the state lock.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "device/sense.h"
#include "disc/image.h"
#include "util/status.h"

namespace udisc::device {

// SAM-5 status codes.
enum class ScsiStatus : uint8_t {
  good = 0x00,
  check_condition = 0x02,
  condition_met = 0x04,
  busy = 0x08,
  reservation_conflict = 0x18,
  task_set_full = 0x28,
  aca_active = 0x30,
  task_aborted = 0x40,
};

enum class DataDirection : uint8_t { none, from_device /* data-in */, to_device /* data-out */ };

// Identity of the I_T nexus issuing a command (an iSCSI session, the single
// TCMU initiator, ...). Unit attentions and PREVENT state are kept per initiator.
using InitiatorId = uint64_t;

struct Request {
  std::span<const uint8_t> cdb;
  DataDirection direction = DataDirection::none;
  // Bytes the initiator expects to transfer (iSCSI EDTL, TCMU data length).
  uint32_t expected_transfer_length = 0;
  // Data-out bytes received with the command (may be shorter than expected).
  std::span<const uint8_t> data_out;
  // Where data-in goes: segments filled in order, total >= expected_transfer_length.
  std::span<const std::span<uint8_t>> data_in;
  InitiatorId initiator = 0;
};

inline constexpr size_t kMaxSenseLength = 252;

struct Response {
  ScsiStatus status = ScsiStatus::good;
  std::array<uint8_t, kMaxSenseLength> sense{};
  uint8_t sense_length = 0;
  uint32_t data_in_length = 0;  // bytes written to Request::data_in
  // SAM residual: expected_transfer_length - bytes the command wanted to
  // transfer. > 0 underflow, < 0 overflow (the extra was truncated).
  int64_t residual = 0;
};

// Which drive this is: decides the profile list, the features and the read
// capabilities reported (GET CONFIGURATION, MODE SENSE page 2Ah). A BD-ROM
// drive reads BD, DVD and CD; a DVD-ROM drive DVD and CD; a CD-ROM drive CD.
enum class DriveKind : uint8_t { cd_rom, dvd_rom, bd_rom };

// INQUIRY identity, settable per drive.
struct Identity {
  std::string vendor = "UDISC";          // 8 chars max
  std::string product = "Virtual DVD-ROM";  // 16 chars max
  std::string revision = "1.00";         // 4 chars max
  std::string serial;                     // unit serial number (VPD 80h), at most 64 chars; default derived from a random seed
  uint64_t naa_id = 0;                    // NAA IEEE registered identifier (VPD 83h); 0 = derive from serial
  DriveKind kind = DriveKind::bd_rom;
  // Serve Apple's vendor mode page 30h ("APPLE COMPUTER, INC"), which classic
  // Mac OS asks for before it accepts a CD-ROM drive; off: 30h is 05/24/00.
  bool apple_vendor_page = false;
};

enum class TrayState : uint8_t { closed, open };

struct DriveStatus {
  TrayState tray = TrayState::closed;
  bool medium_present = false;
  bool locked = false;  // PREVENT in effect by any initiator
  uint64_t commands = 0;
  uint64_t bytes_read = 0;  // data-in bytes of commands that read the medium
  uint64_t errors = 0;  // CHECK CONDITIONs
};

class Drive {
 public:
  explicit Drive(Identity identity = {});
  ~Drive();
  Drive(const Drive&) = delete;
  Drive& operator=(const Drive&) = delete;

  Response execute(const Request& request);

  // Medium operations, as the user's eject button / a loader would do them.
  // insert: closes the tray with the new medium (replacing any), producing the
  // media events and unit attention 28/00 a real drive produces.
  Status insert(std::shared_ptr<const disc::Image> image);
  // eject: opens the tray. Refused (Status::InvalidArgument naming the lock)
  // while an initiator holds PREVENT, unless force; a refused eject is
  // reported to the host as an eject-request media event.
  Status eject(bool force = false);
  // Task management / nexus events from the transport.
  void logical_unit_reset();          // -> 29/00 to every initiator
  void initiator_gone(InitiatorId id);  // drops its PREVENT and pending UAs

  // The unit attention the next command from `id` would report (the oldest
  // pending one), without consuming it; nullopt when none is pending. An
  // initiator the drive has not seen yet has 29/00 (power on) pending.
  std::optional<Asc> pending_unit_attention(InitiatorId id) const;
  bool has_unit_attention(InitiatorId id) const { return pending_unit_attention(id).has_value(); }
  DriveStatus status() const;
  const Identity& identity() const;
  std::shared_ptr<const disc::Image> image() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace udisc::device
