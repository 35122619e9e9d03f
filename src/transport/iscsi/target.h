// Target configuration shared by every connection of one iSCSI target:
// its name, LUN table, authentication and limits. Immutable while serving.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/iscsi/admission.h"
#include "transport/iscsi/logical_unit.h"
#include "transport/iscsi/negotiation.h"

namespace udisc::iscsi {

enum class LogLevel { debug, info, warning, error };
using Logger = std::function<void(LogLevel, const std::string&)>;

struct TargetConfig {
  std::string name = "iqn.2025-01.org.udisc:target";
  std::string alias = "udisc";
  std::vector<std::shared_ptr<LogicalUnit>> luns;  // LUN n = luns[n]
  std::optional<ChapCredentials> chap;             // required from initiators when set
  std::optional<ChapCredentials> mutual_chap;      // the target's own credentials
  std::vector<std::string> allowed_initiators;     // empty: everyone
  // "address:port" answered to SendTargets instead of the address a connection
  // arrived on, for initiators behind NAT or a port forward (a QEMU guest
  // reaches a host's 127.0.0.1 as 10.0.2.2). Empty: the connection's address.
  std::string advertised_portal;
  TargetLimits limits;
  uint32_t queue_depth = 128;        // CmdSN window per session
  uint32_t nop_interval_ms = 5000;   // idle time before a NOP-In ping (0: never)
  uint32_t nop_timeout_ms = 15000;   // unanswered ping: connection is dead
  uint32_t login_timeout_ms = 15000;
  uint32_t max_command_buffer = 64u << 20;  // largest data-in/out buffer per command
  bool announce_unit_attention = true;      // Async Message for new unit attentions
  AdmissionLimits admission;                // connections before login, CHAP throttling
};

}  // namespace udisc::iscsi
