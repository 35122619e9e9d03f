// DriveHost: where the Windows service keeps its engines and how the in-box
// initiator reaches them. The loopback host gives every drive its own iSCSI
// target (transport/iscsi, LUN 0 = the drive's engine) listening on
// 127.0.0.1 only, on a port the system picks, and requiring one-way CHAP with
// a secret drawn when the service starts (per boot): another local user's
// initiator cannot attach the drive without it.
//
// One target per drive, so each drive has its own session: logging one out
// never disturbs the others, and a LUN table never changes while served.
//
// Portable (transport/iscsi runs on both systems); tested on Linux.
// Thread safety: called from the service's control thread only; each target
// serves on threads of its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "daemon/windows/initiator.h"
#include "device/drive.h"
#include "util/status.h"

namespace udisc::win {

inline constexpr char kTargetPrefix[] = "iqn.2026-12.org.udisc:drive-";

class DriveHost {
 public:
  virtual ~DriveHost() = default;
  // Starts the target of drive `number` serving `engine`; returns what the
  // initiator logs in to (127.0.0.1, its port, the CHAP credentials).
  virtual Result<TargetSpec> start(uint32_t number, std::shared_ptr<device::Drive> engine) = 0;
  // Makes the drive's target listen on `address` too (the local-address
  // fallback, docs/windows.md); returns the port.
  virtual Result<uint16_t> listen_also(uint32_t number, const std::string& address) = 0;
  // Stops the drive's target (its connections are dropped).
  virtual void stop(uint32_t number) = 0;
};

struct ChapSecret {
  std::string user;
  std::string secret;
};
// 16 random characters [A-Za-z0-9] (~95 bits; the Microsoft initiator
// needs at least 12 bytes) from the system's random source.
ChapSecret make_per_boot_chap();

std::unique_ptr<DriveHost> make_loopback_host(ChapSecret chap, std::function<void(const std::string&)> log = {});

}  // namespace udisc::win
