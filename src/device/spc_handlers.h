// The engine's command handlers (SPC-5, SBC-style reads and the MMC
// commands that are not disc content). Each cites its section where defined.
#pragma once

#include <utility>
#include <vector>

#include "device/command.h"

namespace udisc::device {

// spc_basic.cc
CommandResult spc_test_unit_ready(CommandContext& ctx);
CommandResult spc_request_sense(CommandContext& ctx);
CommandResult spc_inquiry(CommandContext& ctx);
CommandResult spc_report_luns(CommandContext& ctx);
CommandResult spc_report_supported_operation_codes(CommandContext& ctx);
// spc_mode.cc
CommandResult spc_mode_sense6(CommandContext& ctx);
CommandResult spc_mode_sense10(CommandContext& ctx);
CommandResult spc_mode_select6(CommandContext& ctx);
CommandResult spc_mode_select10(CommandContext& ctx);
// spc_medium.cc
CommandResult spc_start_stop_unit(CommandContext& ctx);
CommandResult spc_prevent_allow_medium_removal(CommandContext& ctx);
CommandResult spc_synchronize_cache(CommandContext& ctx);
// block_commands.cc
CommandResult mmc_read_capacity(CommandContext& ctx);
CommandResult mmc_read10(CommandContext& ctx);
CommandResult mmc_read12(CommandContext& ctx);
// features.cc
CommandResult mmc_get_configuration(CommandContext& ctx);
// events.cc / spc_medium.cc
CommandResult mmc_get_event_status_notification(CommandContext& ctx);
CommandResult mmc_set_streaming(CommandContext& ctx);

// The full command table (engine entries + mmc_command_table()), built once.
std::span<const CommandSpec> command_table();
// Lookup by opcode (nullptr if the drive does not implement it).
const CommandSpec* find_command(uint8_t opcode);
// Writer commands a ROM drive does not implement (all 05/20/00), by name.
std::vector<std::pair<uint8_t, const char*>> rom_drive_lacks();

}  // namespace udisc::device
